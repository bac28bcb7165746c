"""pii_reveals.api_token_id: a PDF printing the parties' full numbers downloaded through the court API is recorded
as reveals by the court's bearer token (no user). user_id becomes nullable; a check keeps exactly one of user_id and
api_token_id set. The chain's hashes are untouched: api_token_id is hashed only when set (reveal_models.py
HASHED_IF_SET), so every row already there verifies as before.

Revision ID: a7c3e5f9b2d4
Revises: e4b8d2f6a1c9
Create Date: 2026-12-04 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from app.privacy.reveal_triggers import create_triggers, drop_triggers

# revision identifiers, used by Alembic.
revision = 'a7c3e5f9b2d4'
down_revision = 'e4b8d2f6a1c9'
branch_labels = None
depends_on = None

REVEALER = "(user_id IS NULL) <> (api_token_id IS NULL)"


def upgrade():
    conn = op.get_bind()
    drop_triggers(conn)  # SQLite's batch mode rebuilds the table (and would lose them): put them back after it
    with op.batch_alter_table('pii_reveals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_token_id', sa.Integer(), nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_pii_reveals_api_token_id'), ['api_token_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_pii_reveals_api_token_id_api_tokens'), 'api_tokens',
                                    ['api_token_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_pii_reveals_revealer'), REVEALER)
    create_triggers(conn)


def downgrade():
    conn = op.get_bind()
    by_token = conn.execute(sa.text("SELECT count(*) FROM pii_reveals WHERE api_token_id IS NOT NULL")).scalar_one()
    if by_token:
        # Deleting them would break the chain after them, and the old schema has no user to name: refuse.
        raise RuntimeError(f"{by_token} PII reveal(s) were made through the court API (api_token_id): the schema "
                           "before a7c3e5f9b2d4 cannot hold them, and the append-only log must not lose them.")
    drop_triggers(conn)
    with op.batch_alter_table('pii_reveals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_pii_reveals_revealer'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_pii_reveals_api_token_id_api_tokens'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_pii_reveals_api_token_id'))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('api_token_id')
    create_triggers(conn)
