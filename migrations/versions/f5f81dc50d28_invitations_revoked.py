"""invitations: "revoked", when the mediator corrects a respondent's phone number and invites again (app/mediation)

Revision ID: f5f81dc50d28
Revises: c39658e8e947
Create Date: 2026-12-03 10:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f5f81dc50d28'
down_revision = 'c39658e8e947'
branch_labels = None
depends_on = None


OLD = "answer IS NULL OR answer IN ('accepted', 'declined', 'expired')"
NEW = "answer IS NULL OR answer IN ('accepted', 'declined', 'expired', 'revoked')"


def upgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invitations_answer'), type_='check')
        batch_op.create_check_constraint(op.f('ck_invitations_answer'), NEW)


def downgrade():
    # A revoked invitation was replaced by a newer one for the same party: as far as the old states go, it expired.
    op.execute("UPDATE invitations SET answer = 'expired' WHERE answer = 'revoked'")
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invitations_answer'), type_='check')
        batch_op.create_check_constraint(op.f('ck_invitations_answer'), OLD)
