"""app/core/db_pool.py against a real PostgreSQL server: a connection that sat idle and died meanwhile is replaced
before the request sees it; one used a moment ago is not pinged (no round trip per request)."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app.config import normalise_database_url
from app.core.db_pool import ping_when_idle
from tests.conftest import PG_URL, _pg_admin_engine


def _engine(idle_seconds: float) -> sa.Engine:
    engine = sa.create_engine(normalise_database_url(PG_URL), pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds=idle_seconds)
    return engine


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(pid: int) -> None:
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()


def test_an_idle_connection_that_died_is_replaced_before_use():
    engine = _engine(idle_seconds=0.05)
    try:
        first = _backend_pid(engine)
        _terminate(first)  # e.g. the server restarted overnight
        time.sleep(0.1)
        assert _backend_pid(engine) != first  # answered, on a new connection: no error reached the caller
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged():
    """The trade-off, shown: without a ping, a connection that died within the last seconds fails its next
    statement once; SQLAlchemy then replaces the pool's connections and the statement after works."""
    engine = _engine(idle_seconds=60)
    try:
        first = _backend_pid(engine)
        _terminate(first)
        with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
