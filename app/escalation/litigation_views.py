"""Litigation pages: the resident's filing form, the complaint PDF, and the court's view of the package."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.accounts.models import Role
from app.cases.funnel import BY_ACTION
from app.cases.models import Case, CaseStatus
from app.cases.operations import transition
from app.cases.rules import current_rules
from app.cases.views import load_case
from app.core.errors import DomainError, TransitionRefused
from app.core.i18n import gettext
from app.core.storage import storage
from app.documents import DocumentError, issue
from app.documents.models import Document
from app.documents.operations import pdf_download
from app.escalation import litigation as ops
from app.escalation.litigation_forms import DecisionForm, FilingForm
from app.escalation.litigation_rules import current_litigation_rules, load_litigation_rules
from app.extensions import db
from app.privacy.reveal import record_document_download

log = logging.getLogger(__name__)
bp = Blueprint("litigation", __name__)


@bp.record_once
def _validate_rules(state) -> None:
    """causes.yaml and jurisdiction.yaml are checked when the app starts: a broken file stops it here."""
    load_litigation_rules(str(state.app.config["RULES_DIR"]))


def _may_see_package(case: Case) -> bool:
    user = current_user
    return (user.role == Role.admin or case.is_party(user)
            or (user.role == Role.court_clerk and case.court_id is not None
                and user.organisation_id == case.court_id))


@bp.app_template_global()
def filing_panel(case: Case) -> dict | None:
    """The filing panel on the case page: the latest submission, for those who may see the package."""
    if not current_user.is_authenticated or not _may_see_package(case):
        return None
    latest = ops.latest_filing(case)
    if latest is None:
        return None
    return {"filing": latest, "count": latest.seq, "may_resubmit": case.status == CaseStatus.returned
            and case.is_applicant_side(current_user)}


# --- the resident's filing form -------------------------------------------------------------------------
def _fill(form: FilingForm, case: Case, previous) -> None:
    source = previous
    form.claims.data = source.claims if source else ops.default_claims(case)
    form.facts.data = source.facts if source else case.description
    form.performance_region_code.data = source.performance_region_code if source else None
    form.cause_code.data = source.cause_code if source else None
    form.court_id.data = source.court_id if source else None
    form.version.data = case.version


def _set_choices(form: FilingForm, case: Case, lrules) -> list[ops.CompetentCourt]:
    place = form.performance_region_code.data if not form.performance_region_code.errors else None
    needs_place = lrules.needs_performance_place(case.category)
    courts = ops.competent_courts(case, (place or None) if needs_place else None, lrules)
    form.court_id.choices = [(c.court.id, c.court.name) for c in courts]
    if len(courts) == 1 and not form.court_id.data:
        form.court_id.data = courts[0].court.id
    causes = lrules.causes_for(case.category) or list(lrules.causes.values())
    form.cause_code.choices = [(c.code, c.name) for c in causes]
    if not form.cause_code.data:
        form.cause_code.data = causes[0].code
    return courts


def _filing_page(case: Case, form: FilingForm, action: str, lrules, status: int = 200):
    if not lrules.needs_performance_place(case.category):
        form.performance_region_code.data = None
    courts = _set_choices(form, case, lrules)
    latest = ops.latest_filing(case)
    return render_template(
        "escalation/filing_form.html", case=case, form=form, courts=courts, action=BY_ACTION[action],
        no_court=None if courts else ops.no_court_message(case, lrules), fee=ops.fee_estimate(case),
        needs_place=lrules.needs_performance_place(case.category), causes=lrules.causes_for(case.category),
        returned=latest if latest and latest.status == "returned" else None,
        evidence=ops.evidence_data(case), mediation=ops.mediation_statement(case),
        category=current_rules().category(case.category)), status


@bp.route("/cases/<int:case_id>/filing", methods=["GET", "POST"])
@login_required
def filing_page(case_id: int):
    case = load_case(case_id)
    if not case.is_applicant_side(current_user):
        abort(403)
    rules, lrules = current_rules(), current_litigation_rules()
    action = ops.check_may_file(case, current_user, rules)
    form = FilingForm()
    if request.method == "GET":
        _fill(form, case, ops.latest_filing(case))
        return _filing_page(case, form, action, lrules)
    if request.form.get("refresh"):  # the place of performance changed: show the courts again, keep the text
        form.validate()
        for name in ("court_id", "cause_code", "claims", "facts"):
            getattr(form, name).errors = []
        return _filing_page(case, form, action, lrules)
    _set_choices(form, case, lrules)
    if not form.validate():
        return _filing_page(case, form, action, lrules, 422)
    data = ops.FilingData(court_id=form.court_id.data, cause_code=form.cause_code.data,
                          performance_region_code=form.performance_region_code.data,
                          claims=form.claims.data, facts=form.facts.data)
    try:
        filing = ops.submit_filing(case, current_user, data, rules, lrules, form.version.data or None)
    except DocumentError as exc:
        db.session.rollback()
        log.error("complaint of case %s not rendered: %s", case_id, exc)
        raise DomainError(gettext("暂时无法生成起诉状 PDF（服务器缺少中文字体），请稍后再试。"), 503) from exc
    except TransitionRefused as exc:
        if exc.status_code != 422:
            raise
        db.session.rollback()
        case = db.session.get(Case, case_id)
        form.court_id.errors = [exc.message]
        return _filing_page(case, form, action, lrules, 422)
    db.session.commit()
    flash(gettext("起诉材料已提交%(court)s（第 %(n)s 次提交），请等待法院审查立案。",
                  court=filing.court.name, n=filing.seq), "success")
    return redirect(url_for("cases.view_case", case_id=case.id))


# --- the complaint ---------------------------------------------------------------------------------------
@bp.route("/cases/<int:case_id>/filing/complaint.pdf")
@login_required
def complaint_pdf(case_id: int):
    case = load_case(case_id)
    if not _may_see_package(case):
        abort(403)
    filing = ops.latest_filing(case)
    if filing is None:
        raise DomainError(gettext("尚未向法院提交起诉材料，暂无起诉状。"), 409)
    document = db.session.get(Document, filing.complaint_document_id or 0)
    if document is not None:
        with storage().open(document.sha256) as fh:
            pdf = fh.read()
    else:
        issued = issue("civil_complaint", "documents/civil_complaint.html",
                       ops.complaint_data(case, filing, current_litigation_rules()), case_id=case.id,
                       user_id=current_user.id)
        filing.complaint_document_id, document, pdf = issued.document.id, issued.document, issued.pdf
    filename = f"jiefen-civil-complaint-{case.id}-{filing.seq}.pdf"
    record_document_download(case, current_user, f"民事起诉状 {filename}", request.remote_addr)
    db.session.commit()
    return pdf_download(pdf, filename, document.sha256)


# --- the court's view of the package ---------------------------------------------------------------------
def _package_page(case: Case, form: DecisionForm | None = None, failed: str | None = None, status: int = 200):
    lrules = current_litigation_rules()
    all_filings = ops.filings(case)
    if not all_filings:
        raise DomainError(gettext("尚未向法院提交起诉材料。"), 409)
    latest = all_filings[-1]
    clerk = current_user.role == Role.court_clerk and current_user.organisation_id == case.court_id
    from app.mediation import record as record_ops

    return render_template(
        "escalation/filing_package.html", case=case, filing=latest, previous=all_filings[:-1][::-1],
        basis=lrules.bases.get(latest.jurisdiction_basis), cause=lrules.causes.get(latest.cause_code),
        fee=ops.fee_estimate(case), mediation=ops.mediation_statement(case),
        has_record=record_ops.current_record(case) is not None, evidence=ops.evidence_data(case),
        claims=ops.claim_items(latest.claims), events=case.events,
        decide=clerk and case.status == CaseStatus.filed, form=form or DecisionForm(version=case.version),
        failed=failed), status


@bp.route("/cases/<int:case_id>/filing/package")
@login_required
def package(case_id: int):
    case = load_case(case_id)
    if not _may_see_package(case):
        abort(403)
    return _package_page(case)


DECISIONS = {"accept": "accept_filing", "return": "return_filing"}


@bp.route("/cases/<int:case_id>/filing/decision", methods=["POST"])
@login_required
def decide(case_id: int):
    """The clerk accepts (with the case number) or returns (with reasons); errors next to the field."""
    case = load_case(case_id)
    if current_user.role != Role.court_clerk or current_user.organisation_id != case.court_id:
        abort(403)
    form = DecisionForm()
    decision = request.form.get("decision", "")
    if decision not in DECISIONS or not form.validate():
        raise DomainError(gettext("请选择“立案受理”或“退回补正”。"), 400)
    action = DECISIONS[decision]
    try:
        transition(case, action, current_user, current_rules(),
                   reason=form.reason.data if decision == "return" else None,
                   data={"court_case_number": form.court_case_number.data}, seen_version=form.version.data)
    except TransitionRefused as exc:
        if exc.status_code != 422:
            raise
        db.session.rollback()
        case = db.session.get(Case, case_id)
        (form.court_case_number if decision == "accept" else form.reason).errors = [exc.message]
        return _package_page(case, form, decision, 422)
    db.session.commit()
    flash(gettext("已完成：%(action)s。", action=BY_ACTION[action].label), "success")
    return redirect(url_for("litigation.package", case_id=case.id))
