"""The session room's rules: who may join, which rooms each person sees, messages, moving parties, the safety flag.

Everyone in a case's room is a participant: the mediator, or a party linked to a user (the applicant side: whoever filed
and applicant parties; the respondent side: respondents who accepted the invitation). A party sees the joint room and
their own caucus (背靠背); the mediator sees every room. Operations never commit; the socket handlers and views do.

Once an arbitrator has accepted the case (stage arbitrate), the same room serves as the hearing room: the arbitrator
hosts it (side "arbitrator", with the mediator's powers to moderate) and the mediator is no longer a participant. There
is one room, "hearing", and no caucus. Mediation is confidential: the arbitrator never sees the joint or caucus
history, while each party still sees their own. Offers, moves and safety flags are mediation-only.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.accounts.models import User
from app.cases.models import Case, CaseParty, CaseStatus, Stage
from app.cases.operations import append_event
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.extensions import db
from app.mediation.room_models import (
    JOINT,
    RoomMessage,
    RoomPlacement,
    SafetyFlag,
    caucus_owner,
    caucus_room,
)

MAX_MESSAGE = 2000
HISTORY_LIMIT = 1000
SAFETY_KINDS = ("violence", "coercion", "other")
HEARING = "hearing"
HOST_SIDES = ("mediator", "arbitrator")


class RoomError(DomainError):
    """A refusal shown to the person in the room (Chinese first); field names the input that caused it, if any."""

    def __init__(self, message: str, field: str | None = None, status_code: int = 422):
        super().__init__(message, status_code)
        self.field = field


@dataclass(frozen=True)
class Participant:
    user: User
    side: str  # "applicant", "respondent", "mediator", or "arbitrator" (who hosts the hearing)
    label: str  # how the others see them: "申请人 张三", "调解员 李四", "仲裁员 王五"

    @property
    def host(self) -> bool:
        return self.side in HOST_SIDES


def hearing_phase(case: Case) -> bool:
    """An arbitrator has accepted the case: the room is the hearing room (open while the case is accepted)."""
    return case.arbitrator_id is not None and case.stage == Stage.arbitrate


def hearing_open(case: Case) -> bool:
    return hearing_phase(case) and case.status == CaseStatus.accepted


def participants(case: Case) -> list[Participant]:
    """The mediator first, then the applicant side, then respondents who have accepted (linked to a user).
    Remembered on the case object for as long as who takes part stays the same (several calls per socket event)."""
    key = (case.mediator_id, hearing_phase(case) and case.arbitrator_id, case.filed_by_id,
           tuple((p.id, p.user_id) for p in case.parties))
    cached = case.__dict__.get("_room_participants")
    if cached is not None and cached[0] == key:
        return cached[1]
    found: list[Participant] = []
    seen: set[int] = set()

    def add(user: User | None, side: str, name: str, role_label: str) -> None:
        if user is not None and user.id not in seen:
            seen.add(user.id)
            found.append(Participant(user, side, f"{role_label} {name}"))

    if hearing_phase(case):
        add(case.arbitrator, "arbitrator", case.arbitrator.display_name, gettext("仲裁员"))
    elif case.mediator is not None:
        add(case.mediator, "mediator", case.mediator.display_name, gettext("调解员"))
    for p in case.applicants:
        add(p.user, "applicant", p.name, gettext("申请人"))
    add(case.filed_by, "applicant", case.filed_by.display_name, gettext("申请人"))
    for p in case.respondents:
        add(p.user, "respondent", p.name, gettext("被申请人"))
    case.__dict__["_room_participants"] = (key, found)
    return found


def load_room_case(case_id: int) -> Case | None:
    """The case with everything participants() reads, in two queries."""
    return db.session.get(Case, case_id, options=[
        selectinload(Case.parties).joinedload(CaseParty.user), joinedload(Case.mediator), joinedload(Case.filed_by),
        joinedload(Case.arbitrator)])


def participant(case: Case, user: User) -> Participant | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return next((p for p in participants(case) if p.user.id == user.id), None)


def takes_part(case: Case, user: User) -> bool:
    """Whether participant() would find the user, from the ids alone: no account is loaded (the case page's panel)."""
    if not getattr(user, "is_authenticated", False):
        return False
    host_id = case.arbitrator_id if hearing_phase(case) else case.mediator_id
    return user.id in {host_id, case.filed_by_id, *(p.user_id for p in case.parties)} - {None}


def room_open(case: Case) -> bool:
    """Messages, offers and moves only while mediation is in progress (messages also during the hearing stage);
    afterwards the history stays readable."""
    return (case.stage == Stage.mediate and case.status == CaseStatus.in_progress) or hearing_open(case)


def room_started(case: Case) -> bool:
    """Whether the case ever reached a mediator or an arbitrator (then its room exists, open or as a read-only
    history)."""
    return case.mediator_id is not None or hearing_phase(case)


def joint_closed(case: Case) -> bool:
    """Whether a safety flag closed the joint room (remembered on the case object: flags are never removed)."""
    if not case.__dict__.get("_joint_closed"):
        case.__dict__["_joint_closed"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(SafetyFlag).where(SafetyFlag.case_id == case.id)) > 0
    return case.__dict__["_joint_closed"]


def current_room(case: Case, user: User) -> str | None:
    """Where a party's messages go: their placement, else the joint room (their caucus once the joint room is closed).
    None for the mediator, who chooses a room for each message; the hearing room for everyone in a hearing."""
    who = participant(case, user)
    if who is None:
        return None
    if hearing_phase(case):
        return HEARING
    if who.host:
        return None
    placed = db.session.get(RoomPlacement, (case.id, user.id))
    room = placed.room if placed else JOINT
    if room == JOINT and joint_closed(case):
        return caucus_room(user.id)
    return room


def visible_rooms(case: Case, user: User) -> list[str]:
    """The arbitrator sees only the hearing room (mediation is confidential); a party keeps their mediation history."""
    who = participant(case, user)
    if who is None:
        return []
    if who.side == "arbitrator":
        return [HEARING]
    if who.side == "mediator":
        return [JOINT] + [caucus_room(p.user.id) for p in participants(case) if not p.host]
    mediation = [JOINT, caucus_room(user.id)] if case.mediator_id is not None else []
    return ([HEARING] if case.arbitrator_id is not None else []) + mediation


def can_see_room(case: Case, user: User, room: str) -> bool:
    return room in visible_rooms(case, user)


def history(case: Case, user: User, after_id: int = 0) -> list[RoomMessage]:
    """Messages of the rooms this user may see, oldest first (the last HISTORY_LIMIT)."""
    rooms = visible_rooms(case, user)
    if not rooms:
        return []
    rows = db.session.scalars(
        sa.select(RoomMessage).where(RoomMessage.case_id == case.id, RoomMessage.room.in_(rooms),
                                     RoomMessage.id > after_id)
        .order_by(RoomMessage.id.desc()).limit(HISTORY_LIMIT)).all()
    return list(reversed(rows))


def _require_open(case: Case) -> None:
    if not room_open(case) and hearing_phase(case):
        raise RoomError(gettext("庭审室已关闭（%(status)s），不能再发送。", status=case.status.label), status_code=409)
    if not room_open(case):
        raise RoomError(gettext("调解已结束（%(status)s），不能再发送。", status=case.status.label), status_code=409)


def require_mediation(case: Case, what: str) -> None:
    """Offers, moves and safety flags belong to mediation: refused in the hearing room."""
    if hearing_phase(case):
        raise RoomError(gettext("庭审中不能%(what)s：此功能仅用于调解阶段。", what=what), status_code=409)


def _require_mediator(case: Case, user: User) -> None:
    who = participant(case, user)
    if who is None or who.side != "mediator":
        raise RoomError(gettext("只有本案的调解员可以执行此操作。"), status_code=403)


@dataclass(frozen=True)
class Seat:
    """Who speaks in which case, as their connection remembers it: enough to post a message without loading the
    case and its parties again (the socket handlers re-check it at connect and once a minute)."""
    case_id: int
    user_id: int
    side: str
    label: str
    rooms: tuple[str, ...]


def seat_for(case: Case, user: User) -> Seat | None:
    who = participant(case, user)
    if who is None:
        return None
    return Seat(case.id, user.id, who.side, who.label, tuple(visible_rooms(case, user)))


def _speaker_state(seat: Seat):
    """One query: whether the room is open, the joint room closed, the case's mediator, and where this party sits."""
    closed = sa.exists().where(SafetyFlag.case_id == Case.id)
    placed = (sa.select(RoomPlacement.room).where(RoomPlacement.case_id == Case.id,
                                                  RoomPlacement.user_id == seat.user_id).scalar_subquery())
    return db.session.execute(sa.select(Case.stage, Case.status, Case.mediator_id, Case.arbitrator_id,
                                        closed.label("closed"), placed.label("placed"))
                              .where(Case.id == seat.case_id)).one_or_none()


def _seat_refusal(seat: Seat, state) -> RoomError | None:
    """A remembered seat that no longer speaks here (the host replaced, mediation over), or a room that is closed."""
    hearing = state is not None and state.stage == Stage.arbitrate and state.arbitrator_id is not None
    if state is None or (seat.side == "mediator" and (state.mediator_id != seat.user_id or hearing)) or (
            seat.side == "arbitrator" and (state.arbitrator_id != seat.user_id or not hearing)):
        return RoomError(gettext("您不是本案的参与人。"), status_code=403)
    if hearing:
        return None if state.status == CaseStatus.accepted else RoomError(
            gettext("庭审室已关闭（%(status)s），不能再发送。", status=state.status.label), status_code=409)
    if not (state.stage == Stage.mediate and state.status == CaseStatus.in_progress):
        return RoomError(gettext("调解已结束（%(status)s），不能再发送。", status=state.status.label), status_code=409)
    return None


def post_message(case: Case, user: User, room: str | None, body: str, client_id: str | None = None,
                 kind: str = "text") -> tuple[RoomMessage, bool]:
    """Store a message; returns (message, created). A resend with the same client_id returns the stored one."""
    seat = seat_for(case, user)
    if seat is None:
        raise RoomError(gettext("您不是本案的参与人。"), status_code=403)
    return post_from_seat(seat, room, body, client_id, kind)


def post_from_seat(seat: Seat, room: str | None, body: str, client_id: str | None = None,
                   kind: str = "text") -> tuple[RoomMessage, bool]:
    client_id = (client_id or "").strip()[:40] or None
    state = _speaker_state(seat)
    refused = _seat_refusal(seat, state)
    if refused is not None:
        raise refused
    body = (body or "").strip()
    if not body:
        raise RoomError(gettext("请输入内容。"), field="body")
    if len(body) > MAX_MESSAGE:
        raise RoomError(gettext("一条消息最多 %(n)s 字。", n=MAX_MESSAGE), field="body")
    if state.stage == Stage.arbitrate:  # the hearing: one room for everyone
        room = HEARING
    elif seat.side not in HOST_SIDES:  # a party always speaks where the mediator has put them
        room = state.placed or JOINT
        if room == JOINT and state.closed:
            room = caucus_room(seat.user_id)
    elif room not in seat.rooms:
        raise RoomError(gettext("没有这个会话。"), field="room")
    if room == JOINT and state.closed:
        raise RoomError(gettext("本案已标记安全风险，联合调解已关闭，只能背靠背沟通。"), field="room", status_code=409)
    message = RoomMessage(case_id=seat.case_id, room=room, sender_id=seat.user_id, kind=kind, body=body,
                          client_id=client_id, created_at=utcnow())
    db.session.add(message)
    try:
        db.session.flush()
    except IntegrityError:
        # A resend (same sender and client_id, unique together): the first copy stands. Nothing else was written
        # in this unit of work, so rolling it back loses nothing; looking first would cost every message a query.
        db.session.rollback()
        existing = db.session.scalar(sa.select(RoomMessage).where(RoomMessage.sender_id == seat.user_id,
                                                                  RoomMessage.client_id == client_id))
        if existing is None:
            raise
        return existing, False
    return message, True


def system_message(case: Case, room: str, body: str, kind: str = "system") -> RoomMessage:
    message = RoomMessage(case_id=case.id, room=room, sender_id=None, kind=kind, body=body, created_at=utcnow())
    db.session.add(message)
    db.session.flush()
    return message


def move_party(case: Case, mediator: User, party_user_id: int, room: str) -> list[RoomMessage]:
    """The mediator puts a party in the joint room or in that party's caucus; returns the notices posted."""
    require_mediation(case, gettext("背靠背或移动当事人"))
    _require_mediator(case, mediator)
    _require_open(case)
    party = next((p for p in participants(case) if p.user.id == party_user_id and not p.host), None)
    if party is None:
        raise RoomError(gettext("没有这位当事人。"), field="user_id")
    if room not in (JOINT, caucus_room(party_user_id)):
        raise RoomError(gettext("只能移到联合调解或该当事人自己的背靠背会话。"), field="room")
    if room == JOINT and joint_closed(case):
        raise RoomError(gettext("本案已标记安全风险，联合调解已关闭，只能背靠背沟通。"), field="room", status_code=409)
    placed = db.session.get(RoomPlacement, (case.id, party_user_id))
    if placed is None:
        placed = RoomPlacement(case_id=case.id, user_id=party_user_id)
        db.session.add(placed)
    placed.room, placed.moved_at, placed.moved_by_id = room, utcnow(), mediator.id
    if room == JOINT:
        text = gettext("调解员请%(who)s回到联合调解。", who=party.label)
    else:
        text = gettext("调解员请%(who)s进入背靠背单独沟通。", who=party.label)
    return [system_message(case, JOINT, text), system_message(case, caucus_room(party_user_id), text)]


def flag_safety(case: Case, mediator: User, kind: str, note: str | None) -> list[RoomMessage]:
    """Violence or coercion: close the joint room for good, put every party in their own caucus, record it."""
    require_mediation(case, gettext("标记安全风险"))
    _require_mediator(case, mediator)
    _require_open(case)
    if kind not in SAFETY_KINDS:
        raise RoomError(gettext("请选择风险类型。"), field="kind")
    note = (note or "").strip()[:2000] or None
    db.session.add(SafetyFlag(case_id=case.id, kind=kind, note=note, flagged_by_id=mediator.id, created_at=utcnow()))
    case.__dict__["_joint_closed"] = True
    notices = [system_message(case, JOINT, gettext("调解员已关闭联合调解，之后只进行背靠背沟通。"))]
    for p in participants(case):
        if p.host:
            continue
        placed = db.session.get(RoomPlacement, (case.id, p.user.id))
        if placed is None:
            placed = RoomPlacement(case_id=case.id, user_id=p.user.id)
            db.session.add(placed)
        placed.room, placed.moved_at, placed.moved_by_id = caucus_room(p.user.id), utcnow(), mediator.id
        notices.append(system_message(case, caucus_room(p.user.id),
                                      gettext("为保障各方安全，之后只进行背靠背沟通：您的消息只有调解员能看到。")))
    append_event(case, mediator, "safety_flagged", (case.stage, case.status), note)
    db.session.flush()
    return notices


def sender_label(case: Case, message: RoomMessage) -> str:
    if message.sender_id is None:
        return gettext("系统")
    who = next((p for p in participants(case) if p.user.id == message.sender_id), None)
    if who is None and message.sender_id == case.mediator_id:  # the mediator, seen by a party during the hearing
        return f"{gettext('调解员')} {message.sender.display_name}"
    return who.label if who else message.sender.display_name


def room_label(case: Case, room: str) -> str:
    if room == HEARING:
        return gettext("庭审室")
    owner = caucus_owner(room)
    if owner is None:
        return gettext("联合调解")
    who = next((p for p in participants(case) if p.user.id == owner), None)
    return gettext("背靠背：%(who)s", who=who.label if who else owner)


def message_json(case: Case | None, message: RoomMessage, sender: str | None = None) -> dict:
    """The message as the pages get it; sender: its author's label when known (else looked up on the case)."""
    return {"id": message.id, "room": message.room, "kind": message.kind, "body": message.body,
            "sender_id": message.sender_id, "sender": sender or sender_label(case, message),
            "client_id": message.client_id, "offer_id": message.offer_id, "at": message.created_at.isoformat() + "Z"}
