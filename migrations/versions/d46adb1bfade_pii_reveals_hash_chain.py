"""the PII reveal log made tamper-evident: pii_reveals.prev_hash / hash (one sha256 chain over the table in id
order, computed here for the rows already there), prev_hash unique (no fork), case_id / party_id kept as plain
integers without foreign keys (nothing may rewrite an audit row), and triggers refusing UPDATE and DELETE.

Revision ID: d46adb1bfade
Revises: d4d3b4c5e6a7
Create Date: 2026-12-01 11:30:00

"""
import sqlalchemy as sa
from alembic import op

from app.core.audit import GENESIS, chain_hash
from app.privacy.reveal_triggers import create_triggers, drop_triggers

# revision identifiers, used by Alembic.
revision = 'd46adb1bfade'
down_revision = 'd4d3b4c5e6a7'
branch_labels = None
depends_on = None

# The hashed columns as of this revision (app/privacy/reveal_models.py HASHED), frozen here on purpose.
HASHED = ("user_id", "role", "case_id", "party_id", "organisation_id", "field", "reason_code", "reason_text", "ip",
          "created_at")
reveals = sa.table("pii_reveals", sa.column("id", sa.Integer()), sa.column("user_id", sa.Integer()),
                   sa.column("role", sa.String()), sa.column("case_id", sa.Integer()),
                   sa.column("party_id", sa.Integer()), sa.column("organisation_id", sa.Integer()),
                   sa.column("field", sa.String()), sa.column("reason_code", sa.String()),
                   sa.column("reason_text", sa.String()), sa.column("ip", sa.String()),
                   sa.column("created_at", sa.DateTime()), sa.column("prev_hash", sa.String()),
                   sa.column("hash", sa.String()))


def upgrade():
    with op.batch_alter_table('pii_reveals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    prev = GENESIS
    rows = conn.execute(sa.select(*(reveals.c[name] for name in ("id", *HASHED))).order_by(reveals.c.id)).all()
    for row in rows:  # the log is small (one row per reveal by staff): one pass, one UPDATE per row
        link = chain_hash(prev, {name: getattr(row, name) for name in HASHED})
        conn.execute(sa.update(reveals).where(reveals.c.id == row.id).values(prev_hash=prev, hash=link))
        prev = link
    with op.batch_alter_table('pii_reveals', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_pii_reveals_prev_hash'), ['prev_hash'])
        batch_op.drop_constraint(batch_op.f('fk_pii_reveals_case_id_cases'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_pii_reveals_party_id_case_parties'), type_='foreignkey')
    create_triggers(conn)  # after the batch: SQLite's batch mode rebuilds the table, and its triggers with it


def downgrade():
    conn = op.get_bind()
    drop_triggers(conn)
    # The foreign keys come back: ids of cases or parties deleted meanwhile become NULL, as ON DELETE SET NULL did.
    conn.execute(sa.update(reveals).where(reveals.c.case_id.not_in(sa.select(sa.column("id")).select_from(
        sa.table("cases")))).values(case_id=None))
    conn.execute(sa.update(reveals).where(reveals.c.party_id.not_in(sa.select(sa.column("id")).select_from(
        sa.table("case_parties")))).values(party_id=None))
    with op.batch_alter_table('pii_reveals', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_pii_reveals_party_id_case_parties'), 'case_parties',
                                    ['party_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_pii_reveals_case_id_cases'), 'cases', ['case_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.drop_constraint(batch_op.f('uq_pii_reveals_prev_hash'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
