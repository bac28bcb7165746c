"""Test fixtures: one fresh database per run (SQLite file or a new PostgreSQL database), built by
`flask db upgrade`, wiped between tests. JIEFEN_TEST_DB=sqlite|postgresql selects the backend."""
from __future__ import annotations

import os
import re
import secrets
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from werkzeug.serving import WSGIRequestHandler, make_server

BACKEND = os.environ.get("JIEFEN_TEST_DB", "sqlite")
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def _pg_admin_engine():
    from app.config import normalise_database_url

    return sa.create_engine(normalise_database_url(PG_URL), isolation_level="AUTOCOMMIT")


@contextmanager
def sql_statements(app):
    """The SQL statements the app's engine runs inside the block (a list filled as they run)."""
    from app.extensions import db

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@contextmanager
def scratch_app(tmp_path, label: str):
    """A second app on a brand-new empty database (SQLite file or PostgreSQL database named after `label`) with its
    own files folder, for tests that need a machine besides the shared one (restore, migrations); dropped after."""
    from app import create_app
    from app.config import TestConfig, normalise_database_url
    from app.extensions import db

    name = None
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path / f'{label}.db'}"
    else:
        name = f"jiefen_{label}_{os.getpid()}_{secrets.token_hex(3)}"
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))  # nosemgrep: sql-built-from-strings -- pid and hex
        url = urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))

    class ScratchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = normalise_database_url(url)
        FILES_DIR = tmp_path / f"{label}-files"
        SECRET_KEY = f"{label}-" + secrets.token_hex(16)

    scratch = create_app(ScratchConfig)
    try:
        yield scratch
    finally:
        with scratch.app_context():
            db.session.remove()
            db.engine.dispose()
        if name is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # nosemgrep: sql-built-from-strings -- as above
            admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A brand-new, empty database for this test run."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    name = f"jiefen_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))  # nosemgrep: sql-built-from-strings -- pid and hex digits
    parts = urlsplit(PG_URL)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # nosemgrep: sql-built-from-strings -- as above
    admin.dispose()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application on the fresh database, its schema built by the migrations (flask db upgrade)."""
    os.environ["JIEFEN_INSTANCE_DIR"] = str(tmp_path_factory.mktemp("instance"))
    from flask_migrate import upgrade

    from app import create_app
    from app.config import TestConfig, normalise_database_url

    class RunConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        FILES_DIR = tmp_path_factory.mktemp("files")
        SECRET_KEY = "test-" + secrets.token_hex(16)

    application = create_app(RunConfig)
    with application.app_context():
        upgrade()
    yield application
    from app.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _socketio_bound_to_app(request):
    """Flask-SocketIO keeps one server on a module-level object, and every create_app() replaces it: point it back
    at the shared test app's own server for each test that uses the app (other tests make apps of their own)."""
    if "app" not in request.fixturenames:
        yield
        return
    from app.extensions import socketio

    server = request.getfixturevalue("app").extensions["socketio_server"]
    socketio.server = server
    async_handlers = server.async_handlers
    yield
    # Flask-SocketIO's test client reroutes the server's sends to itself and runs handlers inline, for good: undo
    # it, or a later browser test on the live server would never hear back.
    for patched in ("_send_packet", "_send_eio_packet"):
        server.__dict__.pop(patched, None)
    server.async_handlers = async_handlers


# Every sequence owned by a column of a table (serial and identity columns) restarts at 1.
OWNED_SEQUENCES_RESTART = """
    SELECT count(setval(seq.oid::regclass, 1, false))
    FROM pg_class seq
    JOIN pg_depend dep ON dep.objid = seq.oid AND dep.classid = 'pg_class'::regclass
         AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
    WHERE seq.relkind = 'S' AND seq.relnamespace = 'public'::regnamespace"""


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Empty every table after each test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from app.extensions import db

    with application.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # DELETE with triggers and foreign-key checks off for this transaction (replica role), then the
                # tables' own sequences back to 1: what TRUNCATE ... RESTART IDENTITY did, in ~25 ms instead of
                # ~290 ms (TRUNCATE makes new files for every table and index), i.e. minutes over the leg.
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                for name in tables:
                    conn.execute(sa.text(f"DELETE FROM {name}"))  # nosemgrep: sql-built-from-strings -- names from our metadata
                conn.execute(sa.text(OWNED_SEQUENCES_RESTART))
            else:  # DELETE fires row triggers (TRUNCATE does not): signed agreements refuse it, so lift them meanwhile
                from app.agreements.triggers import create_triggers, drop_triggers
                from app.privacy import reveal_triggers

                drop_triggers(conn)
                reveal_triggers.drop_triggers(conn)
                for name in reversed(tables):
                    conn.execute(sa.text(f"DELETE FROM {name}"))  # nosemgrep: sql-built-from-strings -- names from our metadata
                create_triggers(conn)
                reveal_triggers.create_triggers(conn)


@pytest.fixture()
def ctx(app):
    """An application context for tests that use operations directly."""
    with app.app_context():
        yield
        from app.extensions import db

        db.session.remove()


@pytest.fixture()
def demo(app):
    """The demo county (seed-demo), returning the demo password."""
    from app.demo import seed_demo
    from app.extensions import db

    with app.app_context():
        seed_demo("jiefen-demo")
        db.session.commit()
        db.session.remove()
    return "jiefen-demo"


class Web:
    """A test client that behaves like a browser with respect to CSRF: it reads the token from pages."""

    def __init__(self, app):
        self.client = app.test_client()
        self.token = None

    def get(self, url, **kw):
        resp = self.client.get(url, **kw)
        m = CSRF_RE.search(resp.get_data(as_text=True))
        if m:
            self.token = m.group(1)
        return resp

    def post(self, url, data=None, *, page=None, **kw):
        """POST with the CSRF token of `page` (default: the last page fetched, or url itself)."""
        if page or self.token is None:
            self.get(page or url)
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)

    def login(self, username, password="jiefen-demo"):
        resp = self.post("/login", {"username": username, "password": password}, page="/login")
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        self.get("/dashboard", follow_redirects=True)
        return resp

    def logout(self):
        self.get("/dashboard", follow_redirects=True)
        return self.post("/logout")


@pytest.fixture()
def web(app):
    return Web(app)


@pytest.fixture()
def make_web(app):
    """A factory of independent browser-like clients (one per user)."""
    return lambda: Web(app)


def pytest_collection_modifyitems(config, items):
    """Browser tests last (Playwright's sync API keeps an asyncio loop running in the main thread for the rest of the
    session, and libraries that call asyncio.run(), such as pyHanko's validation, refuse to run under it). On the
    PostgreSQL leg, run only the tests that touch the database."""
    items.sort(key=lambda item: "e2e" in item.nodeid.split("::")[0].split("/"))  # stable: otherwise as collected
    if BACKEND != "postgresql":
        return
    selected = [i for i in items if "app" in getattr(i, "fixturenames", ())]
    deselected = [i for i in items if i not in selected]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def pytest_report_header(config):
    return f"jiefen test database backend: {BACKEND}"


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr; errors are still logged."""

    def log_request(self, code="-", size="-"):
        pass


@pytest.fixture(scope="session")
def live_server(app):
    """Base URL (http://127.0.0.1:<port>) of the test app served by a threaded server in a background thread:
    for browsers, and for requests that must really overlap."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="jiefen-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
