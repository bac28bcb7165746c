"""users.phone_verified_at and phone_verifications: an account's phone counts as its own only once an SMS code sent
to it was typed (app/accounts/phone.py); a new number replaces the old one the same way. Account events record
both. Existing accounts' numbers are unverified (NULL).

Revision ID: e4b8d2f6a1c9
Revises: f5f81dc50d28
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e4b8d2f6a1c9'
down_revision = 'f5f81dc50d28'
branch_labels = None
depends_on = None

OLD_ACTIONS = "action IN ('deactivate', 'activate', 'end_sessions', 'reset_mfa', 'assisted_reset')"
NEW_ACTIONS = ("action IN ('deactivate', 'activate', 'end_sessions', 'reset_mfa', 'assisted_reset', "
               "'phone_verified', 'phone_changed')")


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_verified_at', sa.DateTime(), nullable=True))
    op.create_table(
        'phone_verifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=10), nullable=False),
        sa.Column('phone', sa.String(length=255), nullable=False),
        sa.Column('phone_bidx', sa.String(length=64), nullable=True),
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('code_hmac', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('ip_address', sa.String(length=45), nullable=True),
        sa.CheckConstraint("purpose IN ('verify', 'change')", name=op.f('ck_phone_verifications_purpose')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_phone_verifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_verifications')),
    )
    with op.batch_alter_table('phone_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_verifications_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_verifications_phone_bidx'), ['phone_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_verifications_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_account_events_action'), type_='check')
        batch_op.create_check_constraint(op.f('ck_account_events_action'), NEW_ACTIONS)


def downgrade():
    # Account events are one hash chain: deleting some would break `flask audit verify` for all that follow.
    recorded = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM account_events WHERE action IN ('phone_verified', 'phone_changed')")).scalar()
    if recorded:
        raise RuntimeError(f"{recorded} account event(s) record phone verifications or changes; they are links of "
                           "the account events' hash chain and cannot be removed, so this downgrade cannot run.")
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_account_events_action'), type_='check')
        batch_op.create_check_constraint(op.f('ck_account_events_action'), OLD_ACTIONS)
    with op.batch_alter_table('phone_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_verifications_user_id'))
        batch_op.drop_index(batch_op.f('ix_phone_verifications_phone_bidx'))
        batch_op.drop_index(batch_op.f('ix_phone_verifications_created_at'))
    op.drop_table('phone_verifications')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone_verified_at')
