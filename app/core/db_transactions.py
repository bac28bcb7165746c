"""PostgreSQL: a transaction begins at the first statement that needs one, not at the first statement of a request.

psycopg opens a transaction (BEGIN, one round trip) before the first statement on a connection, and the pool ends
it (ROLLBACK, another) when the request returns the connection: two of the ~5 round trips of a page that only
reads. Under READ COMMITTED, PostgreSQL's default and ours, each statement sees its own snapshot whether or not it
runs in a transaction, so plain reads gain nothing from one.

So the connections run in autocommit mode, and before any statement that is not a plain read (an INSERT, UPDATE
or DELETE, a SAVEPOINT, a SELECT ... FOR UPDATE/SHARE, an advisory or sequence function, a WITH query with a write
in it, anything not starting with SELECT or WITH) and before a server-side cursor (stream_results, yield_per) this
module sends BEGIN itself. From then on everything runs in that one transaction as before, reads included, until
SQLAlchemy's commit or rollback, which psycopg sends because a transaction is open (psycopg skips them when none
is). A request that writes is as atomic as before; one that only reads makes no BEGIN or ROLLBACK (a ROLLBACK also
makes psycopg drop every statement it prepared on the connection). Statements PostgreSQL refuses inside a
transaction block (VACUUM, CREATE INDEX CONCURRENTLY, CREATE DATABASE ...) get no BEGIN, as with autocommit anywhere
else.
A connection given another isolation level (`flask backup`: REPEATABLE READ) leaves autocommit and is untouched.
"""
from __future__ import annotations

import re
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import event

# Reads that still need the transaction around them: row locks, transaction-level locks, sequences, notifications.
_NOT_PLAIN = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b|\bFOR\s+KEY\s+SHARE\b|pg_advisory|nextval|setval"
                        r"|pg_notify|set_config", re.IGNORECASE)
# A WITH query is a plain read unless one of its parts writes (the words as words: updated_at is no UPDATE).
_WRITES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
# Statements PostgreSQL refuses inside a transaction block: they are sent as they are, without a BEGIN.
_NEVER_IN_TRANSACTION = re.compile(r"^\s*(?:VACUUM|(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE)|ALTER\s+SYSTEM)\b"
                                   r"|\bCONCURRENTLY\b", re.IGNORECASE)
@lru_cache(maxsize=2048)  # SQLAlchemy reuses the same compiled statement strings
def needs_no_begin(statement: str) -> bool:
    """True for a statement that needs no BEGIN: a SELECT or WITH query that locks nothing and changes nothing, or
    one that may not run in a transaction block at all (VACUUM, CREATE INDEX CONCURRENTLY, CREATE DATABASE ...)."""
    head = statement.lstrip()[:6].upper()
    reads = head == "SELECT" or (head[:4] == "WITH" and not _WRITES.search(statement))
    return (reads and not _NOT_PLAIN.search(statement)) or bool(_NEVER_IN_TRANSACTION.search(statement))


def begin_on_first_write(engine: sa.Engine) -> None:
    """Send BEGIN before the first statement that is not a plain read, on `engine`'s connections that are in
    autocommit mode (create_engine(isolation_level="AUTOCOMMIT"), see the module's docstring). psycopg 3 only."""
    from psycopg import ServerCursor
    from psycopg.pq import TransactionStatus

    idle = TransactionStatus.IDLE

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_if_needed(conn, cursor, statement, parameters, context, executemany) -> None:
        dbapi_connection = cursor.connection
        if (dbapi_connection.autocommit and dbapi_connection.info.transaction_status == idle
                and (not needs_no_begin(statement) or isinstance(cursor, ServerCursor))):
            dbapi_connection.execute("BEGIN")  # (a server-side cursor, stream_results, lives in a transaction)
