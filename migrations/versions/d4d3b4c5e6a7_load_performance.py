"""load performance: a partial index for the nav's unread-notification badge, which every page counts

Revision ID: d4d3b4c5e6a7
Revises: d3c2a3b4d5f6
Create Date: 2026-12-01 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4d3b4c5e6a7'
down_revision = 'd3c2a3b4d5f6'
branch_labels = None
depends_on = None


UNREAD_IN_APP = "channel = 'in_app' AND sent_at IS NULL"


def upgrade():
    op.create_index("ix_outbox_messages_unread_in_app", "outbox_messages", ["to"],
                    postgresql_where=sa.text(UNREAD_IN_APP), sqlite_where=sa.text(UNREAD_IN_APP))


def downgrade():
    op.drop_index("ix_outbox_messages_unread_in_app", table_name="outbox_messages")
