"""room messages: the arbitration hearing room; award numbers unique per body

Revision ID: 08e0e1b6fe02
Revises: 903d1ad4c0a3
Create Date: 2026-11-30 22:37:15.086113

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '08e0e1b6fe02'
down_revision = '903d1ad4c0a3'
branch_labels = None
depends_on = None


OLD = "room = 'joint' OR room LIKE 'caucus-%'"
NEW = "room IN ('joint', 'hearing') OR room LIKE 'caucus-%'"


def upgrade():
    # The session room doubles as the arbitration hearing room (one room named "hearing").
    with op.batch_alter_table('room_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_room_messages_room'), type_='check')
        batch_op.create_check_constraint(op.f('ck_room_messages_room'), NEW)
    # An award number is given once per body (two awards issued at the same moment cannot share one).
    with op.batch_alter_table('arbitration_awards', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_arbitration_awards_body_number', ['body_id', 'number'])


def downgrade():
    with op.batch_alter_table('arbitration_awards', schema=None) as batch_op:
        batch_op.drop_constraint('uq_arbitration_awards_body_number', type_='unique')
    op.execute("DELETE FROM room_messages WHERE room = 'hearing'")
    with op.batch_alter_table('room_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_room_messages_room'), type_='check')
        batch_op.create_check_constraint(op.f('ck_room_messages_room'), OLD)
