"""/org/assisted-reset: a resident without a phone comes to the counter with an ID card; the organisation admin finds
the account (by username, or by phone through the blind index), ticks that the ID was checked, gives a reason and gets
a temporary password shown once. It works for one login, which must choose a new password before anything else."""
from __future__ import annotations

import re

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app.accounts.models import AccountEvent, User
from app.extensions import db
from app.mediation.models import OutboxMessage

PASSWORD, NEW = "first-heron-pass-1", "grey-heron-fishing-4"
TEMPORARY_RE = re.compile(r"<code>([a-hj-km-np-z2-9]{4}-[a-hj-km-np-z2-9]{4}-[a-hj-km-np-z2-9]{4})</code>")
REASON = "本人持身份证到场，忘记密码且未绑定手机"


def text(resp) -> str:
    return resp.get_data(as_text=True)


def register(make_web, username: str = "laoli", phone: str = ""):
    web = make_web()
    resp = web.post("/register", {"username": username, "display_name": "李大爷", "phone": phone, "password": PASSWORD,
                                  "confirm": PASSWORD}, page="/register")
    assert resp.status_code == 302, text(resp)[:1500]
    return web


def user(app, username: str) -> User:
    with app.app_context():
        found = db.session.scalar(sa.select(User).where(User.username == username))
        db.session.expunge(found)
        return found


def find(admin, query: str):
    return admin.post("/org/assisted-reset", {"query": query}, page="/org/assisted-reset")


def reset(admin, uid: int, ticked: bool = True, reason: str = REASON):
    data = {"reason": reason, **({"id_checked": "y"} if ticked else {})}
    return admin.post(f"/org/assisted-reset/{uid}", data, page=f"/org/assisted-reset/{uid}")


def login(web, username: str, password: str):
    return web.post("/login", {"username": username, "password": password}, page="/login")


def events(app) -> list[tuple]:
    with app.app_context():
        return [(e.actor.username, e.target.username, e.action, e.reason, e.id_checked, e.sessions_ended)
                for e in db.session.scalars(sa.select(AccountEvent).order_by(AccountEvent.id))]


def test_a_resident_without_a_phone_gets_a_one_time_password_and_must_choose_a_new_one(app, demo, make_web):
    resident = register(make_web)
    assert resident.get("/my/cases").status_code == 200
    admin = make_web()
    admin.login("orgadmin1")
    found = text(find(admin, "laoli"))
    uid = user(app, "laoli").id
    assert "找到 1 个账号" in found and "李大爷" in found and "未绑定" in found
    assert f'href="/org/assisted-reset/{uid}"' in found
    assert "李大爷" in text(admin.get(f"/org/assisted-reset/{uid}"))
    done = reset(admin, uid)
    assert done.status_code == 200 and "李大爷 的临时密码" in text(done) and "只显示这一次" in text(done)
    temporary = TEMPORARY_RE.search(text(done)).group(1)
    assert f"<code>{temporary}</code>" not in text(admin.get("/org/staff"))  # shown on that one page only

    ended = resident.get("/my/cases", follow_redirects=True)  # the old session is gone
    assert "/login" in ended.request.path and "您的密码已修改" in text(ended)
    assert login(make_web(), "laoli", PASSWORD).status_code == 422  # the old password no longer works

    counter = make_web()
    first = login(counter, "laoli", temporary)
    assert first.status_code == 302 and first.location == "/account/password/new"
    for elsewhere in ("/my/cases", "/account", "/notifications", "/cases/new"):
        resp = counter.get(elsewhere)
        assert resp.status_code == 302 and resp.location == "/account/password/new", elsewhere
    assert "临时密码已经用过" in text(counter.get("/account/password/new"))
    again = login(make_web(), "laoli", temporary)  # it worked once
    assert again.status_code == 422 and "用户名或密码不正确" in text(again)

    weak = counter.post("/account/password/new", {"password": "1234567890", "confirm": "1234567890"})
    assert weak.status_code == 422 and "这个密码太容易被猜到" in text(weak)
    chosen = counter.post("/account/password/new", {"password": NEW, "confirm": NEW})
    assert chosen.status_code == 302 and chosen.location == "/dashboard"
    assert counter.get("/my/cases").status_code == 200
    assert counter.get("/account/password/new").location == "/account/password"  # nothing left to choose
    assert login(make_web(), "laoli", NEW).location == "/dashboard"
    stored = user(app, "laoli")
    assert stored.must_change_password is False and check_password_hash(stored.password_hash, NEW)
    assert events(app) == [("orgadmin1", "laoli", "assisted_reset", REASON, True, 1)]
    with app.app_context():
        note = db.session.scalar(sa.select(OutboxMessage.body).where(OutboxMessage.channel == "in_app",
                                                                     OutboxMessage.to == str(uid)))
    assert "团结社区人民调解委员会 的工作人员已核实您的身份证件" in note


def test_found_by_phone_through_the_blind_index_and_told_by_sms(app, demo, make_web):
    admin = make_web()
    admin.login("orgadmin1")
    resident1 = user(app, "resident1")
    found = text(find(admin, resident1.phone))
    listed = found[found.index('class="found-accounts"'):]
    assert "王秀英" in listed and "resident1" in listed
    assert resident1.masked_phone in listed and resident1.phone not in listed  # the number is masked
    done = reset(admin, resident1.id)
    temporary = TEMPORARY_RE.search(text(done)).group(1)
    with app.app_context():
        sms = [m.body for m in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms"))
               if m.to == resident1.phone]
    assert any("为您重设了解纷账号的登录密码" in body for body in sms)
    assert temporary not in "".join(sms)  # the password itself is never sent
    assert login(make_web(), "resident1", temporary).location == "/account/password/new"


def test_missing_tick_or_reason_is_shown_next_to_the_field_and_what_was_typed_stays(app, demo, make_web):
    register(make_web)
    admin = make_web()
    admin.login("orgadmin1")
    uid = user(app, "laoli").id
    no_tick = reset(admin, uid, ticked=False, reason="本人到场")
    assert no_tick.status_code == 422
    page = text(no_tick)
    assert '<p class="error" id="id_checked-error">请先当面核对身份证件，并勾选此项。</p>' in page
    assert "本人到场</textarea>" in page
    no_reason = reset(admin, uid, reason="  ")
    assert no_reason.status_code == 422
    assert '<p class="error" id="reason-error">请填写原因，它会记入操作记录。</p>' in text(no_reason)
    assert 'checked id="id_checked"' in text(no_reason)  # the tick stays
    not_found = find(admin, "nobody-here")
    assert not_found.status_code == 422
    assert re.search(r'<p class="error" id="query-error">没有找到这个用户名或手机号码的账号', text(not_found))
    assert 'value="nobody-here"' in text(not_found)
    assert events(app) == []
    assert check_password_hash(user(app, "laoli").password_hash, PASSWORD)


def test_staff_and_closed_accounts_are_refused(app, demo, make_web):
    admin = make_web()
    admin.login("orgadmin1")
    found = text(find(admin, "mediator1"))
    mediator = user(app, "mediator1")
    assert "这是工作人员账号，不能在这里重设密码" in found and f"/org/assisted-reset/{mediator.id}" not in found
    refused = reset(admin, mediator.id)
    assert refused.status_code == 403 and "这是工作人员账号" in text(refused)
    register(make_web, "closing")
    with app.app_context():
        from app.core.time import utcnow

        db.session.execute(sa.update(User).where(User.username == "closing").values(active=False, closed_at=utcnow()))
        db.session.commit()
    assert "该账号已注销，不能重设密码" in text(find(admin, "closing"))
    closed = reset(admin, user(app, "closing").id)
    assert closed.status_code == 403 and "该账号已注销" in text(closed)
    assert reset(admin, 999999).status_code == 404
    assert events(app) == []
    assert check_password_hash(user(app, "mediator1").password_hash, "jiefen-demo")


def test_the_forgot_page_sends_residents_without_a_phone_to_the_counter(app, make_web):
    page = text(make_web().get("/password/forgot"))
    assert "账号没有绑定手机号码的，请本人带上居民身份证" in page and "可以为您重设密码" in page


def test_an_admin_cannot_reset_a_resident_whose_disputes_another_organisation_handles(app, demo, make_web):
    """resident1's disputes are with 团结社区 (orgadmin1): another organisation's admin would open them."""
    admin = make_web()
    admin.login("orgadmin2")
    target = user(app, "resident1")
    page = text(find(admin, "resident1"))
    assert "一个居民账号" in page and "该居民的纠纷由其他调解组织处理" in page
    assert "王秀英" not in page and f"/org/assisted-reset/{target.id}" not in page   # no name, no way on
    refused = admin.get(f"/org/assisted-reset/{target.id}")
    assert refused.status_code == 403 and "该居民的纠纷由其他调解组织处理" in text(refused)
    assert reset(admin, target.id).status_code == 403
    assert events(app) == [] and user(app, "resident1").password_hash == target.password_hash
    own = make_web()
    own.login("orgadmin1")                                        # the organisation handling them can
    assert "为 王秀英 重设密码" in text(find(own, "resident1"))
