"""users.closed_at: when a resident closed (注销) the account; the row stays, anonymised (app/privacy/closure.py).

Revision ID: e7c1a9d2b3f4
Revises: d46adb1bfade
Create Date: 2026-12-02 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7c1a9d2b3f4'
down_revision = 'd46adb1bfade'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
