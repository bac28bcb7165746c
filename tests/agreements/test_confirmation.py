"""Judicial confirmation (司法确认): one party applies, the other joins, the competent court's clerk confirms or
rejects with reasons; the 30-day window, the countdown and the reminders; the application (申请书) PDF."""
from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Role, Tier, User
from app.accounts.operations import hash_password
from app.agreements import confirmation as ops
from app.agreements.models import Agreement, AgreementSignature, ConfirmationApplication
from app.cases.models import Case, CaseEvent
from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import OutboxMessage
from tests.cases.test_funnel_journeys import mediator_of, step
from tests.mediation.test_record import TITLE, case_with_both_parties

PANEL_RE = re.compile(r'<section class="card confirmation-panel".*?</section>', re.S)
INBOX_RE = re.compile(r'<section class="card confirmation-inbox".*?</section>', re.S)
COURT = "芜湖市镜湖区人民法院"
HASH = "ab" * 32


def _ids(app, *usernames) -> dict[str, int]:
    with app.app_context():
        rows = dict(db.session.execute(sa.select(User.username, User.id).where(User.username.in_(usernames))).all())
        db.session.remove()
    return rows


def add_agreement(app, case_id, *, status="signed", days_ago=1.0) -> int:
    """A fully signed agreement as model rows (the next version): typed signatures of both parties, then the
    case's mediator."""
    mediator = mediator_of(app, case_id)
    users = _ids(app, "resident1", "resident2", mediator)
    signed_at = utcnow() - timedelta(days=days_ago)
    with app.app_context():
        last = db.session.scalar(sa.select(sa.func.max(Agreement.version)).where(Agreement.case_id == case_id))
        agreement = Agreement(
            case_id=case_id, version=(last or 0) + 1, status=status, facts="楼上卫生间漏水，致申请人天花板发霉。",
            responsibility="被申请人承担维修和赔偿责任。",
            terms=[{"clause": "payment_once", "params": {}, "text": "被申请人于2026年12月31日前一次性支付申请人人民币 5,000.00 元。"}],
            performance="银行转账。", content_hash=HASH, created_by_id=users[mediator],
            signed_at=signed_at if status == "signed" else None)
        if status == "signed":
            agreement.signatures = [
                AgreementSignature(user_id=users[u], role=role, method="typed", typed_name=name, content_hash=HASH,
                                   signed_at=signed_at - timedelta(minutes=5 - i))
                for i, (u, role, name) in enumerate([("resident1", "applicant", "王秀英"),
                                                     ("resident2", "respondent", "李建国"),
                                                     (mediator, "mediator", "调解员")])]
        db.session.add(agreement)
        db.session.commit()
        agreement_id = agreement.id
        db.session.remove()
    return agreement_id


def settled(app, make_web):
    """A case mediated to settlement (resident1 against resident2), the three browsers."""
    case_id, applicant, respondent, mediator = case_with_both_parties(app, make_web)
    assert step(mediator, case_id, "record_settlement", reason="双方就赔偿和维修达成一致。").status_code == 302
    return case_id, applicant, respondent, mediator


def panel(web, case_id) -> str:
    m = PANEL_RE.search(web.get(f"/cases/{case_id}").get_data(as_text=True))
    assert m, "no confirmation panel on the case page"
    return m.group(0)


def inbox(web) -> str:
    resp = web.get("/court/inbox")
    assert resp.status_code == 200
    return INBOX_RE.search(resp.get_data(as_text=True)).group(0)


def post(web, case_id, what):
    return web.post(f"/cases/{case_id}/confirmation/{what}", page=f"/cases/{case_id}")


def application_row(app, case_id):
    with app.app_context():
        row = db.session.scalar(sa.select(ConfirmationApplication).where(ConfirmationApplication.case_id == case_id)
                                .order_by(ConfirmationApplication.id.desc()))
        out = None if row is None else {"id": row.id, "status": row.status, "court": row.court.name,
                                        "reasons": row.reasons}
        db.session.remove()
    return out


def told(app, username, subject_part) -> int:
    uid = _ids(app, username)[username]
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "in_app", OutboxMessage.to == str(uid),
            OutboxMessage.subject.contains(subject_part)))
        db.session.remove()
    return n


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "application.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def submitted(app, make_web):
    case_id, applicant, respondent, mediator = settled(app, make_web)
    add_agreement(app, case_id)
    assert post(applicant, case_id, "apply").status_code == 302
    assert post(respondent, case_id, "join").status_code == 302
    clerk = make_web()
    clerk.login("court1")
    return case_id, applicant, respondent, mediator, clerk


# --- the journey -------------------------------------------------------------------------------------
def test_one_applies_the_other_joins_the_court_confirms(app, demo, make_web, tmp_path):
    case_id, applicant, respondent, mediator = settled(app, make_web)
    assert "confirmation-panel" not in applicant.get(f"/cases/{case_id}").get_data(as_text=True)  # nothing signed
    add_agreement(app, case_id, days_ago=1.5)
    mine = panel(applicant, case_id)
    assert "申请司法确认还剩 29 天" in mine and COURT in mine and "尚未申请" in mine and "申请司法确认</button>" in mine

    assert post(applicant, case_id, "apply").status_code == 302
    assert application_row(app, case_id)["status"] == "awaiting"
    assert "等待对方当事人确认" in panel(applicant, case_id) and "等待对方当事人确认加入申请" in panel(applicant, case_id)
    theirs = panel(respondent, case_id)
    assert "确认加入申请</button>" in theirs and "王秀英已申请司法确认" in theirs
    assert told(app, "resident2", "请确认司法确认申请") == 1
    clerk = make_web()
    clerk.login("court1")
    assert TITLE not in inbox(clerk)  # not yet joint: not at the court
    assert clerk.get(f"/cases/{case_id}").status_code == 404  # nor is the case theirs to see

    assert post(respondent, case_id, "join").status_code == 302
    row = application_row(app, case_id)
    assert row["status"] == "submitted" and row["court"] == COURT
    with app.app_context():
        assert db.session.get(User, _ids(app, "court1")["court1"]).organisation.name == COURT
        db.session.remove()
    box = inbox(clerk)
    assert TITLE in box and "已提交法院，等待审查" in box
    assert clerk.get(f"/cases/{case_id}").status_code == 200  # submitted to their court: the case page opens
    assert f"/cases/{case_id}/confirmation/application.pdf" in box and f"/cases/{case_id}/agreement.pdf" in box
    assert told(app, "court1", "新的司法确认申请") == 1
    assert "等待人民法院审查" in panel(applicant, case_id)

    assert "下载司法确认申请书（PDF）" in panel(applicant, case_id)
    assert mediator.client.get(f"/cases/{case_id}/confirmation/application.pdf").status_code == 200
    resp = clerk.client.get(f"/cases/{case_id}/confirmation/application.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.get_data(), tmp_path)
    for must in ("司法确认申请书", "王秀英", "李建国", COURT, "请求确认申请人", "人民调解协议", "此致", "事实和理由"):
        assert must in text, must

    page = clerk.get(f"/court/confirmations/{row['id']}")
    assert page.status_code == 200 and "裁定确认有效" in page.get_data(as_text=True)
    resp = clerk.post(f"/court/confirmations/{row['id']}/decide", {"decision": "confirm", "reasons": ""})
    assert resp.status_code == 302
    assert application_row(app, case_id)["status"] == "confirmed"
    for web in (applicant, respondent):
        shown = panel(web, case_id)
        assert "已确认" in shown and f"{COURT}已于" in shown and "申请强制执行" in shown
        assert "申请司法确认还剩" not in shown
    assert told(app, "resident1", "调解协议已经司法确认") == 1 and told(app, "resident2", "调解协议已经司法确认") == 1
    with app.app_context():
        actions = db.session.scalars(sa.select(CaseEvent.action).where(CaseEvent.case_id == case_id)
                                     .order_by(CaseEvent.seq)).all()
        db.session.remove()
    assert actions[-3:] == ["confirmation_applied", "confirmation_joined", "confirmation_confirmed"]
    # decided: no second ruling, no second application
    resp = clerk.post(f"/court/confirmations/{row['id']}/decide", {"decision": "reject", "reasons": "再驳回"})
    assert resp.status_code == 409
    assert post(applicant, case_id, "apply").status_code == 409


def test_rejection_needs_reasons_and_the_parties_see_them(app, demo, make_web):
    case_id, applicant, respondent, mediator, clerk = submitted(app, make_web)
    application_id = application_row(app, case_id)["id"]
    clerk.get(f"/court/confirmations/{application_id}")
    resp = clerk.post(f"/court/confirmations/{application_id}/decide", {"decision": "reject", "reasons": "  "})
    assert resp.status_code == 422
    assert re.search(r'<p class="error" id="reasons-error">驳回申请须写明理由。</p>', resp.get_data(as_text=True))
    assert application_row(app, case_id)["status"] == "submitted"

    reasons = "协议约定的付款方式涉及案外人利益，不符合确认条件。"
    resp = clerk.post(f"/court/confirmations/{application_id}/decide", {"decision": "reject", "reasons": reasons})
    assert resp.status_code == 302
    assert application_row(app, case_id) == {"id": application_id, "status": "rejected", "court": COURT,
                                             "reasons": reasons}
    shown = panel(respondent, case_id)
    assert "已驳回" in shown and reasons in shown and "提起诉讼" in shown
    assert told(app, "resident1", "司法确认申请被驳回") == 1
    assert "已驳回" in inbox(clerk)
    resp = post(applicant, case_id, "apply")
    assert resp.status_code == 409 and "不能就同一协议再次申请" in resp.get_data(as_text=True)


def test_no_application_after_30_days(app, demo, make_web):
    case_id, applicant, respondent, mediator = settled(app, make_web)
    add_agreement(app, case_id, days_ago=31)
    assert "已超过 30 日申请期限" in panel(applicant, case_id)
    assert "申请司法确认</button>" not in panel(applicant, case_id)
    resp = post(applicant, case_id, "apply")
    assert resp.status_code == 409 and "已超过 30 日申请期限" in resp.get_data(as_text=True)
    assert application_row(app, case_id) is None


def test_refusals(app, demo, make_web):
    case_id, applicant, respondent, mediator = settled(app, make_web)
    resp = post(applicant, case_id, "apply")  # no agreement at all
    assert resp.status_code == 409 and "调解协议尚未经各方签署生效" in resp.get_data(as_text=True)
    add_agreement(app, case_id, status="signing")
    assert post(applicant, case_id, "apply").status_code == 409
    assert post(respondent, case_id, "join").status_code == 409
    with app.app_context():
        db.session.execute(sa.update(Agreement).where(Agreement.case_id == case_id).values(status="superseded"))
        db.session.commit()
    add_agreement(app, case_id)

    resp = post(mediator, case_id, "apply")  # the mediator sees the case but is no party
    assert resp.status_code == 403 and "只有本案当事人可以申请司法确认" in resp.get_data(as_text=True)
    assert post(applicant, case_id, "join").status_code == 409  # nothing to join yet
    assert post(applicant, case_id, "apply").status_code == 302
    resp = post(respondent, case_id, "apply")
    assert resp.status_code == 409 and "不能重复申请" in resp.get_data(as_text=True)
    assert post(applicant, case_id, "join").status_code == 409  # the applicant cannot join their own
    assert post(respondent, case_id, "withdraw").status_code == 403  # only the applicant withdraws
    assert post(mediator, case_id, "join").status_code == 403
    clerk = make_web()
    clerk.login("court1")
    assert clerk.client.get(f"/cases/{case_id}/confirmation/application.pdf").status_code == 404  # not at the court yet
    assert TITLE not in inbox(clerk)


def test_the_applicant_withdraws_and_may_apply_again(app, demo, make_web):
    case_id, applicant, respondent, mediator, clerk = submitted(app, make_web)
    assert TITLE in inbox(clerk)
    assert post(applicant, case_id, "withdraw").status_code == 302
    assert application_row(app, case_id)["status"] == "withdrawn"
    assert TITLE not in inbox(clerk)
    assert told(app, "resident2", "司法确认申请已撤回") == 1
    assert "尚未申请" in panel(respondent, case_id)
    assert post(respondent, case_id, "apply").status_code == 302  # the other side may start again
    assert application_row(app, case_id)["status"] == "awaiting"


def test_another_courts_clerk_gets_404(app, demo, make_web):
    case_id, applicant, respondent, mediator, clerk = submitted(app, make_web)
    application_id = application_row(app, case_id)["id"]
    with app.app_context():
        other = Organisation(name="芜湖市鸠江区人民法院", type=OrgType.court, tier=Tier.county, region_code="340207")
        db.session.add(other)
        db.session.flush()
        db.session.add(User(username="court9", display_name="鸠江法院立案庭", role=Role.court_clerk,
                            password_hash=hash_password("jiefen-demo"), organisation_id=other.id))
        db.session.commit()
        db.session.remove()
    stranger = make_web()
    stranger.login("court9")
    assert stranger.get(f"/court/confirmations/{application_id}").status_code == 404
    resp = stranger.post(f"/court/confirmations/{application_id}/decide", {"decision": "confirm"},
                         page="/court/inbox")
    assert resp.status_code == 404
    assert stranger.client.get(f"/cases/{case_id}/confirmation/application.pdf").status_code == 404
    assert TITLE not in inbox(stranger)
    assert application_row(app, case_id)["status"] == "submitted"
    for who in (applicant, mediator):  # nor may anyone but the clerk decide
        assert who.get(f"/court/confirmations/{application_id}").status_code == 404


# --- the competent court -------------------------------------------------------------------------------
def test_the_competent_court_is_the_longest_region_match(app, demo):
    with app.app_context():
        org = db.session.scalar(sa.select(Organisation).where(Organisation.name == "团结社区人民调解委员会"))
        case = SimpleNamespace(organisation=org)
        db.session.add(Organisation(name="芜湖市中级人民法院", type=OrgType.court, tier=Tier.county, region_code="3402"))
        db.session.add(Organisation(name="某地人民法院", type=OrgType.court, tier=Tier.county, region_code="110101"))
        db.session.flush()
        assert ops.competent_court(case).name == COURT
        org.region_code = "120101001"
        assert ops.competent_court(case) is None
        db.session.rollback()


def test_no_court_for_the_region_is_refused_in_chinese(app, demo, make_web):
    case_id, applicant, respondent, mediator = settled(app, make_web)
    add_agreement(app, case_id)
    with app.app_context():
        db.session.get(Case, case_id).organisation.region_code = "120101"
        db.session.commit()
    assert "未找到调解组织所在地的基层人民法院" in panel(applicant, case_id)
    resp = post(applicant, case_id, "apply")
    assert resp.status_code == 409 and "未找到调解组织所在地的基层人民法院" in resp.get_data(as_text=True)


# --- reminders ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("days_ago, expected", [(0, 2), (25, 1), (29, 0)])
def test_reminders_are_scheduled_at_23_and_28_days(app, demo, make_web, days_ago, expected):
    case_id, *_ = settled(app, make_web)
    agreement_id = add_agreement(app, case_id, days_ago=days_ago)
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        due = ops.schedule_confirmation_reminders(agreement)
        assert [round((d - agreement.signed_at) / timedelta(days=1)) for d in due] == [23, 28][2 - expected:]
        db.session.rollback()


def remind(app, agreement_id, days):
    """Run the reminder job as a worker of this app would."""
    with app.app_context():
        ops.remind_confirmation(agreement_id, days)


def test_reminders_go_to_who_has_not_applied_once(app, demo, make_web):
    case_id, applicant, respondent, mediator = settled(app, make_web)
    agreement_id = add_agreement(app, case_id, days_ago=23)
    remind(app, agreement_id, 7)
    assert told(app, "resident1", "申请司法确认还剩 7 天") == 1 and told(app, "resident2", "申请司法确认还剩 7 天") == 1
    remind(app, agreement_id, 7)  # run twice (a retry, a second timer): told once
    assert told(app, "resident1", "申请司法确认还剩 7 天") == 1
    assert post(applicant, case_id, "apply").status_code == 302
    remind(app, agreement_id, 2)
    assert told(app, "resident1", "还剩 2 天") == 0 and told(app, "resident2", "还剩 2 天") == 1
    assert post(respondent, case_id, "join").status_code == 302
    with app.app_context():
        assert ops.send_reminders(agreement_id, 1) == []  # submitted: nobody is reminded
        db.session.rollback()
    assert told(app, mediator_of(app, case_id), "还剩") == 0
