"""The migration d1a0e1c2b3f4 encrypts the numbers already stored (and indexes them); its downgrade decrypts."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import scratch_app

BEFORE = "c3d0a5b0a4d3"  # the revision before d1a0e1c2b3f4


@pytest.fixture()
def scratch(app, tmp_path):
    """A second app on its own empty database (the same instance dir, so the same personal-data key)."""
    with scratch_app(tmp_path, "migration") as other:
        yield other


def test_downgrade_decrypts_and_upgrade_encrypts_and_indexes_existing_rows(scratch):
    from flask_migrate import downgrade, upgrade

    from app.core.crypto import blind_index, decrypt
    from app.demo import seed_demo
    from app.extensions import db

    with scratch.app_context():
        upgrade()
        seed_demo("jiefen-demo")
        db.session.commit()
        db.session.remove()
        encrypted = dict(db.session.execute(sa.text("SELECT username, phone FROM users")).all())
        assert all(v.startswith("v1.") for v in encrypted.values())
        db.session.remove()  # no open transaction may hold a lock on the tables the migration alters
        downgrade(revision=BEFORE)
        plain = dict(db.session.execute(sa.text("SELECT username, phone FROM users")).all())
        assert plain == {u: decrypt(v, "users.phone") for u, v in encrypted.items()}
        parties = db.session.execute(sa.text("SELECT id, phone FROM case_parties WHERE phone IS NOT NULL")).all()
        assert parties and all(p.phone.isdigit() for p in parties)
        db.session.remove()

        upgrade()
        again = db.session.execute(sa.text("SELECT username, phone, phone_bidx FROM users")).all()
        for row in again:
            assert row.phone.startswith("v1.") and decrypt(row.phone, "users.phone") == plain[row.username]
            assert row.phone_bidx == blind_index("phone", plain[row.username])
        stored = dict(db.session.execute(sa.text("SELECT id, phone_bidx FROM case_parties "
                                                 "WHERE phone IS NOT NULL")).all())
        assert stored == {p.id: blind_index("phone", p.phone) for p in parties}
        db.session.remove()
