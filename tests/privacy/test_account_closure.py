"""Closing an account (注销): a resident does it themselves; the personal data goes at once, every device is logged
out, nothing is lost on a wrong password, and a dispute still in progress stops it."""
from __future__ import annotations

import sqlalchemy as sa

from app.accounts.models import MfaRecoveryCode, PasswordReset, TotpFactor, User, UserSession
from app.cases.models import Case, CaseParty
from app.consult.models import ConsultQuery
from app.core.crypto import blind_index
from app.extensions import db
from app.mediation.models import OutboxMessage
from app.privacy.consent_models import ConsentRecord
from tests.accounts.test_mfa import enrol
from tests.cases.test_funnel_journeys import file_dispute, step
from tests.privacy.test_consent import agree

PHONE, EMAIL, PASSWORD = "13712345678", "leaving@example.cn", "leaving-pass-123"


def text(resp) -> str:
    return resp.get_data(as_text=True)


def register(web, username: str = "leaving01") -> int:
    resp = web.post("/register", {"username": username, "display_name": "钱多多", "phone": PHONE, "email": EMAIL,
                                  "password": PASSWORD, "confirm": PASSWORD}, page="/register")
    assert resp.status_code == 302, text(resp)[:2000]
    with web.client.application.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def close(web, password: str = PASSWORD, understood: bool = True):
    return web.post("/account/close", {"password": password, **({"understood": "y"} if understood else {})},
                    page="/account/close")


def _user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _queue(app, user_id: int) -> None:
    """An unread in-app message and an SMS not yet sent to the user's phone (as the outbox holds them)."""
    with app.app_context():
        db.session.add_all([OutboxMessage(channel="in_app", to=str(user_id), subject="调解安排", body="明天上午九点调解"),
                            OutboxMessage(channel="sms", to=PHONE, subject="", body="【解纷】明天上午九点调解"),
                            OutboxMessage(channel="sms", to="13900000000", subject="", body="给别人的短信")])
        db.session.commit()


def test_a_resident_closes_the_account_and_the_personal_data_goes_at_once(app, demo, make_web):
    web, other_device = make_web(), make_web()
    user_id = register(web)
    assert agree(web).status_code == 302
    other_device.login("leaving01", PASSWORD)
    assert web.post("/consult", {"q": "房东不退押金怎么办"}, page="/consult").status_code == 303
    _queue(app, user_id)
    enrol(web)  # a second factor, with its recovery codes
    other_device.get("/my/cases")
    assert make_web().post("/password/forgot", {"username": "leaving01", "phone": PHONE},
                           page="/password/forgot").status_code == 302
    privacy = text(web.get("/account/privacy"))
    assert "了解并注销账号" in privacy and 'href="/account/close"' in privacy
    page = web.get("/account/close")
    assert page.status_code == 200 and "无法恢复" in text(page) and "1095 天" in text(page)

    wrong = close(web, password="not-my-password")  # nothing happens; the message is next to the password field
    assert wrong.status_code == 422 and 'id="password-error">登录密码不正确。' in text(wrong)
    unticked = close(web, understood=False)
    assert unticked.status_code == 422 and 'id="understood-error">请确认您已了解注销的后果。' in text(unticked)
    assert _user(app, user_id).active and _user(app, user_id).phone == PHONE

    done = close(web)
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert "您的账号已注销" in text(web.get("/"))
    user = _user(app, user_id)
    assert user.closed_at is not None and not user.active and user.display_name == "已注销用户"
    assert user.phone is None and user.phone_bidx is None and user.email is None and user.region_code is None
    assert user.username.startswith("closed-") and "leaving01" not in user.username
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
            User.phone_bidx == blind_index("phone", PHONE))) == 0
        sessions = db.session.execute(sa.select(UserSession.ended_at, UserSession.end_reason)
                                      .where(UserSession.user_id == user_id)).all()
        assert len(sessions) == 2 and all(ended and reason == "closed" for ended, reason in sessions)
        assert all(r.withdrawn_at for r in db.session.scalars(sa.select(ConsentRecord).where(
            ConsentRecord.user_id == user_id)))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "in_app", OutboxMessage.to == str(user_id))) == 0
        texts = {m.body: m for m in db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms"))}
        assert texts["【解纷】明天上午九点调解"].gave_up_at is not None and texts["给别人的短信"].gave_up_at is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)
                                 .where(PasswordReset.user_id == user_id)) == 0
        assert db.session.get(TotpFactor, user_id) is None and db.session.scalar(
            sa.select(sa.func.count()).select_from(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id)) == 0
        assert db.session.scalars(sa.select(ConsultQuery).where(ConsultQuery.question == "房东不退押金怎么办")).all() == []
        [question] = db.session.scalars(sa.select(ConsultQuery).where(ConsultQuery.question == "（已清除）"))
        assert question.user_id is None and question.category  # the statistics stay

    # The other device is logged out and told why; the old password no longer logs in.
    elsewhere = other_device.get("/dashboard", follow_redirects=True)
    assert "/login" in elsewhere.request.path and "该账号已注销" in text(elsewhere)
    again = make_web().post("/login", {"username": "leaving01", "password": PASSWORD}, page="/login")
    assert again.status_code == 422 and "用户名或密码不正确" in text(again)
    # The username and the phone number are free for a new account, which starts empty.
    new_id = register(make_web())
    assert new_id != user_id and _user(app, new_id).phone == PHONE


def test_ended_disputes_do_not_stop_closure_and_keep_their_record(app, demo, make_web):
    web = make_web()
    register(web, "leaving02")
    agree(web)
    case_id = file_dispute(web, "押金不退", "tenancy", "租期到了房东不退两千元押金。", amount="2000")
    assert "暂时不能注销" in text(web.get("/account/close"))
    assert step(web, case_id, "withdraw", reason="已经和房东谈好了").status_code == 302
    assert close(web).status_code == 302
    with app.app_context():  # the record stays until the retention job's time, for the other party and the mediator
        case = db.session.get(Case, case_id)
        assert case.stage.value == "closed" and case.filed_by.display_name == "已注销用户"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseParty)
                                 .where(CaseParty.case_id == case_id)) == 2


def test_a_dispute_in_progress_stops_closure_and_nothing_changes(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    page = text(web.get("/account/close"))
    assert "暂时不能注销" in page and 'name="password"' not in page
    with app.app_context():
        open_titles = [c.title for c in db.session.scalars(sa.select(Case).where(
            Case.filed_by.has(username="resident1"), Case.stage != "closed"))]
    assert open_titles and all(title in page for title in open_titles)
    refused = web.post("/account/close", {"password": "jiefen-demo", "understood": "y"})
    assert refused.status_code == 409 and "暂时不能注销" in text(refused)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "resident1"))
        assert user.active and user.closed_at is None and user.phone
    assert web.get("/my/cases").status_code == 200  # still logged in


def test_staff_accounts_are_not_closed_here(app, demo, make_web):
    web = make_web()
    web.login("mediator1")
    page = web.get("/account/close")
    assert page.status_code == 200 and "请联系系统管理员停用" in text(page) and 'name="password"' not in text(page)
    assert web.post("/account/close", {"password": "jiefen-demo", "understood": "y"}).status_code == 403
    assert web.get("/mediator/inbox").status_code == 200


def test_wrong_passwords_count_against_the_login_limit(app, demo, make_web):
    web = make_web()
    register(web, "leaving03")
    statuses = [close(web, password=f"wrong-{i}").status_code for i in range(6)]
    assert statuses == [422] * 5 + [429]
    locked = close(web)  # even the right password is refused while locked; the page says so by the field
    assert locked.status_code == 429 and 'id="password-error">该账号密码错误次数过多' in text(locked)
    with app.app_context():
        assert db.session.scalar(sa.select(User.active).where(User.username == "leaving03"))


def test_the_page_in_english(app, demo, make_web):
    web = make_web()
    register(web, "leaving04")
    web.get("/lang/en?next=/")
    page = text(web.get("/account/close"))
    assert "Close account" in page and "cannot be restored" in page


# --- the copy of one's personal information (PIPL art. 45) ---------------------------------------------------------
def test_the_copy_holds_my_data_whole_and_other_peoples_numbers_masked(app, demo, make_web):
    from tests.privacy.test_reveal import _reveal, demo_case

    case = demo_case(app)  # resident1 v. a company, handled by mediator1
    mediator = make_web()
    mediator.login("mediator1")
    _reveal(mediator, case)
    web = make_web()
    web.login("resident1")
    assert 'href="/account/privacy/export"' in text(web.get("/account/privacy"))
    resp = web.get("/account/privacy/export")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="jiefen-personal-data-')
    assert resp.headers["Cache-Control"] == "no-store"
    data = resp.get_json()
    with app.app_context():
        me = db.session.scalar(sa.select(User).where(User.username == "resident1"))
        mine = set(db.session.scalars(sa.select(Case.id).where(Case.visible_to(me))))
        others = db.session.scalars(sa.select(CaseParty).join(Case).where(
            Case.id.in_(mine), CaseParty.user_id != me.id, CaseParty.phone.is_not(None),
            CaseParty.role == "respondent")).all()
        other_phones = {p.phone for p in others}
        assert data["account"]["phone"] == me.phone and data["account"]["display_name"] == "王秀英"
    assert {d["id"] for d in data["disputes"]} == mine and other_phones
    body = resp.get_data(as_text=True)
    assert not any(phone in body for phone in other_phones)  # other people's numbers only masked
    [shown] = [d for d in data["disputes"] if d["id"] == case["id"]]
    [own] = [p for p in shown["parties"] if p["me"]]
    assert own["phone"] == case["phone"] and shown["events"] and data["logins"] and data["consents"]
    [reveal] = data["number_reveals"]
    assert reveal["case_id"] == case["id"] and reveal["field"] == "phone" and reveal["role"] == "mediator"
    assert reveal["reason_code"] == "identity" and reveal["organisation"]


def test_the_copy_is_only_ever_ones_own(app, demo, make_web):
    web = make_web()
    web.login("resident3")
    data = web.get("/account/privacy/export").get_json()
    assert data["account"]["username"] == "resident3" and data["disputes"] == []
    assert make_web().get("/account/privacy/export").status_code == 302  # a visitor is sent to log in
