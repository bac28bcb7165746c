"""users.temp_password_expires_at: a temporary password given at the counter works for TEMP_PASSWORD_HOURS
(app/accounts/admin_ops.py)

Temporary passwords already given get the expiry they would have had: 24 hours (the default) after the assisted
reset that gave them (its account event), or 24 hours from now when no event is found.

Revision ID: ab7ec32c495e
Revises: 2eb057816af1
Create Date: 2026-12-03 10:00:00

"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'ab7ec32c495e'
down_revision = '2eb057816af1'
branch_labels = None
depends_on = None

HOURS = 24  # TEMP_PASSWORD_HOURS' default


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('temp_password_expires_at', sa.DateTime(), nullable=True))
    conn = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('must_change_password', sa.Boolean),
                     sa.column('temp_password_expires_at', sa.DateTime))
    events = sa.table('account_events', sa.column('target_id', sa.Integer), sa.column('action', sa.String),
                      sa.column('created_at', sa.DateTime))
    given = (sa.select(sa.func.max(events.c.created_at)).where(events.c.target_id == users.c.id,
                                                               events.c.action == 'assisted_reset')
             .scalar_subquery())
    now = datetime.now(UTC).replace(tzinfo=None)
    for user_id, given_at in conn.execute(sa.select(users.c.id, given).where(users.c.must_change_password)).all():
        expires = (given_at or now) + timedelta(hours=HOURS)
        conn.execute(sa.update(users).where(users.c.id == user_id).values(temp_password_expires_at=expires))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('temp_password_expires_at')
