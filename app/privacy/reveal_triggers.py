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

from app.core.triggers import TriggerSet

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
TRIGGERS = TriggerSet(
    pg_functions=POSTGRESQL_FUNCTION,
    pg_function_names=("jiefen_pii_reveal_frozen()",),
    pg_triggers={
        "pii_reveals_frozen": ("pii_reveals", "CREATE TRIGGER pii_reveals_frozen BEFORE UPDATE OR DELETE ON "
                               "pii_reveals FOR EACH ROW EXECUTE FUNCTION jiefen_pii_reveal_frozen()"),
        "pii_reveals_no_truncate": ("pii_reveals", "CREATE TRIGGER pii_reveals_no_truncate BEFORE TRUNCATE ON "
                                    "pii_reveals FOR EACH STATEMENT EXECUTE FUNCTION jiefen_pii_reveal_frozen()"),
    },
    sqlite=SQLITE,
)
# Refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on pii_reveals from now on / lift that for maintenance that
# must remove rows wholesale (test clean-up, the downgrade): drop, work, re-create.
create_triggers = TRIGGERS.create
drop_triggers = TRIGGERS.drop
