"""Asking is rate-limited per IP (CONSULT_RATE_LIMIT); the test lowers the limit for its own address only,
so the rest of the suite (TestConfig: 100000/minute) is never limited by accident."""
from __future__ import annotations

import secrets

import pytest


@pytest.fixture()
def low_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "CONSULT_RATE_LIMIT", "3/minute")


def client_from(app, address: str):
    """A browser-like client (CSRF token from the page) at this address."""
    from tests.conftest import Web

    web = Web(app)
    web.client.environ_base["REMOTE_ADDR"] = address
    return web


def ask(web, question: str):
    return web.post("/consult", {"q": question}, page="/consult")


def fresh_ip() -> str:
    """An address no earlier run used (the limiter's storage may be shared, e.g. Redis)."""
    return "10.{}.{}.{}".format(*secrets.token_bytes(3))


def test_the_fourth_question_in_a_minute_gets_a_clear_429(app, low_limit):
    client = client_from(app, fresh_ip())
    for i in range(3):
        assert ask(client, f"房东不退押金{i}").status_code == 303
    resp = ask(client, "房东不退押金，合同到期搬走了")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert "提问太频繁了" in page and "每分钟最多提问 3 次" in page and "12348" in page
    assert ">房东不退押金，合同到期搬走了</textarea>" in page      # the question is kept on the page
    assert 0 < int(resp.headers["Retry-After"]) <= 60


def test_the_limit_is_per_address_and_only_on_asking(app, low_limit):
    busy, calm = client_from(app, fresh_ip()), client_from(app, fresh_ip())
    for _ in range(4):
        ask(busy, "欠钱不还")
    assert ask(busy, "欠钱不还").status_code == 429
    assert busy.get("/consult").status_code == 200            # opening the page is not counted
    assert ask(calm, "欠钱不还").status_code == 303


def test_the_suite_limit_is_out_of_reach(app):
    assert app.config["CONSULT_RATE_LIMIT"] == "100000/minute"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
