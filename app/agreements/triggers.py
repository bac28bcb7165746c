"""Database triggers that keep a signed agreement as it was signed, whatever client talks to the database.

agreements: no UPDATE or DELETE once signed_at is set. agreement_signatures: never updated or deleted (a signature
is made once; a new version of the agreement gets new signatures). The ORM guard (guards.py) says the same earlier,
with a readable message; these are the last line, for raw SQL.
"""
from __future__ import annotations

from app.core.triggers import TriggerSet

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
TRIGGERS = TriggerSet(
    pg_functions=POSTGRESQL_FUNCTIONS,
    pg_function_names=("jiefen_agreement_frozen()", "jiefen_signature_frozen()"),
    pg_triggers={
        "agreements_signed_frozen": ("agreements", "CREATE TRIGGER agreements_signed_frozen BEFORE UPDATE OR DELETE "
                                     "ON agreements FOR EACH ROW EXECUTE FUNCTION jiefen_agreement_frozen()"),
        "agreement_signatures_frozen": ("agreement_signatures", "CREATE TRIGGER agreement_signatures_frozen BEFORE "
                                        "UPDATE OR DELETE ON agreement_signatures FOR EACH ROW EXECUTE FUNCTION "
                                        "jiefen_signature_frozen()"),
    },
    sqlite=SQLITE,
)
# Refuse changes to signed agreements and signatures from now on / lift that for maintenance (retention, tests).
create_triggers = TRIGGERS.create
drop_triggers = TRIGGERS.drop
