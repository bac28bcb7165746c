"""Masked numbers for staff, the audited reveal (reason required, row stored, number shown once), and its log."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.cases.models import Case, CaseParty, PartyRole
from app.privacy import reveal_chain
from app.privacy.reveal_models import PiiReveal

TITLE = "物业费与停车位纠纷"  # demo: resident1 v. a company, mediator1 of orgadmin1's committee


def demo_case(app) -> dict:
    from app.extensions import db

    with app.app_context():
        case = db.session.scalar(sa.select(Case).where(Case.title == TITLE))
        applicant = next(p for p in case.parties if p.role == PartyRole.applicant)
        out = {"id": case.id, "party_id": applicant.id, "phone": applicant.phone, "org_id": case.organisation_id}
        db.session.remove()
    return out


def reveals(app) -> list[PiiReveal]:
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(sa.select(PiiReveal).options(sa.orm.joinedload(PiiReveal.user))
                                  .order_by(PiiReveal.id)).all()
        db.session.expunge_all()
        db.session.remove()
    return list(rows)


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def test_staff_see_masked_numbers_with_the_reveal_control_and_the_party_sees_their_own(app, demo, make_web):
    case = demo_case(app)
    for username in ("mediator1", "orgadmin1", "admin"):
        web = make_web()
        web.login(username)
        page = web.get(f"/cases/{case['id']}").get_data(as_text=True)
        assert case["phone"] not in page, username
        assert masked(case["phone"]) in page and "查看完整号码" in page, username
        form = web.get(f"/cases/{case['id']}/reveal?target={case['party_id']}:phone").get_data(as_text=True)
        assert case["phone"] not in form and masked(case["phone"]) in form
    resident = make_web()
    resident.login("resident1")
    page = resident.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert case["phone"] in page and "查看完整号码" not in page


def test_reveal_needs_a_reason_then_stores_the_row_and_shows_the_number_uncached(app, demo, make_web):
    case = demo_case(app)
    web = make_web()
    web.login("mediator1")
    url = f"/cases/{case['id']}/reveal"
    target = f"{case['party_id']}:phone"
    refused = web.post(url, {"target": target, "reason_code": "contact"}, page=f"{url}?target={target}")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "需要填写说明" in body and case["phone"] not in body
    refused = web.post(url, {"target": target, "reason_text": "电话约定调解时间"})
    assert refused.status_code == 422 and "请选择查看原因" in refused.get_data(as_text=True)
    assert reveals(app) == []

    resp = web.post(url, {"target": target, "reason_code": "contact", "reason_text": "短信未送达，电话约定调解时间"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and case["phone"] in body and "本次查看已记录" in body
    assert resp.headers["Cache-Control"] == "no-store"
    (row,) = reveals(app)
    assert (row.user.username, row.role, row.case_id, row.party_id, row.field) == \
        ("mediator1", "mediator", case["id"], case["party_id"], "phone")
    assert (row.reason_code, row.reason_text, row.ip, row.organisation_id) == \
        ("contact", "短信未送达，电话约定调解时间", "127.0.0.1", case["org_id"])
    assert row.created_at is not None
    # The number went out on that response only: the case page is masked again, nothing was flashed.
    again = web.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert case["phone"] not in again and masked(case["phone"]) in again


def test_a_party_cannot_reveal_and_a_stranger_does_not_see_the_case(app, demo, make_web):
    case = demo_case(app)
    party, stranger, clerk = make_web(), make_web(), make_web()
    party.login("resident1")
    stranger.login("resident2")
    clerk.login("court1")
    data = {"target": f"{case['party_id']}:phone", "reason_code": "other", "reason_text": "我想看看对方的号码"}
    assert party.get(f"/cases/{case['id']}/reveal").status_code == 403
    assert party.post(f"/cases/{case['id']}/reveal", data, page=f"/cases/{case['id']}").status_code == 403
    for web in (stranger, clerk):  # neither may see the case at all
        assert web.post(f"/cases/{case['id']}/reveal", data, page="/dashboard").status_code == 404
    assert reveals(app) == []


def test_a_number_of_another_case_cannot_be_revealed_through_this_one(app, demo, make_web):
    from app.extensions import db

    case = demo_case(app)
    with app.app_context():
        other = db.session.scalar(sa.select(CaseParty.id).where(CaseParty.case_id != case["id"],
                                                                CaseParty.phone_bidx.is_not(None)))
        db.session.remove()
    web = make_web()
    web.login("orgadmin1")
    resp = web.post(f"/cases/{case['id']}/reveal", {"target": f"{other}:phone", "reason_code": "contact",
                                                    "reason_text": "联系当事人"}, page=f"/cases/{case['id']}/reveal")
    assert resp.status_code == 422 and reveals(app) == []


def _reveal(web, case, n=1):
    url = f"/cases/{case['id']}/reveal"
    for i in range(n):
        resp = web.post(url, {"target": f"{case['party_id']}:phone", "reason_code": "identity",
                              "reason_text": f"核实身份 第{i + 1}次"}, page=url)
        assert resp.status_code == 200


def test_the_reveal_log_is_scoped_to_the_organisation_and_paged(app, demo, make_web):
    case = demo_case(app)
    mediator = make_web()
    mediator.login("mediator1")
    _reveal(mediator, case, 3)
    own, other, admin = make_web(), make_web(), make_web()
    own.login("orgadmin1")
    other.login("orgadmin2")
    admin.login("admin")
    assert "号码查看记录" in own.get("/dashboard", follow_redirects=True).get_data(as_text=True)  # in the org admin's navigation
    page = own.get("/org/audit/reveals").get_data(as_text=True)
    assert page.count("核实身份 第") == 3 and "127.0.0.1" in page and "核实当事人身份" in page
    assert case["phone"] not in page  # the log names the field, never the number
    assert "核实身份" not in other.get("/org/audit/reveals").get_data(as_text=True)
    assert admin.get("/org/audit/reveals").get_data(as_text=True).count("核实身份 第") == 3
    assert mediator.get("/org/audit/reveals").status_code == 403
    resident = make_web()
    resident.login("resident1")
    assert resident.get("/org/audit/reveals").status_code == 403

    from app.extensions import db
    from app.privacy.reveal import PER_PAGE

    with app.app_context():  # a long log: pages of PER_PAGE, newest first
        first = db.session.scalar(sa.select(PiiReveal).order_by(PiiReveal.id))
        for i in range(PER_PAGE):
            reveal_chain.append(user_id=first.user_id, role="mediator", case_id=case["id"], party_id=case["party_id"],
                                organisation_id=case["org_id"], field="phone", reason_code="contact",
                                reason_text=f"批量 {i:03d}", ip=None)
        db.session.commit()
        db.session.remove()
    page1 = own.get("/org/audit/reveals").get_data(as_text=True)
    page2 = own.get("/org/audit/reveals?page=2").get_data(as_text=True)
    assert len(re.findall(r"<tr><td>", page1)) == PER_PAGE and "第 1 / 2 页" in page1 and 'rel="next"' in page1
    assert len(re.findall(r"<tr><td>", page2)) == 3 and 'rel="prev"' in page2


def test_a_court_clerk_sees_masked_numbers_on_the_review_page_and_may_reveal_them(app, demo, make_web, tmp_path):
    from tests.agreements.test_confirmation import application_row, pdf_text, submitted

    case_id, _, _, _, clerk = submitted(app, make_web)
    respondent_phone = "13905539876"  # tests/cases/test_funnel_journeys.file_dispute
    application = application_row(app, case_id)
    page = clerk.get(f"/court/confirmations/{application['id']}").get_data(as_text=True)
    assert respondent_phone not in page and masked(respondent_phone) in page and "查看完整号码" in page
    # The application itself is the parties' own document, filed with the court: full numbers.
    pdf = clerk.client.get(f"/cases/{case_id}/confirmation/application.pdf")
    assert pdf.status_code == 200 and respondent_phone in pdf_text(pdf.get_data(), tmp_path)

    from app.extensions import db

    with app.app_context():
        party_id = db.session.scalar(sa.select(CaseParty.id).where(CaseParty.case_id == case_id,
                                                                   CaseParty.role == PartyRole.respondent))
        db.session.remove()
    resp = clerk.post(f"/cases/{case_id}/reveal", {"target": f"{party_id}:phone", "reason_code": "legal",
                                                   "reason_text": "审查司法确认申请，电话核实当事人意愿"},
                      page=f"/cases/{case_id}/reveal")
    assert resp.status_code == 200 and respondent_phone in resp.get_data(as_text=True)
    (row,) = [r for r in reveals(app) if r.reason_code != "document"]  # the PDF above is recorded too: see below
    assert (row.user.username, row.role, row.field, row.reason_code) == ("court1", "court_clerk", "phone", "legal")


def party_numbers(app, case_id) -> set[tuple[int, str]]:
    from app.extensions import db

    with app.app_context():
        parties = db.session.scalars(sa.select(CaseParty).where(CaseParty.case_id == case_id)).all()
        out = {(p.id, field) for p in parties for field in ("phone", "id_number") if getattr(p, field)}
        db.session.remove()
    return out


def test_a_document_printing_full_numbers_is_a_recorded_reveal_for_staff_not_for_the_parties(app, demo, make_web,
                                                                                              tmp_path):
    from tests.agreements.test_confirmation import pdf_text, submitted

    case_id, applicant, respondent, mediator, clerk = submitted(app, make_web)
    respondent_phone = "13905539876"
    url = f"/cases/{case_id}/confirmation/application.pdf"
    for party in (applicant, respondent):  # their own document: full numbers, nothing recorded
        pdf = party.client.get(url)
        assert pdf.status_code == 200 and respondent_phone in pdf_text(pdf.get_data(), tmp_path)
    assert reveals(app) == []
    hint = "载有当事人完整号码，下载将记入号码查看记录"  # said next to the link to staff only
    assert hint in mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    assert hint not in applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    numbers = party_numbers(app, case_id)
    assert len(numbers) >= 2
    for staff in (mediator, clerk):
        pdf = staff.client.get(url)
        assert pdf.status_code == 200 and respondent_phone in pdf_text(pdf.get_data(), tmp_path)
    rows = reveals(app)
    assert len(rows) == 2 * len(numbers)  # one row per number printed, per download
    for role in ("mediator", "court_clerk"):
        mine = [r for r in rows if r.role == role]
        assert {(r.party_id, r.field) for r in mine} == numbers
        assert {r.reason_code for r in mine} == {"document"} and {r.case_id for r in mine} == {case_id}
        assert {r.reason_text for r in mine} == {f"司法确认申请书 jiefen-confirmation-application-{case_id}.pdf"}
    from app.extensions import db

    with app.app_context():
        assert reveal_chain.verify() == (len(rows), None)
        db.session.remove()
    admin = make_web()
    admin.login("admin")
    log = admin.get("/org/audit/reveals").get_data(as_text=True)
    assert log.count("下载载有完整号码的文书：司法确认申请书") == len(rows) and respondent_phone not in log
    english = admin.get("/org/audit/reveals?lang=en").get_data(as_text=True)
    assert "Downloaded a document that prints the full numbers" in english
