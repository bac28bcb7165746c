"""app/core/db_transactions.py against a real PostgreSQL server: plain reads run outside a transaction (no BEGIN, no
ROLLBACK), and everything from the first write on is one transaction as before: atomic, invisible to others until
the commit, its row and advisory locks held until then."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from sqlalchemy.orm import Session

from app.config import normalise_database_url
from app.core.db_transactions import begin_on_first_write, needs_no_begin
from tests.conftest import PG_URL


@pytest.fixture()
def engine():
    engine = sa.create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT", pool_size=2)
    begin_on_first_write(engine)
    other = sa.create_engine(normalise_database_url(PG_URL))
    with other.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS jiefen_tx_probe"))
        conn.execute(sa.text("CREATE TABLE jiefen_tx_probe (id integer PRIMARY KEY, note text)"))
        conn.execute(sa.text("INSERT INTO jiefen_tx_probe VALUES (1, 'seed')"))
    engine.other = other
    yield engine
    engine.dispose()
    with other.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS jiefen_tx_probe"))
    other.dispose()


def status(session: Session) -> TransactionStatus:
    return session.connection().connection.dbapi_connection.info.transaction_status


def notes(engine) -> list[str]:
    with engine.other.connect() as conn:
        return list(conn.execute(sa.text("SELECT note FROM jiefen_tx_probe ORDER BY id")).scalars())


def test_plain_reads_open_no_transaction(engine):
    with Session(engine) as session:
        assert session.execute(sa.text("SELECT note FROM jiefen_tx_probe")).scalars().all() == ["seed"]
        assert session.execute(sa.text("SELECT 1")).scalar() == 1
        assert status(session) == TransactionStatus.IDLE  # no BEGIN was sent, so no ROLLBACK will be


def test_from_the_first_write_on_one_transaction_invisible_until_commit(engine):
    with Session(engine) as session:
        session.execute(sa.text("SELECT note FROM jiefen_tx_probe"))
        session.execute(sa.text("INSERT INTO jiefen_tx_probe VALUES (2, 'two')"))
        assert status(session) == TransactionStatus.INTRANS
        session.execute(sa.text("UPDATE jiefen_tx_probe SET note = 'changed' WHERE id = 1"))
        assert notes(engine) == ["seed"]  # another connection sees neither write yet
        assert session.execute(sa.text("SELECT count(*) FROM jiefen_tx_probe")).scalar() == 2  # this one sees its own
        session.commit()
        assert status(session) == TransactionStatus.IDLE
    assert notes(engine) == ["changed", "two"]


def test_a_failed_second_write_takes_the_first_with_it(engine):
    with Session(engine) as session:
        session.execute(sa.text("INSERT INTO jiefen_tx_probe VALUES (3, 'three')"))
        with pytest.raises(sa.exc.IntegrityError):
            session.execute(sa.text("INSERT INTO jiefen_tx_probe VALUES (1, 'duplicate')"))
        session.rollback()
    assert notes(engine) == ["seed"]


def test_a_rollback_after_writes_undoes_them(engine):
    with Session(engine) as session:
        session.execute(sa.text("DELETE FROM jiefen_tx_probe"))
        session.rollback()
    assert notes(engine) == ["seed"]


def test_row_locks_and_advisory_locks_are_held_until_the_commit(engine):
    with Session(engine) as session:
        session.execute(sa.text("SELECT id FROM jiefen_tx_probe WHERE id = 1 FOR UPDATE"))
        session.execute(sa.text("SELECT pg_advisory_xact_lock(424242)"))
        with engine.other.connect() as conn:
            with pytest.raises(sa.exc.OperationalError, match="could not obtain lock"):
                conn.execute(sa.text("SELECT id FROM jiefen_tx_probe WHERE id = 1 FOR UPDATE NOWAIT"))
            conn.rollback()
            assert conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(424242)")).scalar() is False
        session.commit()
    with engine.other.connect() as conn:
        assert conn.execute(sa.text("SELECT id FROM jiefen_tx_probe WHERE id = 1 FOR UPDATE NOWAIT")).scalar() == 1
        assert conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(424242)")).scalar() is True


def test_a_savepoint_opens_the_transaction_and_its_rollback_keeps_the_earlier_write(engine):
    with Session(engine) as session:
        with session.begin_nested():
            session.execute(sa.text("INSERT INTO jiefen_tx_probe VALUES (4, 'four')"))
        try:
            with session.begin_nested():
                session.execute(sa.text("INSERT INTO jiefen_tx_probe VALUES (1, 'duplicate')"))
        except sa.exc.IntegrityError:
            pass
        session.commit()
    assert notes(engine) == ["seed", "four"]


def test_a_server_side_cursor_gets_its_transaction(engine):
    with Session(engine) as session:
        rows = session.execute(sa.text("SELECT note FROM jiefen_tx_probe"), execution_options={"stream_results": True})
        assert list(rows.scalars()) == ["seed"]
        assert status(session) == TransactionStatus.INTRANS
        session.rollback()


def test_another_isolation_level_is_left_to_psycopg(engine):
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        conn.execute(sa.text("SELECT note FROM jiefen_tx_probe"))
        assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.INTRANS
        conn.rollback()


def test_statements_that_may_not_run_in_a_transaction_block_get_no_begin(engine):
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE INDEX CONCURRENTLY jiefen_tx_probe_note ON jiefen_tx_probe (note)"))
        conn.execute(sa.text("VACUUM ANALYZE jiefen_tx_probe"))
        assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE
        conn.commit()


@pytest.mark.parametrize(("statement", "plain"), [
    ("SELECT cases.id FROM cases WHERE cases.id = %(id)s", True),
    ("  select 1", True),
    ("SELECT id FROM outbox LIMIT 5 FOR UPDATE SKIP LOCKED", False),
    ("SELECT id FROM invitations WHERE id = 1 FOR NO KEY UPDATE", False),
    ("SELECT id FROM invitations FOR SHARE", False),
    ("SELECT pg_advisory_xact_lock(%(key)s)", False),
    ("SELECT nextval('cases_id_seq')", False),
    ("INSERT INTO cases (title) VALUES (%(title)s) RETURNING cases.id", False),
    ("UPDATE user_sessions SET last_seen_at=%(t)s WHERE user_sessions.id = %(id)s", False),
    ("WITH moved AS (DELETE FROM a RETURNING *) SELECT * FROM moved", False),
    ("WITH recent AS MATERIALIZED (SELECT cases.id, cases.updated_at FROM cases) SELECT * FROM recent", True),
    ("with hits as (select id from cases) select id from hits", True),
    ("WITH s AS (UPDATE cases SET title = %(t)s RETURNING id) SELECT id FROM s", False),
    ("WITH n AS (INSERT INTO a (x) VALUES (1) RETURNING x) SELECT x FROM n", False),
    ("WITH l AS (SELECT id FROM outbox LIMIT 5 FOR UPDATE SKIP LOCKED) SELECT id FROM l", False),
    ("SAVEPOINT sa_savepoint_1", False),
    ("VACUUM ANALYZE cases", True),
    ("CREATE INDEX CONCURRENTLY ix ON cases (title)", True),
    ("create database scratch", True),
])
def test_which_statements_need_no_begin(statement, plain):
    assert needs_no_begin(statement) is plain
