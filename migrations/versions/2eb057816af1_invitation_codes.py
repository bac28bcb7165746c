"""invitation_codes: SMS codes that prove a resident holds the number an invitation went to (app/mediation)

Revision ID: 2eb057816af1
Revises: d6f8b0c2e4a7
Create Date: 2026-12-02 17:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '2eb057816af1'
down_revision = 'd6f8b0c2e4a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'invitation_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('code_hmac', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], ondelete='CASCADE',
                                name=op.f('fk_invitation_codes_invitation_id_invitations')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitation_codes_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_codes')),
    )
    with op.batch_alter_table('invitation_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_codes_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_codes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('invitation_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_codes_user_id'))
        batch_op.drop_index(batch_op.f('ix_invitation_codes_invitation_id'))
    op.drop_table('invitation_codes')
