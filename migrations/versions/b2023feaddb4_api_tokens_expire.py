"""api_tokens.expires_at (API_TOKEN_DAYS after issue) and replaces_id (`flask api-tokens rotate`)

Tokens issued before this revision did not expire: they get 90 days (the default) from the upgrade, so no court's
system stops at once and each court has time to get a rotated token.

Revision ID: b2023feaddb4
Revises: ab7ec32c495e
Create Date: 2026-12-03 11:00:00

"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b2023feaddb4'
down_revision = 'ab7ec32c495e'
branch_labels = None
depends_on = None

DAYS = 90  # API_TOKEN_DAYS' default


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('replaces_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_replaces_id_api_tokens'), 'api_tokens',
                                    ['replaces_id'], ['id'])
    tokens = sa.table('api_tokens', sa.column('expires_at', sa.DateTime))
    expires = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=DAYS)
    op.get_bind().execute(sa.update(tokens).values(expires_at=expires))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_replaces_id_api_tokens'), type_='foreignkey')
        batch_op.drop_column('replaces_id')
        batch_op.drop_column('expires_at')
