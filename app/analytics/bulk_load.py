"""How `flask seed-bulk` gets its rows into PostgreSQL fast.

Worker processes (fork) each generate a chunk of cases and COPY it over their own connection in their own
transaction, so generation and PostgreSQL's parsing of the COPY data run in parallel on every core, and nothing
travels between processes but the chunk number and the row counts. Before, the ids are reserved (the sequences are
moved past the range, under a short lock) so live inserts never collide with them; the secondary indexes of the
loaded tables are dropped and rebuilt after the load, several at a time, each on its own connection; VACUUM ANALYZE
follows, table by table in parallel (it marks the new pages all-visible, so index-only scans work at once).

A failed load leaves the chunks already committed (a chunk is one transaction); the indexes are rebuilt whatever
happens. Every identifier below comes from bulk.COLUMNS or from pg_indexes for those tables: values only ever travel
as COPY data or bound parameters.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import sqlalchemy as sa

CONNECT_OPTIONS = {"prepare_threshold": None}


def dsn(engine: sa.Engine) -> str:
    """The libpq connection string of the app's engine (psycopg directly, without SQLAlchemy)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def reserve_ids(engine: sa.Engine, tables: dict[str, int]) -> dict[str, int]:
    """For each {table: count}: the first of `count` ids nobody else will get (the table's sequence is moved past
    them under a short SHARE ROW EXCLUSIVE lock)."""
    first = {}
    with engine.begin() as conn:
        # nosemgrep: sql-built-from-strings -- table names are the literal keys passed by seed_bulk
        conn.execute(sa.text(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE"))
        for table, count in tables.items():
            # nosemgrep: sql-built-from-strings -- as above
            first[table] = (conn.execute(sa.text(f"SELECT MAX(id) FROM {table}")).scalar() or 0) + 1  # nosec B608
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :last)"),
                         {"t": table, "last": first[table] + count - 1})
    return first


def open_loader(url: str) -> psycopg.Connection:
    """A worker's connection: autocommit (each chunk opens its own transaction), no synchronous commit (a seed
    repeated after a crash costs nothing) and, for a superuser, no per-row foreign-key triggers: the rows are
    consistent by construction (ids handed out here, users and organisations just read). CHECKs still apply."""
    conn = psycopg.connect(url, autocommit=True, **CONNECT_OPTIONS)
    conn.execute("SET synchronous_commit = off")
    if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
        conn.execute("SET session_replication_role = replica")
    return conn


def copy_chunk(conn: psycopg.Connection, columns: dict[str, tuple], rows: dict[str, str]) -> dict[str, int]:
    """COPY one chunk's tables (COPY text format) in one transaction; returns the row counts."""
    counts = {}
    with conn.transaction(), conn.cursor() as cur:
        for table, cols in columns.items():
            text = rows[table]
            counts[table] = text.count("\n")
            if text:
                # nosemgrep: sql-built-from-strings -- identifiers from bulk.COLUMNS only
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    copy.write(text)
    return counts


def drop_secondary_indexes(url: str, tables: list[str]) -> list[str]:
    """Drop the plain indexes of `tables` (not those behind primary keys or unique constraints), committed; return
    the statements that recreate them, the costliest first (GIN, then by table size)."""
    with psycopg.connect(url, autocommit=True, **CONNECT_OPTIONS) as conn:
        rows = conn.execute(
            "SELECT i.indexname, i.indexdef, pg_relation_size(format('%%I', i.tablename)::regclass) FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", (tables,)).fetchall()
        with conn.transaction():
            for name, _definition, _size in rows:
                # nosemgrep: sql-built-from-strings -- index names read from pg_indexes for our own tables
                conn.execute(f'DROP INDEX "{name}"')
    rows.sort(key=lambda r: (" USING gin " not in r[1], -r[2]))
    return [definition for _name, definition, _size in rows]


def run_parallel(url: str, statements: list[str], workers: int, setup: str | None = None) -> dict[str, float]:
    """Run independent statements (CREATE INDEX, VACUUM) on `workers` connections at once, in the given order;
    returns each one's seconds, keyed by its first words."""
    if not statements:
        return {}

    def run(statement: str) -> tuple[str, float]:
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True, **CONNECT_OPTIONS) as conn:
            if setup:
                conn.execute(setup)
            conn.execute(statement)
        return _label(statement), time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return dict(pool.map(run, statements))


def _label(statement: str) -> str:
    words = statement.split()
    return words[words.index("INDEX") + 1] if "INDEX" in words[:3] else " ".join(words[:3])
