"""A second app on the shared test database (production, or testing behind a proxy) for deployment-level checks."""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest


@pytest.fixture()
def make_second_app(app, tmp_path, monkeypatch):
    """A factory: make(env_name="production", **overrides) -> an app on the suite's database and personal-data key,
    in-memory rate limits of its own. Afterwards the shared limiter points back at the suite's app."""
    from app import create_app

    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    made = []

    def make(env_name: str = "production", **overrides):
        settings = {"ENV_NAME": env_name, "SECRET_KEY": secrets.token_hex(32), "FILES_DIR": tmp_path / f"files{len(made)}",
                    "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                    "RATELIMIT_STORAGE_URI": "memory://",
                    "DATA_KEYS": (Path(app.instance_path) / "data.key").read_text(),  # the shared app's key
                    **overrides}
        other = create_app(settings)
        made.append(other)
        return other

    yield make
    from app.extensions import db, limiter

    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    if made:
        limiter.init_app(app)  # the limiter is one object: point it back at the suite's app and storage
