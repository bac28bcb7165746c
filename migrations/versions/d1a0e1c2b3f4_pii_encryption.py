"""personal data encrypted at rest: case_parties.phone / id_number and users.phone hold AES-GCM tokens
(app/core/crypto.py; String(255)), each with a blind index (HMAC of the normalised number, String(64), indexed)
for look-ups; pii_reveals records every audited reveal of a full number. Existing rows are encrypted here in
batches with the configured data key (Flask-Migrate runs this inside the app context); the downgrade decrypts.

Revision ID: d1a0e1c2b3f4
Revises: c3d0a5b0a4d3
Create Date: 2026-12-01 04:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd1a0e1c2b3f4'
down_revision = 'c3d0a5b0a4d3'
branch_labels = None
depends_on = None

BATCH = 1000
# table -> (encrypted column -> blind-index kind); outbox_messages.to (phones, e-mails) has no blind index.
ENCRYPTED = {
    "users": {"phone": "phone"},
    "case_parties": {"phone": "phone", "id_number": "id_number"},
}


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('phone', existing_type=sa.String(length=20), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('phone_bidx', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_phone_bidx'), ['phone_bidx'], unique=False)
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.alter_column('phone', existing_type=sa.String(length=20), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.alter_column('id_number', existing_type=sa.String(length=18), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('phone_bidx', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_number_bidx', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_parties_phone_bidx'), ['phone_bidx'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_parties_id_number_bidx'), ['id_number_bidx'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('to', existing_type=sa.String(length=120), type_=sa.String(length=255),
                              existing_nullable=False)

    op.create_table('pii_reveals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('reason_code', sa.String(length=30), nullable=False),
    sa.Column('reason_text', sa.String(length=500), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("field IN ('phone', 'id_number')", name=op.f('ck_pii_reveals_field')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_pii_reveals_case_id_cases'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_pii_reveals_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['party_id'], ['case_parties.id'], name=op.f('fk_pii_reveals_party_id_case_parties'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pii_reveals_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pii_reveals'))
    )
    with op.batch_alter_table('pii_reveals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pii_reveals_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pii_reveals_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pii_reveals_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pii_reveals_user_id'), ['user_id'], unique=False)

    for name, columns in ENCRYPTED.items():
        _rewrite(name, columns, encrypting=True)
    _rewrite_recipients(encrypting=True)


def downgrade():
    for name, columns in ENCRYPTED.items():
        _rewrite(name, columns, encrypting=False)
    _rewrite_recipients(encrypting=False)
    with op.batch_alter_table('pii_reveals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pii_reveals_user_id'))
        batch_op.drop_index(batch_op.f('ix_pii_reveals_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_pii_reveals_created_at'))
        batch_op.drop_index(batch_op.f('ix_pii_reveals_case_id'))
    op.drop_table('pii_reveals')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('to', existing_type=sa.String(length=255), type_=sa.String(length=120),
                              existing_nullable=False)
    with op.batch_alter_table('case_parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_parties_id_number_bidx'))
        batch_op.drop_index(batch_op.f('ix_case_parties_phone_bidx'))
        batch_op.drop_column('id_number_bidx')
        batch_op.drop_column('phone_bidx')
        batch_op.alter_column('id_number', existing_type=sa.String(length=255), type_=sa.String(length=18),
                              existing_nullable=True)
        batch_op.alter_column('phone', existing_type=sa.String(length=255), type_=sa.String(length=20),
                              existing_nullable=True)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_phone_bidx'))
        batch_op.drop_column('phone_bidx')
        batch_op.alter_column('phone', existing_type=sa.String(length=255), type_=sa.String(length=20),
                              existing_nullable=True)


def _rewrite(name: str, columns: dict[str, str], encrypting: bool) -> None:
    """Encrypt (and index) or decrypt every non-empty value of the columns, BATCH rows at a time, by id."""
    from app.core.crypto import blind_index_or_none, decrypt, encrypt, keyring

    ring = keyring()
    bind = op.get_bind()
    table = sa.table(name, sa.column("id", sa.Integer), *(sa.column(c, sa.String) for c in columns),
                     *(sa.column(f"{c}_bidx", sa.String) for c in columns))
    last_id = 0
    while True:
        rows = bind.execute(sa.select(table.c.id, *(table.c[c] for c in columns)).where(table.c.id > last_id)
                            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        last_id = rows[-1].id
        for row in rows:
            values = {}
            for column, kind in columns.items():
                value = getattr(row, column)
                if not value:
                    continue
                purpose = f"{name}.{column}"
                if encrypting and not value.startswith("v1."):
                    values[column] = encrypt(value, purpose, ring)
                    values[f"{column}_bidx"] = blind_index_or_none(kind, value)
                elif not encrypting and value.startswith("v1."):
                    values[column] = decrypt(value, purpose, ring)
            if values:
                bind.execute(table.update().where(table.c.id == row.id).values(**values))


def _rewrite_recipients(encrypting: bool) -> None:
    """outbox_messages.to: phone numbers and e-mail addresses encrypted, user ids (in_app) left as they are."""
    from app.core.crypto import EncryptedRecipient, decrypt, encrypt, keyring

    ring = keyring()
    bind = op.get_bind()
    table = sa.table("outbox_messages", sa.column("id", sa.Integer), sa.column("to", sa.String))
    last_id = 0
    while True:
        rows = bind.execute(sa.select(table.c.id, table.c.to).where(table.c.id > last_id)
                            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        last_id = rows[-1].id
        for row in rows:
            value = row.to or ""
            if encrypting and value and not value.startswith("v1.") and not EncryptedRecipient.is_user_id(value):
                new = encrypt(value, "outbox_messages.to", ring)
            elif not encrypting and value.startswith("v1."):
                new = decrypt(value, "outbox_messages.to", ring)
            else:
                continue
            bind.execute(table.update().where(table.c.id == row.id).values(to=new))
