"""The PII reveal log's hash chain: appending a row (one writer at a time, so the chain never forks) and checking
the whole chain (`flask audit verify`, the admin's verify job, the restore check). See PiiReveal's doc for what
the hash covers and why."""
from __future__ import annotations

import sqlalchemy as sa

from app.core.audit import GENESIS, chain_hash
from app.core.time import utcnow
from app.extensions import db
from app.privacy.reveal_models import HASHED, HASHED_IF_SET, PiiReveal, hashed_payload

# PostgreSQL transaction-level advisory lock taken before reading the chain's tail ("PIIR"); released at commit or
# rollback, so the next appender reads the row this one wrote.
LOCK_KEY = 0x50494952


def _lock_tail(conn: sa.Connection) -> None:
    """Hold the right to append until the transaction ends: concurrent reveals then read distinct tails.

    PostgreSQL: the advisory lock; the tail is read after it by a new statement, which under READ COMMITTED (the
    app's isolation) sees every reveal committed before the lock was granted. SQLite: a write statement that
    changes nothing takes the database's write lock now (pysqlite only begins a transaction at the first write, so
    a plain SELECT would read the tail outside any lock); a second writer waits on the busy timeout."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:
        conn.execute(sa.text("UPDATE pii_reveals SET id = id WHERE 0 = 1"))


def append(**fields) -> PiiReveal:
    """Add one reveal at the end of the chain and flush it (never commits; the lock lasts until the caller's
    commit). `fields` are PiiReveal's HASHED (and any HASHED_IF_SET) columns except created_at, which is set here."""
    _lock_tail(db.session.connection())
    tail = db.session.scalar(sa.select(PiiReveal.hash).order_by(PiiReveal.id.desc()).limit(1))
    row = PiiReveal(**fields, created_at=utcnow(), prev_hash=tail or GENESIS)
    row.hash = chain_hash(row.prev_hash, row.payload())
    db.session.add(row)
    db.session.flush()
    return row


def verify(batch: int = 5000) -> tuple[int, str | None]:
    """Check the reveal log's chain in id order; return (rows checked, description of the first broken link).

    Streams plain rows (flat memory, a server-side cursor on PostgreSQL). An altered row shows as a hash that does
    not match its content (or, when the hash was recomputed too, as the next row's broken link); a deleted row as
    the next row's prev_hash not matching the row now before it. Removing the newest rows leaves a shorter valid
    chain: compare the head (count and last hash, see head()) with one recorded earlier, as the backup does."""
    columns = [PiiReveal.id, *(getattr(PiiReveal, name) for name in (*HASHED, *HASHED_IF_SET)), PiiReveal.prev_hash,
               PiiReveal.hash]
    rows = db.session.execute(sa.select(*columns).order_by(PiiReveal.id).execution_options(yield_per=batch))
    with rows:
        return _verify_rows(rows)


def _verify_rows(rows) -> tuple[int, str | None]:
    checked, prev_hash, prev_id = 0, GENESIS, None
    for row in rows:
        if row.prev_hash != prev_hash:
            before = f"reveal id {prev_id}" if prev_id is not None else "the start of the log"
            return checked, (f"PII reveal id {row.id}: prev_hash does not match the hash of {before} "
                             f"(a reveal between them was deleted, or that one was altered)")
        if chain_hash(row.prev_hash, hashed_payload(row)) != row.hash:
            return checked, f"PII reveal id {row.id}: content does not match its hash (altered)"
        prev_hash, prev_id = row.hash, row.id
        checked += 1
    return checked, None


def head(conn: sa.Connection) -> dict | None:
    """How many reveals and the newest one's hash (None when the schema has no chain yet, e.g. an old backup)."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("pii_reveals") or "hash" not in {c["name"] for c in inspector.get_columns("pii_reveals")}:
        return None
    count = conn.execute(sa.select(sa.func.count()).select_from(PiiReveal.__table__)).scalar_one()
    last = conn.execute(sa.select(PiiReveal.hash).order_by(PiiReveal.id.desc()).limit(1)).scalar()
    return {"reveals": count, "head": last}
