"""The package's escalation records: the court filing (latest submission, earlier ones, the complaint PDF), an
issued arbitral award (its signed PDF downloadable with the court's token) and the failed mediation. Filings go
through the filing page; the award row is written directly; every answer is validated against the document."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import User
from app.cases.models import Case, CaseEvent
from app.escalation.models import Award
from tests.api.test_api import Api, _filed_with_court, issue, litigated_case_ids, second_court
from tests.escalation.pages import file_with_court

AWARD_PDF = b"%PDF-1.7\n% signed award (test bytes)\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
RETURNED = "请补充被告的住所地和身份信息。"


def _store(case_id: int, kind: str, data: bytes):
    """A registered document with its bytes in the storage, as documents.issue() leaves it."""
    from app.core.storage import storage
    from app.documents.models import Document
    from app.extensions import db

    sha256 = storage().put(data)
    document = Document(kind=kind, case_id=case_id, template=f"documents/{kind}.html", sha256=sha256,
                        size_bytes=len(data))
    db.session.add(document)
    db.session.flush()
    return document


def _user(username: str) -> User:
    from app.extensions import db

    return db.session.scalar(sa.select(User).where(User.username == username))


def _event_at(case_id: int, action: str):
    from app.extensions import db

    return db.session.scalar(sa.select(CaseEvent.created_at).where(CaseEvent.case_id == case_id,
                                                                   CaseEvent.action == action))


def test_a_returned_then_resubmitted_filing_shows_both_submissions_and_the_complaint(app, demo, make_web, court_api):
    resident = make_web()
    resident.login("resident1")
    case_id = _filed_with_court(app, resident)
    base = f"/api/v1/cases/{case_id}"
    first = court_api.get(base).get_json()["filing"]
    assert first["seq"] == 1 and first["status"] == "submitted" and first["court"] == "芜湖市镜湖区人民法院"
    assert court_api.post(f"{base}/decisions", {"type": "return_filing", "reasons": RETURNED}).status_code == 200
    claims = "判令被告支付货款30000元；\n本案诉讼费用由被告承担。"
    assert file_with_court(resident, case_id, claims=claims).status_code == 302

    package = court_api.get(base).get_json()
    filing = package["filing"]
    url = f"{app.config['BASE_URL'].rstrip('/')}{base}/filing/complaint.pdf"
    assert filing["seq"] == 2 and filing["status"] == "submitted" and filing["claims"] == claims
    assert filing["jurisdiction_basis"] == "defendant_domicile" and filing["cause_name"] == "合同纠纷"
    assert filing["fee_estimate"] == "550.00" and filing["reasons"] is None and filing["complaint_pdf"] == url
    (earlier,) = package["previous_filings"]
    assert earlier["seq"] == 1 and earlier["status"] == "returned" and earlier["reasons"].startswith(RETURNED)
    assert earlier["submitted_at"] <= earlier["decided_at"] <= filing["submitted_at"]
    assert {"kind": "complaint", "title": "民事起诉状", "content_type": "application/pdf", "url": url} in package["documents"]
    pdf = court_api.get(f"{base}/filing/complaint.pdf")  # the package's link, with the court's bearer token
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Content-SHA256"] == hashlib.sha256(pdf.data).hexdigest()
    assert pdf.headers["Cache-Control"] == "no-store" and pdf.headers["Content-Disposition"].startswith("attachment")
    assert Api(app, None).get(f"{base}/filing/complaint.pdf").status_code == 401
    other = Api(app, issue(app, second_court(app))[1])
    assert other.get(f"{base}/filing/complaint.pdf").status_code == 404


def test_an_issued_award_and_the_failed_mediation_are_in_the_package(app, demo, court_api):
    from app.extensions import db

    case_id = litigated_case_ids(app)[0]  # the demo's loan case: mediation failed, then filed with the court
    base = f"/api/v1/cases/{case_id}"
    package = court_api.get(base).get_json()
    with app.app_context():
        case = db.session.get(Case, case_id)
        committee, mediator = case.organisation.name, case.mediator.display_name
        failed_at = _event_at(case_id, "record_failure")
        arbitrator = _user("arbitrator1")
        award = Award(case_id=case_id, body_id=arbitrator.organisation_id, arbitrator_id=arbitrator.id,
                      claims="裁决被申请人支付借款两万元。", findings="查明借款属实。", reasoning="本委认为借款合同有效。",
                      decision="被申请人于本裁决生效之日起十日内向申请人支付借款人民币20000元。")
        db.session.add(award)
        db.session.commit()
        db.session.remove()
    assert package["mediation_failed"] == {
        "committee": committee, "mediator": mediator, "reason": "被申请人承认借款但拒绝提出还款计划，双方无法达成一致。",
        "failed_at": failed_at.replace(microsecond=0).isoformat() + "Z"}
    assert court_api.get(base).get_json()["award"] is None  # a draft is not the court's business
    assert court_api.get(f"{base}/award.pdf").status_code == 404

    with app.app_context():
        award = db.session.scalar(sa.select(Award).where(Award.case_id == case_id))
        document = _store(case_id, "arbitral_award", AWARD_PDF)
        award.status, award.number, award.content_hash = "issued", "镜劳人仲案字〔2026〕第12号", "0" * 64
        award.issued_at, award.document_id, award.sha256 = failed_at + timedelta(days=40), document.id, document.sha256
        body_name, sha256, issued_at = award.body.name, document.sha256, award.issued_at
        db.session.commit()
        db.session.remove()
    package = court_api.get(base).get_json()
    url = f"{app.config['BASE_URL'].rstrip('/')}{base}/award.pdf"
    assert package["award"] == {"number": "镜劳人仲案字〔2026〕第12号", "body": body_name, "sha256": sha256,
                                "issued_at": issued_at.replace(microsecond=0).isoformat() + "Z", "pdf": url}
    assert body_name == "镜湖区劳动人事争议仲裁委员会"
    assert {"kind": "award", "title": "仲裁裁决书", "content_type": "application/pdf", "url": url} in package["documents"]
    pdf = court_api.get(f"{base}/award.pdf")
    assert pdf.status_code == 200 and pdf.data == AWARD_PDF and pdf.headers["X-Content-SHA256"] == sha256
    assert Api(app, issue(app, second_court(app))[1]).get(f"{base}/award.pdf").status_code == 404


def test_a_stored_pdf_that_no_longer_matches_its_hash_is_never_handed_out(app, demo, court_api):
    from pathlib import Path

    from app.extensions import db

    case_id = litigated_case_ids(app)[0]
    with app.app_context():
        arbitrator = _user("arbitrator1")
        document = _store(case_id, "arbitral_award", AWARD_PDF)
        db.session.add(Award(case_id=case_id, body_id=arbitrator.organisation_id, arbitrator_id=arbitrator.id,
                             claims="c", findings="f", reasoning="r", decision="d", status="issued",
                             number="镜劳人仲案字〔2026〕第13号", content_hash="0" * 64, issued_at=document.created_at,
                             document_id=document.id, sha256=document.sha256))
        db.session.commit()
        sha256 = document.sha256
        db.session.remove()
    Path(app.config["FILES_DIR"], sha256[:2], sha256[2:]).write_bytes(AWARD_PDF + b"tampered")
    resp = court_api.get(f"/api/v1/cases/{case_id}/award.pdf")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
