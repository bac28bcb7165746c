"""No personal data in logs: a distinctive ID number and phone go through a journey that tempts every leak
(registration, filing, failed logins, search, 404 and 500 pages, the SMS console backend, a backup), and no log line
of any logger at DEBUG holds either, nor their digits with separators. Plus real access-log lines of werkzeug's and
gunicorn's servers."""
from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from werkzeug.serving import make_server

from app.privacy.logging_filter import redact
from tests.cases.test_funnel_journeys import file_dispute
from tests.privacy.test_consent import agree

PHONE = "13977661234"
ID_NUMBER = "11010519491231002X"  # the GB 11643 example number: valid check digit
ROOT = Path(__file__).resolve().parents[2]


def leaks(text: str) -> list[str]:
    """The personal values found in text, also when written with separators or URL-encoded."""
    squeezed = re.sub(r"[\s\-.:/_+%]", "", unquote(unquote(text))).upper()
    return [v for v in (PHONE, ID_NUMBER) if v in squeezed]


class Everything(logging.Handler):
    """Every record, formatted as a handler would write it (traceback included)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture()
def all_logs(caplog):
    """caplog on the root logger at DEBUG plus a handler on the root and on every logger that does not propagate."""
    caplog.set_level(logging.DEBUG)
    handler = Everything()
    # SQLAlchemy's statement log too (it prints parameters, such as a search for an ID number): as if switched on.
    loggers = [logging.getLogger(), logging.getLogger("sqlalchemy.engine")] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger) and not lg.propagate]
    levels = {lg: lg.level for lg in loggers}
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler, caplog
    for lg in loggers:
        lg.removeHandler(handler)
        lg.setLevel(levels[lg])


def _five_hundred_app(app):
    """A second app on the same database, not in testing mode (so a crash is logged, as in production), with one
    route that fails with the numbers in its error message."""
    from app import create_app

    broken = create_app({"ENV_NAME": "testing", "TESTING": False, "SECRET_KEY": app.config["SECRET_KEY"],
                         "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "FILES_DIR": app.config["FILES_DIR"]})

    @broken.route("/crash/<path:what>")
    def crash(what):
        raise RuntimeError(f"could not handle {what}")

    return broken


def test_a_journey_that_tempts_every_leak_logs_no_number(app, demo, make_web, all_logs, tmp_path):
    handler, caplog = all_logs
    web = make_web()
    resp = web.post("/register", {"username": "leak_test", "display_name": "测试居民", "password": "a-long-password",
                                  "confirm": "a-long-password", "phone": PHONE}, page="/register")
    assert resp.status_code == 302
    agree(web)
    case_id = file_dispute(web, "楼上漏水", "neighbour", f"楼上漏水，我的电话 {PHONE}，身份证 {ID_NUMBER}。",
                           applicant_phone=PHONE, applicant_id_number=ID_NUMBER, **{"respondent1-phone": PHONE})
    assert case_id
    for _ in range(2):
        stranger = make_web()
        assert stranger.post("/login", {"username": PHONE, "password": "wrong"}, page="/login").status_code in (200, 422)
    admin = make_web()
    admin.login("admin")
    assert admin.get(f"/org/cases/search?q={ID_NUMBER}").status_code == 200
    assert admin.get(f"/org/cases/search?q={quote(PHONE[:3] + ' ' + PHONE[3:7] + ' ' + PHONE[7:])}").status_code == 200
    assert web.get(f"/no/such/page/{ID_NUMBER}/{PHONE}").status_code == 404
    with app.app_context():
        from app.extensions import db
        from app.mediation.operations import queue

        queue("sms", PHONE, "【解纷】测试", f"请致电 {PHONE}，身份证 {ID_NUMBER}。")
        db.session.commit()
    runner = app.test_cli_runner()
    sent = runner.invoke(args=["outbox", "send"])
    assert sent.exit_code == 0 and "139****1234" in sent.output
    backup = runner.invoke(args=["backup", "-o", str(tmp_path / "b.tar.gz"), "--logical"])
    assert backup.exit_code == 0, backup.output
    broken = _five_hundred_app(app)
    resp = broken.test_client().get(f"/crash/{ID_NUMBER}-{PHONE}?phone={PHONE}")
    assert resp.status_code == 500
    crash_lines = [line for line in handler.lines if "Unhandled error" in line]
    assert crash_lines and "RuntimeError: could not handle [身份证号]-[手机号]" in crash_lines[0]  # logged, redacted
    assert any("[身份证号]" in line and line.startswith("sqlalchemy.engine") for line in handler.lines)
    assert len(handler.lines) > 100 and caplog.records
    found = [line for line in handler.lines + [caplog.text, sent.output, backup.output] if leaks(line)]
    assert found == []


def test_a_werkzeug_access_log_line_is_redacted(app, all_logs):
    handler, _ = all_logs
    server = make_server("127.0.0.1", 0, app, threaded=True)  # the default request handler: it writes access logs
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/consult?q={ID_NUMBER}&tel={PHONE}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert resp.status == 200
    finally:
        server.shutdown()
        server.server_close()
    access = [line for line in handler.lines if line.startswith("werkzeug") and "GET /consult?q=" in line]
    assert access and "q=[已隐去]&tel=[手机号]" in access[0]
    assert [line for line in handler.lines if leaks(line)] == []


def test_free_text_searched_for_in_a_url_is_not_logged():
    from app.privacy.logging_filter import redact

    line = '127.0.0.1 - - "GET /org/cases/search?q=%E5%BC%A0%E4%B8%89+%E6%BC%8F%E6%B0%B4&page=2 HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1 - - "GET /org/cases/search?q=[已隐去]&page=2 HTTP/1.1" 200'
    assert redact("GET /consult?lang=en&q=张三家的狗咬人 HTTP/1.1") == "GET /consult?lang=en&q=[已隐去] HTTP/1.1"
    assert redact("GET /cases/new?consult=12 HTTP/1.1") == "GET /cases/new?consult=12 HTTP/1.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_gunicorn_access_log_line_is_redacted(app, tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "JIEFEN_CONFIG": "development",
           "JIEFEN_INSTANCE_DIR": str(tmp_path), "REDIS_URL": ""}
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}",
             "--logger-class", "app.privacy.logging_filter.GunicornLogger", "--access-logfile", "-",
             "--error-logfile", "-", "app:create_app()"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    url = f"http://127.0.0.1:{port}/healthz?id={ID_NUMBER}&phone={quote(PHONE[:3] + '-' + PHONE[3:])}"
                    with urllib.request.urlopen(url, timeout=5) as resp:
                        assert resp.status == 200
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                    time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    assert "GET /healthz?id=[身份证号]&phone=[手机号]" in text, text[-3000:]
    assert leaks(text) == []


def test_the_patterns():
    assert redact(f"tel +86 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]} id {ID_NUMBER.lower()}") == "tel [手机号] id [身份证号]"
    assert redact("统一社会信用代码 91340200MA2N12345X，15 位 110105491231002") == \
        "统一社会信用代码 [信用代码]，15 位 [身份证号]"
    digest = "9a1b13977661234ffe0c"  # digits inside a hash or token are left alone
    assert redact(f"sha256 {digest}, at 2026-12-01 03:45:02, 1733012345.123") == \
        f"sha256 {digest}, at 2026-12-01 03:45:02, 1733012345.123"
