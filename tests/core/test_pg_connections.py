"""How the app's PostgreSQL connections are set up (app/__init__.py): statements are prepared once per connection
(PostgreSQL parses them once) but each run is planned for its own values (no generic plans: one made a search 5x
slower), and connections run in autocommit mode (app/core/db_transactions.py sends BEGIN when one is needed). On the
SQLite leg, none of this applies and none of it is set."""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db


def test_statements_are_prepared_and_planned_for_each_run(app):
    with app.app_context():
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        if db.engine.dialect.name != "postgresql":
            assert "prepare_threshold" not in options.get("connect_args", {}) and "isolation_level" not in options
            return
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
            query = sa.text("SELECT count(*) FROM users WHERE username = :name")
            for name in ("resident1", "resident2", "resident3"):
                conn.execute(query, {"name": name})
            prepared = conn.execute(sa.text("SELECT statement FROM pg_prepared_statements")).scalars().all()
            assert any("FROM users WHERE username" in s for s in prepared), prepared
            assert conn.connection.dbapi_connection.autocommit is True
        db.session.remove()
