"""Two gunicorn workers behind one port share the rooms through Redis: a message sent by a client connected to
one worker reaches a client connected to the other. Runs the real server (gthread workers, --preload) on this
run's database; the clients are python-socketio's, over websocket, logged in through the real login form."""
from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import socketio as sio_client

from tests.mediation.test_room import room_case  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def two_workers(app, tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": "redis://127.0.0.1:6379/0",
           "SOCKETIO_CHANNEL": f"jiefen-test-{secrets.token_hex(4)}", "SECRET_KEY": secrets.token_hex(16),
           "JIEFEN_INSTANCE_DIR": str(tmp_path), "JIEFEN_FILES_DIR": str(tmp_path / "files"),
           "JIEFEN_CONFIG": "development",
           "JIEFEN_DATA_KEYS": (Path(app.instance_path) / "data.key").read_text()}  # same installation, same key
    log = open(tmp_path / "gunicorn.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--preload", "-k", "gthread", "--threads", "20", "-w", "2",
                             "-b", f"127.0.0.1:{port}", "app:create_app()"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()[-2000:])
    yield base
    proc.terminate()
    proc.wait(timeout=15)
    log.close()
    if os.environ.get("SHOW_GUNICORN_LOG"):
        print((tmp_path / "gunicorn.log").read_text()[-5000:])


def _login(base: str, username: str) -> requests.Session:
    http = requests.Session()
    token = CSRF_RE.search(http.get(base + "/login").text).group(1)
    resp = http.post(base + "/login", data={"username": username, "password": "jiefen-demo", "csrf_token": token},
                     allow_redirects=False)
    assert resp.status_code == 302, resp.text[:500]
    return http


class Client:
    def __init__(self, base, http, case_id):
        self.sio = sio_client.Client(http_session=http, reconnection=False)
        self.state: dict = {}
        self.chats: list[dict] = []
        self.ready = threading.Event()
        self.sio.on("state", self._on_state, namespace="/room")
        self.sio.on("chat", self.chats.append, namespace="/room")
        self.sio.connect(base, namespaces=["/room"], transports=["websocket"], auth={"case_id": case_id},
                         wait_timeout=10)
        assert self.ready.wait(10)

    def _on_state(self, state):
        self.state = state
        self.ready.set()


def _on_other_worker(base, http, case_id, pid) -> Client:
    for _ in range(40):
        client = Client(base, http, case_id)
        if client.state["pid"] != pid:
            return client
        client.sio.disconnect()
    pytest.fail("every connection landed on the same worker")


def test_clients_on_different_workers_see_each_others_messages(app, room_case, two_workers):  # noqa: F811
    case_id, _ = room_case
    applicant = Client(two_workers, _login(two_workers, "resident1"), case_id)
    respondent = _on_other_worker(two_workers, _login(two_workers, "resident2"), case_id, applicant.state["pid"])
    try:
        assert applicant.state["pid"] != respondent.state["pid"]
        ack = applicant.sio.call("send", {"body": "跨进程：您能看到吗？", "client_id": "w1"}, namespace="/room", timeout=10)
        assert ack["ok"], ack
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not respondent.chats:
            time.sleep(0.02)
        assert [m["body"] for m in respondent.chats] == ["跨进程：您能看到吗？"], (applicant.chats, applicant.state["pid"], respondent.state["pid"])
        ack = respondent.sio.call("send", {"body": "看到了。", "client_id": "w2"}, namespace="/room", timeout=10)
        assert ack["ok"]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(applicant.chats) < 2:
            time.sleep(0.02)
        assert [m["body"] for m in applicant.chats] == ["跨进程：您能看到吗？", "看到了。"]
    finally:
        applicant.sio.disconnect()
        respondent.sio.disconnect()
