"""analytics: the respondents rollup keyed by the ID number's blind index and the normalised name
(dash_respondent_names maps each respondent name to its normalised key, filled at refresh time), so mass-dispute
warnings group in SQL and never read a plaintext ID number. The rollup is rebuilt by the next refresh: its rows are
dropped here and the watermark cleared.

Revision ID: d3c2a3b4d5f6
Revises: d2b1f2a3c4e5
Create Date: 2026-12-01 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd3c2a3b4d5f6'
down_revision = 'd2b1f2a3c4e5'
branch_labels = None
depends_on = None


def _respondents(id_column: sa.Column, *extra: sa.Column) -> None:
    op.create_table('dash_respondents',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('org_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    id_column,
    sa.Column('name', sa.String(length=120), nullable=False),
    *extra,
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('county', sa.String(length=6), nullable=False),
    sa.PrimaryKeyConstraint('month', 'org_id', 'case_id', id_column.name, 'name', name=op.f('pk_dash_respondents'))
    )
    with op.batch_alter_table('dash_respondents', schema=None) as batch_op:
        batch_op.create_index('ix_dash_respondents_day', ['day'], unique=False)


def upgrade():
    op.drop_table('dash_respondents')
    _respondents(sa.Column('id_key', sa.String(length=64), nullable=False),
                 sa.Column('name_key', sa.String(length=120), nullable=False))
    op.create_table('dash_respondent_names',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_key', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_dash_respondent_names'))
    )
    op.execute("DELETE FROM dash_watermark")  # the next refresh rebuilds every rollup


def downgrade():
    op.drop_table('dash_respondent_names')
    op.drop_table('dash_respondents')
    _respondents(sa.Column('id_number', sa.String(length=18), nullable=False))
    op.execute("DELETE FROM dash_watermark")
