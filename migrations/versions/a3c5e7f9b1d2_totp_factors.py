"""totp_factors: a second factor, a TOTP authenticator app (app/accounts/mfa.py)

Revision ID: a3c5e7f9b1d2
Revises: f2b8c4d6e8a0
Create Date: 2026-12-02 13:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b1d2'
down_revision = 'f2b8c4d6e8a0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'totp_factors',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('last_step', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_factors_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_totp_factors')),
    )


def downgrade():
    op.drop_table('totp_factors')
