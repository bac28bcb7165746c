"""account_events: what organisation admins did to accounts, hash-chained; users.must_change_password for the
temporary password given at the counter (app/accounts/admin_ops.py)

Revision ID: c5e7a9b1d3f6
Revises: b4d6f8a0c2e4
Create Date: 2026-12-02 15:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5e7a9b1d3f6'
down_revision = 'b4d6f8a0c2e4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'account_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('actor_role', sa.String(length=20), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('id_checked', sa.Boolean(), nullable=False),
        sa.Column('sessions_ended', sa.Integer(), nullable=False),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.CheckConstraint("action IN ('deactivate', 'activate', 'end_sessions', 'reset_mfa', 'assisted_reset')",
                           name=op.f('ck_account_events_action')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_account_events_actor_id_users')),
        sa.ForeignKeyConstraint(['target_id'], ['users.id'], name=op.f('fk_account_events_target_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_events')),
        sa.UniqueConstraint('prev_hash', name=op.f('uq_account_events_prev_hash')),
    )
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_events_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_events_target_id'), ['target_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_events_target_id'))
        batch_op.drop_index(batch_op.f('ix_account_events_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_account_events_created_at'))
        batch_op.drop_index(batch_op.f('ix_account_events_actor_id'))
    op.drop_table('account_events')
