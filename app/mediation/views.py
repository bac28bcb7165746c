"""Mediator inbox, organisation board, the manual assignment page, and the respondent's invitation (token-only)."""
from __future__ import annotations

import math

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app.accounts.models import Role, User
from app.cases import operations
from app.cases.assignment import case_snapshot, current_engine, mediator_snapshots
from app.cases.forms import StepForm
from app.cases.models import Case, CaseStatus, Stage
from app.cases.operations import mediators_for
from app.cases.rules import current_rules
from app.cases.views import load_case
from app.core.errors import DomainError, TransitionRefused
from app.core.i18n import gettext, lazy_gettext
from app.core.security_log import security_event
from app.core.sms_codes import Outcome
from app.core.validators import phone_error
from app.extensions import db
from app.mediation import deadlines
from app.mediation import (
    operations as invitations,  # connects the funnel listener (invitations)
)
from app.mediation.models import Invitation

bp = Blueprint("mediation", __name__)


def _require(*roles: Role) -> None:
    if current_user.role not in roles:
        abort(403)


@bp.route("/mediator/inbox")
@login_required
def inbox():
    _require(Role.mediator)
    cases = db.session.scalars(sa.select(Case).where(Case.mediator_id == current_user.id)
                               .order_by(Case.stage != Stage.mediate, Case.updated_at.desc())).all()
    today = deadlines.beijing_today()
    cases.sort(key=lambda c: not deadlines.is_overdue(c, today))  # stable: overdue first, otherwise as before
    return render_template("mediation/inbox.html", cases=cases, step_form=StepForm(),
                           overdue=deadlines.count_overdue(cases, today))


@bp.route("/org/cases")
@login_required
def org_board():
    _require(Role.org_admin, Role.admin)
    query = sa.select(Case).where(Case.stage == Stage.mediate)
    if current_user.role == Role.org_admin:
        query = query.where(Case.organisation_id == current_user.organisation_id)
    cases = db.session.scalars(query.order_by(Case.status != CaseStatus.awaiting_assignment, Case.created_at)).all()
    today = deadlines.beijing_today()
    return render_template("mediation/org_board.html", cases=deadlines.board_order(cases, today),
                           overdue=deadlines.count_overdue(cases, today))


def mediator_loads(mediators: list[User]) -> dict[int, int]:
    """Open mediation cases per mediator."""
    if not mediators:
        return {}
    rows = db.session.execute(
        sa.select(Case.mediator_id, sa.func.count()).where(
            Case.mediator_id.in_([m.id for m in mediators]), Case.stage == Stage.mediate,
            Case.status == CaseStatus.in_progress).group_by(Case.mediator_id)).all()
    return {mid: n for mid, n in rows}


@bp.route("/org/cases/<int:case_id>/assign", methods=["GET", "POST"])
@login_required
def assign(case_id: int):
    """Assign from the triage queue, or reassign with a reason; errors are shown next to the field."""
    case = load_case(case_id)
    if not case.can_assign(current_user):
        if case.administers(current_user):
            raise DomainError(gettext("案件当前为“%(stage)s·%(status)s”，不能分派调解员。",
                                      stage=case.stage.label, status=case.status.label), 409)
        abort(403)
    action = "assign_mediator" if case.status == CaseStatus.awaiting_assignment else "reassign_mediator"
    form = StepForm(version=case.version)
    if form.validate_on_submit():
        try:
            operations.transition(case, action, current_user, current_rules(), reason=form.reason.data,
                                  data={"mediator_id": form.mediator_id.data}, seen_version=form.version.data)
        except TransitionRefused as exc:
            if exc.status_code != 422:
                raise
            db.session.rollback()
            case = db.session.get(Case, case_id)
            form.reason.errors = [exc.message]
        else:
            db.session.commit()
            flash(gettext("已分派调解员：%(name)s。", name=case.mediator.display_name), "success")
            return redirect(url_for("mediation.org_board"))
    return _render_assign(case, action, form)


def _render_assign(case: Case, action: str, form: StepForm):
    mediators = mediators_for(case)
    ranking = {m.mediator_id: m for m in current_engine().match(
        case_snapshot(case), mediator_snapshots(), limit=None, include_excluded=True)}
    mediators.sort(key=lambda u: (ranking[u.id].excluded is not None, -ranking[u.id].score, u.id)
                   if u.id in ranking else (True, 0, u.id))
    return render_template("mediation/assign.html", case=case, mediators=mediators, ranking=ranking,
                           action=action, loads=mediator_loads(mediators), form=form), (422 if form.errors else 200)


# --- invitations on the case page: correcting the number and inviting again -----------------------------------

class CorrectPhoneForm(FlaskForm):
    """The respondent's right number and why: one form per invited party on the case page, prefixed with the
    invitation's id (ids stay unique with two respondents); CSRFProtect checks the page's token for every POST."""

    class Meta:
        csrf = False  # checked by CSRFProtect for the whole app; a prefixed form would look for its own field

    phone = StringField(lazy_gettext("正确的手机号码"), validators=[
        DataRequired(lazy_gettext("请输入被申请人正确的手机号码。"))],
        render_kw={"inputmode": "tel", "autocomplete": "off", "maxlength": 20})
    reason = TextAreaField(lazy_gettext("更正原因（必填，记入办理记录）"), validators=[
        DataRequired(lazy_gettext("请说明更正的原因。")), Length(max=500, message=lazy_gettext("原因最多 500 个字。"))],
        render_kw={"rows": 2})

    def validate_phone(self, field) -> None:
        if field.data and (err := phone_error(field.data)):
            raise ValidationError(err)


def _correct_form(inv, formdata=None) -> CorrectPhoneForm:
    return CorrectPhoneForm(formdata=formdata, prefix=f"inv{inv.id}")


@bp.app_template_global()
def invitation_panel(case: Case) -> dict | None:
    """The case page's invitations panel: each invited respondent's newest invitation, with the form to correct the
    number and invite again; only for those who may (the case's mediator, its organisation's admin), else None."""
    if case.stage != Stage.mediate or not invitations.can_correct_phone(case, current_user):
        return None
    latest = invitations.latest_invitations(case)
    if not latest:
        return None
    rows = []
    for party in case.respondents:
        inv = latest.get(party.id)
        if inv is None:
            continue
        correctable = invitations.correction_refusal(case, inv, newest_id=inv.id) is None
        rows.append({"party": party, "inv": inv, "form": _correct_form(inv) if correctable else None})
    return {"rows": rows}


@bp.route("/cases/<int:case_id>/invitations/<int:invitation_id>/correct", methods=["GET", "POST"])
@login_required
def correct_phone(case_id: int, invitation_id: int):
    """The mediator (or the organisation's admin) corrects the invited party's number with a reason: the old link
    stops working and a new invitation goes to the new number. Errors next to the fields (422), nothing lost."""
    case = load_case(case_id)  # 404 for whoever may not see the case
    inv = db.session.get(Invitation, invitation_id)
    if inv is None or inv.case_id != case.id:
        abort(404)
    user = current_user._get_current_object()
    if not invitations.can_correct_phone(case, user):
        abort(403)
    if (why := invitations.correction_refusal(case, inv)) is not None:
        raise DomainError(why, 409)
    form = _correct_form(inv, None if request.method == "GET" else request.form)
    if request.method == "POST" and form.validate():
        try:
            new, _token = invitations.correct_phone_and_reinvite(case, inv, user, form.phone.data, form.reason.data)
        except invitations.CorrectionRefused as exc:
            if exc.field is None:
                raise
            db.session.rollback()
            case, inv = load_case(case_id), db.session.get(Invitation, invitation_id)
            getattr(form, exc.field).errors = [exc.message]
        else:
            db.session.commit()
            flash(gettext("已将%(name)s的电话更正为 %(number)s：原邀请链接已作废，新的调解邀请已发送到新号码。",
                          name=new.party.name, number=new.party.masked_phone), "success")
            return redirect(url_for("cases.view_case", case_id=case.id) + "#invitations")
    return render_template("mediation/invitation_correct.html", case=case, inv=inv, form=form), (
        422 if form.errors else 200)


# --- invitations: token-only routes (no case_id: the token is the capability) -----------------

class AnswerForm(FlaskForm):
    reason = TextAreaField(lazy_gettext("不同意的原因（可不填）"), validators=[
        Optional(), Length(max=2000, message=lazy_gettext("最多 2000 字。"))])


class CodeAnswerForm(AnswerForm):
    """The answer of a resident whose account has another number: with the code sent to the invited one."""
    code = StringField(lazy_gettext("短信验证码"), validators=[
        DataRequired(lazy_gettext("请输入短信中的 6 位验证码。")),
        Regexp(r"^\s*\d{6}\s*$", message=lazy_gettext("验证码是 6 位数字。"))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 7})


class SendCodeForm(FlaskForm):
    """Only the CSRF token: the code always goes to the number on file, never to one typed here."""


def _open_invitation(token: str):
    """(the invitation behind a token, None) while it can be answered; (it, the 410 page saying why not) once it was
    answered, expired or revoked (the number was corrected and a new invitation sent). 404 for an unknown token."""
    inv = invitations.find_invitation(token)
    if inv is None:
        abort(404)
    if invitations.usable(inv):
        return inv, None
    return inv, (render_template("mediation/invitation_gone.html", revoked=inv.revoked), 410)


def _refused(inv, why: str):
    """A page saying why this account cannot answer, and what to do; the invitation stays open (403)."""
    return render_template("mediation/invitation_refused.html", why=why), 403


def _code_page(inv, token: str, why: str, form: CodeAnswerForm | None = None, send_error: str | None = None,
               status: int = 200):
    """The offer to prove the invited number by a code, and the answer with it. Shows only what the invitation SMS
    said (the dispute's title, the applicant's name), never the claim, until the code is right."""
    case = inv.case
    applicant = case.applicants[0].name if case.applicants else case.filed_by.display_name
    user = current_user._get_current_object()
    return render_template("mediation/invitation_code.html", inv=inv, case=case, applicant=applicant, token=token,
                           why=why, number=invitations.invited_number(inv), own_phone=user.masked_phone,
                           code_sent=invitations.current_code(inv, user) is not None,
                           minutes=invitations.CODE_MINUTES, form=form or CodeAnswerForm(),
                           send_form=SendCodeForm(), send_error=send_error), status


def _not_the_applicant_side(inv) -> None:
    """The applicant's side never answers its own invitation (403)."""
    if inv.case.is_applicant_side(current_user):
        abort(403)


@bp.route("/invitations/<token>")
def invitation(token: str):
    inv, gone = _open_invitation(token)
    if gone is not None:
        return gone
    if not current_user.is_authenticated:
        return render_template("mediation/invitation_login.html", next=request.path, by_sms=bool(inv.party.phone))
    _not_the_applicant_side(inv)
    why = invitations.answer_refusal(inv, current_user)
    if why in invitations.CODE_PROVES:
        return _code_page(inv, token, why)
    if why:
        return _refused(inv, why)
    case = inv.case
    applicant = case.applicants[0] if case.applicants else None
    return render_template("mediation/invitation.html", inv=inv, case=case, applicant=applicant,
                           token=token, form=AnswerForm())


@bp.route("/invitations/<token>/code", methods=["POST"])
def send_invitation_code(token: str):
    """Send a code to the invited number on file: at most CODE_SENDS per account and CODE_SENDS_TOTAL per invitation
    within CODE_SEND_WINDOW."""
    inv, stop = _posted_to(token)
    if stop is not None:
        return stop
    why = invitations.answer_refusal(inv, current_user)
    if why not in invitations.CODE_PROVES:  # may answer already, or never may: the page says which
        return _refused(inv, why) if why else redirect(url_for("mediation.invitation", token=token))
    if not SendCodeForm().validate_on_submit():
        abort(400)
    limit = invitations.send_code(inv, current_user._get_current_object())
    if limit is not None:
        db.session.rollback()
        security_event("rate_limited", "refused", scope=limit.scope, limit=f"{limit.sends}/hour", invitation=inv.id)
        minutes = max(1, math.ceil(limit.wait.total_seconds() / 60))
        if limit.per_account:
            message = gettext("验证码发送次数过多（每小时最多 %(n)s 次），请 %(minutes)s 分钟后再试。",
                              n=limit.sends, minutes=minutes)
        else:
            message = gettext("这份邀请的验证码在一小时内已发送 %(n)s 次，暂停发送，请 %(minutes)s 分钟后再试。"
                              "如果您就是被申请人，也可以直接联系调解员。", n=limit.sends, minutes=minutes)
        return _code_page(inv, token, why, status=429, send_error=message)
    db.session.commit()
    flash(gettext("验证码已发送到 %(number)s，%(minutes)s 分钟内有效。", number=invitations.invited_number(inv),
                  minutes=invitations.CODE_MINUTES), "info")
    return redirect(url_for("mediation.invitation", token=token))


def _posted_to(token: str):
    """(the open invitation, None) for a POST from someone on the invited side; else (None or it, the answer to
    give instead): gone, or the login that comes back to the invitation (403 for the applicant's side)."""
    inv, gone = _open_invitation(token)
    if gone is not None:
        return inv, gone
    if not current_user.is_authenticated:
        return inv, redirect(url_for("accounts.login", next=url_for("mediation.invitation", token=token)))
    _not_the_applicant_side(inv)
    return inv, None


def _answer(token: str, accepted: bool):
    inv, stop = _posted_to(token)
    if stop is not None:
        return stop
    user = current_user._get_current_object()
    why = invitations.answer_refusal(inv, user)  # before anything is bound or used up
    if why in invitations.CODE_PROVES:
        form = CodeAnswerForm()
        if not form.validate_on_submit():
            return _code_page(inv, token, why, form, status=422)
        outcome = invitations.check_code(inv, user, form.code.data)
        if outcome is not Outcome.done:
            db.session.commit()  # the wrong try counts
            # Neither the code typed nor the number: the invitation and the account line repeated guesses up.
            security_event("invitation_code_failed", "failure", reason=outcome.value, invitation=inv.id,
                           tries=invitations.code_tries(inv, user))
            form.code.errors = [gettext("验证码不正确，请核对短信后重新输入。") if outcome is Outcome.wrong_code else
                                gettext("验证码已失效（超过 %(m)s 分钟、已使用、已重新获取或输错次数过多），请重新获取。",
                                        m=invitations.CODE_MINUTES)]
            return _code_page(inv, token, why, form, status=422)
    elif why:
        return _refused(inv, why)
    else:
        form = AnswerForm()
        if not form.validate_on_submit():
            case = inv.case
            return render_template("mediation/invitation.html", inv=inv, case=case, token=token, form=form,
                                   applicant=case.applicants[0] if case.applicants else None), 422
    if accepted:
        invitations.accept(inv, user)
        db.session.commit()
        flash(gettext("您已同意调解，调解员将与您联系。"), "success")
        return redirect(url_for("cases.view_case", case_id=inv.case_id))
    invitations.decline(inv, user, form.reason.data)
    db.session.commit()
    return render_template("mediation/invitation_done.html")


@bp.route("/invitations/<token>/accept", methods=["POST"])
def accept_invitation(token: str):
    return _answer(token, True)


@bp.route("/invitations/<token>/decline", methods=["POST"])
def decline_invitation(token: str):
    return _answer(token, False)
