"""Who may answer an invitation: the link alone is not enough. Staff never answer for a party (403); when the party
has a phone number on file, only a resident whose account has that number may answer at once, any other resident
after typing a code sent to it; a refusal leaves the invitation open for the right person."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.cases.models import CaseParty
from app.extensions import db
from app.mediation.models import Invitation
from tests.cases.test_funnel_journeys import load, mediator_of
from tests.mediation.test_invitations import _case_in_mediation, _token, _user_id, invited_phone_on_account


def _invitation(app, case_id) -> tuple[str | None, int | None]:
    """(answer, the invited party's user id) as stored."""
    with app.app_context():
        inv = db.session.scalar(sa.select(Invitation).where(Invitation.case_id == case_id))
        answer, user_id = inv.answer, db.session.get(CaseParty, inv.party_id).user_id
        db.session.remove()
    return answer, user_id


def _accepted_by_resident2(app, make_web, token, case_id) -> None:
    invited_phone_on_account(app)
    respondent = make_web()
    respondent.login("resident2")
    assert "楼上漏水殃及我家天花板" in respondent.get(f"/invitations/{token}").get_data(as_text=True)
    resp = respondent.post(f"/invitations/{token}/accept")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}")
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


@pytest.mark.parametrize("who", ["mediator3", "grid1", "the case's mediator"])
def test_staff_cannot_answer_an_invitation_and_it_stays_open(app, demo, make_web, who):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    staff = make_web()
    staff.login(mediator_of(app, case_id) if who == "the case's mediator" else who)
    page = staff.get(f"/invitations/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 403 and "不能用此账号答复调解邀请" in html and "工作人员账号" in html
    assert "楼上卫生间漏水" not in html and "13905539876" not in html  # nothing of the claim, not the number
    for answer in ("accept", "decline"):
        resp = staff.post(f"/invitations/{token}/{answer}", {"reason": "不同意"}, page="/dashboard")
        assert resp.status_code == 403 and "工作人员账号" in resp.get_data(as_text=True)
    assert _invitation(app, case_id) == (None, None)  # nobody bound, the invitation not used up
    assert "respondent_accepted" not in load(app, case_id)[3]
    _accepted_by_resident2(app, make_web, token, case_id)


@pytest.mark.parametrize("phone", ["13800001111", None])
def test_a_resident_whose_account_has_another_number_is_offered_a_code_and_binds_nothing_without_it(
        app, demo, make_web, phone):
    """The full walk through the code is tests/mediation/test_invitation_code.py."""
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    invited_phone_on_account(app, phone=phone)
    other = make_web()
    other.login("resident2")
    page = other.get(f"/invitations/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "139****9876" in html and "发送验证码" in html
    assert "13905539876" not in html and "楼上卫生间漏水" not in html  # neither the whole number nor the claim
    assert ("138****1111" in html) if phone else ("没有绑定手机号码" in html)
    assert "更正" not in html and "重新发送邀请" not in html  # no advice to change the account's number
    resp = other.post(f"/invitations/{token}/accept")
    assert resp.status_code == 422 and "请输入短信中的 6 位验证码" in resp.get_data(as_text=True)
    assert other.post(f"/invitations/{token}/decline", {"reason": "不是我"}).status_code == 422
    assert _invitation(app, case_id) == (None, None)
    assert other.get(f"/cases/{case_id}").status_code == 404
    assert "楼上漏水殃及我家天花板" not in other.get("/my/cases").get_data(as_text=True)
    _accepted_by_resident2(app, make_web, token, case_id)


def test_the_invited_number_matches_however_it_is_written(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    invited_phone_on_account(app, phone="+86 139-0553-9876")
    respondent = make_web()
    respondent.login("resident2")
    respondent.get(f"/invitations/{token}")
    assert respondent.post(f"/invitations/{token}/accept").status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


def test_a_party_without_a_number_on_file_is_answered_by_any_resident_with_the_link(app, demo, make_web):
    """Invited without a phone (by e-mail or in person): the link remains the capability, as before."""
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    with app.app_context():
        inv = db.session.scalar(sa.select(Invitation).where(Invitation.case_id == case_id))
        db.session.get(CaseParty, inv.party_id).phone = None
        db.session.commit()
        db.session.remove()
    invited_phone_on_account(app, phone="13800001111")
    respondent = make_web()
    respondent.login("resident2")
    assert "楼上漏水殃及我家天花板" in respondent.get(f"/invitations/{token}").get_data(as_text=True)
    assert respondent.post(f"/invitations/{token}/accept").status_code == 302
    assert _invitation(app, case_id) == ("accepted", _user_id(app, "resident2"))


def test_a_party_already_linked_to_an_account_is_answered_by_that_account_only(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    with app.app_context():
        inv = db.session.scalar(sa.select(Invitation).where(Invitation.case_id == case_id))
        db.session.get(CaseParty, inv.party_id).user_id = _user_id(app, "resident2")
        db.session.commit()
        db.session.remove()
    from app.accounts.operations import register_resident
    from app.privacy.consent import record_consent

    with app.app_context():  # the invited number, but not the linked account
        record_consent(register_resident("li_jianguo2", "jiefen-demo", "李建国", "13905539876", None))
        db.session.commit()
        db.session.remove()
    other = make_web()
    other.login("li_jianguo2")
    page = other.get(f"/invitations/{token}")
    assert page.status_code == 403 and "已经关联了另一个账号" in page.get_data(as_text=True)
    assert _invitation(app, case_id) == (None, _user_id(app, "resident2"))
