"""dashboard: daily rollups for early warning, case search tokens (placeholder)

Revision ID: c3d0a5b0a4d3
Revises: c2b0a11ab1e2
Create Date: 2026-12-01 00:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c3d0a5b0a4d3'
down_revision = 'c2b0a11ab1e2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
