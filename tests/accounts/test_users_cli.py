"""`flask users`: the administrator ends one user's sessions or everyone's, and stops a staff account."""
from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import User
from app.extensions import db


def run(app, *args):
    return app.test_cli_runner().invoke(args=["users", *args])


def test_ending_one_users_sessions_and_everyones(app, demo, make_web):
    mediator, resident = make_web(), make_web()
    mediator.login("mediator1")
    resident.login("resident1")
    out = run(app, "end-sessions", "mediator1")
    assert out.exit_code == 0 and "1 session(s) ended (mediator1)" in out.output
    ended = mediator.get("/mediator/inbox", follow_redirects=True)
    assert "/login" in ended.request.path and "管理员已结束您的登录" in ended.get_data(as_text=True)
    assert resident.get("/my/cases").status_code == 200
    assert "1 session(s) ended (every user)" in run(app, "end-sessions", "--all").output
    assert resident.get("/my/cases").status_code == 302
    assert run(app, "end-sessions").exit_code != 0 and run(app, "end-sessions", "nobody").exit_code != 0


def test_a_deactivated_account_cannot_log_in_until_activated(app, demo, make_web):
    web = make_web()
    web.login("mediator2")
    assert "mediator2 deactivated; 1 session(s) ended" in run(app, "deactivate", "mediator2").output
    assert web.get("/mediator/inbox").status_code == 302
    refused = make_web().post("/login", {"username": "mediator2", "password": "jiefen-demo"}, page="/login")
    assert refused.status_code == 422
    assert "can log in again" in run(app, "activate", "mediator2").output
    make_web().login("mediator2")
    with app.app_context():
        assert db.session.scalar(sa.select(User.active).where(User.username == "mediator2"))
