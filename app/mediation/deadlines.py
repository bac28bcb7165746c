"""Mediation deadlines: the clock starts when a mediator takes the case, and runs one month (labour: 15 days,
from mediation_rules/) unless every party consents to extend it. Listens to the funnel; never commits.
Messages and history notes are stored in Chinese (like the invitations'); refusals shown on pages are
translated.

An extension moves the due date by at most EXTENSION_MAX_DAYS beyond the current due date (or beyond today
when the case is already overdue); a further extension may be asked for later, again only with everyone's consent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Role, User
from app.cases import facts
from app.cases.models import Case, CaseStatus, Stage
from app.cases.operations import append_event
from app.cases.rules import current_rules
from app.cases.signals import case_transitioned
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.core.web import CHINA_TZ
from app.extensions import db
from app.mediation.operations import ASSIGN_ACTIONS, notify_user
from app.mediation.schedule_models import DeadlineExtension, ExtensionConsent

DEFAULT_LIMIT_DAYS = 30  # 人民调解: one month, when a case has no category (it always has one by mediation)
EXTENSION_MAX_DAYS = 30
URGENT_DAYS = 3  # shown in red from this many days left


class ExtensionRefused(DomainError):
    """A proposal the platform cannot accept; `field` names the form field the message belongs next to."""

    status_code = 422

    def __init__(self, message: str, field: str | None = None, status_code: int | None = None):
        super().__init__(message, status_code)
        self.field = field


# --- the clock ---------------------------------------------------------------------------------
def beijing_date(moment: datetime) -> date:
    """The calendar date in Beijing of a naive UTC datetime."""
    return moment.replace(tzinfo=UTC).astimezone(CHINA_TZ).date()


def beijing_today() -> date:
    return beijing_date(utcnow())


def time_limit_days(case: Case) -> int:
    category = current_rules().category(case.category)
    return category.mediation_time_limit_days if category else DEFAULT_LIMIT_DAYS


def due_date(started_at: datetime, limit_days: int) -> date:
    """The last day of mediation: the Beijing date it started, plus the time limit."""
    return beijing_date(started_at) + timedelta(days=limit_days)


def start_clock(case: Case, now: datetime | None = None) -> None:
    """Start the mediation period once; a reassignment (or a second assignment) does not reset it."""
    if case.mediation_started_at is not None:
        return
    now = now or utcnow()
    values = {"mediation_started_at": now, "mediation_due_on": due_date(now, time_limit_days(case))}
    # Part of the assignment step that was just recorded: written without bumping the case's version a second
    # time (the step already did), so a page showing the version from after the step stays current.
    table = Case.__table__
    db.session.execute(sa.update(table).where(table.c.id == case.id).values(**values))
    for key, value in values.items():
        set_committed_value(case, key, value)


def _on_transition(case: Case, transition=None, **_) -> None:
    if transition is not None and transition.action in ASSIGN_ACTIONS:
        start_clock(case)


case_transitioned.connect(_on_transition, weak=False)


def running(case: Case) -> bool:
    """Mediation is under way, so its deadline counts."""
    return (case.stage == Stage.mediate and case.status == CaseStatus.in_progress
            and case.mediation_due_on is not None)


def is_overdue(case: Case, today: date | None = None) -> bool:
    return running(case) and (today or beijing_today()) > case.mediation_due_on


def days_left(case: Case, today: date | None = None) -> int | None:
    """Days until the due date (0 on the day itself, negative once overdue); None when no deadline runs."""
    if not running(case):
        return None
    return (case.mediation_due_on - (today or beijing_today())).days


@dataclass(frozen=True)
class Deadline:
    due_on: date
    days_left: int

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def overdue_days(self) -> int:
        return max(0, -self.days_left)

    @property
    def urgent(self) -> bool:
        """Overdue, or due within URGENT_DAYS: shown in red."""
        return self.days_left <= URGENT_DAYS


def deadline_of(case: Case, today: date | None = None) -> Deadline | None:
    left = days_left(case, today)
    return None if left is None else Deadline(case.mediation_due_on, left)


def board_order(cases: list[Case], today: date | None = None) -> list[Case]:
    """Overdue first (most overdue on top), then by days left; cases without a running deadline last."""
    today = today or beijing_today()

    def key(case: Case):
        left = days_left(case, today)
        return (left is None, left if left is not None else 0, case.created_at)

    return sorted(cases, key=key)


def count_overdue(cases: list[Case], today: date | None = None) -> int:
    today = today or beijing_today()
    return sum(1 for c in cases if is_overdue(c, today))


# --- extensions ----------------------------------------------------------------------------------
def consenting_user_ids(case: Case) -> list[int]:
    """Who must agree: the applicant side (the filer, applicants with an account) and respondents with one."""
    applicant_side = {case.filed_by_id} | {p.user_id for p in case.applicants if p.user_id}
    respondents = {p.user_id for p in case.respondents if p.user_id}
    return sorted(applicant_side | respondents)


def consenting_users(case: Case) -> list[User]:
    return _users(consenting_user_ids(case))


def respondent_joined(case: Case) -> bool:
    return any(p.user_id for p in case.respondents)


def pending_extension(case: Case) -> DeadlineExtension | None:
    return db.session.scalar(sa.select(DeadlineExtension).where(
        DeadlineExtension.case_id == case.id, DeadlineExtension.status == "pending"))


def pending_and_latest(case: Case) -> tuple[DeadlineExtension | None, DeadlineExtension | None]:
    """The pending extension request and the newest request of any status, in one query (a case has a handful)."""
    if not facts.may_have(case, "deadline_extensions"):
        return None, None
    requests = db.session.scalars(sa.select(DeadlineExtension).where(DeadlineExtension.case_id == case.id)
                                  .order_by(DeadlineExtension.id.desc())).all()
    return next((e for e in requests if e.status == "pending"), None), (requests[0] if requests else None)


def can_propose(case: Case, user: User) -> bool:
    return user.is_authenticated and user.role == Role.mediator and case.mediator_id == user.id


def extension_bounds(case: Case, today: date | None = None) -> tuple[date, date]:
    """The earliest and latest new due dates a proposal may name."""
    today = today or beijing_today()
    due = case.mediation_due_on
    return max(due + timedelta(days=1), today), max(due, today) + timedelta(days=EXTENSION_MAX_DAYS)


def extension_date_error(case: Case, new_due_on: date, today: date | None = None) -> str | None:
    """Why this new due date cannot be proposed (None when it can)."""
    earliest, latest = extension_bounds(case, today)
    if new_due_on < earliest:
        return gettext("新的调解期限须晚于当前期限（%(due)s），且不早于今天。", due=case.mediation_due_on.isoformat())
    if new_due_on > latest:
        return gettext("每次最多延长 %(days)s 日：新的期限不能晚于 %(latest)s。",
                       days=EXTENSION_MAX_DAYS, latest=latest.isoformat())
    return None


def check_can_propose(case: Case, user: User) -> None:
    """Refuse (403 or 409, with the reason) a proposal that cannot be made now, whatever the dates."""
    if not can_propose(case, user):
        raise DomainError(gettext("只有本案的调解员可以申请延长调解期限。"), 403)
    if not running(case):
        raise DomainError(gettext("只有调解进行中的案件可以延长调解期限。"), 409)
    if not respondent_joined(case):
        raise DomainError(gettext("被申请人尚未同意参加调解，无法征得双方同意延长期限。"), 409)
    if pending_extension(case) is not None:
        raise DomainError(gettext("已有一项延长期限的申请在等待各方答复。"), 409)


def propose_extension(case: Case, mediator: User, new_due_on: date, reason: str,
                      today: date | None = None) -> DeadlineExtension:
    """The mediator asks to move the due date; every party is asked to agree or refuse."""
    check_can_propose(case, mediator)
    if error := extension_date_error(case, new_due_on, today):
        raise ExtensionRefused(error, "new_due_on")
    reason = (reason or "").strip()
    if not reason:
        raise ExtensionRefused(gettext("请说明需要延长调解期限的原因。"), "reason")
    ext = DeadlineExtension(case_id=case.id, new_due_on=new_due_on, reason=reason, proposed_by_id=mediator.id,
                            created_at=utcnow(), status="pending")
    db.session.add(ext)
    db.session.flush()
    subject = f"【解纷】调解员申请延长调解期限：{case.title}"
    body = (f"调解员{mediator.display_name}申请将调解期限由 {case.mediation_due_on.isoformat()} 延长至 "
            f"{new_due_on.isoformat()}，原因：{reason}。延长须经双方当事人同意，请在案件页面选择同意或不同意。")
    for user in _users(consenting_user_ids(case)):
        notify_user(user, subject, body, case)
    return ext


def may_answer(case: Case, ext: DeadlineExtension, user: User) -> bool:
    return user.id in consenting_user_ids(case) and not any(c.user_id == user.id for c in ext.consents)


def answer_extension(case: Case, ext: DeadlineExtension, user: User, agreed: bool) -> None:
    """Record one party's answer; all agreed: the due date moves; any refusal: the proposal is refused."""
    if ext.case_id != case.id:
        raise DomainError(gettext("没有这项延期申请。"), 404)
    if user.id not in consenting_user_ids(case):
        raise DomainError(gettext("只有本案当事人可以答复延长调解期限的申请。"), 403)
    if ext.status != "pending" or not running(case):
        raise DomainError(gettext("这项延期申请已有结果，无需再答复。"), 409)
    if not may_answer(case, ext, user):
        raise DomainError(gettext("您已答复过这项延期申请。"), 409)
    ext.consents.append(ExtensionConsent(user_id=user.id, agreed=agreed, created_at=utcnow()))
    db.session.flush()
    if not agreed:
        _refuse(case, ext, user)
    elif {c.user_id for c in ext.consents if c.agreed} >= set(consenting_user_ids(case)):
        _agree(case, ext, user)


def _agree(case: Case, ext: DeadlineExtension, last: User) -> None:
    old = case.mediation_due_on
    ext.status, ext.decided_at = "agreed", utcnow()
    case.mediation_due_on = ext.new_due_on
    note = f"调解期限由 {old.isoformat()} 延长至 {ext.new_due_on.isoformat()}（各方均已同意）。原因：{ext.reason}"
    append_event(case, last, "deadline_extended", (case.stage, case.status), note)
    subject = f"【解纷】调解期限已延长：{case.title}"
    for user in _users(consenting_user_ids(case) + [case.mediator_id]):
        notify_user(user, subject, note, case)


def _refuse(case: Case, ext: DeadlineExtension, by: User) -> None:
    ext.status, ext.decided_at = "refused", utcnow()
    note = (f"{by.display_name}不同意将调解期限延长至 {ext.new_due_on.isoformat()}，"
            f"调解期限仍为 {case.mediation_due_on.isoformat()}。")
    append_event(case, by, "deadline_extension_refused", (case.stage, case.status), note)
    subject = f"【解纷】延长调解期限未获同意：{case.title}"
    others = [uid for uid in consenting_user_ids(case) if uid != by.id]
    for user in _users([case.mediator_id] + others):
        notify_user(user, subject, note, case)


def _users(ids: list[int | None]) -> list[User]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return []
    return list(db.session.scalars(sa.select(User).where(User.id.in_(wanted)).order_by(User.id)))


facts.register_case_fact("deadline_extensions",
                        lambda: sa.exists().where(DeadlineExtension.case_id == Case.id))
