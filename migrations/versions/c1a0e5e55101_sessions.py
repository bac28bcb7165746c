"""sessions: why a server-side login session ended, and the browser that held it

Revision ID: c1a0e5e55101
Revises: 01061382a01c
Create Date: 2026-12-01 00:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c1a0e5e55101'
down_revision = '01061382a01c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_reason', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('user_agent', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
        batch_op.drop_column('end_reason')
