"""case_events.reason_salt and reason_digest: the hash chain covers a salted digest of an event's reason instead of
its text, so the retention purge can clear the text and the chain still verifies (app/cases/models.py)

Events recorded before this revision keep their reasons in the chain (reason_digest NULL) and are verified as
before; the purge leaves their reasons.

Revision ID: d6f8b0c2e4a7
Revises: c5e7a9b1d3f6
Create Date: 2026-12-02 16:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd6f8b0c2e4a7'
down_revision = 'c5e7a9b1d3f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_events') as batch:
        batch.add_column(sa.Column('reason_salt', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('reason_digest', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('case_events') as batch:
        batch.drop_column('reason_digest')
        batch.drop_column('reason_salt')
