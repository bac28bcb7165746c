"""Security events on the `security` logger (OWASP ASVS 5.0 V16): one key=value line each for failed and successful
logins, lock-outs, second-factor and reset-code failures, refusals to logged-in users, CSRF failures and bad API
tokens; what people typed as a username or token never appears, only its keyed hash."""
from __future__ import annotations

import logging
import secrets

import pytest
import sqlalchemy as sa

from app.core.security_log import EVENTS, account_ref, security_event
from tests.accounts import test_mfa, test_recovery
from tests.api.test_api import Api, issue
from tests.security.test_login_limit import PASSWORD, attempt, make_user


@pytest.fixture()
def events(caplog):
    """The security log's records of the test, as dicts of their fields (their lines in caplog.text)."""
    caplog.set_level(logging.INFO, logger="security")

    def read(event: str | None = None) -> list[dict[str, str]]:
        found = [dict(part.split("=", 1) for part in r.getMessage().split(" "))
                 for r in caplog.records if r.name == "security"]
        return [e for e in found if event is None or e["event"] == event]

    return read


def user_id(app, username: str) -> int:
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def test_a_wrong_password_logs_the_keyed_hash_of_the_username_never_the_username(app, events, caplog):
    username = make_user(app)
    assert attempt(app.test_client(), username, "wrong-password").status_code == 422
    phone_typed = "13911112222"  # people type their phone number as the username too
    assert attempt(app.test_client(), phone_typed, "wrong-password").status_code == 422
    with app.app_context():
        expected = [account_ref(username), account_ref(phone_typed)]
    failed = events("login_failed")
    assert [e["account"] for e in failed] == expected
    assert all(e["outcome"] == "failure" and e["endpoint"] == "accounts.login" and e["method"] == "POST"
               and e["ip"] == "127.0.0.1" and "user_id" not in e for e in failed)
    assert username not in caplog.text and phone_typed not in caplog.text and "wrong-password" not in caplog.text


def test_the_sixth_failure_logs_the_lock_out_of_the_same_account(app, events, caplog):
    username = make_user(app)
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, username, "wrong-password").status_code == 422
    assert events("login_locked") == []
    assert attempt(client, username, PASSWORD).status_code == 429
    with app.app_context():
        ref = account_ref(username)
    [locked] = events("login_locked")
    assert locked["outcome"] == "refused" and locked["account"] == ref and locked["scope"] == "password-account"
    assert locked["endpoint"] == "accounts.login" and locked["limit"] == "5/60s"
    assert [e["account"] for e in events("login_failed")] == [ref] * 5
    assert username not in caplog.text


def test_a_successful_login_and_logout_log_the_user_id(app, demo, make_web, events):
    web = make_web()
    web.login("resident1")
    [done] = events("login_succeeded")
    assert done["user_id"] == str(user_id(app, "resident1")) and done["outcome"] == "success"
    assert done["endpoint"] == "accounts.login"
    assert events("login_failed") == [] and events("access_denied") == []  # the pages after it log nothing
    web.logout()
    assert events("logout")[0]["user_id"] == done["user_id"]


def _case_not_visible_to(app, username: str) -> int:
    from app.accounts.models import User
    from app.cases.models import Case
    from app.extensions import db

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        case_id = next(c.id for c in db.session.scalars(sa.select(Case).order_by(Case.id)) if not c.can_view(user))
        db.session.remove()
    return case_id


def test_a_resident_opening_another_residents_case_logs_access_denied(app, demo, make_web, events):
    case_id = _case_not_visible_to(app, "resident2")  # the demo's disputes are resident1's
    web = make_web()
    web.login("resident2")
    refused = web.get(f"/cases/{case_id}")
    assert refused.status_code == 404
    [denied] = events("access_denied")
    assert denied.pop("request_id") == refused.headers["X-Request-ID"]  # the line names the request answered
    assert denied == {"event": "access_denied", "outcome": "refused", "user_id": str(user_id(app, "resident2")),
                      "status": "404", "ip": "127.0.0.1", "method": "GET", "endpoint": "cases.view_case"}


def test_a_resident_opening_the_admin_overview_logs_a_403(app, demo, make_web, events):
    web = make_web()
    web.login("resident1")
    assert web.get("/admin/overview").status_code == 403
    [denied] = events("access_denied")
    assert denied["status"] == "403" and denied["endpoint"] == "analytics.overview"
    assert denied["user_id"] == str(user_id(app, "resident1"))


def test_anonymous_404s_static_files_and_unknown_urls_are_not_logged(app, demo, make_web, events):
    anonymous = app.test_client()
    assert anonymous.get("/wp-login.php").status_code == 404
    web = make_web()
    web.login("resident2")
    assert web.get("/favicon.ico").status_code == 404
    assert web.get("/static/no-such-file.css").status_code == 404
    assert events("access_denied") == []


def test_a_post_without_its_csrf_token_logs_csrf_failed(app, demo, make_web, events):
    web = make_web()
    web.login("resident1")
    assert web.client.post("/logout", data={}).status_code == 400
    [failed] = events("csrf_failed")
    assert failed["reason"] == "token_missing" and failed["outcome"] == "refused"
    assert failed["user_id"] == str(user_id(app, "resident1")) and failed["endpoint"] == "accounts.logout"
    assert events("logout") == []


def test_a_bad_or_missing_api_token_logs_api_auth_failed_without_the_token(app, demo, events, caplog):
    _, token = issue(app)
    wrong = "jf_" + secrets.token_urlsafe(24)
    assert Api(app, wrong).get("/api/v1/cases").status_code == 401
    assert Api(app, None).get("/api/v1/cases").status_code == 401
    assert Api(app, token).get("/api/v1/cases").status_code == 200
    with app.app_context():
        ref = account_ref(wrong)
    bad, missing = events("api_auth_failed")
    assert bad["reason"] == "invalid_token" and bad["credential"] == ref and bad["endpoint"] == "api.list_cases"
    assert missing["reason"] == "no_token" and "credential" not in missing
    assert wrong not in caplog.text and token not in caplog.text


def test_a_wrong_second_factor_code_logs_mfa_failed(app, demo, make_web, events):
    web = test_mfa.register(make_web, "seclog_mfa")
    test_mfa.enrol(web)
    web.logout()
    other = make_web()
    assert test_mfa.password_step(other, "seclog_mfa").status_code == 302
    assert other.post("/login/code", {"code": "000000"}, page="/login/code").status_code == 422
    [failed] = events("mfa_failed")
    assert failed["user_id"] == str(user_id(app, "seclog_mfa")) and failed["endpoint"] == "mfa.login_code"
    assert events("login_succeeded") == []  # the password alone starts no session


def test_a_wrong_reset_code_logs_reset_failed(app, demo, make_web, events, caplog):
    phone = "13612349876"
    test_recovery.register(make_web, "seclog_reset", phone)
    web = make_web()
    assert test_recovery.ask(web, "seclog_reset", phone).status_code == 302
    [code] = test_recovery.codes_sent_to(app, phone)
    assert test_recovery.reset(web, "000000" if code != "000000" else "111111").status_code == 422
    [failed] = events("reset_failed")
    assert len(failed.pop("request_id")) == 16
    assert failed == {"event": "reset_failed", "outcome": "failure", "user_id": str(user_id(app, "seclog_reset")),
                      "reason": "wrong_code", "tries": "1", "ip": "127.0.0.1", "method": "POST",
                      "endpoint": "recovery.reset"}
    assert test_recovery.reset(web, code).status_code == 302
    assert events("password_changed")[0]["via"] == "reset"
    assert "seclog_reset" not in caplog.text


def test_other_rate_limits_log_rate_limited_with_their_scope(app, demo, make_web, events):
    web = make_web()
    for _ in range(4):  # RESET_ACCOUNT_RATE_LIMIT: 3 an hour per account name
        last = test_recovery.ask(web, "seclog_nobody", "13612340000")
    assert last.status_code == 429
    [limited] = events("rate_limited")
    assert limited["scope"] == "recovery.forgot" and limited["limit"] == "3/3600s" and limited["outcome"] == "refused"


def test_only_documented_events_and_no_free_text():
    with pytest.raises(ValueError, match="undocumented"):
        security_event("something_else", "failure")
    assert {"login_failed", "login_locked", "mfa_failed", "reset_failed", "access_denied", "csrf_failed",
            "api_auth_failed", "rate_limited", "login_succeeded", "logout", "password_changed"} <= set(EVENTS)


def test_a_field_that_is_not_a_token_is_never_written(app, caplog):
    caplog.set_level(logging.INFO, logger="security")
    with app.test_request_context("/login?q=secret", method="POST"):
        security_event("login_failed", "failure", account="张三 hello=world", user_id=7)
    [record] = [r for r in caplog.records if r.name == "security"]
    assert record.levelno == logging.WARNING
    message, request_id = record.getMessage().rsplit(" request_id=", 1)
    assert message == "event=login_failed outcome=failure user_id=7 account=? ip=- method=POST endpoint=accounts.login"
    assert len(request_id) == 16
    assert record.security_event["account"] == "?"
