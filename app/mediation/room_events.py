"""Socket.IO events of the session room (namespace /room). Thin: each handler checks who is asking, calls an
operation in room.py / offers.py, commits, and broadcasts to the Socket.IO rooms that may see the result.

Socket.IO rooms per case N: "cN:joint", "cN:caucus-U" (party U and the mediator), "cN:uU" (one person, for
placement changes and WebRTC signals). A party is only ever put in the joint room and their own caucus, so a caucus
message cannot reach the other party however the client behaves.
"""
from __future__ import annotations

import functools
import os
import time

from flask import current_app, session
from flask_babel import gettext
from flask_login import current_user
from flask_socketio import emit, join_room

from app.accounts.models import User
from app.cases.models import Case
from app.extensions import db, socketio
from app.mediation import offers as offer_ops
from app.mediation import room as ops
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


def _user():
    """Who this connection belongs to. The login is re-checked against the server-side session (logout, idle and
    absolute timeouts) at most once every RECHECK_SECONDS; in between, the id remembered at connect is used."""
    user_id = session.get("room_user_id")
    if user_id is None:
        return None
    if time.monotonic() - session.get("room_checked", 0) > RECHECK_SECONDS:
        if not current_user.is_authenticated or current_user.id != user_id:
            session.pop("room_user_id", None)
            return None
        session["room_checked"] = time.monotonic()
        return current_user._get_current_object()
    return db.session.get(User, user_id)


def _refused(exc: ops.RoomError) -> dict:
    return {"ok": False, "error": exc.message, "field": exc.field, "status": exc.status_code}


def handler(fn):
    """Load the case of this connection, refuse non-participants, turn RoomErrors into an ack, commit on success."""
    @functools.wraps(fn)
    def wrapper(data=None):
        case, user = _case(), _user()
        if case is None or user is None or ops.participant(case, user) is None:
            return {"ok": False, "error": gettext("您不是本案的参与人，或登录已过期，请刷新页面。"), "status": 403}
        data = data if isinstance(data, dict) else {}
        try:
            result = fn(case, user, data)
        except ops.RoomError as exc:
            db.session.rollback()
            return _refused(exc)
        db.session.commit()
        return result
    return wrapper


def _broadcast_messages(case: Case, messages) -> None:
    for m in messages:
        socketio.emit("chat", ops.message_json(case, m), to=_sio_room(case.id, m.room), namespace=NS)


def _broadcast_offer(case: Case, offer: Offer) -> None:
    socketio.emit("offer", offer_ops.offer_json(offer), to=_sio_room(case.id, offer.room), namespace=NS)


def state_for(case: Case, user) -> dict:
    who = ops.participant(case, user)
    return {"user_id": user.id, "side": who.side, "pid": os.getpid(), "open": ops.room_open(case),
            "joint_closed": ops.joint_closed(case), "current_room": ops.current_room(case, user),
            "rooms": [{"id": r, "label": ops.room_label(case, r)} for r in ops.visible_rooms(case, user)],
            "participants": [{"user_id": p.user.id, "side": p.side, "label": p.label,
                              "room": ops.current_room(case, p.user)} for p in ops.participants(case)],
            "history": [ops.message_json(case, m) for m in ops.history(case, user)],
            "offers": [offer_ops.offer_json(o) for o in offer_ops.visible_offers(case, user)],
            "ice_servers": current_app.config.get("ICE_SERVERS", [])}


@socketio.on("connect", namespace=NS)
def on_connect(auth=None):
    """Only the case's mediator and parties get in; everyone else is refused before joining any room."""
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
    session["room_user_id"], session["room_checked"] = user.id, time.monotonic()
    for room in ops.visible_rooms(case, user):
        join_room(_sio_room(case.id, room))
    join_room(_user_room(case.id, user.id))
    emit("state", state_for(case, user))
    emit("presence", {"user_id": user.id, "online": True}, to=_sio_room(case.id, "joint"), include_self=False)
    return True


@socketio.on("disconnect", namespace=NS)
def on_disconnect(reason=None):
    case_id, user_id = session.get("room_case_id"), session.get("room_user_id")
    if case_id and user_id:
        emit("presence", {"user_id": user_id, "online": False}, to=_sio_room(case_id, "joint"))


@socketio.on("send", namespace=NS)
@handler
def on_send(case, user, data):
    message, created = ops.post_message(case, user, data.get("room"), data.get("body"), data.get("client_id"))
    db.session.commit()
    if created:
        _broadcast_messages(case, [message])
    return {"ok": True, "message": ops.message_json(case, message)}


@socketio.on("history", namespace=NS)
@handler
def on_history(case, user, data):
    """Messages after the last one the client has (a reconnect restores what it missed)."""
    try:
        after = int(data.get("after_id") or 0)
    except (TypeError, ValueError):
        after = 0
    return {"ok": True, "history": [ops.message_json(case, m) for m in ops.history(case, user, after)]}


@socketio.on("move", namespace=NS)
@handler
def on_move(case, user, data):
    try:
        party_id = int(data.get("user_id"))
    except (TypeError, ValueError):
        raise ops.RoomError(gettext("没有这位当事人。"), field="user_id") from None
    notices = ops.move_party(case, user, party_id, data.get("room") or "")
    db.session.commit()
    _broadcast_messages(case, notices)
    placement = {"user_id": party_id, "room": ops.current_room(case, db.session.get(type(user), party_id))}
    socketio.emit("placement", placement, to=_sio_room(case.id, "joint"), namespace=NS)
    socketio.emit("placement", placement, to=_sio_room(case.id, caucus_room(party_id)), namespace=NS)
    return {"ok": True, **placement}


@socketio.on("flag", namespace=NS)
@handler
def on_flag(case, user, data):
    notices = ops.flag_safety(case, user, data.get("kind") or "", data.get("note"))
    db.session.commit()
    _broadcast_messages(case, notices)
    for p in ops.participants(case):
        socketio.emit("joint_closed", {"room": ops.current_room(case, p.user)}, to=_user_room(case.id, p.user.id),
                      namespace=NS)
    return {"ok": True}


@socketio.on("offer", namespace=NS)
@handler
def on_offer(case, user, data):
    offer, message = offer_ops.make_offer(case, user, data, data.get("room"))
    db.session.commit()
    _broadcast_offer(case, offer)
    _broadcast_messages(case, [message])
    if offer.replaces_id:
        _broadcast_offer(case, db.session.get(Offer, offer.replaces_id))
    return {"ok": True, "offer": offer_ops.offer_json(offer)}


@socketio.on("respond", namespace=NS)
@handler
def on_respond(case, user, data):
    offer = offer_ops.respond(case, user, data.get("offer_id"), data.get("answer") or "")
    db.session.commit()
    _broadcast_offer(case, offer)
    return {"ok": True, "offer": offer_ops.offer_json(offer)}


@socketio.on("withdraw", namespace=NS)
@handler
def on_withdraw(case, user, data):
    offer = offer_ops.withdraw(case, user, data.get("offer_id"))
    db.session.commit()
    _broadcast_offer(case, offer)
    return {"ok": True, "offer": offer_ops.offer_json(offer)}


@socketio.on("signal", namespace=NS)
@handler
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
    if "mediator" not in (me.side, them.side) and ops.joint_closed(case):
        raise ops.RoomError(gettext("本案已标记安全风险，联合调解已关闭，只能背靠背沟通。"), status_code=409)
    payload = data.get("data")
    if not isinstance(payload, dict) or len(str(payload)) > 20000:
        raise ops.RoomError(gettext("信令数据无效。"), field="data")
    socketio.emit("signal", {"from": user.id, "data": payload}, to=_user_room(case.id, to), namespace=NS)
    return {"ok": True}


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
    room = ops.current_room(case, user) if who.side != "mediator" else data.get("room")
    if room not in ops.visible_rooms(case, user):
        raise ops.RoomError(gettext("没有这个会话。"), field="room")
    socketio.emit("show", {"evidence_id": evidence.id, "by": who.label}, to=_sio_room(case.id, room), namespace=NS)
    return {"ok": True}
