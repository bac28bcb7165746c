"""Fixtures of the reliability tests: residents made directly (the app on a real socket is live_server)."""
from __future__ import annotations

import pytest


@pytest.fixture()
def make_resident(app):
    """make_resident(username) -> user id: a resident with password 'jiefen-demo'."""

    def _make(username: str, email: str | None = None) -> int:
        from app.accounts.operations import register_resident
        from app.extensions import db
        from app.privacy.consent import record_consent

        with app.app_context():
            user = register_resident(username, "jiefen-demo", f"居民{username}", "13900000001", email)
            record_consent(user)  # agreed to the personal-information rules, as before filing
            db.session.commit()
            user_id = user.id
            db.session.remove()
        return user_id

    return _make
