"""The respondent says the number the invitation went to is not theirs: the case's mediator (or an admin of the
organisation handling it) corrects the number with a reason. The party's phone is stored anew (encrypted, its blind
index following), the old invitation is revoked (its link and codes stop working, the link says why), a new one goes
to the new number through the outbox, and the case history records it with the numbers masked and the reason
purgeable."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from app.accounts.models import Role, User
from app.cases.models import Case, CaseEvent, CaseParty
from app.core.crypto import blind_index
from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import Invitation, InvitationCode, OutboxMessage
from tests.cases.test_funnel_journeys import mediator_of
from tests.mediation.test_invitation_code import CODE_RE, _code_messages, _send
from tests.mediation.test_invitations import (
    INVITED_PHONE,
    LINK_RE,
    _case_in_mediation,
    _user_id,
    invited_phone_on_account,
)

NEW_PHONE = "13712345678"
REASON = "被申请人来电说原号码不是他本人的，提供了现在使用的号码"


def _invitations(app, case_id) -> list[Invitation]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Invitation).where(Invitation.case_id == case_id)
                                  .order_by(Invitation.id)).all()
        db.session.expunge_all()
    return rows


def _party(app, case_id) -> CaseParty:
    with app.app_context():
        party = db.session.scalars(sa.select(CaseParty).where(CaseParty.case_id == case_id,
                                                              CaseParty.role == "respondent")).one()
        db.session.expunge(party)
    return party


def _invitation_sms(app, case_id) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.case_id == case_id, OutboxMessage.channel == "sms",
            OutboxMessage.subject.like("【解纷】调解邀请：%")).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
    return rows


def _events(app, case_id, action: str) -> list[CaseEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == action)
                                  .order_by(CaseEvent.seq)).all()
        db.session.expunge_all()
    return rows


def _url(case_id: int, inv_id: int) -> str:
    return f"/cases/{case_id}/invitations/{inv_id}/correct"


def _correct(web, case_id: int, inv_id: int, phone: str = NEW_PHONE, reason: str = REASON):
    return web.post(_url(case_id, inv_id), {f"inv{inv_id}-phone": phone, f"inv{inv_id}-reason": reason},
                    page=f"/cases/{case_id}")


def _error_by(html: str, field_id: str) -> str:
    m = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return m.group(1) if m else ""


def org_admin_of(app, case_id) -> str:
    """An organisation admin of the organisation handling the case (made when the demo has none there)."""
    with app.app_context():
        org_id = db.session.get(Case, case_id).organisation_id
        user = db.session.scalar(sa.select(User).where(User.role == Role.org_admin, User.organisation_id == org_id))
        if user is None:
            user = User(username=f"orgadmin_{org_id}", display_name="郑主任", role=Role.org_admin, organisation_id=org_id,
                        password_hash=generate_password_hash("jiefen-demo", "pbkdf2:sha256:1000"))
            db.session.add(user)
            db.session.commit()
        name = user.username
        db.session.remove()
    return name


def other_org_admin(app, case_id) -> str:
    with app.app_context():
        org_id = db.session.get(Case, case_id).organisation_id
        name = db.session.scalar(sa.select(User.username).where(User.role == Role.org_admin,
                                                                User.organisation_id != org_id).limit(1))
        db.session.remove()
    return name


@pytest.fixture()
def invited(app, demo, make_web):
    """resident1's case against 李建国, invited at 13905539876; the mediator's browser on the case page.
    Returns (case_id, old invitation id, old token, the mediator's browser)."""
    _, case_id = _case_in_mediation(app, make_web)
    [inv] = _invitations(app, case_id)
    token = LINK_RE.search(_invitation_sms(app, case_id)[0].body).group(1)
    mediator = make_web()
    mediator.login(mediator_of(app, case_id))
    return case_id, inv.id, token, mediator


def test_the_mediator_corrects_the_number_and_a_new_invitation_replaces_the_old(app, make_web, invited):
    case_id, inv_id, old_token, mediator = invited
    # Someone with another number has a code pending on the old invitation.
    invited_phone_on_account(app, phone="13800001111")
    holder = make_web()
    holder.login("resident2")
    assert _send(holder, old_token).status_code == 302
    old_code = CODE_RE.search(_code_messages(app, case_id)[-1].body).group(1)

    page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    panel = page[page.index('id="invitations"'):]
    assert "调解邀请" in panel and "李建国" in panel and "139****9876" in panel and "待答复" in panel
    assert "更正电话并重新邀请" in panel and f'action="{_url(case_id, inv_id)}"' in panel
    assert f'name="inv{inv_id}-phone"' in panel and f'name="inv{inv_id}-reason"' in panel
    assert INVITED_PHONE not in page

    before = utcnow()
    resp = _correct(mediator, case_id, inv_id)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}#invitations")
    page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已将李建国的电话更正为 137****5678" in page and "137****5678" in page
    assert NEW_PHONE not in page and INVITED_PHONE not in page
    assert "更正被申请人电话并重新邀请" in page  # the timeline
    assert "139****9876 更正为 137****5678" in page and REASON in page

    # The party's number: stored encrypted, its blind index following.
    party = _party(app, case_id)
    assert party.phone == NEW_PHONE
    with app.app_context():
        assert party.phone_bidx == blind_index("phone", NEW_PHONE)
        raw = db.session.execute(sa.text("SELECT phone FROM case_parties WHERE id = :id"), {"id": party.id}).scalar()
        db.session.remove()
    assert NEW_PHONE not in raw and INVITED_PHONE not in raw

    # The old invitation revoked, its pending code ended; the new one open for seven days.
    old, new = _invitations(app, case_id)
    assert (old.id, old.answer, old.answered_by_id) == (inv_id, "revoked", None) and old.answered_at >= before
    assert new.party_id == old.party_id and new.answer is None and new.created_at >= before
    assert (new.expires_at - new.created_at).days == 7
    with app.app_context():
        [code] = db.session.scalars(sa.select(InvitationCode).where(InvitationCode.invitation_id == inv_id)).all()
        assert code.used_at is None and code.expires_at <= utcnow()
        db.session.remove()

    # The new invitation went through the outbox to the new number, with a new link.
    first, second = _invitation_sms(app, case_id)
    assert first.to == INVITED_PHONE and second.to == NEW_PHONE and second.sent_at is None
    new_token = LINK_RE.search(second.body).group(1)
    assert new_token != old_token and "李建国，您好" in second.body

    # The case history: who, the numbers masked, the reason stored as the purge expects (salted digest in the chain).
    [event] = _events(app, case_id, "invitation_reissued")
    assert event.actor_id == _user_id(app, mediator_of(app, case_id))
    assert (event.from_stage, event.to_stage, event.to_status) == ("mediate", "mediate", "in_progress")
    assert "139****9876" in event.reason and "137****5678" in event.reason and REASON in event.reason
    assert INVITED_PHONE not in event.reason and NEW_PHONE not in event.reason
    assert event.reason_salt and event.reason_digest and event.reason_digest not in event.reason
    from app.cases.operations import verify_chain

    with app.app_context():
        assert verify_chain()[1] is None
        with db.engine.begin() as conn:  # what the retention purge does to reasons: the chain still verifies
            conn.execute(sa.text("UPDATE case_events SET reason = NULL, reason_salt = NULL WHERE id = :id"),
                         {"id": event.id})
        assert verify_chain()[1] is None
        assert db.session.get(CaseEvent, event.id).reason_purged
        db.session.remove()

    # The old link says clearly that it was revoked; its code no longer answers.
    for browser in (holder, make_web()):
        gone = browser.get(f"/invitations/{old_token}")
        html = gone.get_data(as_text=True)
        assert gone.status_code == 410 and "邀请链接已作废" in html and "重新发送了调解邀请" in html
        assert "137****5678" not in html
    assert holder.post(f"/invitations/{old_token}/accept", {"code": old_code}, page="/dashboard").status_code == 410
    assert holder.post(f"/invitations/{old_token}/code", page="/dashboard").status_code == 410
    assert _invitations(app, case_id)[0].answer == "revoked"

    # The respondent, whose account has the new number, answers the new link in one step.
    invited_phone_on_account(app, phone=NEW_PHONE)
    respondent = make_web()
    respondent.login("resident2")
    assert respondent.get(f"/invitations/{new_token}").status_code == 200
    assert respondent.post(f"/invitations/{new_token}/accept").status_code == 302
    assert _party(app, case_id).user_id == _user_id(app, "resident2")
    page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    panel = page[page.index('id="invitations"'):]
    assert "已同意调解" in panel and f'name="inv{new.id}-phone"' not in panel  # nothing left to correct


def test_the_organisation_admin_may_correct_too(app, make_web, invited):
    case_id, inv_id, _token, _mediator = invited
    admin = make_web()
    admin.login(org_admin_of(app, case_id))
    assert "更正电话并重新邀请" in admin.get(f"/cases/{case_id}").get_data(as_text=True)
    assert _correct(admin, case_id, inv_id).status_code == 302
    assert _party(app, case_id).phone == NEW_PHONE
    assert [i.answer for i in _invitations(app, case_id)] == ["revoked", None]
    [event] = _events(app, case_id, "invitation_reissued")
    assert event.actor_id == _user_id(app, org_admin_of(app, case_id))


@pytest.mark.parametrize("who, status", [
    ("resident1", 403),          # the applicant: a party, never
    ("resident2", 404),          # a resident who is not a party
    ("other mediator", 404),
    ("other org admin", 404),
    ("admin", 403),              # the platform admin sees the case but does not handle it
])
def test_nobody_else_may_correct_the_number(app, make_web, invited, who, status):
    case_id, inv_id, token, _mediator = invited
    username = {"other mediator": "mediator3" if mediator_of(app, case_id) != "mediator3" else "mediator4",
                "other org admin": other_org_admin(app, case_id)}.get(who, who)
    browser = make_web()
    browser.login(username)
    page = browser.get(f"/cases/{case_id}")
    if page.status_code == 200:
        assert "更正电话并重新邀请" not in page.get_data(as_text=True)
    assert browser.get(_url(case_id, inv_id)).status_code == status
    assert _correct(browser, case_id, inv_id).status_code == status
    assert _party(app, case_id).phone == INVITED_PHONE
    assert [i.answer for i in _invitations(app, case_id)] == [None]
    assert len(_invitation_sms(app, case_id)) == 1 and _events(app, case_id, "invitation_reissued") == []
    anonymous = make_web()
    resp = anonymous.get(_url(case_id, inv_id))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_wrong_number_or_a_missing_reason_is_said_by_the_field_and_nothing_changes(app, make_web, invited):
    case_id, inv_id, token, mediator = invited
    resp = _correct(mediator, case_id, inv_id, phone="1380013", reason="")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "11 位手机号码" in _error_by(html, f"inv{inv_id}-phone")
    assert "请说明更正的原因" in _error_by(html, f"inv{inv_id}-reason")
    assert 'value="1380013"' in html  # what was typed stays
    assert "139****9876" in html and INVITED_PHONE not in html

    resp = _correct(mediator, case_id, inv_id, phone=INVITED_PHONE)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "新号码与原号码相同" in _error_by(html, f"inv{inv_id}-phone")
    assert REASON in html and _error_by(html, f"inv{inv_id}-reason") == ""

    resp = _correct(mediator, case_id, inv_id, phone="", reason=REASON)
    assert resp.status_code == 422 and "请输入被申请人正确的手机号码" in _error_by(resp.get_data(as_text=True),
                                                                               f"inv{inv_id}-phone")
    assert mediator.client.post(_url(case_id, inv_id), data={f"inv{inv_id}-phone": NEW_PHONE,
                                                             f"inv{inv_id}-reason": REASON}).status_code == 400  # CSRF
    assert _party(app, case_id).phone == INVITED_PHONE
    assert [i.answer for i in _invitations(app, case_id)] == [None]
    assert len(_invitation_sms(app, case_id)) == 1 and _events(app, case_id, "invitation_reissued") == []
    # the old link still works
    assert make_web().get(f"/invitations/{token}").status_code == 200


def test_a_revoked_invitation_cannot_be_corrected_again_nor_an_accepted_one(app, make_web, invited):
    case_id, inv_id, _token, mediator = invited
    assert _correct(mediator, case_id, inv_id).status_code == 302
    again = _correct(mediator, case_id, inv_id, phone="13698765432")  # a second click, or a stale page
    assert again.status_code == 409 and "已被更新的邀请取代" in again.get_data(as_text=True)
    assert _party(app, case_id).phone == NEW_PHONE and len(_invitations(app, case_id)) == 2

    new = _invitations(app, case_id)[1]
    invited_phone_on_account(app, phone=NEW_PHONE)
    respondent = make_web()
    respondent.login("resident2")
    token = LINK_RE.search(_invitation_sms(app, case_id)[-1].body).group(1)
    respondent.get(f"/invitations/{token}")
    assert respondent.post(f"/invitations/{token}/accept").status_code == 302
    resp = _correct(mediator, case_id, new.id, phone="13698765432")
    assert resp.status_code == 409 and "已同意调解" in resp.get_data(as_text=True)
    assert _party(app, case_id).phone == NEW_PHONE and len(_invitations(app, case_id)) == 2


def test_after_an_expired_invitation_the_refusal_notice_gives_way_to_the_new_invitation(app, make_web, invited):
    from datetime import timedelta

    from app.mediation.operations import expire_invitations

    case_id, inv_id, _token, mediator = invited
    with app.app_context():
        expire_invitations(now=utcnow() + timedelta(days=7, seconds=1))
        db.session.commit()
        db.session.remove()
    page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="invitation-refused"' in page and "逾期未答复" in page
    assert _correct(mediator, case_id, inv_id).status_code == 302
    old, new = _invitations(app, case_id)
    assert old.answer == "expired" and new.answer is None  # what happened to the old one stays as it was
    page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="invitation-refused"' not in page and "待答复" in page


def test_the_panel_and_the_old_link_in_english(app, make_web, invited):
    case_id, inv_id, token, mediator = invited
    mediator.get("/lang/en?next=/dashboard")
    page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Correct the phone number and invite again" in page and "Awaiting an answer" in page
    resp = _correct(mediator, case_id, inv_id, phone="12345", reason="")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Please give the reason for the correction." in html
    assert _correct(mediator, case_id, inv_id).status_code == 302
    page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Respondent&#39;s phone corrected and the invitation sent again" in page
    visitor = make_web()
    visitor.get("/lang/en?next=/")
    html = visitor.get(f"/invitations/{token}").get_data(as_text=True)
    assert "This invitation link has been withdrawn" in html
