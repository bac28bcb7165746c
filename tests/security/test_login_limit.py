"""The 6th failed password within a minute for one account is refused (429), whatever the IP, counted in the
limiter's storage: in memory for the suite, and once in the real Redis shared by two app instances in two
processes, as two gunicorn workers would."""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import sys

import pytest
import redis

from app.config import PROJECT_ROOT
from tests.services import TEST_REDIS

REDIS = TEST_REDIS  # this leg's own Redis database (make test runs the SQLite and PostgreSQL legs at once)
CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
PASSWORD = "right-password-1"
LOCKED = "该账号密码错误次数过多，已暂时锁定，请 1 分钟后再试。"


def make_user(app, password: str = PASSWORD) -> str:
    """A resident with a name no other test or earlier run used (the limiter's keys may outlive the run). A cheap
    hash keeps the many logins fast; the login checks any Werkzeug hash the same way."""
    from werkzeug.security import generate_password_hash

    from app.accounts.models import User
    from app.extensions import db

    username = "lim-" + secrets.token_hex(6)
    with app.app_context():
        db.session.add(User(username=username, password_hash=generate_password_hash(password, "pbkdf2:sha256:1000"),
                            display_name="限流"))
        db.session.commit()
        db.session.remove()
    return username


def attempt(client, username: str, password: str):
    """One login from a fresh page (its CSRF token), as a browser would."""
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def from_ip(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_sixth_failure_in_a_minute_is_refused_whatever_the_ip(app):
    username, other = make_user(app), make_user(app)
    for i in range(5):  # five addresses, five failures: each answered normally
        resp = attempt(from_ip(app, f"10.9.0.{i + 1}"), username, "wrong-password")
        assert resp.status_code == 422 and "用户名或密码不正确。" in resp.get_data(as_text=True)
    resp = attempt(from_ip(app, "10.9.0.6"), username, PASSWORD)  # even the right password, from a new address
    page = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert f'<p class="error" id="password-error">{LOCKED}</p>' in page
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["Content-Security-Policy"] and resp.headers["Cache-Control"] == "no-store"
    assert attempt(from_ip(app, "10.9.0.1"), other, PASSWORD).status_code == 302  # another account: unaffected
    assert from_ip(app, "10.9.0.7").get("/login").status_code == 200  # the page itself is never limited


def test_successful_logins_and_incomplete_forms_do_not_count(app):
    username = make_user(app)
    client = from_ip(app, "10.9.1.1")
    for _ in range(3):
        assert attempt(client, username, "wrong-password").status_code == 422
    for _ in range(3):  # two more failures would lock it: these are not failures
        assert attempt(client, username, "").status_code == 422  # the form asks for a password
        assert attempt(app.test_client(), username, PASSWORD).status_code == 302
    assert attempt(client, username, "wrong-password").status_code == 422
    assert attempt(client, username, "wrong-password").status_code == 422  # the 5th failure
    assert attempt(client, username, PASSWORD).status_code == 429


def test_wrong_current_passwords_on_the_password_page_count_for_the_same_account(app):
    username = make_user(app)
    browser = app.test_client()
    assert attempt(browser, username, PASSWORD).status_code == 302
    for _ in range(3):
        assert attempt(app.test_client(), username, "wrong-password").status_code == 422
    for _ in range(2):
        token = CSRF_RE.search(browser.get("/account/password").get_data(as_text=True)).group(1)
        resp = browser.post("/account/password", data={"current": "wrong-password", "password": "new-password-99",
                                                        "confirm": "new-password-99", "csrf_token": token})
        assert resp.status_code == 422
    resp = browser.post("/account/password", data={"current": PASSWORD, "password": "new-password-99",
                                                    "confirm": "new-password-99", "csrf_token": token})
    assert resp.status_code == 429 and f'<p class="error" id="current-error">{LOCKED}</p>' in resp.get_data(as_text=True)
    assert attempt(app.test_client(), username, PASSWORD).status_code == 429  # the login form too


WORKER = """
import json, sys
from app import create_app
app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": sys.argv[1], "RATELIMIT_STORAGE_URI": sys.argv[2],
                  "SECRET_KEY": "worker-" + "x" * 40, "WTF_CSRF_ENABLED": False})
client = app.test_client()
print("ready", flush=True)
sys.stdin.readline()  # the other worker has made its attempts
codes = [client.post("/login", data={"username": sys.argv[3], "password": "wrong-password"}).status_code
         for _ in range(4)]
print(json.dumps(codes), flush=True)
"""


@pytest.fixture()
def redis_app(app, tmp_path):
    """A second app instance in this process whose limiter counts in Redis (db 15); the keys it made are deleted,
    and the (single) limiter is pointed back at the suite's app and its memory storage afterwards."""
    from app import create_app
    from app.extensions import db, limiter

    conn = redis.Redis.from_url(REDIS)
    conn.ping()  # Redis must be running at 127.0.0.1:6379 (as on CI): fail loudly, never skip
    worker = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "RATELIMIT_STORAGE_URI": REDIS, "SECRET_KEY": "main-" + "x" * 40, "FILES_DIR": tmp_path})
    yield worker, conn
    with worker.app_context():
        db.session.remove()
        db.engine.dispose()
    limiter.init_app(app)
    conn.close()


def test_two_workers_sharing_redis_count_one_account_together(app, redis_app):
    worker, conn = redis_app
    username = make_user(app)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with subprocess.Popen([sys.executable, "-c", WORKER, app.config["SQLALCHEMY_DATABASE_URI"], REDIS, username],
                          cwd=PROJECT_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as other:
        try:
            assert other.stdout.readline().strip() == "ready"  # it started while this worker got going
            here = worker.test_client()
            for _ in range(2):  # two failures here...
                assert attempt(here, username, "wrong-password").status_code == 422
            other.stdin.write("go\n")
            other.stdin.flush()
            codes = json.loads(other.stdout.readline())  # ...then three there, and its 6th attempt is refused
            assert codes == [422, 422, 422, 429]
            assert attempt(here, username, PASSWORD).status_code == 429  # and here too: one count for both
            assert other.wait(timeout=30) == 0
        finally:
            if other.poll() is None:
                other.kill()
    digest = hashlib.sha256(username.encode()).hexdigest()[:32]
    keys = list(conn.scan_iter(match=f"*{digest}*"))
    assert keys, "the count was not kept in Redis"
    conn.delete(*keys)
