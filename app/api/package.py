"""What the court API tells a court about a case: the list item and the full package (facts, parties unmasked,
evidence and PDF links, history with its checked chain, the court filing and its earlier submissions, an issued
arbitral award, the failed mediation). Every link is an /api/v1 URL, downloadable with the court's bearer token.
Reads only; `g.court` is the token's court."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, g

from app.accounts.models import Organisation
from app.cases.models import GENESIS_HASH, Case, CaseEvent, reason_problem
from app.core.storage import storage
from app.escalation.models import Award, CourtFiling
from app.extensions import db

log = logging.getLogger(__name__)


def iso(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def absolute(path: str) -> str:
    return current_app.config.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/") + path


def api_url(case: Case, tail: str) -> str:
    return absolute(f"/api/v1/cases/{case.id}/{tail}")


def stored_pdf(sha256: str | None) -> bytes | None:
    """A stored PDF by its SHA-256, or None when it is missing or no longer matches its hash (never hand that out)."""
    if not sha256 or not storage().exists(sha256):
        return None
    with storage().open(sha256) as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != sha256:
        log.error("stored PDF %s does not match its hash", sha256)
        return None
    return data


# --- records of the escalation ------------------------------------------------------------------------
def court_filings(case: Case, court: Organisation) -> list[CourtFiling]:
    """The case's submissions to this court, oldest first (a resubmission after a return is a new row)."""
    return list(db.session.scalars(sa.select(CourtFiling).where(
        CourtFiling.case_id == case.id, CourtFiling.court_id == court.id).order_by(CourtFiling.seq)))


def complaint_sha256(filing: CourtFiling | None) -> str | None:
    """The SHA-256 of the complaint PDF (民事起诉状) registered for this submission, if any."""
    if filing is None or filing.complaint_document_id is None:
        return None
    from app.documents.models import Document

    document = db.session.get(Document, filing.complaint_document_id)
    return document.sha256 if document is not None else None


def issued_award(case: Case) -> Award | None:
    return db.session.scalar(sa.select(Award).where(Award.case_id == case.id, Award.status == "issued"))


def _filing(case: Case, filing: CourtFiling) -> dict:
    return {"seq": filing.seq, "status": filing.status, "court": filing.court.name,
            "jurisdiction_basis": filing.jurisdiction_basis, "cause_name": filing.cause_name,
            "claims": filing.claims, "facts": filing.facts,
            "fee_estimate": str(filing.fee_estimate) if filing.fee_estimate is not None else None,
            "submitted_at": iso(filing.submitted_at), "decided_at": iso(filing.decided_at),
            "reasons": filing.reasons, "court_case_number": filing.court_case_number,
            "complaint_pdf": api_url(case, "filing/complaint.pdf") if complaint_sha256(filing) else None}


def _earlier(filing: CourtFiling) -> dict:
    return {"seq": filing.seq, "status": filing.status, "reasons": filing.reasons,
            "submitted_at": iso(filing.submitted_at), "decided_at": iso(filing.decided_at)}


def _award(case: Case, award: Award | None) -> dict | None:
    if award is None:
        return None
    return {"number": award.number, "issued_at": iso(award.issued_at), "body": award.body.name,
            "sha256": award.sha256, "pdf": api_url(case, "award.pdf")}


def _mediation_failed(case: Case) -> dict | None:
    """The committee, the mediator and the recorded reason when mediation ended without agreement."""
    failures = [e for e in case.events if e.action == "record_failure"]
    if not failures:
        return None
    event = failures[-1]
    mediator = case.mediator or event.actor
    return {"committee": case.organisation.name if case.organisation else None,
            "mediator": mediator.display_name if mediator else None,
            "reason": event.reason, "failed_at": iso(event.created_at)}


# --- the list item and the package --------------------------------------------------------------------
def filing_events(case: Case) -> list[CaseEvent]:
    return [e for e in case.events if e.action in ("file_lawsuit", "resubmit_filing")]


def application_for_court(case: Case, court: Organisation):
    from app.agreements.confirmation import AT_COURT
    from app.agreements.models import ConfirmationApplication

    return db.session.scalar(sa.select(ConfirmationApplication).where(
        ConfirmationApplication.case_id == case.id, ConfirmationApplication.court_id == court.id,
        ConfirmationApplication.status.in_(AT_COURT)).order_by(ConfirmationApplication.id.desc()).limit(1))


def case_summary(case: Case) -> dict:
    """The list item: what a court's filing system needs to show a row."""
    court = g.court
    if case.court_id == court.id:
        kind, filings = "filing", filing_events(case)
        filed_at = filings[-1].created_at if filings else case.created_at
    else:
        kind, application = "confirmation", application_for_court(case, court)
        filed_at = (application.joined_at or application.applied_at) if application else case.created_at
    return {"id": case.id, "title": case.title, "stage": case.stage.value, "status": case.status.value,
            "category": case.category, "amount": str(case.amount) if case.amount is not None else None,
            "filed_at": iso(filed_at), "court_case_number": case.court_case_number, "kind": kind}


def verify_case_chain(case: Case) -> dict:
    """This case's hash chain, checked link by link (as `flask audit verify` does for every case)."""
    prev, expected, checked = GENESIS_HASH, 1, 0
    for event in sorted(case.events, key=lambda e: e.seq):
        where = f"event seq {event.seq}"
        problem = (f"{where}: expected seq {expected} (an event is missing)" if event.seq != expected else
                   f"{where}: prev_hash does not match the previous event's hash"
                   if event.prev_hash != prev else
                   f"{where}: content does not match its hash (altered)" if event.compute_hash() != event.hash
                   else (f"{where}: {reason_problem(event)}" if reason_problem(event) else None))
        if problem:
            return {"valid": False, "events_checked": checked, "problem": problem}
        prev, expected, checked = event.hash, expected + 1, checked + 1
    return {"valid": True, "events_checked": checked, "problem": None}


def _documents(case: Case, application, filing: dict | None, award: dict | None) -> list[dict]:
    """Every PDF of the package, as links to this API (the court's bearer token downloads them)."""
    from app.agreements.confirmation import signed_agreement
    from app.agreements.pdf import pdf_row

    documents = []
    agreement = signed_agreement(case)
    row = pdf_row(agreement.id) if agreement is not None else None
    if row is not None and row.status == "done":  # signed and its PDF made (rendering runs as a job)
        documents.append(("agreement", "人民调解协议书", api_url(case, "agreement.pdf")))
    if application is not None:
        documents.append(("confirmation_application", "司法确认申请书", api_url(case, "confirmation-application.pdf")))
    if filing is not None and filing["complaint_pdf"]:
        documents.append(("complaint", "民事起诉状", filing["complaint_pdf"]))
    if award is not None:
        documents.append(("award", "仲裁裁决书", award["pdf"]))
    return [{"kind": kind, "title": title, "content_type": "application/pdf", "url": url}
            for kind, title, url in documents]


def _parties(case: Case) -> list[dict]:
    return [{"role": p.role.value, "kind": p.kind.value, "name": p.name, "phone": p.phone,
             "id_number": p.id_number, "region_code": p.region_code, "address": p.address, "email": p.email}
            for p in case.parties]


def _evidence(case: Case) -> list[dict]:
    return [{"id": e.id, "name": e.original_name, "content_type": e.content_type, "size_bytes": e.size_bytes,
             "sha256": e.sha256, "description": e.description, "uploaded_at": iso(e.created_at),
             "url": api_url(case, f"evidence/{e.id}")} for e in case.evidence]


def _events(case: Case) -> list[dict]:
    return [{"seq": e.seq, "action": e.action, "label": e.action_label, "at": iso(e.created_at),
             "actor_role": e.actor.role.value if e.actor else "system", "from_stage": e.from_stage,
             "from_status": e.from_status, "to_stage": e.to_stage, "to_status": e.to_status, "reason": e.reason,
             "hash": e.hash} for e in case.events]


def case_package(case: Case) -> dict:
    """Everything the court needs: facts, parties (unmasked), claims, evidence, history, chain, escalation, PDFs."""
    application = application_for_court(case, g.court)
    filings = court_filings(case, g.court)
    filing = _filing(case, filings[-1]) if filings else None
    award = _award(case, issued_award(case))
    return {
        **case_summary(case),
        "description": case.description, "claims": case.desired_outcome, "region_code": case.region_code,
        "began_on": case.began_on.isoformat() if case.began_on else None,
        "learned_on": case.learned_on.isoformat() if case.learned_on else None,
        "has_arbitration_agreement": bool(case.has_arbitration_agreement),
        "court": {"id": case.court.id, "name": case.court.name} if case.court else None,
        "mediation_organisation": case.organisation.name if case.organisation else None,
        "parties": _parties(case), "evidence": _evidence(case), "events": _events(case),
        "chain": verify_case_chain(case),
        "confirmation": None if application is None else {
            "id": application.id, "status": application.status, "applied_at": iso(application.applied_at),
            "submitted_at": iso(application.joined_at), "decided_at": iso(application.decided_at),
            "reasons": application.reasons},
        "mediation_failed": _mediation_failed(case),
        "filing": filing,
        "previous_filings": [_earlier(f) for f in filings[:-1]],
        "award": award,
        "documents": _documents(case, application, filing, award),
    }
