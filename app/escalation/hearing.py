"""Arbitration hearings (开庭): the arbitrator who accepted the case schedules them, cancels them, and records them
afterwards (庭审笔录). The hearing itself takes place in the case's session room, which serves as the hearing room
while the case is accepted for arbitration (app/mediation/room.py). Operations flush, never commit."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.accounts.models import User
from app.cases.models import Case, CaseStatus, Stage
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.core.web import localtime
from app.escalation.models import Hearing
from app.extensions import db

DEFAULT_PLACE = "线上开庭（本平台在线庭审室）"
MAX_DAYS_AHEAD = 180
MAX_RECORD = 20000


def hearing_stage(case: Case) -> bool:
    """Accepted for arbitration: the time of hearings (and of the hearing room)."""
    return case.stage == Stage.arbitrate and case.status == CaseStatus.accepted


def is_arbitrator(case: Case, user: User) -> bool:
    return getattr(user, "is_authenticated", False) and case.arbitrator_id is not None and case.arbitrator_id == user.id


def require_arbitrator(case: Case, user: User) -> None:
    if not is_arbitrator(case, user):
        raise DomainError(gettext("只有本案的仲裁员可以安排或记录开庭。"), 403)


def hearings_of(case: Case) -> list[Hearing]:
    return list(db.session.scalars(sa.select(Hearing).where(Hearing.case_id == case.id)
                                   .order_by(Hearing.starts_at, Hearing.id)))


def beijing(hearing: Hearing) -> str:
    return f"{localtime(hearing.starts_at)}（北京时间）"


def room_link(case: Case) -> str:
    """The hearing room, absolute (BASE_URL): the link goes out by SMS and e-mail."""
    return current_app.config["BASE_URL"].rstrip("/") + f"/cases/{case.id}/room"


def start_error(starts_at: datetime, now: datetime | None = None) -> str | None:
    now = now or utcnow()
    if starts_at <= now:
        return gettext("开庭时间必须晚于现在。")
    if starts_at > now + timedelta(days=MAX_DAYS_AHEAD):
        return gettext("只能安排 %(days)s 天以内的开庭时间。", days=MAX_DAYS_AHEAD)
    return None


def schedule(case: Case, arbitrator: User, starts_at: datetime, place: str | None) -> Hearing:
    require_arbitrator(case, arbitrator)
    if not hearing_stage(case):
        raise DomainError(gettext("仲裁申请受理后才能安排开庭。"), 409)
    error = start_error(starts_at)
    if error:
        raise DomainError(error, 422)
    hearing = Hearing(case_id=case.id, arbitrator_id=arbitrator.id, starts_at=starts_at,
                      place=(place or "").strip() or DEFAULT_PLACE, status="scheduled", created_at=utcnow())
    db.session.add(hearing)
    db.session.flush()
    tell_parties(case, gettext("仲裁开庭通知"), gettext(
        "%(body)s定于%(when)s开庭审理案件 #%(id)s（%(title)s），地点：%(place)s。仲裁员：%(arb)s。"
        "请按时进入在线庭审室：%(link)s",
        body=case.arbitration_body.name, when=beijing(hearing), id=case.id, title=case.title, place=hearing.place,
        arb=arbitrator.display_name, link=room_link(case)))
    return hearing


def cancel(case: Case, arbitrator: User, hearing: Hearing) -> None:
    require_arbitrator(case, arbitrator)
    if hearing.status != "scheduled":
        raise DomainError(gettext("只能取消尚未开庭的安排。"), 409)
    hearing.status = "cancelled"
    db.session.flush()
    tell_parties(case, gettext("仲裁开庭取消"), gettext(
        "原定于%(when)s的案件 #%(id)s（%(title)s）开庭已取消，仲裁员将另行通知。",
        when=beijing(hearing), id=case.id, title=case.title))


def record(case: Case, arbitrator: User, hearing: Hearing, text: str, now: datetime | None = None) -> None:
    """The 庭审笔录 after the hearing: the hearing is then held."""
    require_arbitrator(case, arbitrator)
    now = now or utcnow()
    if hearing.status == "cancelled":
        raise DomainError(gettext("此次开庭已取消，不能记录。"), 409)
    if hearing.starts_at > now:
        raise DomainError(gettext("开庭时间未到，开庭后才能记录庭审笔录。"), 409)
    text = (text or "").strip()
    if not text:
        raise DomainError(gettext("请填写庭审笔录。"), 422)
    hearing.status, hearing.record_text, hearing.recorded_at = "held", text[:MAX_RECORD], now
    db.session.flush()


def party_users(case: Case) -> list[User]:
    """The filer and every party linked to a user, each once."""
    users, seen = [], set()
    for user in [case.filed_by] + [p.user for p in case.parties]:
        if user is not None and user.id not in seen:
            seen.add(user.id)
            users.append(user)
    return users


def tell_parties(case: Case, subject: str, body: str) -> None:
    from app.mediation.operations import notify_user

    for user in party_users(case):
        notify_user(user, subject, body, case)


def _on_transition(case: Case, transition=None, actor=None, **_):
    """Whoever accepts the application is the case's arbitrator (the one who holds its hearings)."""
    if getattr(transition, "action", None) == "accept_arbitration" and actor is not None:
        case.arbitrator_id = actor.id
        db.session.flush()


def _connect() -> None:
    from app.cases.signals import case_transitioned

    case_transitioned.connect(_on_transition, weak=False)


_connect()
