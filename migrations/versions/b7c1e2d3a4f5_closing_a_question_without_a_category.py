"""A dispute may be closed (resolved at consult, withdrawn) while it is still a question without a category

Revision ID: b7c1e2d3a4f5
Revises: 3fd7a837caa3
Create Date: 2026-11-22 06:40:00

"""
from alembic import op

revision = 'b7c1e2d3a4f5'
down_revision = '3fd7a837caa3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_category_after_consult'), type_='check')
        batch_op.create_check_constraint(op.f('ck_cases_category_after_consult'),
                                         "stage IN ('consult', 'closed') OR category IS NOT NULL")


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_category_after_consult'), type_='check')
        batch_op.create_check_constraint(op.f('ck_cases_category_after_consult'),
                                         "stage = 'consult' OR category IS NOT NULL")
