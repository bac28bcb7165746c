"""The migrations build the whole schema from empty, and agree with the models."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_upgrade_built_every_table_from_an_empty_database(app):
    from app.extensions import db

    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert {m.name for m in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_autogenerate_finds_no_difference_between_models_and_migrations(app):
    from app.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_check_constraints_exist_in_the_database(app):
    from app.extensions import db

    with app.app_context():
        names = {c["name"] for c in sa.inspect(db.engine).get_check_constraints("cases")}
    for expected in ("ck_cases_stage_status", "ck_cases_mediator_assigned", "ck_cases_court_case_number",
                     "ck_cases_closed_at", "ck_cases_case_stage", "ck_cases_case_status"):
        assert expected in names
