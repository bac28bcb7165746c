"""versioned consent and retention purge: consent_records, personal_data_purges, purged_files

Revision ID: d2b1f2a3c4e5
Revises: d1a0e1c2b3f4
Create Date: 2026-12-01 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2b1f2a3c4e5'
down_revision = 'd1a0e1c2b3f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('consent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('subject_name', sa.String(length=120), nullable=True),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('purposes', sa.JSON(), nullable=False),
    sa.Column('method', sa.String(length=24), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('accepted_at', sa.DateTime(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('user_id IS NOT NULL OR case_id IS NOT NULL', name=op.f('ck_consent_records_subject')),
    sa.CheckConstraint("method IN ('online', 'in_person_signed', 'in_person_read_aloud')",
                       name=op.f('ck_consent_records_method')),
    sa.CheckConstraint("method = 'online' OR recorded_by_id IS NOT NULL", name=op.f('ck_consent_records_recorded_by')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_consent_records_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_consent_records_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consent_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_records_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_records_user_id'), ['user_id'], unique=False)

    op.create_table('personal_data_purges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('purged_at', sa.DateTime(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_personal_data_purges_case_id_cases'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_purges')),
    sa.UniqueConstraint('case_id', name=op.f('uq_personal_data_purges_case_id'))
    )
    op.create_table('purged_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('purged_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('evidence', 'document')", name=op.f('ck_purged_files_kind')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_purged_files_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purged_files')),
    sa.UniqueConstraint('kind', 'row_id', name='uq_purged_files_kind_row')
    )
    with op.batch_alter_table('purged_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purged_files_case_id'), ['case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('purged_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purged_files_case_id'))
    op.drop_table('purged_files')
    op.drop_table('personal_data_purges')
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_records_user_id'))
        batch_op.drop_index(batch_op.f('ix_consent_records_case_id'))
    op.drop_table('consent_records')
