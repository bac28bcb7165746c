"""Database triggers that keep the PII reveal log append-only, whatever client talks to the database (as
app/agreements/triggers.py does for signed agreements): no UPDATE and no DELETE of a pii_reveals row.

Nothing legitimate changes a row: every column is covered by the row's hash (reveal_models.py), the retention purge
does not touch the table, and case_id / party_id carry no foreign key whose ON DELETE action could rewrite them.
A DBA who drops the triggers can still alter rows; the hash chain (reveal_chain.verify) then names the row.
On PostgreSQL a statement trigger refuses TRUNCATE as well (also a TRUNCATE ... CASCADE from another table that
would reach this one); SQLite has no TRUNCATE.
SQLite drops a table's triggers with the table, so a later migration that batch-alters pii_reveals on SQLite must
call create_triggers again after it.
"""
from __future__ import annotations

import sqlalchemy as sa

MESSAGE = "the PII reveal log is append-only: its rows cannot be changed or deleted"

SQLITE = {
    "pii_reveals_no_update": f"""
        CREATE TRIGGER pii_reveals_no_update BEFORE UPDATE ON pii_reveals
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    "pii_reveals_no_delete": f"""
        CREATE TRIGGER pii_reveals_no_delete BEFORE DELETE ON pii_reveals
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
}
POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION jiefen_pii_reveal_frozen() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;
"""
POSTGRESQL_TRIGGERS = {
    "pii_reveals_frozen": "CREATE TRIGGER pii_reveals_frozen BEFORE UPDATE OR DELETE ON pii_reveals "
                          "FOR EACH ROW EXECUTE FUNCTION jiefen_pii_reveal_frozen()",
    "pii_reveals_no_truncate": "CREATE TRIGGER pii_reveals_no_truncate BEFORE TRUNCATE ON pii_reveals "
                               "FOR EACH STATEMENT EXECUTE FUNCTION jiefen_pii_reveal_frozen()",
}


def create_triggers(conn) -> None:
    """Refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on pii_reveals from now on."""
    if conn.dialect.name == "postgresql":
        # nosemgrep: sql-built-from-strings -- fixed DDL; its one placeholder is the constant MESSAGE
        conn.execute(sa.text(POSTGRESQL_FUNCTION))
        for ddl in POSTGRESQL_TRIGGERS.values():
            conn.execute(sa.text(ddl))
    else:
        for ddl in SQLITE.values():
            conn.execute(sa.text(ddl))


def drop_triggers(conn) -> None:
    """For maintenance that must remove rows wholesale (test clean-up, the downgrade): drop, work, re-create."""
    if conn.dialect.name == "postgresql":
        for name in POSTGRESQL_TRIGGERS:
            # nosemgrep: sql-built-from-strings -- trigger names from the constant POSTGRESQL_TRIGGERS
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name} ON pii_reveals"))
        conn.execute(sa.text("DROP FUNCTION IF EXISTS jiefen_pii_reveal_frozen()"))
    else:
        for name in SQLITE:
            # nosemgrep: sql-built-from-strings -- trigger names from the constant SQLITE
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
