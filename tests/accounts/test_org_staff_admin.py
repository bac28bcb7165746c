"""/org/staff: an organisation admin sees the staff of their own organisation and stops, restarts, logs out or resets
the second factor of one of them, with a reason that goes to the account event log; others get 403 or 404."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.accounts.models import AccountEvent, Organisation, User, UserSession
from app.extensions import db
from app.mediation.models import OutboxMessage


def text(resp) -> str:
    return resp.get_data(as_text=True)


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def open_sessions(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(UserSession).join(User).where(
            User.username == username, UserSession.ended_at.is_(None)))


def events(app) -> list[tuple[str, str, str, str, int]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AccountEvent).order_by(AccountEvent.id)).all()
        return [(e.actor.username, e.target.username, e.action, e.reason, e.sessions_ended) for e in rows]


def card(page: str, app, username: str) -> str:
    """One person's part of the staff page."""
    start = page.index(f'id="staff-{user_id(app, username)}"')
    return page[start:page.index("</article>", start)]


def act(web, app, username: str, action: str, reason: str):
    uid = user_id(app, username)
    return web.post(f"/org/staff/{uid}", {f"s{uid}-action": action, f"s{uid}-reason": reason}, page="/org/staff")


def test_the_list_shows_only_the_admins_own_organisation(app, demo, make_web):
    admin = make_web()
    admin.login("orgadmin1")
    make_web().login("mediator1")
    page = text(admin.get("/org/staff"))
    assert "本组织人员" in page and "团结社区人民调解委员会" in page
    for name in ("张桂兰", "刘德明", "何主任"):  # mediator1, mediator2 and the admin, all of 团结社区
        assert name in page
    for other in ("赵丽华", "许主任", "综治中心赵主任", "王秀英"):  # mediator3 (花津), orgadmin2, the system admin, a resident
        assert other not in page
    mediator1 = card(page, app, "mediator1")
    assert "正常使用" in mediator1 and "未开启" in mediator1 and "1 个" in mediator1  # active, no 2FA, one session
    assert "从未登录" in page  # mediator2 has never logged in
    own = card(page, app, "orgadmin1")
    assert "本人" in own and "停用账号" not in own


def test_deactivate_ends_the_sessions_and_blocks_login_until_reactivated(app, demo, make_web):
    admin, mediator = make_web(), make_web()
    admin.login("orgadmin1")
    mediator.login("mediator1")
    assert mediator.get("/mediator/inbox").status_code == 200
    done = act(admin, app, "mediator1", "deactivate", "已离职")
    assert done.status_code == 302
    assert "已停用 张桂兰 的账号，其 1 个登录已结束" in text(admin.get(done.location))
    ended = mediator.get("/mediator/inbox", follow_redirects=True)
    assert "/login" in ended.request.path and "管理员已结束您的登录" in text(ended)
    assert open_sessions(app, "mediator1") == 0
    refused = make_web().post("/login", {"username": "mediator1", "password": "jiefen-demo"}, page="/login")
    assert refused.status_code == 422 and "用户名或密码不正确" in text(refused)
    page = text(admin.get("/org/staff"))
    assert "已停用" in page and "已离职" in page  # the status, and the reason in the recent actions
    assert act(admin, app, "mediator1", "activate", "重新返岗").status_code == 302
    make_web().login("mediator1")
    assert events(app) == [("orgadmin1", "mediator1", "deactivate", "已离职", 1),
                           ("orgadmin1", "mediator1", "activate", "重新返岗", 0)]
    with app.app_context():
        notes = db.session.scalars(sa.select(OutboxMessage.body).where(
            OutboxMessage.channel == "in_app", OutboxMessage.to == str(user_id(app, "mediator1")))).all()
    assert any("管理员已恢复您的账号" in n and "重新返岗" in n for n in notes)


def test_end_all_sessions_logs_the_person_out_everywhere(app, demo, make_web):
    admin, phone, laptop = make_web(), make_web(), make_web()
    admin.login("orgadmin1")
    phone.login("mediator2")
    laptop.login("mediator2")
    done = act(admin, app, "mediator2", "end_sessions", "手机遗失")
    assert "已结束 刘德明 的 2 个登录" in text(admin.get(done.location))
    assert phone.get("/mediator/inbox").status_code == 302 and laptop.get("/mediator/inbox").status_code == 302
    make_web().login("mediator2")  # still active: may log in again
    assert events(app) == [("orgadmin1", "mediator2", "end_sessions", "手机遗失", 2)]


def test_a_reason_is_required_and_shown_next_to_the_field(app, demo, make_web):
    admin = make_web()
    admin.login("orgadmin1")
    uid = user_id(app, "mediator1")
    resp = act(admin, app, "mediator1", "deactivate", "   ")
    assert resp.status_code == 422
    page = text(resp)
    assert re.search(rf'<p class="error" id="s{uid}-reason-error">请填写原因，它会记入操作记录。</p>', page)
    assert '<details class="staff-manage" open>' in page
    too_long = act(admin, app, "mediator1", "deactivate", "离" * 501)
    assert too_long.status_code == 422 and "原因最多 500 个字。" in text(too_long)
    assert "离" * 501 in text(too_long)  # what was typed stays in the field
    with app.app_context():
        assert db.session.scalar(sa.select(User.active).where(User.id == uid)) is True
    assert events(app) == []


def test_reset_two_step_verification(app, demo, make_web):
    from tests.accounts.test_mfa import enrol

    mediator = make_web()
    mediator.login("mediator1")
    enrol(mediator)
    admin = make_web()
    admin.login("orgadmin1")
    mediator1 = card(text(admin.get("/org/staff")), app, "mediator1")
    assert "已开启" in mediator1 and "重置两步验证" in mediator1
    done = act(admin, app, "mediator1", "reset_mfa", "手机丢失，本人来电")
    assert "已重置 张桂兰 的两步验证" in text(admin.get(done.location))
    with app.app_context():
        from app.accounts.models import MfaRecoveryCode, TotpFactor

        uid = user_id(app, "mediator1")
        assert db.session.get(TotpFactor, uid) is None
        assert not db.session.scalars(sa.select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == uid)).all()
    fresh = make_web()
    assert fresh.post("/login", {"username": "mediator1", "password": "jiefen-demo"}, page="/login").location == "/dashboard"
    assert events(app) == [("orgadmin1", "mediator1", "reset_mfa", "手机丢失，本人来电", 0)]


def test_an_admin_cannot_deactivate_themselves(app, demo, make_web):
    admin = make_web()
    admin.login("orgadmin1")
    resp = act(admin, app, "orgadmin1", "deactivate", "测试")
    assert resp.status_code == 403 and "不能对自己的账号执行此操作" in text(resp)
    assert admin.get("/org/staff").status_code == 200  # still logged in
    assert events(app) == []


def test_another_organisations_staff_and_system_admins_do_not_exist_for_the_admin(app, demo, make_web):
    admin = make_web()
    admin.login("orgadmin1")
    for username in ("mediator3", "orgadmin2", "admin", "resident1"):
        resp = act(admin, app, username, "deactivate", "试图越权")
        assert resp.status_code == 404, username
        assert "您要找的页面不存在" in text(resp)
    assert admin.post("/org/staff/999999", {"s999999-action": "deactivate", "s999999-reason": "x"},
                      page="/org/staff").status_code == 404
    with app.app_context():
        assert all(db.session.scalars(sa.select(User.active).where(
            User.username.in_(("mediator3", "orgadmin2", "admin", "resident1")))))
    assert events(app) == []


def test_other_roles_get_403_and_visitors_the_login_page(app, demo, make_web):
    for username in ("resident1", "mediator1", "admin", "court1"):
        web = make_web()
        web.login(username)
        assert web.get("/org/staff").status_code == 403, username
        assert web.get("/org/assisted-reset").status_code == 403, username
        uid = user_id(app, "mediator2")
        assert web.post(f"/org/staff/{uid}", {f"s{uid}-action": "deactivate", f"s{uid}-reason": "x"},
                        page="/account").status_code == 403
    assert make_web().get("/org/staff").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(User.active).where(User.username == "mediator2"))


def test_an_org_admin_without_an_organisation_is_refused(app, demo, make_web):
    with app.app_context():
        db.session.execute(sa.update(User).where(User.username == "orgadmin2").values(organisation_id=None))
        db.session.commit()
    web = make_web()
    web.login("orgadmin2")
    assert web.get("/org/staff").status_code == 403


def test_the_event_chain_verifies_and_shows_tampering(app, demo, make_web):
    from app.accounts import admin_ops

    admin = make_web()
    admin.login("orgadmin1")
    act(admin, app, "mediator1", "end_sessions", "一")
    act(admin, app, "mediator2", "deactivate", "二")
    with app.app_context():
        assert admin_ops.verify_chain() == (2, None)
        assert "OK: 2 account events verified" in app.test_cli_runner().invoke(args=["audit", "verify"]).output
        db.session.execute(sa.update(AccountEvent).where(AccountEvent.id == db.session.scalar(
            sa.select(sa.func.min(AccountEvent.id)))).values(reason="改过"))
        checked, broken = admin_ops.verify_chain()
        assert checked == 0 and "altered" in broken
        db.session.commit()
        out = app.test_cli_runner().invoke(args=["audit", "verify"])
        assert out.exit_code == 1 and "Account event log BROKEN after 0 good events" in out.output
        assert db.session.scalar(sa.select(Organisation.id).join(User).where(User.username == "orgadmin1")) == \
            db.session.scalar(sa.select(AccountEvent.organisation_id).limit(1))
