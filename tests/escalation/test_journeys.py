"""Issue 7's journeys end to end, as the people involved click through them: a labour case goes from failed
mediation to the labour arbitration commission, a hearing in the room, a signed award and (not satisfied) to court;
a family case never meets arbitration anywhere."""
from __future__ import annotations

import subprocess
from datetime import timedelta

import sqlalchemy as sa

from app.cases.models import Case
from app.core.time import utcnow
from app.escalation.models import Award, Hearing
from app.extensions import db
from app.mediation.models import OutboxMessage
from tests.cases.test_funnel_journeys import file_dispute, load, mediator_of, step
from tests.escalation.pages import file_with_court, issue_award
from tests.escalation.test_hearing import beijing_input, connect, received
from tests.mediation.test_invitations import _token, invited_phone_on_account

NS = "/room"
WAGES = "我在李建国承包的工地做木工，2024年9月至11月的工资共一万八千六百元一直拖欠，多次讨要无果。"


def _notices(app, username: str) -> list[str]:
    """The in-app notices of a user, newest last."""
    from app.accounts.models import User

    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == username))
        bodies = db.session.scalars(sa.select(OutboxMessage.body).where(
            OutboxMessage.channel == "in_app", OutboxMessage.to == str(user_id)).order_by(OutboxMessage.id)).all()
        db.session.remove()
        return list(bodies)


def _labour_case_failed_in_mediation(app, make_web):
    applicant, respondent, mediator = make_web(), make_web(), make_web()
    invited_phone_on_account(app)  # only the account with the invited number may answer
    applicant.login("resident1")
    case_id = file_dispute(applicant, "工地拖欠三个月工资", "labour_wages", WAGES, amount="18600",
                           desired_outcome="要求李建国支付拖欠的工资18600元。")
    assert step(applicant, case_id, "request_mediation").status_code == 302
    respondent.login("resident2")
    token = _token(app, case_id)
    respondent.get(f"/invitations/{token}")
    assert respondent.post(f"/invitations/{token}/accept").status_code == 302
    mediator.login(mediator_of(app, case_id))
    assert step(mediator, case_id, "record_failure", reason="李建国只同意支付一半，双方差距较大。").status_code == 302
    return case_id, applicant, respondent, mediator


def test_a_labour_case_goes_from_mediation_to_labour_arbitration_to_an_award_then_to_court(app, demo, make_web,
                                                                                            tmp_path):
    case_id, applicant, respondent, mediator = _labour_case_failed_in_mediation(app, make_web)
    page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "劳动争议须先经劳动人事争议仲裁委员会仲裁" in page  # straight to court is refused, and said why
    assert f"/cases/{case_id}/arbitration/clause" not in page  # statutory: no arbitration agreement to sign
    assert step(applicant, case_id, "request_arbitration").status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).arbitration_body.name == "镜湖区劳动人事争议仲裁委员会"
    arbitrator = make_web()
    arbitrator.login("arbitrator1")
    assert "工地拖欠三个月工资" in arbitrator.get("/arbitration/inbox").get_data(as_text=True)
    application = arbitrator.client.get(f"/cases/{case_id}/arbitration/application.pdf")
    assert application.status_code == 200
    assert "劳动人事争议仲裁申请书" in _pdf_text(tmp_path, application.data, "application")
    assert step(arbitrator, case_id, "accept_arbitration").status_code == 302

    # The hearing: scheduled, both parties told, held in the room (the arbitrator hosts; mediation stays private).
    resp = arbitrator.post(f"/cases/{case_id}/arbitration/hearings", {"starts_at": beijing_input(timedelta(days=2))},
                           page=f"/cases/{case_id}")
    assert resp.status_code == 302
    assert any("开庭" in n for n in _notices(app, "resident1")) and any("开庭" in n for n in _notices(app, "resident2"))
    host, party = connect(app, arbitrator, case_id), connect(app, respondent, case_id)
    ack = host.emit("send", {"body": "现在开庭，请申请人陈述。", "client_id": "h1"}, namespace=NS, callback=True)
    assert ack["ok"] and ack["message"]["room"] == "hearing"
    assert any(m["body"] == "现在开庭，请申请人陈述。" for m in received(party, "chat"))
    assert connect(app, mediator, case_id).is_connected(NS) is False  # the mediator is no longer in this room
    with app.app_context():  # the hearing took place: its time is now past, and the arbitrator records it
        hearing = db.session.scalar(sa.select(Hearing).where(Hearing.case_id == case_id))
        hearing.starts_at, hearing_id = utcnow() - timedelta(hours=1), hearing.id
        db.session.commit()
        db.session.remove()
    resp = arbitrator.post(f"/cases/{case_id}/arbitration/hearings/{hearing_id}/record",
                           {"record_text": "申请人陈述拖欠事实，被申请人承认欠薪但称工程款未结。"}, page=f"/cases/{case_id}")
    assert resp.status_code == 302

    # The award: issued only from its page, signed, and both parties told.
    assert issue_award(arbitrator, case_id, decision="被申请人李建国于本裁决生效之日起十日内支付申请人工资18600元。"
                       ).status_code == 302
    assert load(app, case_id)[:2] == ("arbitrate", "awarded")
    with app.app_context():
        award = db.session.scalar(sa.select(Award).where(Award.case_id == case_id))
        number = award.number
        assert award.status == "issued" and number.startswith("镜劳人仲案字")
    assert any("裁决" in n for n in _notices(app, "resident2"))
    pdf = applicant.client.get(f"/cases/{case_id}/award.pdf")
    text = _pdf_text(tmp_path, pdf.data, "award")
    assert "裁 决 书" in text or "裁决书" in text
    assert number in text and "十五日内向人民法院提起诉讼" in text.replace("\n", "")

    # Not satisfied: a labour case may go to court after the award.
    assert file_with_court(applicant, case_id).status_code == 302
    assert load(app, case_id)[:2] == ("litigate", "filed")
    assert any("起诉" in n for n in _notices(app, "court1"))


def test_a_family_case_never_shows_arbitration_anywhere(app, demo, make_web):
    resident = make_web()
    resident.login("resident1")
    case_id = file_dispute(resident, "离婚后孩子抚养费", "maintenance_support", "离婚后前夫一直不付孩子抚养费，已经欠了一年。",
                           has_arbitration_agreement="y")
    for stage_page in (f"/cases/{case_id}", f"/cases/{case_id}/assessment"):
        page = resident.get(stage_page).get_data(as_text=True)
        assert "steps/request_arbitration" not in page and "arbitration/clause" not in page
        assert "申请仲裁" not in page.replace("不能仲裁", "")
    assert resident.post(f"/cases/{case_id}/arbitration/clause", page=f"/cases/{case_id}").status_code == 409
    assert resident.get(f"/cases/{case_id}/arbitration").status_code == 409
    assert step(resident, case_id, "request_arbitration").status_code == 409


def _pdf_text(tmp_path, data: bytes, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
