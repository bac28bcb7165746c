"""Socket.IO events of the session room (namespace /room). Thin: each handler checks who is asking, calls an
operation in room.py / offers.py, commits, and broadcasts to the Socket.IO rooms that may see the result.

Socket.IO rooms per case N: "cN:joint", "cN:caucus-U" (party U and the mediator), "cN:hearing" (the arbitration
hearing: the arbitrator and the parties), "cN:uU" (one person, for
placement changes and WebRTC signals). A party is only ever put in the joint room and their own caucus, so a caucus
message cannot reach the other party however the client behaves.
"""
from __future__ import annotations

import functools
import os
import random
import time

from flask import current_app, request, session
from flask_login import current_user
from flask_socketio import emit, join_room

from app.cases.models import Case
from app.core.i18n import gettext
from app.extensions import db, socketio
from app.mediation import offers as offer_ops
from app.mediation import room as ops
from app.mediation import room_rate
from app.mediation.room_models import Offer, caucus_room

NS = "/room"
RECHECK_SECONDS = 60


def _sio_room(case_id: int, room: str) -> str:
    return f"c{case_id}:{room}"


def _user_room(case_id: int, user_id: int) -> str:
    return f"c{case_id}:u{user_id}"


def _case() -> Case | None:
    case_id = session.get("room_case_id")
    return ops.load_room_case(case_id) if case_id else None


def _user(case: Case):
    """Who this connection belongs to, as a participant object of the already loaded case (no query)."""
    seat = _seat(case)
    if seat is None:
        return None
    who = next((p for p in ops.participants(case) if p.user.id == seat.user_id), None)
    return who.user if who else None


def _seat(case: Case | None = None) -> ops.Seat | None:
    """The connection's seat, remembered at connect. Once every RECHECK_SECONDS the login is checked against the
    server-side session (logout, idle and absolute timeouts) and the seat against the case (a mediator replaced);
    RECHECK_SECONDS on average, jittered."""
    raw = session.get("room_seat")
    if raw is None:
        return None
    if time.monotonic() > session.get("room_recheck_at", 0):
        case = case or _case()
        if case is None or not current_user.is_authenticated or current_user.id != raw["user_id"]:
            session.pop("room_seat", None)
            return None
        return _remember_seat(case, current_user._get_current_object())
    return ops.Seat(**{**raw, "rooms": tuple(raw["rooms"])})


def _remember_seat(case: Case, user) -> ops.Seat | None:
    seat = ops.seat_for(case, user)
    if seat is None:
        session.pop("room_seat", None)
        return None
    session["room_seat"] = {**seat.__dict__, "rooms": list(seat.rooms)}
    # Spread out: connections opened together (a session starting) must not all re-check in the same second.
    session["room_recheck_at"] = time.monotonic() + RECHECK_SECONDS * random.uniform(0.75, 1.25)
    return seat


def _refused(exc: ops.RoomError) -> dict:
    return {"ok": False, "error": exc.message, "field": exc.field, "status": exc.status_code}


Outgoing = list[tuple[str, dict, str]]  # (event, payload, Socket.IO room): sent after the commit


def _too_fast() -> dict:
    return {"ok": False, "error": gettext("发送太频繁了，请稍等几秒再发。"), "status": 429}


def handler(fn, kind: str = "chat"):
    """Load the case of this connection, refuse non-participants, turn RoomErrors into an ack. The handler returns
    (ack, outgoing) with every payload already built: after the commit the ORM objects are expired, and reading
    them again would cost a query each. A connection sending faster than room_rate allows is refused first."""
    @functools.wraps(fn)
    def wrapper(data=None):
        if not room_rate.allow(request.sid, kind):
            return _too_fast()
        case = _case()
        user = _user(case) if case is not None else None
        if case is None or user is None:
            return {"ok": False, "error": gettext("您不是本案的参与人，或登录已过期，请刷新页面。"), "status": 403}
        data = data if isinstance(data, dict) else {}
        try:
            ack, outgoing = fn(case, user, data)
        except ops.RoomError as exc:
            db.session.rollback()
            return _refused(exc)
        db.session.commit()
        for event, payload, room in outgoing:
            socketio.emit(event, payload, to=room, namespace=NS)
        return ack
    return wrapper


def _messages_out(case: Case, messages) -> Outgoing:
    return [("chat", ops.message_json(case, m), _sio_room(case.id, m.room)) for m in messages]


def _offer_out(offer: Offer) -> Outgoing:
    return [("offer", offer_ops.offer_json(offer), _sio_room(offer.case_id, offer.room))]


def state_for(case: Case, user) -> dict:
    who = ops.participant(case, user)
    return {"user_id": user.id, "side": who.side, "host": who.host, "hearing": ops.hearing_phase(case),
            "pid": os.getpid(), "open": ops.room_open(case),
            "joint_closed": ops.joint_closed(case), "current_room": ops.current_room(case, user),
            "rooms": [{"id": r, "label": ops.room_label(case, r)} for r in ops.visible_rooms(case, user)],
            "participants": [{"user_id": p.user.id, "side": p.side, "label": p.label,
                              "room": ops.current_room(case, p.user)} for p in ops.participants(case)],
            "history": [ops.message_json(case, m) for m in ops.history(case, user)],
            "offers": [offer_ops.offer_json(o) for o in offer_ops.visible_offers(case, user)],
            "ice_servers": current_app.config.get("ICE_SERVERS", [])}


@socketio.on("connect", namespace=NS)
def on_connect(auth=None):
    """Only the case's mediator (the arbitrator during the hearing) and parties get in; everyone else is refused before
    joining any room."""
    try:
        case_id = int((auth or {}).get("case_id"))
    except (TypeError, ValueError):
        return False
    case = ops.load_room_case(case_id)
    if case is None or not current_user.is_authenticated or not ops.room_started(case):
        return False
    user = current_user._get_current_object()
    if ops.participant(case, user) is None:
        return False
    session["room_case_id"] = case.id
    _remember_seat(case, user)
    for room in ops.visible_rooms(case, user):
        join_room(_sio_room(case.id, room))
    join_room(_user_room(case.id, user.id))
    emit("state", state_for(case, user))
    # Presence goes to the first room: the joint room in mediation, the hearing room in a hearing.
    emit("presence", {"user_id": user.id, "online": True}, to=_sio_room(case.id, ops.visible_rooms(case, user)[0]),
         include_self=False)
    return True


@socketio.on("disconnect", namespace=NS)
def on_disconnect(reason=None):
    room_rate.forget(request.sid)
    seat = session.get("room_seat")
    if seat:
        emit("presence", {"user_id": seat["user_id"], "online": False},
             to=_sio_room(seat["case_id"], (seat.get("rooms") or ["joint"])[0]))


@socketio.on("send", namespace=NS)
def on_send(data=None):
    """The hot path (every chat message): posted from the connection's seat with one query for the room's state,
    instead of loading the case and its parties."""
    if not room_rate.allow(request.sid):
        return _too_fast()
    seat = _seat()
    if seat is None:
        return {"ok": False, "error": gettext("您不是本案的参与人，或登录已过期，请刷新页面。"), "status": 403}
    data = data if isinstance(data, dict) else {}
    try:
        message, created = ops.post_from_seat(seat, data.get("room"), data.get("body"), data.get("client_id"))
    except ops.RoomError as exc:
        db.session.rollback()
        return _refused(exc)
    payload = ops.message_json(None, message, sender=seat.label)
    db.session.commit()
    if created:
        socketio.emit("chat", payload, to=_sio_room(seat.case_id, payload["room"]), namespace=NS)
    return {"ok": True, "message": payload}


@socketio.on("history", namespace=NS)
@handler
def on_history(case, user, data):
    """Messages after the last one the client has (a reconnect restores what it missed)."""
    try:
        after = int(data.get("after_id") or 0)
    except (TypeError, ValueError):
        after = 0
    return {"ok": True, "history": [ops.message_json(case, m) for m in ops.history(case, user, after)]}, []


@socketio.on("move", namespace=NS)
@handler
def on_move(case, user, data):
    try:
        party_id = int(data.get("user_id"))
    except (TypeError, ValueError):
        raise ops.RoomError(gettext("没有这位当事人。"), field="user_id") from None
    notices = ops.move_party(case, user, party_id, data.get("room") or "")
    placement = {"user_id": party_id, "room": data.get("room")}
    return {"ok": True, **placement}, _messages_out(case, notices) + [
        ("placement", placement, _sio_room(case.id, "joint")),
        ("placement", placement, _sio_room(case.id, caucus_room(party_id)))]


@socketio.on("flag", namespace=NS)
@handler
def on_flag(case, user, data):
    notices = ops.flag_safety(case, user, data.get("kind") or "", data.get("note"))
    closed = [("joint_closed", {"room": ops.current_room(case, p.user)}, _user_room(case.id, p.user.id))
              for p in ops.participants(case)]
    return {"ok": True}, _messages_out(case, notices) + closed


def _no_offers_in_hearing(case: Case) -> None:
    ops.require_mediation(case, gettext("提出或答复调解方案"))


@socketio.on("offer", namespace=NS)
@handler
def on_offer(case, user, data):
    _no_offers_in_hearing(case)
    offer, message = offer_ops.make_offer(case, user, data, data.get("room"))
    out = _offer_out(offer) + _messages_out(case, [message])
    if offer.replaces_id:
        out += _offer_out(db.session.get(Offer, offer.replaces_id))
    return {"ok": True, "offer": out[0][1]}, out


@socketio.on("respond", namespace=NS)
@handler
def on_respond(case, user, data):
    _no_offers_in_hearing(case)
    offer = offer_ops.respond(case, user, data.get("offer_id"), data.get("answer") or "")
    out = _offer_out(offer)
    return {"ok": True, "offer": out[0][1]}, out


@socketio.on("withdraw", namespace=NS)
@handler
def on_withdraw(case, user, data):
    _no_offers_in_hearing(case)
    offer = offer_ops.withdraw(case, user, data.get("offer_id"))
    out = _offer_out(offer)
    return {"ok": True, "offer": out[0][1]}, out


@socketio.on("signal", namespace=NS)
@functools.partial(handler, kind="signal")
def on_signal(case, user, data):
    """WebRTC signalling (offer/answer/ICE candidates), relayed to one participant. Between two parties only while
    the joint room is open: after a safety flag, calls are only between the mediator and one party."""
    try:
        to = int(data.get("to"))
    except (TypeError, ValueError):
        raise ops.RoomError(gettext("没有这位参与人。"), field="to") from None
    me, them = ops.participant(case, user), next((p for p in ops.participants(case) if p.user.id == to), None)
    if them is None or them.user.id == user.id:
        raise ops.RoomError(gettext("没有这位参与人。"), field="to")
    if not (me.host or them.host or ops.hearing_phase(case)) and ops.joint_closed(case):
        raise ops.RoomError(gettext("本案已标记安全风险，联合调解已关闭，只能背靠背沟通。"), status_code=409)
    payload = data.get("data")
    if not isinstance(payload, dict) or len(str(payload)) > 20000:
        raise ops.RoomError(gettext("信令数据无效。"), field="data")
    return {"ok": True}, [("signal", {"from": user.id, "data": payload}, _user_room(case.id, to))]


@socketio.on("show", namespace=NS)
@handler
def on_show(case, user, data):
    """Show a piece of the case's evidence to a room (everyone's viewer opens it)."""
    from app.cases.models import EvidenceFile

    ops._require_open(case)
    try:
        evidence = db.session.get(EvidenceFile, int(data.get("evidence_id")))
    except (TypeError, ValueError):
        evidence = None
    if evidence is None or evidence.case_id != case.id:
        raise ops.RoomError(gettext("没有这份证据。"), field="evidence_id")
    who = ops.participant(case, user)
    room = data.get("room") if who.host and not ops.hearing_phase(case) else ops.current_room(case, user)
    if room not in ops.visible_rooms(case, user):
        raise ops.RoomError(gettext("没有这个会话。"), field="room")
    return {"ok": True}, [("show", {"evidence_id": evidence.id, "by": who.label}, _sio_room(case.id, room))]
