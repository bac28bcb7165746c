"""sessions: server-side login sessions (placeholder, filled by the sessions work of issue 9)

Revision ID: c1a0e5e55101
Revises: 01061382a01c
Create Date: 2026-12-01 00:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c1a0e5e55101'
down_revision = '01061382a01c'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
