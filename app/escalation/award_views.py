"""Award pages: the arbitrator drafts (/award/edit) and issues (/award/issue, password again); everyone who
sees the case reads the issued award (/award) and downloads its signed PDF (/award.pdf, 404 before issue)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.cases.models import Case
from app.cases.rules import current_rules
from app.cases.views import load_case
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.documents.operations import pdf_download
from app.escalation import award as award_ops
from app.escalation.award_forms import AwardForm, IssueForm
from app.escalation.award_rules import current_award_rules
from app.extensions import db

bp = Blueprint("awards", __name__)


@bp.record_once
def _check_rules(state) -> None:
    """A broken awards.yaml stops the app at start-up, like the other rules in mediation_rules/."""
    from app.escalation.award_rules import load_award_rules

    load_award_rules(str(state.app.config["RULES_DIR"]))


def _body_rules(case: Case):
    body = case.arbitration_body
    return current_award_rules().for_type(body.type.value) if body is not None else None


def _issue_form(award) -> IssueForm:
    return IssueForm(formdata=None, seen_hash=award_ops.draft_hash(award) if award else "")


@bp.app_template_global()
def award_panel(case: Case) -> dict | None:
    """The award on the case page: the arbitrator's draft and issue form, or the issued award for everyone."""
    if not award_ops.may_have_award(case):
        return None
    award = award_ops.current_award(case)
    arbitrator = award_ops.is_case_arbitrator(case, current_user)
    issued = award is not None and award.status == "issued"
    may_draft = arbitrator and not issued and award_ops.in_hearing(case)
    if not issued and not may_draft:
        return None
    return {"award": award, "issued": issued, "may_draft": may_draft, "rules": _body_rules(case),
            "decision_items": award_ops.decision_items(award.decision) if award else [],
            "issue_form": _issue_form(award) if may_draft and award else None}


# --- the award page -----------------------------------------------------------------------------------
def _page(case: Case, issue_form: IssueForm | None = None, issue_error: str | None = None, status: int = 200):
    award = award_ops.current_award(case)
    arbitrator = award_ops.is_case_arbitrator(case, current_user)
    if award is None or (award.status != "issued" and not arbitrator):
        abort(404)
    may_issue = arbitrator and award.status == "draft" and award_ops.in_hearing(case)
    return render_template("escalation/award_view.html", case=case, award=award, rules=_body_rules(case),
                           items=award_ops.decision_items(award.decision), may_issue=may_issue,
                           issue_form=issue_form or _issue_form(award), issue_error=issue_error), status


@bp.route("/cases/<int:case_id>/award")
@login_required
def award_page(case_id: int):
    return _page(load_case(case_id))


# --- drafting -------------------------------------------------------------------------------------------
def _editor(case: Case, form: AwardForm, status: int = 200):
    rules = _body_rules(case)
    if rules is not None:
        form.reasoning.label.text = gettext("%(who)s认为", who=rules.self_name)
    return render_template("escalation/award_edit.html", case=case, form=form, rules=rules,
                           award=award_ops.current_award(case)), status


@bp.route("/cases/<int:case_id>/award/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    """The arbitrator's draft: prefilled from the case, saved as the Award row (status draft) until issued."""
    case = load_case(case_id)
    award_ops.require_drafter(case, current_user)
    if request.method == "GET":
        form = AwardForm(formdata=None)
        form.fill(award_ops.start(case))
        return _editor(case, form)
    form = AwardForm()
    if not form.validate_on_submit():
        return _editor(case, form, 422)
    try:
        award_ops.save_draft(case, current_user, form.to_input())
    except award_ops.AwardInvalid as exc:
        db.session.rollback()
        for name, message in exc.errors.items():
            getattr(form, name).errors = [message]
        return _editor(db.session.get(Case, case_id), form, 422)
    db.session.commit()
    flash(gettext("裁决书草稿已保存。请核对后签发；签发前仍可修改。"), "success")
    return redirect(url_for("awards.award_page", case_id=case.id))


# --- issuing ---------------------------------------------------------------------------------------------
@bp.route("/cases/<int:case_id>/award/issue", methods=["POST"])
@login_required
def issue(case_id: int):
    """签发裁决书: the password again, then number, PDF, signature and the funnel step in one operation."""
    case = load_case(case_id)
    award_ops.require_drafter(case, current_user)
    form = IssueForm()
    if form.validate_on_submit() and not _password_ok(form.password.data):
        form.password.errors = [gettext("密码不正确，请重新输入您的登录密码。")]
    if form.errors:
        form.password.data = ""
        if award_ops.current_award(case) is None:
            raise DomainError(gettext("请先起草并保存裁决书，再签发。"), 409)
        return _page(case, issue_form=form, status=422)
    try:
        award = award_ops.issue(case, current_user, current_rules(), current_award_rules(),
                                form.seen_hash.data or "")
    except award_ops.AwardIssueFailed as exc:
        db.session.rollback()
        return _page(db.session.get(Case, case_id), issue_error=exc.message, status=exc.status_code)
    db.session.commit()
    flash(gettext("裁决书已签发，文号 %(number)s。已通知各方当事人。", number=award.number), "success")
    return redirect(url_for("awards.award_page", case_id=case.id))


def _password_ok(password: str) -> bool:
    from app.mediation.record import password_ok

    return password_ok(current_user, password)


# --- the signed PDF ----------------------------------------------------------------------------------------
@bp.route("/cases/<int:case_id>/award.pdf")
@login_required
def award_pdf(case_id: int):
    """The signed award for whoever sees the case; 404 until it is issued."""
    case = load_case(case_id)
    award = award_ops.current_award(case)
    if award is None or award.status != "issued":
        abort(404)
    data = award_ops.signed_pdf_bytes(award)
    if data is None:
        raise DomainError(gettext("裁决书文件暂时无法读取，请联系管理员。"), 409)
    return pdf_download(data, f"jiefen-award-{case.id}.pdf", award.sha256)
