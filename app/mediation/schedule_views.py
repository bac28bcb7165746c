"""Scheduling a remote session: slots, picks, the .ics download."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import FieldList, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.accounts.models import User
from app.cases.models import Case
from app.cases.views import load_case
from app.core.i18n import gettext, lazy_gettext
from app.core.time import BEIJING_OFFSET, utcnow
from app.core.web import localtime
from app.extensions import db
from app.mediation import scheduling
from app.mediation.schedule_models import SessionSlot

bp = Blueprint("scheduling", __name__)

INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def parse_beijing(raw: str) -> datetime | None:
    """A datetime-local value (Beijing time) as naive UTC; None when it is not a date and time."""
    for fmt in INPUT_FORMATS:
        try:
            return datetime.strptime(raw.strip(), fmt) - BEIJING_OFFSET
        except ValueError:
            continue
    return None


class ProposeForm(FlaskForm):
    """Up to five start times (Beijing time) and one length for all of them."""

    starts = FieldList(StringField(), min_entries=scheduling.MAX_OPEN_SLOTS)
    minutes = StringField(lazy_gettext("每次时长（分钟）"), default="60")

    def __init__(self, *args, open_count: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_count = open_count
        self.starts_errors: list[str] = []
        self.parsed: list[datetime] = []

    def validate_minutes(self, field) -> None:
        value = (field.data or "").strip()
        if not value.isdigit() or not scheduling.MIN_MINUTES <= int(value) <= scheduling.MAX_MINUTES:
            raise ValidationError(gettext("时长应为 %(low)s 至 %(high)s 之间的整数（分钟）。",
                                          low=scheduling.MIN_MINUTES, high=scheduling.MAX_MINUTES))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        return self._check_starts() and ok

    def _check_starts(self) -> bool:
        """Each filled time must parse, lie ahead (90 days at most) and appear once; 1-5 open at a time."""
        now, ok = utcnow(), True
        for entry in self.starts:
            raw = (entry.data or "").strip()
            if not raw:
                continue
            when = parse_beijing(raw)
            if when is None:
                error = gettext("请填写完整的日期和时间。")
            elif when in self.parsed:
                error = gettext("与上面的时间重复。")
            else:
                error = scheduling.slot_start_error(when, now)
            if error:
                entry.errors = [*entry.errors, error]
                ok = False
            else:
                self.parsed.append(when)
        filled = sum(1 for e in self.starts if (e.data or "").strip())
        room = scheduling.MAX_OPEN_SLOTS - self.open_count
        if filled == 0:
            self.starts_errors.append(gettext("请至少填写一个时间。"))
        elif filled > room:
            self.starts_errors.append(
                gettext("最多同时提出 %(max)s 个待选时间：已有 %(open)s 个，这次最多再提 %(room)s 个。",
                        max=scheduling.MAX_OPEN_SLOTS, open=self.open_count, room=max(room, 0))
                if self.open_count else gettext("最多同时提出 %(max)s 个待选时间。", max=scheduling.MAX_OPEN_SLOTS))
        return ok and not self.starts_errors


class PickForm(FlaskForm):
    slot_id = StringField()

    def __init__(self, *args, choices: list[int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = choices or []

    def validate_slot_id(self, field) -> None:
        if not (field.data or "").isdigit() or int(field.data) not in self.choices:
            raise ValidationError(gettext("请选择一个时间。"))


class CancelForm(FlaskForm):
    reason = TextAreaField(lazy_gettext("取消原因（会告知各方当事人）"), validators=[
        DataRequired(message=lazy_gettext("请填写取消原因。")),
        Length(max=500, message=lazy_gettext("最多 500 字。"))])


# --- pages -----------------------------------------------------------------------------------------
def _slot(case: Case, slot_id: int) -> SessionSlot:
    slot = db.session.get(SessionSlot, slot_id)
    if slot is None or slot.case_id != case.id:
        abort(404)
    return slot


def _render(case: Case, status: int = 200, **forms):
    slots = scheduling.slots_of(case)
    party_ids = scheduling.party_user_ids(case)
    picked = {p.user_id for s in slots for p in s.picks}
    waiting = [db.session.get(User, uid) for uid in sorted(party_ids - picked)]
    opened = scheduling.open_slots(case)
    user = current_user._get_current_object()
    forms.setdefault("propose_form", ProposeForm(open_count=len(opened)))
    forms.setdefault("pick_form", PickForm())
    forms.setdefault("cancel_form", CancelForm())
    forms.setdefault("cancel_slot_id", None)
    return render_template(
        "mediation/schedule.html", case=case, slots=slots, open_ids={s.id for s in opened},
        confirmed=scheduling.confirmed_slot(case), waiting=waiting,
        can_schedule=scheduling.can_schedule(case),
        is_mediator=scheduling.is_mediator(case, user), is_party=case.is_party(user),
        my_pick=scheduling.pick_of(case, user), respondent_joined=scheduling.respondent_joined(case),
        min_local=localtime(utcnow(), "%Y-%m-%dT%H:%M"),
        max_local=localtime(utcnow() + timedelta(days=scheduling.MAX_DAYS_AHEAD), "%Y-%m-%dT%H:%M"),
        failed=status == 422, **forms), status


@bp.route("/cases/<int:case_id>/schedule", methods=["GET", "POST"])
@login_required
def schedule(case_id: int):
    """The page; its POST is the mediator proposing slots."""
    case = load_case(case_id)
    if request.method == "GET":
        return _render(case)
    user = current_user._get_current_object()
    scheduling.require_mediator(case, user)
    form = ProposeForm(open_count=len(scheduling.open_slots(case)))
    if not form.validate_on_submit():
        return _render(case, 422, propose_form=form)
    made = scheduling.propose_slots(case, user, form.parsed, int(form.minutes.data))
    db.session.commit()
    flash(gettext("已提出 %(n)s 个待选时间，已通知当事人选择。", n=len(made)), "success")
    return redirect(url_for("scheduling.schedule", case_id=case.id))


@bp.route("/cases/<int:case_id>/schedule/pick", methods=["POST"])
@login_required
def pick(case_id: int):
    case = load_case(case_id)
    user = current_user._get_current_object()
    scheduling.require_party(case, user)
    form = PickForm(choices=[s.id for s in scheduling.open_slots(case)])
    if not form.validate_on_submit():
        return _render(case, 422, pick_form=form)
    confirmed = scheduling.pick_slot(case, user, db.session.get(SessionSlot, int(form.slot_id.data)))
    db.session.commit()
    if confirmed:
        flash(gettext("各方选择了同一时间，调解会议已确定：%(when)s（北京时间）。",
                      when=localtime(confirmed.starts_at)), "success")
    else:
        flash(gettext("已记录您的选择。各方都选择同一时间后，会议即确定。"), "success")
    return redirect(url_for("scheduling.schedule", case_id=case.id))


@bp.route("/cases/<int:case_id>/schedule/<int:slot_id>/cancel", methods=["POST"])
@login_required
def cancel(case_id: int, slot_id: int):
    case = load_case(case_id)
    user = current_user._get_current_object()
    scheduling.require_mediator(case, user)
    slot = _slot(case, slot_id)
    form = CancelForm()
    if not form.validate_on_submit():
        return _render(case, 422, cancel_form=form, cancel_slot_id=slot.id)
    scheduling.cancel_slot(case, user, slot, form.reason.data)
    db.session.commit()
    flash(gettext("已取消该时间，并已通知当事人。"), "success")
    return redirect(url_for("scheduling.schedule", case_id=case.id))


@bp.route("/cases/<int:case_id>/schedule/<int:slot_id>.ics")
@login_required
def calendar_file(case_id: int, slot_id: int):
    case = load_case(case_id)
    slot = _slot(case, slot_id)
    resp = Response(scheduling.calendar_file(case, slot), mimetype="text/calendar")
    resp.headers["Content-Type"] = "text/calendar; charset=utf-8"
    name = f"jiefen-case-{case.id}-session-{slot.id}.ics"
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.app_template_global()
def schedule_panel(case: Case) -> scheduling.Panel:
    """What the scheduling panel on the case page shows to the current user."""
    return scheduling.panel_for(case, current_user._get_current_object())
