"""The court API is rate-limited per bearer token (API_RATE_LIMIT, one budget across every endpoint): past it, a
JSON 429 with Retry-After, documented in openapi.json (the Api client checks every answer against it). The test
lowers the limit; its tokens are new, so nothing else shares their buckets."""
from __future__ import annotations

import pytest

from app.api.errors import ERROR_CODES
from tests.api.test_api import Api, issue


@pytest.fixture()
def low_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3/minute")


def test_the_fourth_request_in_a_minute_with_one_token_gets_a_json_429(app, demo, court_api, low_limit):
    assert court_api.get("/api/v1/cases").status_code == 200
    assert court_api.get("/api/v1/cases/999999").status_code == 404  # every endpoint counts against one budget
    assert court_api.get("/api/v1/cases?page=1").status_code == 200
    refused = court_api.get("/api/v1/cases")
    assert refused.status_code == 429 and refused.mimetype == "application/json"
    assert refused.get_json()["error"]["code"] == ERROR_CODES[429] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Cache-Control"] == "no-store"
    other = Api(app, issue(app, name="第二套系统")[1])  # another token of the same court has its own budget
    assert other.get("/api/v1/cases").status_code == 200


def test_a_revoked_or_unknown_token_is_counted_too(app, demo, low_limit):
    stranger = Api(app, "not-a-real-token-" + "x" * 30)
    assert [stranger.get("/api/v1/cases").status_code for _ in range(4)] == [401, 401, 401, 429]


def test_the_suite_limit_is_out_of_reach(app):
    assert app.config["API_RATE_LIMIT"] == "100000/minute"
