"""A resident whose account has another number than the one the invitation SMS went to (or none) proves they hold
the invited number with a 6-digit code sent there by SMS, and answers with it: 10 minutes, 5 tries, used once, at
most 3 codes per account and 10 per invitation an hour. Never more of the invited number than 139****9876 on any page."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.cases.models import CaseParty
from app.extensions import db
from app.mediation.models import Invitation, InvitationCode, OutboxMessage
from tests.cases.test_funnel_journeys import mediator_of
from tests.mediation.test_invitation_answerers import _invitation
from tests.mediation.test_invitations import (
    INVITED_PHONE,
    _case_in_mediation,
    _token,
    _user_id,
    invited_phone_on_account,
)

CODE_SUBJECT = "【解纷】调解邀请验证码"
CODE_RE = re.compile(r"验证码 (\d{6})")


def _code_messages(app, case_id) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.case_id == case_id, OutboxMessage.subject == CODE_SUBJECT).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
    return rows


def _last_code(app, case_id) -> str:
    return CODE_RE.search(_code_messages(app, case_id)[-1].body).group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _age_codes(app, case_id, minutes: int) -> None:
    """Every code of the case's invitation sent `minutes` earlier than it was."""
    with app.app_context():
        inv_id = db.session.scalar(sa.select(Invitation.id).where(Invitation.case_id == case_id))
        for row in db.session.scalars(sa.select(InvitationCode).where(InvitationCode.invitation_id == inv_id)):
            row.created_at -= timedelta(minutes=minutes)
            row.expires_at -= timedelta(minutes=minutes)
        db.session.commit()
        db.session.remove()


def _error_by(html: str, field: str) -> str:
    m = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    return m.group(1) if m else ""


@pytest.fixture()
def offered(app, demo, make_web):
    """An invitation to 李建国 at 13905539876, and resident2 logged in with another number on the account, looking at
    the offer; returns (case_id, token, browser)."""
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    invited_phone_on_account(app, phone="13800001111")
    browser = make_web()
    browser.login("resident2")
    assert browser.get(f"/invitations/{token}").status_code == 200
    return case_id, token, browser


def _send(browser, token):
    return browser.post(f"/invitations/{token}/code", page=f"/invitations/{token}")


@pytest.mark.parametrize("phone", ["13800001111", None])
def test_the_code_goes_to_the_invited_number_and_the_right_one_accepts_and_binds(app, demo, make_web, phone):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    invited_phone_on_account(app, phone=phone)
    respondent = make_web()
    respondent.login("resident2")
    html = respondent.get(f"/invitations/{token}").get_data(as_text=True)
    assert "向 139****9876 发送验证码" in html and 'name="code"' not in html  # the offer; no code to type yet
    assert "楼上漏水殃及我家天花板" in html and "王秀英" in html  # what the invitation SMS said, no more
    assert "楼上卫生间漏水" not in html and "13905531234" not in html and INVITED_PHONE not in html

    resp = _send(respondent, token)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/invitations/{token}")
    [sms] = _code_messages(app, case_id)
    assert sms.channel == "sms" and sms.to == INVITED_PHONE and sms.sent_at is None  # to the party's number on file
    code = CODE_RE.search(sms.body).group(1)
    assert "楼上漏水殃及我家天花板" in sms.body and "10 分钟内有效" in sms.body
    with app.app_context():
        [row] = db.session.scalars(sa.select(InvitationCode)).all()
        assert code not in row.code_hmac and row.user_id == _user_id(app, "resident2") and row.used_at is None
        raw = db.session.execute(sa.text("SELECT \"to\" FROM outbox_messages WHERE id = :id"), {"id": sms.id}).scalar()
        assert INVITED_PHONE not in raw  # the recipient is encrypted at rest
        db.session.remove()
    page = respondent.get(f"/invitations/{token}").get_data(as_text=True)
    assert "我们向 139****9876 发送了验证码" in page and 'name="code"' in page and INVITED_PHONE not in page

    resp = respondent.post(f"/invitations/{token}/accept", {"code": code})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}")
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))
    assert respondent.get(f"/cases/{case_id}").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(InvitationCode.used_at)) is not None
        db.session.remove()


def test_a_wrong_code_is_said_by_the_field_binds_nothing_and_keeps_the_reason(app, offered):
    case_id, token, browser = offered
    _send(browser, token)
    code = _last_code(app, case_id)
    resp = browser.post(f"/invitations/{token}/decline", {"code": _wrong(code), "reason": "我不认识申请人"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "验证码不正确" in _error_by(html, "code")
    assert "我不认识申请人" in html  # nothing typed is lost
    assert _invitation(app, case_id) == (None, None)
    resp = browser.post(f"/invitations/{token}/accept", {"code": "12ab"})
    assert resp.status_code == 422 and "6 位数字" in _error_by(resp.get_data(as_text=True), "code")

    resp = browser.post(f"/invitations/{token}/decline", {"code": f" {code} ", "reason": "我不认识申请人"})
    assert resp.status_code == 200
    with app.app_context():
        inv = db.session.scalar(sa.select(Invitation).where(Invitation.case_id == case_id))
        assert (inv.answer, inv.reason, inv.answered_by_id) == ("declined", "我不认识申请人",
                                                                _user_id(app, "resident2"))
        assert db.session.get(CaseParty, inv.party_id).user_id is None  # declining binds no one
        db.session.remove()


def test_a_used_code_cannot_be_used_again(app, offered):
    case_id, token, browser = offered
    _send(browser, token)
    code = _last_code(app, case_id)
    assert browser.post(f"/invitations/{token}/accept", {"code": code}).status_code == 302
    assert browser.post(f"/invitations/{token}/decline", {"code": code}, page="/dashboard").status_code == 410

    from app.accounts.recovery import Outcome
    from app.mediation import operations

    with app.app_context():  # the operation itself, on an invitation still open: a code proves once
        inv = db.session.scalar(sa.select(Invitation).where(Invitation.case_id == case_id))
        inv.answer = inv.answered_at = None
        user = db.session.get(CaseParty, inv.party_id).user
        db.session.get(CaseParty, inv.party_id).user_id = None
        db.session.flush()
        assert operations.check_code(inv, user, code) is Outcome.no_longer_valid
        db.session.rollback()
        db.session.remove()


def test_a_code_expires_after_ten_minutes(app, offered):
    case_id, token, browser = offered
    _send(browser, token)
    code = _last_code(app, case_id)
    _age_codes(app, case_id, 9)
    assert browser.post(f"/invitations/{token}/accept", {"code": _wrong(code)}).status_code == 422  # still alive
    _age_codes(app, case_id, 2)
    resp = browser.post(f"/invitations/{token}/accept", {"code": code})
    assert resp.status_code == 422 and "验证码已失效" in _error_by(resp.get_data(as_text=True), "code")
    assert _invitation(app, case_id) == (None, None)
    assert "向 139****9876 发送验证码" in browser.get(f"/invitations/{token}").get_data(as_text=True)

    _send(browser, token)  # a fresh code works
    assert browser.post(f"/invitations/{token}/accept", {"code": _last_code(app, case_id)}).status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


def test_five_wrong_tries_end_a_code_and_a_new_one_replaces_the_old(app, offered):
    case_id, token, browser = offered
    _send(browser, token)
    first = _last_code(app, case_id)
    for attempt in range(1, 6):
        html = browser.post(f"/invitations/{token}/accept", {"code": _wrong(first)}).get_data(as_text=True)
        assert ("验证码已失效" if attempt == 5 else "验证码不正确") in _error_by(html, "code")
    resp = browser.post(f"/invitations/{token}/accept", {"code": first})
    assert resp.status_code == 422 and "验证码已失效" in _error_by(resp.get_data(as_text=True), "code")

    _send(browser, token)
    _send(browser, token)
    second, third = [CODE_RE.search(m.body).group(1) for m in _code_messages(app, case_id)[1:]]
    if second != third:  # one in a million they are the same; an older code is just not the one to type now
        resp = browser.post(f"/invitations/{token}/accept", {"code": second})
        assert resp.status_code == 422 and "验证码不正确" in _error_by(resp.get_data(as_text=True), "code")
        assert _invitation(app, case_id) == (None, None)
    assert browser.post(f"/invitations/{token}/accept", {"code": third}).status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


def _resident(app, username: str, phone: str) -> str:
    """A resident with consent given (another person who got hold of the link)."""
    from app.accounts.operations import register_resident
    from app.privacy.consent import record_consent

    with app.app_context():
        record_consent(register_resident(username, "jiefen-demo", "张三", phone, None))
        db.session.commit()
        db.session.remove()
    return username


def _codes_by_user(app, case_id) -> dict[int, int]:
    """How many codes each account had sent for the case's invitation (stored rows)."""
    with app.app_context():
        inv_id = db.session.scalar(sa.select(Invitation.id).where(Invitation.case_id == case_id))
        rows = db.session.execute(sa.select(InvitationCode.user_id, sa.func.count()).where(
            InvitationCode.invitation_id == inv_id).group_by(InvitationCode.user_id)).all()
        db.session.remove()
    return dict(rows)


def _security_lines(caplog, event: str) -> list[dict[str, str]]:
    return [dict(part.split("=", 1) for part in r.getMessage().split(" "))
            for r in caplog.records if r.name == "security" and f"event={event} " in r.getMessage()]


def test_at_most_three_codes_per_account_an_hour(app, make_web, offered, caplog):
    caplog.set_level(logging.INFO, logger="security")
    case_id, token, browser = offered
    for _ in range(3):
        assert _send(browser, token).status_code == 302
    resp = _send(browser, token)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 429 and "每小时最多 3 次" in html and "60 分钟后再试" in html
    assert INVITED_PHONE not in html
    assert len(_code_messages(app, case_id)) == 3  # nothing more went out
    [limited] = _security_lines(caplog, "rate_limited")
    assert limited["scope"] == "invitation-code-account" and limited["limit"] == "3/hour"
    assert limited["user_id"] == str(_user_id(app, "resident2"))

    _age_codes(app, case_id, 61)  # an hour later
    assert _send(browser, token).status_code == 302
    assert len(_code_messages(app, case_id)) == 4
    assert browser.post(f"/invitations/{token}/accept", {"code": _last_code(app, case_id)}).status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


def test_another_resident_with_the_link_cannot_lock_the_respondent_out(app, demo, make_web):
    """Someone else logged in with the link uses up their own three sends; the respondent still has theirs."""
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    other = make_web()
    other.login(_resident(app, "link_holder", "13700002222"))
    for _ in range(3):
        assert _send(other, token).status_code == 302
    assert _send(other, token).status_code == 429

    invited_phone_on_account(app, phone="13800001111")  # the respondent's account has another number too
    respondent = make_web()
    respondent.login("resident2")
    html = respondent.get(f"/invitations/{token}").get_data(as_text=True)
    assert "向 139****9876 发送验证码" in html
    assert _send(respondent, token).status_code == 302
    assert _codes_by_user(app, case_id) == {_user_id(app, "link_holder"): 3, _user_id(app, "resident2"): 1}
    assert respondent.post(f"/invitations/{token}/accept", {"code": _last_code(app, case_id)}).status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


def test_at_most_ten_codes_per_invitation_an_hour_whoever_asks(app, offered, make_web, caplog):
    """The phone is not an SMS pump: accounts together send at most ten codes an hour to the invited number."""
    caplog.set_level(logging.INFO, logger="security")
    case_id, token, respondent = offered
    others = []
    for i in range(4):
        web = make_web()
        web.login(_resident(app, f"link_holder{i}", f"1370000222{i}"))
        others.append(web)
    for web in others[:3]:
        for _ in range(3):
            assert _send(web, token).status_code == 302
    assert _send(others[3], token).status_code == 302  # the tenth
    assert len(_code_messages(app, case_id)) == 10

    for web in (others[3], respondent):  # neither has used their own three, but the invitation has had its ten
        resp = _send(web, token)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 429 and "一小时内已发送 10 次" in html and "60 分钟后再试" in html
        assert INVITED_PHONE not in html
    assert len(_code_messages(app, case_id)) == 10
    assert [(e["scope"], e["limit"]) for e in _security_lines(caplog, "rate_limited")] == [
        ("invitation-code", "10/hour")] * 2

    _age_codes(app, case_id, 61)
    assert _send(respondent, token).status_code == 302
    assert respondent.post(f"/invitations/{token}/accept", {"code": _last_code(app, case_id)}).status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


def test_wrong_codes_are_in_the_security_log_without_the_code_or_the_number(app, offered, caplog):
    caplog.set_level(logging.INFO, logger="security")
    case_id, token, browser = offered
    _send(browser, token)
    code = _last_code(app, case_id)
    wrong = _wrong(code)
    with app.app_context():
        inv_id = str(db.session.scalar(sa.select(Invitation.id).where(Invitation.case_id == case_id)))
    for _ in range(5):
        assert browser.post(f"/invitations/{token}/accept", {"code": wrong}).status_code == 422
    assert browser.post(f"/invitations/{token}/accept", {"code": code}).status_code == 422  # used up by then
    failed = _security_lines(caplog, "invitation_code_failed")
    assert [(e["reason"], e["tries"]) for e in failed] == [
        ("wrong_code", "1"), ("wrong_code", "2"), ("wrong_code", "3"), ("wrong_code", "4"), ("expired", "5"),
        ("expired", "5")]
    resident2 = str(_user_id(app, "resident2"))
    assert all(e["outcome"] == "failure" and e["user_id"] == resident2 and e["invitation"] == inv_id
               and e["endpoint"] == "mediation.accept_invitation" for e in failed)
    security_text = "\n".join(r.getMessage() for r in caplog.records if r.name == "security")
    assert code not in security_text and wrong not in security_text
    assert INVITED_PHONE not in caplog.text and "9876" not in security_text and "13800001111" not in caplog.text
    assert _invitation(app, case_id) == (None, None)


def test_a_matching_account_answers_in_one_step_and_no_code_is_sent(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)  # resident2's account has the invited number
    token = _token(app, case_id)
    respondent = make_web()
    respondent.login("resident2")
    html = respondent.get(f"/invitations/{token}").get_data(as_text=True)
    assert "楼上卫生间漏水" in html and "发送验证码" not in html
    assert _send(respondent, token).status_code == 302  # nothing to prove: back to the invitation
    assert _code_messages(app, case_id) == []
    assert respondent.post(f"/invitations/{token}/accept").status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


@pytest.mark.parametrize("who", ["mediator3", "the case's mediator", "resident1"])
def test_staff_and_the_applicant_cannot_have_a_code_sent(app, demo, make_web, who):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    browser = make_web()
    browser.login(mediator_of(app, case_id) if who == "the case's mediator" else who)
    assert _send(browser, token).status_code == 403
    assert _code_messages(app, case_id) == []
    assert _invitation(app, case_id) == (None, None)
