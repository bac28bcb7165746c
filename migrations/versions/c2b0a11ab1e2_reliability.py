"""reliability: idempotency keys and outbox delivery (placeholder, filled by the reliability work of issue 9)

Revision ID: c2b0a11ab1e2
Revises: c1a0e5e55101
Create Date: 2026-12-01 00:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'c2b0a11ab1e2'
down_revision = 'c1a0e5e55101'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
