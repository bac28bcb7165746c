"""Mediation deadlines: extension proposals and the parties' consent; the deadline panel on the case page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app.cases.models import Case
from app.cases.views import load_case
from app.core.i18n import gettext, lazy_gettext
from app.extensions import db
from app.mediation import deadlines
from app.mediation.schedule_models import DeadlineExtension

bp = Blueprint("deadlines", __name__)

DATE_FORMAT_MESSAGE = lazy_gettext("日期格式不正确，请按“年-月-日”填写，例如 2026-05-01。")


class ExtensionForm(FlaskForm):
    new_due_on = DateField(lazy_gettext("新的调解期限"), validators=[Optional()])
    reason = TextAreaField(lazy_gettext("延长的原因"), validators=[
        DataRequired(lazy_gettext("请说明需要延长调解期限的原因。")),
        Length(max=2000, message=lazy_gettext("最多 2000 字。"))])

    def __init__(self, *args, case: Case | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        if case is not None and case.mediation_due_on is not None:
            earliest, latest = deadlines.extension_bounds(case)
            self.new_due_on.render_kw = {"min": earliest.isoformat(), "max": latest.isoformat()}

    def validate(self, extra_validators=None) -> bool:
        """Field checks, with Chinese messages for a missing or malformed date and the allowed range."""
        ok = super().validate(extra_validators)
        field = self.new_due_on
        if field.data is None:
            raw = " ".join(field.raw_data or []).strip()
            field.errors = [DATE_FORMAT_MESSAGE if raw else gettext("请选择新的调解期限。")]
            return False
        if self.case is not None and (error := deadlines.extension_date_error(self.case, field.data)):
            field.errors = list(field.errors) + [error]
            return False
        return ok


class ConsentForm(FlaskForm):
    agreed = StringField(validators=[AnyOf(("yes", "no"), message=lazy_gettext("请选择同意或不同意。"))])


@bp.app_template_global()
def deadline_of(case: Case):
    """The running deadline of a case (due date, days left, overdue), or None."""
    return deadlines.deadline_of(case)


@bp.app_template_global()
def deadline_panel(case: Case, form: ExtensionForm | None = None) -> dict | None:
    """What the case page's deadline panel shows to the current user; None when no deadline runs."""
    deadline = deadlines.deadline_of(case)
    if deadline is None:
        return None
    pending, latest = deadlines.pending_and_latest(case)
    user = current_user._get_current_object()
    can_propose = deadlines.can_propose(case, user) and pending is None
    joined = deadlines.respondent_joined(case)
    if can_propose and joined and form is None:  # the form shows only once the respondent has joined
        form = ExtensionForm(case=case, formdata=None)
    answers = []
    if pending is not None:
        given = {c.user_id: c.agreed for c in pending.consents}
        answers = [(u, given.get(u.id)) for u in deadlines.consenting_users(case)]
    return {
        "deadline": deadline, "pending": pending, "answers": answers,
        "latest": latest,
        "may_answer": pending is not None and deadlines.may_answer(case, pending, user),
        "can_propose": can_propose, "respondent_joined": joined,
        "form": form, "limit_days": deadlines.time_limit_days(case), "max_days": deadlines.EXTENSION_MAX_DAYS,
    }


@bp.route("/cases/<int:case_id>/deadline/extend", methods=["POST"])
@login_required
def propose(case_id: int):
    """The mediator proposes a later due date with a reason; errors next to the fields (422), nothing lost."""
    case = load_case(case_id)
    user = current_user._get_current_object()
    deadlines.check_can_propose(case, user)
    form = ExtensionForm(case=case)
    if form.validate_on_submit():
        try:
            deadlines.propose_extension(case, user, form.new_due_on.data, form.reason.data)
        except deadlines.ExtensionRefused as exc:
            db.session.rollback()
            case = load_case(case_id)
            getattr(form, exc.field or "reason").errors = [exc.message]
        else:
            db.session.commit()
            flash(gettext("已提出延长调解期限的申请，等待双方当事人答复。"), "success")
            return redirect(url_for("cases.view_case", case_id=case.id) + "#deadline")
    return render_template("mediation/deadline_extend.html", case=case, form=form,
                           max_days=deadlines.EXTENSION_MAX_DAYS), 422


@bp.route("/cases/<int:case_id>/deadline/<int:extension_id>/answer", methods=["POST"])
@login_required
def answer(case_id: int, extension_id: int):
    """A party agrees to or refuses the proposed extension."""
    case = load_case(case_id)
    ext = db.session.get(DeadlineExtension, extension_id)
    if ext is None or ext.case_id != case.id:
        abort(404)
    form = ConsentForm()
    if not form.validate_on_submit():
        if current_user.id not in deadlines.consenting_user_ids(case):
            abort(403)
        return render_template("mediation/deadline_answer.html", case=case, ext=ext, form=form), 422
    agreed = form.agreed.data == "yes"
    deadlines.answer_extension(case, ext, current_user._get_current_object(), agreed)
    db.session.commit()
    if not agreed:
        flash(gettext("已记录：您不同意延长调解期限。"), "info")
    elif ext.status == "agreed":
        flash(gettext("各方均已同意，调解期限已延长至 %(date)s。", date=ext.new_due_on.isoformat()), "success")
    else:
        flash(gettext("已记录您的同意，还在等待其他当事人答复。"), "success")
    return redirect(url_for("cases.view_case", case_id=case.id) + "#deadline")
