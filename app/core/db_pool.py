"""Checking pooled connections before use, without a round trip per request.

SQLAlchemy's `pool_pre_ping` sends a `SELECT 1` on every checkout: one extra round trip to PostgreSQL on every
request (bench/load.py's requests make 3-7 in all). A connection that served a request a moment ago is almost
certainly alive, and one that died since (the server restarted) is caught on its next use anyway: SQLAlchemy
recognises the disconnect, fails that one statement and invalidates the whole pool, so every other connection is
replaced before it is used. So only a connection that has sat idle in the pool for a while is pinged first, which
covers the common cases (a server restart overnight, a firewall closing idle connections) at no cost under load.
"""
from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy import event, exc

IDLE_PING_SECONDS = 10.0
_RETURNED_AT = "jiefen_returned_at"


def ping_when_idle(engine: sa.Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Ping a connection on checkout when it has been idle in the pool for more than idle_seconds; a dead one is
    replaced (the pool retries the checkout with a new connection)."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out a fresh one (up to three times).
            raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error
