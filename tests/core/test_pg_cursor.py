"""The app's psycopg cursors build a result's column descriptions only when they are read (app/core/pg_cursor.py):
what they describe must be what psycopg's own description says, and results must still come back by name."""
from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from app.core.pg_cursor import Cursor, Description
from app.extensions import db
from tests.conftest import PG_URL


@pytest.fixture()
def raw():
    """A psycopg connection with the app's cursor, straight to the PostgreSQL server (as test_db_transactions)."""
    with psycopg.connect(PG_URL, cursor_factory=Cursor, autocommit=True) as conn:
        yield conn


QUERY = "SELECT 1::int AS one, 'x'::varchar AS letter, now() AS at, NULL::numeric(10, 2) AS amount"


def test_description_is_psycopgs_own_once_read(raw):
    cur = raw.cursor()
    cur.execute(QUERY)
    lazy = cur.description
    assert isinstance(lazy, Description) and len(lazy) == 4
    plain = psycopg.Cursor(raw)
    plain.execute(QUERY)
    assert [(c.name, c.type_code, c.precision, c.scale) for c in lazy] == \
        [(c.name, c.type_code, c.precision, c.scale) for c in plain.description]
    assert lazy[-1].name == "amount" and [c.name for c in lazy[1:3]] == ["letter", "at"]
    assert cur.fetchone()[0] == 1


def test_statements_without_rows_have_no_description_and_select_nothing_has_an_empty_one(raw):
    cur = raw.cursor()
    cur.execute("CREATE TEMPORARY TABLE jiefen_cursor_probe (n int)")
    assert cur.description is None
    cur.execute("INSERT INTO jiefen_cursor_probe VALUES (1)")
    assert cur.description is None
    cur.execute("SELECT")
    assert cur.description is not None and len(cur.description) == 0 and list(cur.description) == []


def test_a_description_read_after_the_next_statement_refuses(raw):
    cur = raw.cursor()
    cur.execute("SELECT 1 AS first")
    stale = cur.description
    cur.execute("SELECT 2 AS second")
    with pytest.raises(RuntimeError, match="another statement"):
        stale[0]
    assert cur.description[0].name == "second"


def test_the_app_uses_it_and_rows_come_back_by_name_on_first_and_later_runs(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert isinstance(db.session.connection().connection.dbapi_connection.cursor(), Cursor)
        query = sa.text("SELECT :n AS n, upper(:s) AS s").columns(n=sa.Integer, s=sa.String)
        for n in range(3):  # the first run builds the result metadata from the description, later runs reuse it
            row = db.session.execute(query, {"n": n, "s": "ab"}).one()
            assert (row.n, row.s) == (n, "AB")
        ad_hoc = db.session.execute(sa.text("SELECT 7 AS seven, 'q' AS letter")).mappings().one()
        assert dict(ad_hoc) == {"seven": 7, "letter": "q"}
        db.session.remove()
