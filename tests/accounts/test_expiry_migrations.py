"""The migrations that bring expiries give the rows already there one: a temporary password given earlier expires 24
hours after the assisted reset that gave it (its account event), a court API token 90 days after the upgrade (no
court's system stops at once); events from the CLI cannot be downgraded away, and the chain verifies throughout."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import scratch_app

FIRST = "ab7ec32c495e"  # users.temp_password_expires_at; then b2023feaddb4 (api tokens), c39658e8e947 (CLI events)


@pytest.fixture()
def scratch(app, tmp_path):
    with scratch_app(tmp_path, "expiry") as other:
        yield other


def _before_first() -> str:
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_revision(FIRST).down_revision


def test_existing_temporary_passwords_and_tokens_get_their_expiry(scratch):
    from flask_migrate import downgrade, upgrade

    from app.accounts import admin_ops
    from app.accounts.models import AccountEvent, Organisation, OrgType, User
    from app.api.models import ApiToken
    from app.api.tokens import issue_token
    from app.core.time import utcnow
    from app.demo import seed_demo
    from app.extensions import db

    with scratch.app_context():
        upgrade()
        seed_demo("jiefen-demo")
        admin = db.session.scalar(sa.select(User).where(User.username == "orgadmin1"))
        resident = db.session.scalar(sa.select(User).where(User.username == "resident1"))
        admin_ops.assisted_reset(admin, resident, "本人持证到场", None)
        other = db.session.scalar(sa.select(User).where(User.username == "resident2"))
        other.must_change_password = True  # no event found for it: 24 hours from the upgrade
        court = db.session.scalar(sa.select(Organisation).where(Organisation.type == OrgType.court))
        issue_token(court, "立案系统")
        db.session.commit()
        given_at = db.session.scalar(sa.select(AccountEvent.created_at))
        db.session.remove()

        downgrade(revision=_before_first())
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("api_tokens")}
        assert "expires_at" not in columns
        db.session.remove()
        upgrade()
        now = utcnow()
        expiries = dict(db.session.execute(sa.select(User.username, User.temp_password_expires_at)).all())
        assert expiries.pop("resident1") == given_at + timedelta(hours=24)
        assert now < expiries.pop("resident2") <= now + timedelta(hours=24)
        assert set(expiries.values()) == {None}
        [expires] = db.session.scalars(sa.select(ApiToken.expires_at)).all()
        assert now + timedelta(days=89, hours=23) < expires <= now + timedelta(days=90)
        assert admin_ops.verify_chain() == (1, None)

        admin = db.session.scalar(sa.select(User).where(User.username == "orgadmin1"))
        admin_ops.act_from_cli(admin, "end_sessions", "测试", "root")
        db.session.commit()
        db.session.remove()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the RuntimeError and exits 1
            downgrade(revision="b2023feaddb4")
        db.session.remove()
        upgrade()  # SQLite's DDL is not transactional: the steps before the refusal were undone; back to head
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountEvent)
                                 .where(AccountEvent.actor_os_user == "root")) == 1
        assert admin_ops.verify_chain() == (2, None)
        db.session.remove()
