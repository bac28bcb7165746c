"""The court-facing JSON API under /api/v1/ (bearer tokens per court).

Thin views over the same operations the web uses. Authentication is a bearer token (no cookies), hence no
CSRF: the blueprint is exempt. A court sees only the cases escalated to it (filed there, or a judicial
confirmation application submitted there); any other case id answers 404, as if it did not exist. Every error
under /api/v1 (unknown paths, wrong methods and unexpected failures included) is JSON,
{"error": {"code": ..., "message": ...}} (app/api/errors.py). The package is built in app/api/package.py. The
contract is app/escalation/openapi.json."""
from __future__ import annotations

import json
import logging
import math
import time
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, g, jsonify, request, send_file
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from app.accounts.models import Organisation, Role, User
from app.api import models  # noqa: F401  (registers the table)
from app.api.errors import ApiError, error_response, http_error_response
from app.api.package import (
    application_for_court,
    case_package,
    case_summary,
    complaint_sha256,
    court_filings,
    issued_award,
    stored_pdf,
)
from app.api.tokens import check_token, hash_token, token_from_header
from app.cases.evidence import served_as
from app.cases.models import Case, EvidenceFile
from app.core.errors import DomainError
from app.core.security_log import account_ref, security_event
from app.core.storage import storage
from app.documents.operations import pdf_download
from app.extensions import csrf, db, limiter
from app.privacy.retention import purged_at
from app.privacy.reveal import record_api_document_download, record_api_package_read

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _api_rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", "600/minute")


def _api_limit_key() -> str:
    """One bucket per bearer token (by its SHA-256, the value stored: no query before the limiter answers), counted
    whether or not the token is still valid; requests without a token (the public document, 401s) per IP."""
    token = token_from_header(request.headers.get("Authorization"))
    return "api-token:" + hash_token(token) if token else "api-ip:" + get_remote_address()


# Every endpoint of the blueprint shares the token's one budget (API_RATE_LIMIT), answered by _too_many below.
limiter.shared_limit(_api_rate_limit, scope="court-api", key_func=_api_limit_key)(bp)

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "escalation" / "openapi.json"
MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns: a larger id cannot exist (and would overflow the driver)
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
MAX_BODY_BYTES = 64 * 1024  # decisions are a few fields: a larger body answers 413
PUBLIC_ENDPOINTS = {"api.openapi"}
FILING_DECISIONS = {"accept_filing", "return_filing"}
CONFIRMATION_DECISIONS = {"confirm_agreement", "reject_agreement"}


# --- errors and authentication ----------------------------------------------------------------------
@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return error_response(exc.status, exc.message, exc.code)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    db.session.rollback()
    # The acting clerk is the court's own: a 403 from the funnel means the step is not open, a conflict.
    status = 409 if exc.status_code == 403 else exc.status_code
    return error_response(status, exc.message)


@bp.errorhandler(429)
def _too_many(exc: HTTPException):
    """The JSON error with Retry-After: the seconds until the token's window lets the next request through."""
    db.session.rollback()
    current = limiter.current_limit
    seconds = max(1, math.ceil(current.reset_at - time.time())) if current is not None else 60
    limit = current.limit if current is not None else None
    per = f" (at most {limit.amount} per {limit.get_expiry()} seconds)" if limit is not None else ""
    resp = error_response(429, f"Too many requests for this token{per}: retry after {seconds} seconds.")
    resp.headers["Retry-After"] = str(seconds)
    return resp


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    db.session.rollback()
    return http_error_response(exc.code or 500, exc)


@bp.before_request
def _authenticate():
    request.max_content_length = MAX_BODY_BYTES
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    checked = check_token(request.headers.get("Authorization"))
    row = checked.row
    if row is None:
        presented = token_from_header(request.headers.get("Authorization"))
        security_event("api_auth_failed", "failure", reason=checked.reason,
                       credential=account_ref(presented) if presented else None)
        if checked.reason == "expired_token":
            return error_response(401, f"This token expired on {checked.expired_at:%Y-%m-%dT%H:%M:%S}Z. Ask the "
                                       "platform's administrator for a new one (flask api-tokens rotate).",
                                  "token_expired")
        return error_response(401, "A valid bearer token is required (Authorization: Bearer <token>).")
    g.api_token, g.court = row, row.organisation
    db.session.commit()  # keep last_used_at even when the request then fails
    return None


# --- which cases a court sees -------------------------------------------------------------------------
def _confirmation_case_ids(court_id: int) -> sa.Select:
    from app.agreements.confirmation import clerk_case_ids

    return clerk_case_ids(court_id)


def _court_criterion(court: Organisation):
    return sa.or_(Case.court_id == court.id, Case.id.in_(_confirmation_case_ids(court.id)))


def load_case_for_court(case_id: int) -> Case:
    """The case if it is escalated to the token's court; 404 otherwise (never reveal that it exists)."""
    court = g.court
    if not 1 <= case_id <= MAX_ID:
        raise ApiError(404, "No such case before this court.")
    case = db.session.scalar(sa.select(Case).where(Case.id == case_id, _court_criterion(court)))
    if case is None:
        raise ApiError(404, "No such case before this court.")
    if purged_at(case.id) is not None:
        raise ApiError(410, "This case's personal data, evidence and documents were purged after the retention "
                            "period (flask privacy purge); its package is no longer available.")
    return case


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, f"{name} must be an integer.") from None
    if not low <= value <= high:
        raise ApiError(422, f"{name} must be between {low} and {high}.")
    return value


# --- endpoints ----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def openapi_document() -> dict:
    """The OpenAPI 3.1 document kept in the repository (app/escalation/openapi.json)."""
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.route("/cases")
def list_cases():
    page = _int_arg("page", 1, 1, 1_000_000)
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    where = _court_criterion(g.court)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(where))
    cases = db.session.scalars(sa.select(Case).where(where).order_by(Case.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify(items=[case_summary(c) for c in cases], page=page, per_page=per_page, total=total)


@bp.route("/cases/<int:case_id>")
def get_case(case_id: int):
    """The package returns every party's full phone and ID number: the read is recorded in the reveal log under the
    token (one row per number returned) and committed before the response leaves. The list carries no numbers."""
    case = load_case_for_court(case_id)
    package = case_package(case)
    record_api_package_read(case, g.api_token, f"案件材料包 GET /api/v1/cases/{case.id}", request.remote_addr)
    db.session.commit()
    return jsonify(package)


@bp.route("/cases/<int:case_id>/evidence/<int:evidence_id>")
def download_evidence(case_id: int, evidence_id: int):
    case = load_case_for_court(case_id)
    evidence = db.session.get(EvidenceFile, evidence_id) if 1 <= evidence_id <= MAX_ID else None
    if evidence is None or evidence.case_id != case.id:
        raise ApiError(404, "No such evidence in this case.")
    mimetype, name = served_as(evidence)  # the name's extension from the stored type, never the upload's
    response = send_file(storage().open(evidence.storage_key or evidence.sha256),
                         mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


def _recorded_pdf(case: Case, data: bytes, title: str, filename: str, sha256: str | None = None) -> Response:
    """A PDF that prints the parties' full numbers: the download is recorded in the reveal log under the token (one
    row per number, as a staff member's download is) and committed before the bytes leave."""
    record_api_document_download(case, g.api_token, f"{title} {filename}", request.remote_addr)
    db.session.commit()
    return pdf_download(data, filename, sha256)


@bp.route("/cases/<int:case_id>/agreement.pdf")
def agreement_pdf(case_id: int):
    from app.agreements.confirmation import signed_agreement
    from app.agreements.pdf import pdf_row, signed_pdf_bytes

    case = load_case_for_court(case_id)
    agreement = signed_agreement(case)
    data = signed_pdf_bytes(agreement) if agreement is not None else None
    if data is None:
        raise ApiError(404, "This case has no signed agreement PDF (yet).")
    return _recorded_pdf(case, data, "调解协议书", f"jiefen-agreement-{case.id}.pdf", pdf_row(agreement.id).sha256)


@bp.route("/cases/<int:case_id>/confirmation-application.pdf")
def confirmation_application_pdf(case_id: int):
    from app.agreements.confirmation import application_data
    from app.documents import DocumentError, issue

    case = load_case_for_court(case_id)
    application = application_for_court(case, g.court)
    if application is None:
        raise ApiError(404, "No judicial confirmation application of this case before this court.")
    try:
        issued = issue("confirmation_application", "documents/confirmation_application.html",
                       application_data(application), case_id=case.id)
    except DocumentError as exc:
        db.session.rollback()
        log.error("confirmation application PDF of case %s not rendered: %s", case.id, exc)
        raise ApiError(503, "The PDF cannot be rendered right now.", "unavailable") from exc
    return _recorded_pdf(case, issued.pdf, "司法确认申请书", f"jiefen-confirmation-application-{case.id}.pdf",
                         issued.document.sha256)


@bp.route("/cases/<int:case_id>/filing/complaint.pdf")
def complaint_pdf(case_id: int):
    """The complaint (民事起诉状) of the latest submission to this court, as it was registered at submission."""
    case = load_case_for_court(case_id)
    filings = court_filings(case, g.court)
    sha256 = complaint_sha256(filings[-1] if filings else None)
    data = stored_pdf(sha256)
    if data is None:
        raise ApiError(404, "This case has no complaint PDF filed with this court.")
    return _recorded_pdf(case, data, "民事起诉状", f"jiefen-complaint-{case.id}.pdf", sha256)


@bp.route("/cases/<int:case_id>/award.pdf")
def award_pdf(case_id: int):
    """The issued arbitral award (裁决书), signed by the commission (PAdES), byte for byte as issued."""
    case = load_case_for_court(case_id)
    award = issued_award(case)
    data = stored_pdf(award.sha256) if award is not None else None
    if data is None:
        raise ApiError(404, "This case has no issued arbitral award.")
    return pdf_download(data, f"jiefen-award-{case.id}.pdf", award.sha256)


def acting_clerk(court: Organisation) -> User:
    """The court's first active clerk account: the funnel's steps are taken in a clerk's name."""
    clerk = db.session.scalar(sa.select(User).where(
        User.role == Role.court_clerk, User.active.is_(True), User.organisation_id == court.id)
        .order_by(User.id).limit(1))
    if clerk is None:
        raise ApiError(409, "This court has no active clerk account to record the decision under.")
    return clerk


def _text(body: dict, key: str, limit: int) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise ApiError(422, f"{key} must be a non-empty string of at most {limit} characters.")
    return value.strip()


def _decision_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object.")
    allowed = {"accept_filing": {"type", "court_case_number"}, "return_filing": {"type", "reasons"},
               "confirm_agreement": {"type"}, "reject_agreement": {"type", "reasons"}}
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in allowed:
        raise ApiError(422, "type must be one of " + ", ".join(allowed) + ".")
    extra = set(body) - allowed[kind]
    if extra:
        raise ApiError(422, f"Unexpected field(s) for {kind}: {', '.join(sorted(extra))}.")
    return body


@bp.route("/cases/<int:case_id>/decisions", methods=["POST"])
def post_decision(case_id: int):
    from app.agreements import confirmation
    from app.cases.operations import transition
    from app.cases.rules import current_rules

    body = _decision_body()
    case = load_case_for_court(case_id)
    court, kind = g.court, body["type"]
    via = f"（经法院接口提交：{g.api_token.name}）"
    if kind in FILING_DECISIONS:
        if case.court_id != court.id:
            raise ApiError(409, "This case was not filed with this court: there is no filing to decide.")
        clerk = acting_clerk(court)
        if kind == "accept_filing":
            number = _text(body, "court_case_number", 60)
            transition(case, "accept_filing", clerk, current_rules(), reason=via,
                       data={"court_case_number": number})
        else:
            reasons = _text(body, "reasons", 2000)
            transition(case, "return_filing", clerk, current_rules(), reason=f"{reasons}{via}")
    else:
        application = application_for_court(case, court)
        if application is None:
            raise ApiError(409, "No judicial confirmation application of this case is before this court.")
        reasons = _text(body, "reasons", 2000) if kind == "reject_agreement" else None
        confirmation.decide(application, acting_clerk(court), kind == "confirm_agreement", reasons)
    db.session.commit()
    return jsonify(case_summary(case))
