"""How the app's PostgreSQL connections are set up (app/__init__.py, app/core/db_plans.py): look-ups by key run as
prepared statements, for which PostgreSQL may keep one plan; every other statement is sent unprepared, so that it is
planned for its own values on each run (a generic plan made a search 5x slower); connections run in autocommit mode
(app/core/db_transactions.py sends BEGIN when one is needed). On the SQLite leg none of this applies or is set."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db


def _on_postgresql(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def test_connections_allow_plans_kept_per_statement_and_autocommit(app):
    with app.app_context():
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        if db.engine.dialect.name != "postgresql":
            assert "prepare_threshold" not in options.get("connect_args", {}) and "isolation_level" not in options
            return
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar() == "auto"
            assert conn.connection.dbapi_connection.autocommit is True
        db.session.remove()


def _prepared_statements(app) -> list[str]:
    with app.app_context():
        with db.engine.connect() as conn:
            found = conn.execute(sa.text("SELECT statement FROM pg_prepared_statements")).scalars().all()
        db.session.remove()
    return found


def test_key_lookups_are_prepared_and_a_search_is_planned_each_run(app, demo, make_web):
    if not _on_postgresql(app):
        return
    with app.app_context():
        db.engine.dispose()  # from here on one pooled connection: each request below runs on it, one after another
    resident = make_web()
    resident.login("resident1")
    case_id = re.search(r'href="/cases/(\d+)"', resident.get("/my/cases").get_data(as_text=True)).group(1)
    for _ in range(3):
        assert resident.get(f"/cases/{case_id}").status_code == 200
    staff = make_web()
    staff.login("orgadmin1")
    for _ in range(3):
        page = staff.get("/org/cases/search", query_string={"q": "工资", "stage": "mediate"})
        assert page.status_code == 200
    prepared = _prepared_statements(app)
    # The session lookup (prepared on every page, the search's too) and the case page's own statements.
    assert any("JOIN user_sessions" in s and "token_hash" in s for s in prepared), prepared
    assert any(s.lstrip().startswith("SELECT cases.id") and "WHERE cases.id" in s for s in prepared), prepared
    assert any("FROM case_events" in s and "case_events.case_id" in s for s in prepared), prepared
    # The search ran three times on the same connection, and was never prepared.
    assert not any("search_vector" in s for s in prepared), [s for s in prepared if "search_vector" in s]
