"""Court API tokens expire (API_TOKEN_DAYS, default 90): an expired token gets a JSON 401 that says so (code
token_expired, documented in openapi.json: the Api client checks every answer against it); `flask api-tokens list`
shows each expiry; `flask api-tokens rotate ID` gives a new token and revokes the old one at once."""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from app.api.cli import api_tokens_cli
from app.api.models import ApiToken
from app.core.time import utcnow
from app.extensions import db
from tests.api.test_api import Api, _court, issue


def token_row(app, token_id: int) -> ApiToken:
    with app.app_context():
        row = db.session.get(ApiToken, token_id)
        db.session.expunge(row)
        return row


def expire(app, token_id: int, ago: timedelta = timedelta(minutes=1)) -> None:
    with app.app_context():
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(expires_at=utcnow() - ago))
        db.session.commit()


def cli(app, *args):
    return app.test_cli_runner().invoke(api_tokens_cli, list(args))


def test_a_token_expires_after_90_days_by_default_or_after_days_given(app, demo):
    before = utcnow()
    token_id, _ = issue(app)
    row = token_row(app, token_id)
    assert before + timedelta(days=90) <= row.expires_at <= utcnow() + timedelta(days=90)
    with app.app_context():
        court_id = _court().id
    out = cli(app, "issue", "--court-id", str(court_id), "--name", "短期系统", "--days", "7")
    assert out.exit_code == 0, out.output
    assert f"expires {(utcnow() + timedelta(days=7)):%Y-%m-%d}" in out.stderr
    with app.app_context():
        short = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "短期系统"))
        assert timedelta(days=6, hours=23) < short.expires_at - utcnow() <= timedelta(days=7)
    for days in ("0", "-3", "100000"):
        refused = cli(app, "issue", "--court-id", str(court_id), "--name", "x", "--days", days)
        assert refused.exit_code == 1 and "1 to 3660 days" in refused.stderr, days


def test_an_expired_token_gets_a_401_that_says_it_expired(app, demo, caplog):
    token_id, token = issue(app)
    api = Api(app, token)
    assert api.get("/api/v1/cases").status_code == 200
    expire(app, token_id)
    expires_at = token_row(app, token_id).expires_at
    with caplog.at_level(logging.WARNING, logger="security"):
        resp = api.get("/api/v1/cases")  # checked against openapi.json's 401 (components/responses/Unauthorized)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    error = resp.get_json()["error"]
    assert error["code"] == "token_expired"
    assert f"This token expired on {expires_at:%Y-%m-%dT%H:%M:%S}Z" in error["message"]
    assert "flask api-tokens rotate" in error["message"]
    assert any("event=api_auth_failed" in r.getMessage() and "reason=expired_token" in r.getMessage()
               for r in caplog.records)
    assert api.post("/api/v1/cases/1/decisions", {"type": "return_filing", "reasons": "x"}).status_code == 401
    unknown = Api(app, "not-a-real-token-" + "y" * 30).get("/api/v1/cases")  # nothing said about other tokens
    assert unknown.status_code == 401 and unknown.get_json()["error"]["code"] == "unauthorized"


def test_the_list_shows_each_expiry_and_state(app, demo):
    live_id, _ = issue(app, name="在用系统")
    old_id, _ = issue(app, name="旧系统")
    gone_id, _ = issue(app, name="停用系统")
    expire(app, old_id, timedelta(days=2))
    assert cli(app, "revoke", str(gone_id)).exit_code == 0
    lines = {int(line.split("\t")[0]): line for line in cli(app, "list").stdout.splitlines()}
    for token_id, state in ((live_id, "\tactive"), (old_id, "\texpired"), (gone_id, "\trevoked ")):
        row = token_row(app, token_id)
        assert f"\texpires {row.expires_at:%Y-%m-%d %H:%M}\t" in lines[token_id], lines[token_id]
        assert state in lines[token_id]


def test_rotate_gives_a_new_token_and_revokes_the_old_one(app, demo):
    old_id, old_token = issue(app, name="立案系统")
    expire(app, old_id)  # an expired token can be rotated: that is when it is needed most
    out = cli(app, "rotate", str(old_id), "--days", "30")
    assert out.exit_code == 0, out.output
    new_token = out.stdout.strip().splitlines()[-1]
    assert new_token != old_token and old_token not in out.output
    assert f"Token {old_id} revoked; token" in out.stderr
    assert Api(app, new_token).get("/api/v1/cases").status_code == 200
    refused = Api(app, old_token).get("/api/v1/cases")
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    with app.app_context():
        rows = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)).all()
        old, new = rows
        assert old.revoked_at is not None and new.revoked_at is None
        assert (new.name, new.organisation_id, new.replaces_id) == (old.name, old.organisation_id, old.id)
        assert timedelta(days=29, hours=23) < new.expires_at - utcnow() <= timedelta(days=30)
    listed = cli(app, "list").stdout
    assert f"\treplaces {old_id}" in listed
    again = cli(app, "rotate", str(old_id))
    assert again.exit_code == 1 and "was revoked" in again.stderr and "issue a new one" in again.stderr
    assert cli(app, "rotate", "999999").exit_code == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 2


def test_the_setting_changes_the_default(app, demo, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_DAYS", 10)
    token_id, _ = issue(app)
    assert token_row(app, token_id).expires_at - utcnow() <= timedelta(days=10)
