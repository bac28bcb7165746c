"""dashboard daily rollups and case search: dash_daily (new cases per Beijing day x county x category, for spike
warnings) and dash_respondents (one row per case and respondent as named, for mass-dispute warnings); cases.search_vector (character
bigrams, app/cases/search.py) under a GIN index with the organisation id and stage (PostgreSQL, btree_gin; SQLite: a plain
index of the same name and the column stays NULL), which also covers party names, so the trigram index on
case_parties.name goes. Existing cases get their vector here, and the dashboard's
watermark is cleared so the next refresh rebuilds every rollup, the new ones included.

Revision ID: c3d0a5b0a4d3
Revises: c2b0a11ab1e2
Create Date: 2026-12-01 00:40:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'c3d0a5b0a4d3'
down_revision = 'c2b0a11ab1e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dash_daily',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('org_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('county', sa.String(length=6), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'org_id', 'day', 'county', 'category', name=op.f('pk_dash_daily'))
    )
    with op.batch_alter_table('dash_daily', schema=None) as batch_op:
        batch_op.create_index('ix_dash_daily_org_day', ['org_id', 'day'], unique=False)

    op.create_table('dash_respondents',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('org_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('county', sa.String(length=6), nullable=False),
    sa.PrimaryKeyConstraint('month', 'org_id', 'case_id', 'id_number', 'name', name=op.f('pk_dash_respondents'))
    )
    with op.batch_alter_table('dash_respondents', schema=None) as batch_op:
        batch_op.create_index('ix_dash_respondents_day', ['day'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_vector', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        _backfill_search_vectors()
        op.create_index('ix_cases_search', 'cases', ['organisation_id', 'stage', 'search_vector'], unique=False,
                        postgresql_using='gin')
    else:
        with op.batch_alter_table('cases', schema=None) as batch_op:
            batch_op.create_index('ix_cases_search', ['organisation_id', 'stage', 'search_vector'], unique=False)
    # Party names are in the search vector now: the trigram index on them (01061382a01c) has no reader left.
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_case_parties_name_trgm')
    with op.batch_alter_table('confirmation_applications', schema=None) as batch_op:
        batch_op.create_index('ix_confirmation_applications_status_deadline', ['status', 'deadline_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":  # overdue lists: category and organisation from the index alone
        op.drop_index('ix_cases_stage_status_due', table_name='cases')
        op.create_index('ix_cases_stage_status_due', 'cases', ['stage', 'status', 'mediation_due_on'], unique=False,
                        postgresql_include=['id', 'category', 'organisation_id'])
        op.drop_index('ix_cases_created_at', table_name='cases')  # the first case id of a window, index-only
        op.create_index('ix_cases_created_at', 'cases', ['created_at'], unique=False, postgresql_include=['id'])
        op.drop_index('ix_cases_org_created', table_name='cases')  # an organisation's case ids, index-only
        op.create_index('ix_cases_org_created', 'cases', ['organisation_id', 'created_at'], unique=False,
                        postgresql_include=['id'])
    op.execute("DELETE FROM dash_watermark")


def _backfill_search_vectors(batch: int = 2000) -> None:
    from app.cases.search import tsvector_literal

    conn = op.get_bind()
    last = 0
    while True:
        cases = conn.execute(sa.text("SELECT id, title, description, court_case_number FROM cases WHERE id > :last "
                                     "ORDER BY id LIMIT :n"), {"last": last, "n": batch}).all()
        if not cases:
            return
        names: dict[int, list[str]] = {}
        for case_id, name in conn.execute(sa.text("SELECT case_id, name FROM case_parties WHERE case_id "
                                                  "BETWEEN :a AND :b ORDER BY id"),
                                          {"a": cases[0].id, "b": cases[-1].id}):
            names.setdefault(case_id, []).append(name)
        conn.execute(sa.text("UPDATE cases SET search_vector = CAST(:v AS tsvector) WHERE id = :id"),
                     [{"id": c.id, "v": tsvector_literal(c.title, c.description, c.court_case_number,
                                                         *names.get(c.id, []))} for c in cases])
        last = cases[-1].id


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_cases_stage_status_due', table_name='cases')
        op.create_index('ix_cases_stage_status_due', 'cases', ['stage', 'status', 'mediation_due_on'], unique=False)
        op.drop_index('ix_cases_org_created', table_name='cases')
        op.create_index('ix_cases_org_created', 'cases', ['organisation_id', 'created_at'], unique=False)
        op.drop_index('ix_cases_created_at', table_name='cases')
        op.create_index('ix_cases_created_at', 'cases', ['created_at'], unique=False)
    with op.batch_alter_table('confirmation_applications', schema=None) as batch_op:
        batch_op.drop_index('ix_confirmation_applications_status_deadline')
    if op.get_bind().dialect.name == "postgresql":
        op.create_index('ix_case_parties_name_trgm', 'case_parties', ['name'], unique=False, postgresql_using='gin',
                        postgresql_ops={'name': 'gin_trgm_ops'})
    else:
        with op.batch_alter_table('case_parties', schema=None) as batch_op:
            batch_op.create_index('ix_case_parties_name_trgm', ['name'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_search')
        batch_op.drop_column('search_vector')

    with op.batch_alter_table('dash_respondents', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_respondents_day')

    op.drop_table('dash_respondents')
    with op.batch_alter_table('dash_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_dash_daily_org_day')

    op.drop_table('dash_daily')
    op.execute("DELETE FROM dash_watermark")
