"""Database triggers that keep a signed agreement as it was signed, whatever client talks to the database.

agreements: no UPDATE or DELETE once signed_at is set. agreement_signatures: never updated or deleted (a signature
is made once; a new version of the agreement gets new signatures). The ORM guard (guards.py) says the same earlier,
with a readable message; these are the last line, for raw SQL.
"""
from __future__ import annotations

import sqlalchemy as sa

MESSAGE = "signed agreements and signatures cannot be changed; a correction is a new agreement that supersedes it"

SQLITE = {
    "agreements_signed_no_update": f"""
        CREATE TRIGGER agreements_signed_no_update BEFORE UPDATE ON agreements
        WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    "agreements_signed_no_delete": f"""
        CREATE TRIGGER agreements_signed_no_delete BEFORE DELETE ON agreements
        WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    "agreement_signatures_no_update": f"""
        CREATE TRIGGER agreement_signatures_no_update BEFORE UPDATE ON agreement_signatures
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    "agreement_signatures_no_delete": f"""
        CREATE TRIGGER agreement_signatures_no_delete BEFORE DELETE ON agreement_signatures
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
}

POSTGRESQL_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION jiefen_agreement_frozen() RETURNS trigger AS $$
BEGIN
  IF OLD.signed_at IS NOT NULL THEN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION jiefen_signature_frozen() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;
"""
POSTGRESQL = {
    "agreements_signed_frozen": "CREATE TRIGGER agreements_signed_frozen BEFORE UPDATE OR DELETE ON agreements "
                                "FOR EACH ROW EXECUTE FUNCTION jiefen_agreement_frozen()",
    "agreement_signatures_frozen": "CREATE TRIGGER agreement_signatures_frozen BEFORE UPDATE OR DELETE ON "
                                   "agreement_signatures FOR EACH ROW EXECUTE FUNCTION jiefen_signature_frozen()",
}
TABLE_OF = {"agreements_signed_frozen": "agreements", "agreement_signatures_frozen": "agreement_signatures"}


def create_triggers(conn) -> None:
    if conn.dialect.name == "postgresql":
        # nosemgrep: sql-built-from-strings -- fixed DDL; its one placeholder is the constant MESSAGE
        conn.execute(sa.text(POSTGRESQL_FUNCTIONS))
        for ddl in POSTGRESQL.values():
            conn.execute(sa.text(ddl))
    else:
        for ddl in SQLITE.values():
            conn.execute(sa.text(ddl))


def drop_triggers(conn) -> None:
    """For maintenance that must remove rows wholesale (test clean-up, retention, restore): drop, work, re-create."""
    if conn.dialect.name == "postgresql":
        for name, table in TABLE_OF.items():
            # nosemgrep: sql-built-from-strings -- trigger and table names from the constant TABLE_OF
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        conn.execute(sa.text("DROP FUNCTION IF EXISTS jiefen_agreement_frozen(); "
                             "DROP FUNCTION IF EXISTS jiefen_signature_frozen();"))
    else:
        for name in SQLITE:
            # nosemgrep: sql-built-from-strings -- trigger names from the constant SQLITE
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
