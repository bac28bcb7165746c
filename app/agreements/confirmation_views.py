"""Judicial confirmation (司法确认): the joint application, the court clerk's decision."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, Length, ValidationError

from app.accounts.models import Role
from app.agreements import confirmation as ops
from app.agreements.models import ConfirmationApplication
from app.cases.models import Case
from app.core.errors import DomainError
from app.core.i18n import gettext, lazy_gettext
from app.documents import DocumentError, issue
from app.documents.operations import pdf_download
from app.extensions import db
from app.privacy.reveal import record_document_download

log = logging.getLogger(__name__)
bp = Blueprint("confirmation", __name__)
AGREEMENT_PDF_RULE = "/cases/<int:case_id>/agreement.pdf"


class DecideForm(FlaskForm):
    decision = StringField(validators=[AnyOf(("confirm", "reject"), message=lazy_gettext("请选择确认有效或驳回申请。"))])
    reasons = TextAreaField(lazy_gettext("理由"), validators=[
        Length(max=2000, message=lazy_gettext("最多 2000 个字符。"))])

    def validate_reasons(self, field) -> None:
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(gettext("驳回申请须写明理由。"))


# --- loading, with the clerk's access ------------------------------------------------------------
def load_case(case_id: int) -> Case:
    """The case if current_user may see it, or is a clerk of the court an application went to; else 404."""
    case = db.session.get(Case, case_id)
    if case is None or not (case.can_view(current_user) or ops.clerk_may_view(case, current_user)):
        abort(404)
    return case


def load_application(application_id: int) -> ConfirmationApplication:
    """An application before the current user's court (submitted or decided); 404 for anyone else."""
    application = db.session.get(ConfirmationApplication, application_id)
    if application is None or application.status not in ops.AT_COURT \
            or not ops.is_court_clerk_of(application, current_user):
        abort(404)
    return application


def agreement_pdf_url(case_id: int) -> str:
    """The agreement PDF's download URL (served by the agreement_pdf blueprint)."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == AGREEMENT_PDF_RULE:
            return url_for(rule.endpoint, case_id=case_id)
    return f"{request.script_root}/cases/{case_id}/agreement.pdf"


def _back(case: Case) -> Response:
    return redirect(url_for("cases.view_case", case_id=case.id) + "#confirmation")


# --- template globals ----------------------------------------------------------------------------------
@bp.app_template_global()
def confirmation_panel(case: Case) -> dict | None:
    """The panel on the case page once the agreement is signed: countdown, status, each party's next step."""
    agreement = ops.signed_agreement(case)
    if agreement is None:
        return None
    application = ops.current_application(agreement)
    latest = (ops.applications_of(agreement) or [None])[0]
    return {"agreement": agreement, "application": application, "deadline": ops.deadline_of(agreement),
            "days_left": ops.days_left(agreement),
            "withdrawn": latest if latest and latest.status == "withdrawn" else None,
            "court": application.court if application else ops.competent_court(case),
            "parties": ops.party_lines(agreement, application),
            "next": ops.next_step(agreement, application, current_user),
            "may_withdraw": application is not None and application.status in ops.PENDING
            and application.applied_by_id == current_user.id,
            "may_read": application is not None and ops.may_read_application(case, current_user),
            "review_url": url_for("confirmation.court_page", application_id=application.id)
            if application is not None and application.status in ops.AT_COURT
            and ops.is_court_clerk_of(application, current_user) else None,
            "labels": {k: gettext(v) for k, v in ops.STATUS_LABELS.items()}}


@bp.app_template_global()
def confirmation_inbox() -> list[dict]:
    """The court clerk's applications: submitted ones to decide, then decided ones."""
    if not current_user.is_authenticated or current_user.role != Role.court_clerk:
        return []
    rows = []
    for application in ops.court_inbox(current_user.organisation_id):
        case = db.session.get(Case, application.case_id)
        rows.append({"application": application, "case": case, "label": gettext(ops.STATUS_LABELS[application.status]),
                     "agreement_pdf": agreement_pdf_url(case.id),
                     "application_pdf": url_for("confirmation.application_pdf", case_id=case.id)})
    return rows


# --- the parties -----------------------------------------------------------------------------------------
@bp.route("/cases/<int:case_id>/confirmation/apply", methods=["POST"])
@login_required
def apply(case_id: int):
    case = load_case(case_id)
    application = ops.apply(case, current_user)
    db.session.commit()
    flash(gettext("已提出司法确认申请，受理法院：%(court)s。请等待对方当事人确认加入，双方共同申请后提交法院。",
                  court=application.court.name), "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/confirmation/join", methods=["POST"])
@login_required
def join(case_id: int):
    case = load_case(case_id)
    application = ops.join(case, current_user)
    db.session.commit()
    flash(gettext("您已确认加入申请，司法确认申请已提交%(court)s。", court=application.court.name), "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/confirmation/withdraw", methods=["POST"])
@login_required
def withdraw(case_id: int):
    case = load_case(case_id)
    ops.withdraw(case, current_user)
    db.session.commit()
    flash(gettext("司法确认申请已撤回。"), "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/confirmation/application.pdf")
@login_required
def application_pdf(case_id: int):
    """The application (申请书): the parties, the case's mediator, the court's clerks once submitted."""
    case = load_case(case_id)
    if not ops.may_read_application(case, current_user):
        abort(403)
    application = ops.current_application(ops.signed_agreement(case))
    if application is None:
        raise DomainError(gettext("尚未申请司法确认，暂无申请书。"), 409)
    try:
        issued = issue("confirmation_application", "documents/confirmation_application.html",
                       ops.application_data(application), case_id=case.id, user_id=current_user.id)
    except DocumentError as exc:
        db.session.rollback()
        log.error("confirmation application PDF of case %s not rendered: %s", case.id, exc)
        flash(gettext("暂时无法生成 PDF：服务器缺少中文字体，已通知管理员。"), "error")
        return _back(case)
    filename = f"jiefen-confirmation-application-{case.id}.pdf"
    record_document_download(case, current_user, f"司法确认申请书 {filename}", request.remote_addr)
    db.session.commit()
    return pdf_download(issued.pdf, filename, issued.document.sha256)


# --- the court ----------------------------------------------------------------------------------------------
def _court_page(application: ConfirmationApplication, form: DecideForm | None = None, status: int = 200):
    case = db.session.get(Case, application.case_id)
    return render_template(
        "agreements/confirmation_review.html", application=application, case=case,
        data=ops.application_data(application), form=form or DecideForm(formdata=None),
        agreement_pdf=agreement_pdf_url(case.id),
        application_pdf=url_for("confirmation.application_pdf", case_id=case.id)), status


@bp.route("/court/confirmations/<int:application_id>")
@login_required
def court_page(application_id: int):
    return _court_page(load_application(application_id))


@bp.route("/court/confirmations/<int:application_id>/decide", methods=["POST"])
@login_required
def decide(application_id: int):
    """裁定确认有效, or 裁定驳回 with reasons (required: shown next to the field when missing)."""
    application = load_application(application_id)
    form = DecideForm()
    if application.status != "submitted":
        raise ops.ConfirmationRefused(gettext("该申请已处理或已撤回，不能再作裁定。"))
    if not form.validate_on_submit():
        return _court_page(application, form, 422)
    confirm = form.decision.data == "confirm"
    ops.decide(application, current_user, confirm, form.reasons.data)
    db.session.commit()
    flash(gettext("已裁定确认调解协议有效，已通知双方当事人。") if confirm
          else gettext("已裁定驳回申请，已通知双方当事人。"), "success")
    return redirect(url_for("confirmation.court_page", application_id=application.id))
