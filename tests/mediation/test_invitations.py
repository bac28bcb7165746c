"""Invitation and consent: the respondent is invited when a mediator is assigned, answers through a one-time link."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import User
from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import Invitation, OutboxMessage
from tests.cases.test_funnel_journeys import file_dispute, load, mediator_of, step

LINK_RE = re.compile(r"/invitations/([A-Za-z0-9_\-]+)")


INVITED_PHONE = "13905539876"  # the respondent's number in tests.cases.test_funnel_journeys.file_dispute


def invited_phone_on_account(app, username="resident2", phone=INVITED_PHONE, verified=True):
    """The respondent's account carries the number the invitation SMS went to, verified by its SMS code unless told
    otherwise (only a verified number answers without the invitation's own code); the demo accounts have numbers of
    their own."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        user.phone = phone
        user.phone_verified_at = utcnow() if verified and phone else None
        db.session.commit()
        db.session.remove()


def _case_in_mediation(app, make_web):
    """resident1 files a neighbour dispute against 李建国 (phone 13905539876, on resident2's account) and asks
    for mediation."""
    invited_phone_on_account(app)
    applicant = make_web()
    applicant.login("resident1")
    case_id = file_dispute(applicant, "楼上漏水殃及我家天花板", "neighbour", "楼上卫生间漏水，我家天花板发霉，协商无果。")
    assert step(applicant, case_id, "request_mediation").status_code == 302
    return applicant, case_id


def case_with_both_parties(app, make_web):
    """resident1 (王秀英) against resident2 (李建国), who accepted the invitation; returns the case id and the
    logged-in browsers of the applicant, the respondent and the mediator."""
    applicant, case_id = _case_in_mediation(app, make_web)
    respondent, mediator = make_web(), make_web()
    respondent.login("resident2")
    token = _token(app, case_id)
    respondent.get(f"/invitations/{token}")
    assert respondent.post(f"/invitations/{token}/accept").status_code == 302
    mediator.login(mediator_of(app, case_id))
    return case_id, applicant, respondent, mediator


def _rows(app, case_id):
    with app.app_context():
        invs = db.session.scalars(sa.select(Invitation).where(Invitation.case_id == case_id)).all()
        msgs = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id == case_id)
                                  .order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return invs, msgs


def _token(app, case_id):
    _, msgs = _rows(app, case_id)
    sms = [m for m in msgs if m.channel == "sms"]
    return LINK_RE.search(sms[0].body).group(1)


def _user_id(app, username):
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def test_respondent_invited_when_a_mediator_is_assigned(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    assert load(app, case_id)[:2] == ("mediate", "in_progress")
    invs, msgs = _rows(app, case_id)
    assert len(invs) == 1 and invs[0].answer is None
    assert invs[0].expires_at - invs[0].created_at == timedelta(days=7)
    sms = [m for m in msgs if m.channel == "sms"]
    assert len(sms) == 1 and sms[0].to == "13905539876" and sms[0].sent_at is None
    token = LINK_RE.search(sms[0].body).group(1)
    assert f"http://127.0.0.1:5000/invitations/{token}" in sms[0].body  # an SMS needs an absolute link (BASE_URL)
    assert token not in invs[0].token_hash and len(invs[0].token_hash) == 64  # only the hash is stored


def test_accept_after_login_links_the_respondent_and_shows_the_case(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    respondent = make_web()
    page = respondent.get(f"/invitations/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "请先登录或注册" in html
    assert re.search(rf'href="/login\?next=(/|%2F)invitations(/|%2F){token}"', html)
    assert re.search(rf'href="/register\?next=(/|%2F)invitations(/|%2F){token}"', html)
    assert "楼上漏水" not in html  # nothing of the claim before logging in

    resp = respondent.post(f"/login?next=/invitations/{token}", {"username": "resident2", "password": demo},
                           page="/login")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/invitations/{token}")
    html = respondent.get(f"/invitations/{token}").get_data(as_text=True)
    assert "楼上漏水殃及我家天花板" in html and "楼上卫生间漏水" in html and "王秀英" in html
    assert "139****1234" in html and "13905531234" not in html  # the applicant's phone, masked
    assert "楼上漏水" not in respondent.get("/my/cases").get_data(as_text=True)

    resp = respondent.post(f"/invitations/{token}/accept")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}")
    assert "楼上漏水殃及我家天花板" in respondent.get("/my/cases").get_data(as_text=True)
    assert respondent.get(f"/cases/{case_id}").status_code == 200
    assert "respondent_accepted" in load(app, case_id)[3]
    invs, _ = _rows(app, case_id)
    assert invs[0].answer == "accepted" and invs[0].answered_at is not None
    with app.app_context():
        from app.cases.models import CaseParty
        party = db.session.get(CaseParty, invs[0].party_id)
        assert party.user_id == _user_id(app, "resident2")

    # the link is one-time: used, it answers 410 with a clear page
    gone = respondent.get(f"/invitations/{token}")
    assert gone.status_code == 410 and "邀请链接已失效" in gone.get_data(as_text=True)
    assert respondent.post(f"/invitations/{token}/accept", page="/my/cases").status_code == 410


def test_decline_tells_the_applicant_and_the_case_page_shows_the_next_path(app, demo, make_web):
    applicant, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    respondent = make_web()
    respondent.login("resident2")
    respondent.get(f"/invitations/{token}")
    resp = respondent.post(f"/invitations/{token}/decline", {"reason": "我不认可对方的说法"})
    assert resp.status_code == 200 and "已记录您的答复" in resp.get_data(as_text=True)
    assert load(app, case_id)[:2] == ("mediate", "in_progress")  # the case stays where it is
    assert load(app, case_id)[3][-1] == "respondent_declined"
    invs, msgs = _rows(app, case_id)
    assert invs[0].answer == "declined" and invs[0].reason == "我不认可对方的说法"
    told = [m for m in msgs if m.channel == "in_app" and m.to == str(_user_id(app, "resident1"))]
    assert told and "不同意调解" in told[-1].body
    page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "被申请人不同意调解" in page and "向人民法院起诉" in page and "我不认可对方的说法" in page
    assert respondent.get(f"/invitations/{token}").status_code == 410


def test_answers_need_the_csrf_token(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    respondent = make_web()
    respondent.login("resident2")
    resp = respondent.client.post(f"/invitations/{token}/accept", data={})
    assert resp.status_code == 400
    assert respondent.client.post(f"/invitations/{token}/decline", data={"reason": "x"}).status_code == 400
    invs, _ = _rows(app, case_id)
    assert invs[0].answer is None


def test_the_applicant_cannot_answer_and_unknown_tokens_are_404(app, demo, make_web):
    applicant, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    assert applicant.get(f"/invitations/{token}").status_code == 403
    assert applicant.get("/invitations/not-a-token").status_code == 404


def test_expiry_after_seven_days_and_the_expire_command(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    from app.mediation.operations import expire_invitations

    with app.app_context():
        assert expire_invitations(now=utcnow() + timedelta(days=6)) == []
        expired = expire_invitations(now=utcnow() + timedelta(days=7, seconds=1))
        assert case_id in [i.case_id for i in expired]  # the demo's own cases were invited too
        db.session.commit()
    invs, msgs = _rows(app, case_id)
    assert invs[0].answer == "expired"
    assert any(m.channel == "in_app" and m.to == str(_user_id(app, "resident1")) and "未答复" in m.body for m in msgs)
    assert load(app, case_id)[3][-1] == "invitation_expired"
    respondent = make_web()
    respondent.login("resident2")
    gone = respondent.get(f"/invitations/{token}")
    assert gone.status_code == 410 and "邀请链接已失效" in gone.get_data(as_text=True)


def test_a_link_past_its_date_is_gone_and_the_cli_expires_it(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    token = _token(app, case_id)
    with app.app_context():
        inv = db.session.scalar(sa.select(Invitation).where(Invitation.case_id == case_id))
        inv.created_at -= timedelta(days=8)
        inv.expires_at -= timedelta(days=8)
        db.session.commit()
    respondent = make_web()
    respondent.login("resident2")
    assert respondent.get(f"/invitations/{token}").status_code == 410
    result = app.test_cli_runner().invoke(args=["invitations", "expire"])
    assert result.exit_code == 0, result.output
    assert "invitation(s) expired" in result.output and not result.output.startswith("0 ")  # ours at least
    invs, _ = _rows(app, case_id)
    assert invs[0].answer == "expired"


def test_outbox_send_prints_through_the_console_backend_and_marks_sent(app, demo, make_web):
    _, case_id = _case_in_mediation(app, make_web)
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "sms to 139****9876" in result.output and "/invitations/" in result.output  # the recipient masked
    assert "13905539876" not in result.output
    _, msgs = _rows(app, case_id)
    assert msgs and all(m.sent_at is not None and m.attempts == 1 for m in msgs)
    again = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert again.output.startswith("0 message(s) sent")
