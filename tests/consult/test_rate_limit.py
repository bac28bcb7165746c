"""Asking is rate-limited per IP (CONSULT_RATE_LIMIT); the test lowers the limit for its own address only,
so the rest of the suite (TestConfig: 100000/minute) is never limited by accident."""
from __future__ import annotations

import secrets

import pytest


@pytest.fixture()
def low_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "CONSULT_RATE_LIMIT", "3/minute")


def client_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def fresh_ip() -> str:
    """An address no earlier run used (the limiter's storage may be shared, e.g. Redis)."""
    return "10.{}.{}.{}".format(*secrets.token_bytes(3))


def test_the_fourth_question_in_a_minute_gets_a_clear_429(app, low_limit):
    client = client_from(app, fresh_ip())
    for i in range(3):
        assert client.get(f"/consult?q=房东不退押金{i}").status_code == 200
    resp = client.get("/consult?q=房东不退押金")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert "提问太频繁了" in page and "每分钟最多提问 3 次" in page and "12348" in page
    assert 0 < int(resp.headers["Retry-After"]) <= 60


def test_the_limit_is_per_address_and_only_on_asking(app, low_limit):
    busy, calm = client_from(app, fresh_ip()), client_from(app, fresh_ip())
    for _ in range(4):
        busy.get("/consult?q=欠钱不还")
    assert busy.get("/consult?q=欠钱不还").status_code == 429
    assert busy.get("/consult").status_code == 200            # the empty page is not counted
    assert calm.get("/consult?q=欠钱不还").status_code == 200


def test_the_suite_limit_is_out_of_reach(app):
    assert app.config["CONSULT_RATE_LIMIT"] == "100000/minute"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
