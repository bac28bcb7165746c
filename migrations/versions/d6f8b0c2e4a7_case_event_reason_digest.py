"""case_events.reason_salt and reason_digest: the hash chain covers a salted digest of an event's reason instead of
its text, so the retention purge can clear the text and the chain still verifies (app/cases/models.py)

Events recorded before this revision keep their reasons in the chain (reason_digest NULL) and are verified as
before; the purge leaves their reasons. The downgrade re-chains the cases whose events hold a digest, with the
reason itself in each payload as the older code expects (a purged reason as null), so `flask audit verify` of the
older code passes; those cases' hashes change.

Revision ID: d6f8b0c2e4a7
Revises: c5e7a9b1d3f6
Create Date: 2026-12-02 16:00:00

"""
import hashlib
import json
from datetime import datetime

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


EVENTS = sa.table(
    'case_events', sa.column('id', sa.Integer), sa.column('case_id', sa.Integer), sa.column('seq', sa.Integer),
    sa.column('actor_id', sa.Integer), sa.column('action', sa.String), sa.column('from_stage', sa.String),
    sa.column('from_status', sa.String), sa.column('to_stage', sa.String), sa.column('to_status', sa.String),
    sa.column('reason', sa.Text), sa.column('reason_digest', sa.String), sa.column('created_at', sa.DateTime),
    sa.column('prev_hash', sa.String), sa.column('hash', sa.String))


def _legacy_hash(previous: str, row) -> str:
    """app.core.audit.chain_hash over the payload before this revision (the reason text itself)."""
    def default(value):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") if isinstance(value, datetime) \
            else str(value)

    payload = {key: getattr(row, key) for key in ('case_id', 'seq', 'actor_id', 'action', 'from_stage', 'from_status',
                                                  'to_stage', 'to_status', 'reason', 'created_at')}
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)
    return hashlib.sha256(previous.encode("ascii") + data.encode("utf-8")).hexdigest()


def _rechain_without_digests(conn) -> None:
    cases = conn.execute(sa.select(EVENTS.c.case_id).distinct().where(EVENTS.c.reason_digest.is_not(None))).scalars()
    for case_id in list(cases):
        previous = "0" * 64
        for row in conn.execute(sa.select(EVENTS).where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq)).all():
            link = _legacy_hash(previous, row)
            conn.execute(sa.update(EVENTS).where(EVENTS.c.id == row.id).values(prev_hash=previous, hash=link))
            previous = link


def downgrade():
    _rechain_without_digests(op.get_bind())
    with op.batch_alter_table('case_events') as batch:
        batch.drop_column('reason_digest')
        batch.drop_column('reason_salt')
