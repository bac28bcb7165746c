"""Behind the reverse proxy (TRUSTED_PROXIES, werkzeug's ProxyFix in create_app): the client's address and scheme come
from X-Forwarded-For and X-Forwarded-Proto, so per-IP limits count each client and stored IPs are the client's; with
no trusted proxy (development, tests, the default outside production) the headers are ignored and cannot be spoofed."""
from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from werkzeug.middleware.proxy_fix import ProxyFix

from app.accounts.models import User, UserSession
from app.extensions import db
from tests.conftest import Web


def fresh_ip() -> str:
    """An address no earlier run used (the limiter's storage may outlive a test)."""
    return "10.{}.{}.{}".format(*secrets.token_bytes(3))


def browser(application, forwarded_for: str | None = None, remote_addr: str | None = None) -> Web:
    """A browser-like client; every request carries this X-Forwarded-For (as nginx would set it) and peer address."""
    web = Web(application)
    if forwarded_for is not None:
        web.client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    if remote_addr is not None:
        web.client.environ_base["REMOTE_ADDR"] = remote_addr
    return web


def ask_reset(web, n: int):
    """A password reset request for a made-up account name (a new one each time: only the per-IP limit counts)."""
    return web.post("/password/forgot", {"username": f"nobody{n}-{secrets.token_hex(3)}", "phone": "13612349876"},
                    page="/password/forgot")


def session_ips(application, username: str) -> list[str]:
    with application.app_context():
        ips = list(db.session.scalars(sa.select(UserSession.ip_address).join(User, User.id == UserSession.user_id)
                                      .where(User.username == username)))
        db.session.remove()
    return ips


@pytest.fixture()
def proxied(make_second_app):
    """The app as production runs it behind nginx: one trusted proxy, the reset limit lowered to 2 per IP."""
    return make_second_app("testing", TRUSTED_PROXIES=1, RESET_IP_RATE_LIMIT="2/hour")


def test_create_app_wraps_the_app_in_proxyfix_only_when_proxies_are_trusted(app, proxied):
    assert not isinstance(app.wsgi_app, ProxyFix) and app.config["TRUSTED_PROXIES"] == 0
    assert isinstance(proxied.wsgi_app, ProxyFix)
    assert (proxied.wsgi_app.x_for, proxied.wsgi_app.x_proto, proxied.wsgi_app.x_host) == (1, 1, 0)


def test_behind_one_proxy_each_forwarded_client_has_its_own_rate_limit_bucket(proxied):
    busy, calm = browser(proxied, fresh_ip()), browser(proxied, fresh_ip())  # both arrive from nginx at 127.0.0.1
    assert [ask_reset(busy, n).status_code for n in range(3)] == [302, 302, 429]
    assert ask_reset(calm, 0).status_code == 302  # another client behind the same proxy is not limited with it


def test_behind_one_proxy_only_the_address_the_proxy_saw_counts(proxied):
    """X-Forwarded-For: what a client wrote, then what nginx saw: with one proxy only the last entry is believed."""
    real = fresh_ip()
    statuses = [ask_reset(browser(proxied, f"{fresh_ip()}, {real}"), n).status_code for n in range(3)]
    assert statuses == [302, 302, 429]


def test_behind_one_proxy_a_login_session_stores_the_forwarded_address(app, demo, proxied):
    client_ip = fresh_ip()
    browser(proxied, client_ip).login("resident1")
    assert session_ips(app, "resident1") == [client_ip]


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(app, demo, monkeypatch):
    """The suite's app (TRUSTED_PROXIES=0): a client changing X-Forwarded-For at will still shares one bucket."""
    monkeypatch.setitem(app.config, "RESET_IP_RATE_LIMIT", "2/hour")
    peer = fresh_ip()
    statuses = [ask_reset(browser(app, fresh_ip(), remote_addr=peer), n).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    browser(app, "203.0.113.9", remote_addr=peer).login("resident2")
    assert session_ips(app, "resident2") == [peer]


@pytest.mark.parametrize("trusted", [1, 0])
def test_the_language_cookie_is_secure_when_the_proxy_says_https(app, make_second_app, trusted):
    application = make_second_app("testing", TRUSTED_PROXIES=trusted) if trusted else app
    client = application.test_client()
    over_https = client.get("/lang/en", headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"].lower()
    plain = client.get("/lang/en").headers["Set-Cookie"].lower()
    assert ("; secure" in over_https) is bool(trusted)  # a client cannot claim HTTPS without a trusted proxy
    assert "; secure" not in plain
    assert "httponly" in over_https and "samesite=lax" in over_https
