"""Fixtures of the reliability tests: the test app on a real socket, and residents made directly."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass


@pytest.fixture(scope="session")
def reliability_server(app):
    """Base URL of the test app served by a threaded werkzeug server (concurrent requests really overlap)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="reliability-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture()
def make_resident(app):
    """make_resident(username) -> user id: a resident with password 'jiefen-demo'."""

    def _make(username: str, email: str | None = None) -> int:
        from app.accounts.operations import register_resident
        from app.extensions import db

        with app.app_context():
            user = register_resident(username, "jiefen-demo", f"居民{username}", "13900000001", email)
            db.session.commit()
            user_id = user.id
            db.session.remove()
        return user_id

    return _make
