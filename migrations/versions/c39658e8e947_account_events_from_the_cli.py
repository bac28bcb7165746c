"""account_events from `flask users` (app/accounts/cli.py): no actor_id, actor_role 'cli', the operating-system user
in actor_os_user; a CHECK that every event names its actor one way or the other

The events already in the chain are unchanged (actor_os_user is hashed only when set), so `flask audit verify`
passes across the upgrade.

Revision ID: c39658e8e947
Revises: b2023feaddb4
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c39658e8e947'
down_revision = 'b2023feaddb4'
branch_labels = None
depends_on = None

ACTOR_KNOWN = "actor_id IS NOT NULL OR (actor_role = 'cli' AND actor_os_user IS NOT NULL)"


def upgrade():
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_os_user', sa.String(length=64), nullable=True))
        batch_op.alter_column('actor_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(batch_op.f('ck_account_events_actor_known'), ACTOR_KNOWN)


def downgrade():
    # The CLI's events have no user to stand for them in the older table, and deleting them would break the chain.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM account_events WHERE actor_id IS NULL")).scalar():
        raise RuntimeError("account_events holds events written by `flask users`: the older schema cannot keep them")
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_events_actor_known'), type_='check')
        batch_op.alter_column('actor_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('actor_os_user')
