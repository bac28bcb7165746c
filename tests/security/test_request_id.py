"""Every response carries a request id (X-Request-ID) that the security log, the crash log line, the error page and
gunicorn's access log carry too, so one request's lines can be found together."""
from __future__ import annotations

import logging
import re

import pytest

from tests.privacy.test_no_pii_in_logs import _five_hundred_app
from tests.security.test_login_limit import attempt, make_user

HEX16 = re.compile(r"[0-9a-f]{16}")


def test_every_response_has_its_own_request_id(app):
    client = app.test_client()
    ids = [client.get(path).headers.get("X-Request-ID") for path in ("/", "/", "/login", "/no/such/page")]
    assert all(rid and HEX16.fullmatch(rid) for rid in ids), ids
    assert len(set(ids)) == 4


def test_an_id_sent_by_the_client_is_ignored_without_a_trusted_proxy(app):
    rid = app.test_client().get("/", headers={"X-Request-ID": "chosen-by-the-client"}).headers["X-Request-ID"]
    assert rid != "chosen-by-the-client" and HEX16.fullmatch(rid)


@pytest.mark.parametrize("sent, kept", [("0f3c9a7e5b1d2c4a8e6f0a1b2c3d4e5f", True), ("short", False),
                                        ("with space and more", False), ("<script>alert(1)</script>", False),
                                        ("x" * 65, False)])
def test_behind_a_trusted_proxy_its_plain_id_is_kept(make_second_app, sent, kept):
    proxied = make_second_app("testing", TRUSTED_PROXIES=1)
    rid = proxied.test_client().get("/", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert (rid == sent) is kept
    if not kept:
        assert HEX16.fullmatch(rid)


def test_the_security_log_line_names_the_request_the_client_was_answered(app, caplog):
    caplog.set_level(logging.INFO, logger="security")
    username = make_user(app)
    response = attempt(app.test_client(), username, "wrong-password")
    assert response.status_code == 422
    lines = [r.getMessage() for r in caplog.records if r.name == "security" and "event=login_failed" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].endswith(f"request_id={response.headers['X-Request-ID']}")


def test_a_crash_shows_the_id_on_the_page_and_logs_it(app, caplog):
    caplog.set_level(logging.ERROR)
    broken = _five_hundred_app(app)
    response = broken.test_client().get("/crash/anything")
    assert response.status_code == 500
    rid = response.headers["X-Request-ID"]
    page = response.get_data(as_text=True)
    assert "服务器出了点问题" in page and f"请求编号：{rid}" in page
    crash = [r.getMessage() for r in caplog.records if "Unhandled error" in r.getMessage()]
    assert crash == [f"Unhandled error on GET /crash/anything (request_id={rid})"]


def test_the_error_page_in_english_shows_the_id_too(app):
    response = app.test_client().get("/no/such/page?lang=en")
    rid = response.headers["X-Request-ID"]
    assert response.status_code == 404 and f"Request ID: {rid}" in response.get_data(as_text=True)


def test_gunicorns_access_log_line_carries_the_id(app, tmp_path):
    """The production access log format (gunicorn.conf.py) writes the response's X-Request-ID as rid=."""
    import runpy
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from app.privacy.logging_filter import GunicornLogger

    settings = runpy.run_path(str(app.root_path + "/../gunicorn.conf.py"))
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", settings["access_log_format"])
    logger = GunicornLogger(cfg)
    rid = app.test_client().get("/").headers["X-Request-ID"]
    response = SimpleNamespace(status="200 OK", sent=12, headers=[("Content-Type", "text/html"), ("X-Request-ID", rid)])
    request = SimpleNamespace(method="GET", path="/", query="", uri="/", version=(1, 1), headers=[])
    environ = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET", "RAW_URI": "/", "SERVER_PROTOCOL": "HTTP/1.1"}
    logger.access(response, request, environ, timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text()
    assert line.rstrip().endswith(f"rid={rid}"), line
