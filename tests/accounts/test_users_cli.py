"""`flask users`: the administrator ends one user's sessions or everyone's, stops and restarts an account, resets a
second factor. Each change is an account event in the hash chain (actor: the CLI, with the OS user who ran it and the
required --reason), `flask audit verify` still passes, and the person is told in the app as the web's actions tell."""
from __future__ import annotations

import os
import pwd

import sqlalchemy as sa

from app.accounts.models import AccountEvent, User
from app.extensions import db
from app.mediation.models import OutboxMessage

OS_USER = pwd.getpwuid(os.geteuid()).pw_name  # who runs the tests, from the password database
REASON = "离职交接，工单 2026-118"


def run(app, *args):
    return app.test_cli_runner().invoke(args=["users", *args])


def events(app) -> list[tuple]:
    """(actor id, actor role, OS user, organisation, target, action, reason, sessions ended) per stored event."""
    with app.app_context():
        return [(e.actor_id, e.actor_role, e.actor_os_user, e.organisation_id, e.target.username, e.action, e.reason,
                 e.sessions_ended)
                for e in db.session.scalars(sa.select(AccountEvent).order_by(AccountEvent.id))]


def cli_event(target: str, action: str, ended: int = 0, reason: str = REASON) -> tuple:
    return (None, "cli", OS_USER, None, target, action, reason, ended)


def messages_to(app, username: str) -> list[tuple[str, str]]:
    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == username))
        return [(m.subject, m.body) for m in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.channel == "in_app", OutboxMessage.to == str(uid))
            .order_by(OutboxMessage.id))]


def audit_verifies(app, count: int) -> None:
    out = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert out.exit_code == 0, out.output
    assert f"OK: {count} account events verified, the account event log's chain is intact." in out.output


def test_ending_one_users_sessions_and_everyones(app, demo, make_web):
    mediator, resident, again = make_web(), make_web(), make_web()
    mediator.login("mediator1")
    resident.login("resident1")
    out = run(app, "end-sessions", "mediator1", "--reason", REASON)
    assert out.exit_code == 0, out.output
    assert "1 session(s) ended (mediator1)" in out.output
    assert f"Recorded in the account event log (by the CLI, OS user {OS_USER}); mediator1 was told" \
        in out.output
    ended = mediator.get("/mediator/inbox", follow_redirects=True)
    assert "/login" in ended.request.path and "管理员已结束您的登录" in ended.get_data(as_text=True)
    assert resident.get("/my/cases").status_code == 200
    assert events(app) == [cli_event("mediator1", "end_sessions", 1)]
    assert messages_to(app, "mediator1")[-1] == (
        "结束全部登录", f"管理员已结束您在所有设备上的登录，请重新登录。原因：{REASON}。")

    again.login("resident1")  # two sessions of resident1
    everyone = run(app, "end-sessions", "--all", "--reason", "服务器密钥轮换")
    assert everyone.exit_code == 0, everyone.output
    assert "2 session(s) ended (every user). Recorded for each of the 1 user(s) who had one" in everyone.output
    assert resident.get("/my/cases").status_code == 302 and again.get("/my/cases").status_code == 302
    assert events(app)[1:] == [cli_event("resident1", "end_sessions", 2, "服务器密钥轮换")]
    assert "原因：服务器密钥轮换" in messages_to(app, "resident1")[-1][1]
    audit_verifies(app, 2)


def test_the_reason_is_required_and_a_wrong_call_records_nothing(app, demo):
    for args in (("end-sessions", "mediator1"), ("deactivate", "mediator1"), ("activate", "mediator1"),
                 ("reset-mfa", "mediator1")):
        missing = run(app, *args)
        assert missing.exit_code == 2 and "Missing option '--reason'" in missing.output, args
        blank = run(app, *args, "--reason", "   ")
        assert blank.exit_code == 2 and "give the reason in words" in blank.output, args
    assert "at most 500 characters" in run(app, "deactivate", "mediator1", "--reason", "长" * 501).output
    assert run(app, "end-sessions", "--reason", REASON).exit_code != 0
    assert "give a USERNAME or --all" in run(app, "end-sessions", "mediator1", "--all", "--reason", REASON).output
    unknown = run(app, "end-sessions", "nobody", "--reason", REASON)
    assert unknown.exit_code == 1 and "no account named 'nobody'" in unknown.output
    active = run(app, "activate", "mediator1", "--reason", REASON)
    assert active.exit_code == 1 and "mediator1 is active already; nothing done or recorded" in active.output
    no_factor = run(app, "reset-mfa", "mediator1", "--reason", REASON)
    assert no_factor.exit_code == 1 and "has no second factor; nothing done or recorded" in no_factor.output
    assert events(app) == [] and messages_to(app, "mediator1") == []


def test_a_deactivated_account_cannot_log_in_until_activated(app, demo, make_web):
    web = make_web()
    web.login("mediator2")
    out = run(app, "deactivate", "mediator2", "--reason", REASON)
    assert out.exit_code == 0 and "mediator2 deactivated; 1 session(s) ended." in out.output
    assert web.get("/mediator/inbox").status_code == 302
    refused = make_web().post("/login", {"username": "mediator2", "password": "jiefen-demo"}, page="/login")
    assert refused.status_code == 422
    twice = run(app, "deactivate", "mediator2", "--reason", REASON)
    assert twice.exit_code == 1 and "already deactivated; nothing done or recorded" in twice.output
    back = run(app, "activate", "mediator2", "--reason", "返岗")
    assert back.exit_code == 0 and "can log in again" in back.output
    make_web().login("mediator2")
    with app.app_context():
        assert db.session.scalar(sa.select(User.active).where(User.username == "mediator2"))
    assert events(app) == [cli_event("mediator2", "deactivate", 1), cli_event("mediator2", "activate", 0, "返岗")]
    told = messages_to(app, "mediator2")
    assert told == [("停用账号", f"管理员已停用您的账号，原因：{REASON}。如有疑问，请联系所在调解组织。"),
                    ("恢复账号", "管理员已恢复您的账号，您可以重新登录使用。原因：返岗。")]
    audit_verifies(app, 2)


def test_cli_and_web_events_share_one_chain_that_still_catches_tampering(app, demo, make_web):
    """The org admin's web action and the CLI's append to the same chain; changing the OS user breaks it."""
    from tests.accounts.test_org_staff_admin import act

    admin = make_web()
    admin.login("orgadmin1")
    assert act(admin, app, "mediator1", "end_sessions", "网页操作").status_code == 302
    assert run(app, "end-sessions", "mediator2", "--reason", REASON).exit_code == 0
    assert act(admin, app, "mediator1", "deactivate", "网页停用").status_code == 302
    stored = events(app)
    assert [e[1] for e in stored] == ["org_admin", "cli", "org_admin"] and stored[1] == cli_event("mediator2",
                                                                                                  "end_sessions")
    audit_verifies(app, 3)
    page = admin.get("/org/staff").get_data(as_text=True)
    assert "网页停用" in page  # the organisation's own list still renders with the CLI's event in the chain
    with app.app_context():
        db.session.execute(sa.update(AccountEvent).where(AccountEvent.actor_os_user.is_not(None))
                           .values(actor_os_user="someone-else"))
        db.session.commit()
    out = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert out.exit_code == 1 and "Account event log BROKEN after 1 good events" in out.output
    assert "account event id 2: content does not match its hash" in out.output


def test_reset_mfa_is_recorded_and_told(app, demo, make_web):
    from tests.accounts.test_mfa import enrol, password_step, register

    enrol(register(make_web, "mfa_cli"))
    assert password_step(make_web(), "mfa_cli").headers["Location"].startswith("/login/code")
    out = run(app, "reset-mfa", "mfa_cli", "--reason", "手机丢失，本人持证到场")
    assert out.exit_code == 0 and "mfa_cli: second factor removed." in out.output
    assert password_step(make_web(), "mfa_cli").headers["Location"] == "/dashboard"
    assert events(app) == [cli_event("mfa_cli", "reset_mfa", 0, "手机丢失，本人持证到场")]
    assert messages_to(app, "mfa_cli")[-1] == (
        "重置两步验证", "管理员已重置您的两步验证，下次登录后请重新开启。原因：手机丢失，本人持证到场。")
    audit_verifies(app, 1)


def test_the_os_user_is_not_taken_from_settable_variables(app, demo, monkeypatch):
    """USER and LOGNAME are whatever the caller sets: the event names the effective user from the password
    database. As root under sudo (no kernel login uid), sudo's SUDO_USER is named beside root."""
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.setenv("SUDO_USER", "alice")
    out = run(app, "end-sessions", "mediator1", "--reason", REASON)
    assert out.exit_code == 0, out.output
    with open("/proc/self/loginuid", encoding="ascii") as f:
        kernel_login = int(f.read()) not in (-1, 2**32 - 1)
    expected = f"{OS_USER} (sudo from alice)" if os.geteuid() == 0 and not kernel_login else OS_USER
    recorded = events(app)[-1][2]
    assert recorded == expected and "mallory" not in recorded
    assert f"OS user {expected})" in out.output
