"""Scheduling a remote session: the mediator proposes slots, each party picks one, the slot every party
picked is confirmed, reminders go out 24 hours and 1 hour before.

Never commits, except the send_reminder job and the run-due command (entry points, like views)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from icalendar import Alarm, Calendar, Event

from app.accounts.models import User
from app.cases import facts
from app.cases.models import Case, CaseStatus, Stage
from app.cases.operations import append_event
from app.core import jobs
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.jobs import jobs_cli
from app.core.render_memo import per_render
from app.core.time import utcnow
from app.core.web import localtime
from app.extensions import db
from app.mediation.operations import queue
from app.mediation.schedule_models import SessionSlot, SlotPick, SlotReminder

MAX_OPEN_SLOTS = 5
MIN_MINUTES, MAX_MINUTES = 15, 480
MAX_DAYS_AHEAD = 90
REMINDERS = (("24h", timedelta(hours=24)), ("1h", timedelta(hours=1)))


# --- who and what --------------------------------------------------------------------------
def party_user_ids(case: Case) -> set[int]:
    """Who picks: the applicant side (the filer, applicants with an account) and respondents with one."""
    return {case.filed_by_id} | {p.user_id for p in case.parties if p.user_id}


def respondent_joined(case: Case) -> bool:
    return any(p.user_id for p in case.respondents)


def is_mediator(case: Case, user: User) -> bool:
    return user.is_authenticated and case.mediator_id is not None and case.mediator_id == user.id


def can_schedule(case: Case) -> bool:
    return case.stage == Stage.mediate and case.status == CaseStatus.in_progress


def require_mediator(case: Case, user: User) -> None:
    """403 for anyone but the case's mediator; 409 when the case is not in mediation."""
    if not is_mediator(case, user):
        raise DomainError(gettext("只有本案的调解员可以安排调解时间。"), 403)
    _require_mediating(case)


def require_party(case: Case, user: User) -> None:
    if not case.is_party(user):
        raise DomainError(gettext("只有案件当事人可以选择调解时间。"), 403)
    _require_mediating(case)


def _require_mediating(case: Case) -> None:
    if not can_schedule(case):
        raise DomainError(gettext("案件当前为“%(stage)s·%(status)s”，不能安排调解时间。",
                                  stage=case.stage.label, status=case.status.label), 409)


@per_render(lambda case: case.id)  # the panel asks for the confirmed and the open slots
def slots_of(case: Case) -> list[SessionSlot]:
    if not facts.may_have(case, "session_slots"):
        return []
    return list(db.session.scalars(sa.select(SessionSlot).where(SessionSlot.case_id == case.id)
                                   .order_by(SessionSlot.cancelled_at.is_not(None), SessionSlot.starts_at)))


def open_slots(case: Case) -> list[SessionSlot]:
    """Proposed slots still to be picked from: neither confirmed nor cancelled, and not yet begun."""
    now = utcnow()
    return [s for s in slots_of(case)
            if s.confirmed_at is None and s.cancelled_at is None and s.starts_at > now]


def confirmed_slot(case: Case) -> SessionSlot | None:
    """The confirmed session that has not ended yet (after it ended the mediator may propose the next)."""
    now = utcnow()
    return next((s for s in slots_of(case) if s.confirmed_at and not s.cancelled_at
                 and s.starts_at + timedelta(minutes=s.minutes) > now), None)


def pick_of(case: Case, user: User) -> SlotPick | None:
    return db.session.scalar(sa.select(SlotPick).where(SlotPick.case_id == case.id,
                                                       SlotPick.user_id == user.id))


def room_link(case: Case) -> str:
    """The session room, absolute (BASE_URL): the link goes out by SMS and in calendar files."""
    return current_app.config["BASE_URL"].rstrip("/") + f"/cases/{case.id}/room"


def beijing(slot: SessionSlot) -> str:
    return f"{localtime(slot.starts_at)}（北京时间）"


# --- the mediator proposes ------------------------------------------------------------------------
def slot_start_error(starts_at: datetime, now: datetime | None = None) -> str | None:
    """Why a proposed start (naive UTC) cannot be used, or None."""
    now = now or utcnow()
    if starts_at <= now:
        return gettext("调解时间必须晚于现在。")
    if starts_at > now + timedelta(days=MAX_DAYS_AHEAD):
        return gettext("只能安排 %(days)s 天以内的时间。", days=MAX_DAYS_AHEAD)
    return None


def propose_slots(case: Case, mediator: User, starts: list[datetime], minutes: int) -> list[SessionSlot]:
    """Add 1-5 proposed slots (naive UTC); at most 5 stay open at a time."""
    require_mediator(case, mediator)
    if confirmed_slot(case) is not None:
        raise DomainError(gettext("调解时间已经确定；如需改期，请先取消已确定的时间。"), 409)
    if not starts or len(open_slots(case)) + len(starts) > MAX_OPEN_SLOTS:
        raise DomainError(gettext("每次可提出 1 至 %(n)s 个待选时间。", n=MAX_OPEN_SLOTS), 422)
    if not MIN_MINUTES <= minutes <= MAX_MINUTES or any(slot_start_error(s) for s in starts):
        raise DomainError(gettext("时间或时长不符合要求。"), 422)
    made = [SessionSlot(case_id=case.id, starts_at=s, minutes=minutes, proposed_by_id=mediator.id,
                        created_at=utcnow()) for s in sorted(starts)]
    db.session.add_all(made)
    db.session.flush()
    times = "、".join(beijing(s) for s in made)
    for uid in sorted(party_user_ids(case)):
        queue("in_app", str(uid), f"【解纷】请选择调解时间：{case.title}",
              f"调解员提出了以下调解时间：{times}。请登录解纷平台，在案件页面选择您方便的时间。", case)
    return made


# --- the parties pick ------------------------------------------------------------------------------
def pick_slot(case: Case, user: User, slot: SessionSlot) -> SessionSlot | None:
    """Record (or move) the user's pick; returns the slot when this pick confirmed it."""
    require_party(case, user)
    if slot.case_id != case.id or slot not in open_slots(case):
        raise DomainError(gettext("该时间已不可选，请刷新页面后重新选择。"), 422)
    pick = pick_of(case, user)
    if pick is None:
        db.session.add(SlotPick(case_id=case.id, slot_id=slot.id, user_id=user.id, created_at=utcnow()))
    else:
        pick.slot_id, pick.created_at = slot.id, utcnow()
    db.session.flush()
    db.session.expire(slot, ["picks"])
    picked = {p.user_id for p in slot.picks}
    if respondent_joined(case) and party_user_ids(case) <= picked:
        confirm_slot(case, slot, user)
        return slot
    return None


def confirm_slot(case: Case, slot: SessionSlot, actor: User | None) -> None:
    """Every party picked this slot: confirm it, cancel the others, tell everyone, schedule the reminders."""
    now = utcnow()
    slot.confirmed_at = now
    for other in open_slots(case):
        if other.id != slot.id:
            other.cancelled_at = now
    _tell_everyone(case, f"【解纷】调解时间已确定：{case.title}",
                   f"调解会议定于{beijing(slot)}开始，时长约 {slot.minutes} 分钟。"
                   f"届时请打开调解室：{room_link(case)}")
    append_event(case, actor, "session_scheduled", (case.stage, case.status),
                 f"{beijing(slot)}，{slot.minutes} 分钟")
    for kind, before in REMINDERS:
        due = slot.starts_at - before
        if due <= now:  # a session confirmed less than a day ahead gets only the reminders still to come
            continue
        reminder = SlotReminder(slot_id=slot.id, kind=kind, due_at=due)
        db.session.add(reminder)
        db.session.flush()
        jobs.enqueue_at(due, send_reminder, reminder.id)


def _tell_everyone(case: Case, subject: str, body: str) -> None:
    """In-app to every party and the mediator; SMS to every party with a phone number."""
    for uid in sorted(party_user_ids(case) | ({case.mediator_id} if case.mediator_id else set())):
        queue("in_app", str(uid), subject, body, case)
    for phone in dict.fromkeys(p.phone for p in case.parties if p.phone):
        queue("sms", phone, subject, body, case)


# --- the mediator cancels ----------------------------------------------------------------------------
def cancel_slot(case: Case, mediator: User, slot: SessionSlot, reason: str) -> None:
    """Cancel a proposed or confirmed slot; its picks go (the parties pick again) and its reminders lapse."""
    require_mediator(case, mediator)
    if slot.case_id != case.id:
        raise DomainError(gettext("未找到该时间。"), 404)
    if slot.cancelled_at is not None:
        raise DomainError(gettext("该时间已经取消。"), 409)
    was_confirmed = slot.confirmed_at is not None
    slot.cancelled_at = utcnow()
    for pick in list(slot.picks):
        db.session.delete(pick)
    reason = reason.strip()
    if was_confirmed:
        _tell_everyone(case, f"【解纷】调解会议已取消：{case.title}",
                       f"原定于{beijing(slot)}的调解会议已取消。原因：{reason}。调解员将另行安排时间。")
        append_event(case, mediator, "session_cancelled", (case.stage, case.status),
                     f"{beijing(slot)}：{reason}")
    db.session.flush()


# --- reminders ---------------------------------------------------------------------------------------
def deliver_reminder(reminder_id: int) -> bool:
    """Send a reminder once: claimed by UPDATE ... WHERE sent_at IS NULL, so two senders never both do."""
    reminder = db.session.get(SlotReminder, reminder_id)
    if reminder is None:
        return False
    slot = db.session.get(SessionSlot, reminder.slot_id)
    case = db.session.get(Case, slot.case_id)
    if slot.cancelled_at is not None or not can_schedule(case):
        return False
    claim = (sa.update(SlotReminder)
             .where(SlotReminder.id == reminder_id, SlotReminder.sent_at.is_(None))
             .values(sent_at=utcnow()).execution_options(synchronize_session=False))
    claimed = db.session.execute(claim).rowcount
    if claimed != 1:
        return False
    when = "明天" if reminder.kind == "24h" else "1 小时后"
    _tell_everyone(case, f"【解纷】调解会议提醒：{case.title}",
                   f"调解会议将于{when}（{beijing(slot)}）开始，时长约 {slot.minutes} 分钟。"
                   f"请准时打开调解室：{room_link(case)}")
    db.session.flush()
    return True


@jobs.job
def send_reminder(reminder_id: int) -> None:
    """The job behind each reminder: idempotent (nothing if already sent or the slot was cancelled)."""
    deliver_reminder(reminder_id)
    db.session.commit()


def due_reminder_ids(now: datetime | None = None) -> list[int]:
    """Reminders due and unsent, for slots still on and cases still in mediation."""
    now = now or utcnow()
    return list(db.session.scalars(
        sa.select(SlotReminder.id).join(SessionSlot, SessionSlot.id == SlotReminder.slot_id)
        .join(Case, Case.id == SessionSlot.case_id)
        .where(SlotReminder.due_at <= now, SlotReminder.sent_at.is_(None), SessionSlot.cancelled_at.is_(None),
               Case.stage == Stage.mediate, Case.status == CaseStatus.in_progress)
        .order_by(SlotReminder.due_at, SlotReminder.id)))


@jobs_cli.command("run-due")
def run_due_command() -> None:
    """Send every due, unsent reminder (catch-up for timers that died with their process; cron-safe)."""
    sent = 0
    for reminder_id in due_reminder_ids():
        sent += deliver_reminder(reminder_id)
        db.session.commit()
    click.echo(f"{sent} reminder(s) sent.")


# --- the calendar file -------------------------------------------------------------------------------
def calendar_file(case: Case, slot: SessionSlot) -> bytes:
    """An .ics: one VEVENT (UID stable per slot: a re-download updates the entry), an alarm 1 hour before."""
    start = slot.starts_at.replace(tzinfo=UTC)
    cal = Calendar()
    cal.add("prodid", "-//Jiefen//Mediation sessions//ZH")
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", f"slot-{slot.id}@jiefen")
    event.add("dtstamp", utcnow().replace(tzinfo=UTC))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=slot.minutes))
    event.add("summary", f"调解会议：{case.title}")
    event.add("description", f"在线调解会议（{beijing(slot)}）。调解室：{room_link(case)}")
    event.add("url", room_link(case))
    status = "CANCELLED" if slot.cancelled_at else "CONFIRMED" if slot.confirmed_at else "TENTATIVE"
    event.add("status", status)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"调解会议将在 1 小时后开始：{case.title}")
    alarm.add("trigger", timedelta(hours=-1))
    event.add_component(alarm)
    cal.add_component(event)
    return cal.to_ical()


@dataclass
class Panel:
    """What the case page's scheduling panel shows to one viewer."""

    show: bool
    confirmed: SessionSlot | None = None
    open_count: int = 0
    my_pick: SlotPick | None = None
    mediator: bool = False


def panel_for(case: Case, user: User) -> Panel:
    if not can_schedule(case) or not (is_mediator(case, user) or case.is_party(user)):
        return Panel(show=False)
    return Panel(show=True, confirmed=confirmed_slot(case), open_count=len(open_slots(case)),
                 my_pick=pick_of(case, user) if case.is_party(user) else None,
                 mediator=is_mediator(case, user))


facts.register_case_fact("session_slots", lambda: sa.exists().where(SessionSlot.case_id == Case.id))
