"""Structured offers and counter-offers in the session room, and each side's answer.

An offer is made by a party (their side accepts it by making it) or by the mediator (a proposal both sides must accept).
It is accepted once the applicant side and the respondent side have each accepted; any refusal by a side that must
answer rejects it. A counter-offer rejects the offer it answers. An offer is seen where it was made: the joint room
(everyone), or a caucus (that party and the mediator).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from app.accounts.models import User
from app.cases.models import Case
from app.cases.operations import append_event
from app.core.i18n import gettext
from app.core.time import beijing_today, utcnow
from app.extensions import db
from app.mediation.room import (
    RoomError,
    _require_open,
    current_room,
    joint_closed,
    participant,
    visible_rooms,
)
from app.mediation.room_models import JOINT, Offer, OfferResponse, RoomMessage

PARTY_SIDES = ("applicant", "respondent")
MAX_AMOUNT = Decimal("100000000")


def _amount(raw) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw).replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        raise RoomError(gettext("金额请填写数字，例如 5000 或 5000.50。"), field="amount") from None
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT:
        raise RoomError(gettext("金额应在 0 到 1 亿元之间。"), field="amount")
    if value.as_tuple().exponent < -2:
        raise RoomError(gettext("金额最多保留两位小数。"), field="amount")
    return value.quantize(Decimal("0.01"))


def _instalments(raw) -> int | None:
    if raw in (None, "", 1, "1"):
        return None if raw in (None, "") else 1
    try:
        n = int(str(raw).strip())
    except ValueError:
        raise RoomError(gettext("分期数请填写 1 到 120 之间的整数。"), field="instalments") from None
    if not 1 <= n <= 120:
        raise RoomError(gettext("分期数请填写 1 到 120 之间的整数。"), field="instalments")
    return n


def _pay_by(raw, today: date) -> date | None:
    if raw in (None, ""):
        return None
    try:
        value = date.fromisoformat(str(raw).strip())
    except ValueError:
        raise RoomError(gettext("履行期限请按“年-月-日”填写，例如 2026-12-31。"), field="pay_by") from None
    if value < today:
        raise RoomError(gettext("履行期限不能早于今天。"), field="pay_by")
    if value > today + timedelta(days=3650):
        raise RoomError(gettext("履行期限不能超过十年。"), field="pay_by")
    return value


def make_offer(case: Case, user: User, data: dict, room: str | None = None) -> tuple[Offer, RoomMessage]:
    """Validate and store an offer (errors name the field); returns it with the room message that shows it."""
    who = participant(case, user)
    if who is None:
        raise RoomError(gettext("您不是本案的参与人。"), status_code=403)
    _require_open(case)
    today = beijing_today()
    amount, instalments = _amount(data.get("amount")), _instalments(data.get("instalments"))
    pay_by, apology = _pay_by(data.get("pay_by"), today), bool(data.get("apology"))
    other = (data.get("other_terms") or "").strip()
    if len(other) > 2000:
        raise RoomError(gettext("其他条款最多 2000 字。"), field="other_terms")
    if amount is None and not apology and not other:
        raise RoomError(gettext("请至少填写金额、赔礼道歉或其他条款中的一项。"), field="amount")
    if instalments and instalments > 1 and amount is None:
        raise RoomError(gettext("分期支付需要填写金额。"), field="instalments")
    if who.side != "mediator":
        room = current_room(case, user)
    elif room not in visible_rooms(case, user):
        raise RoomError(gettext("没有这个会话。"), field="room")
    if room == JOINT and joint_closed(case) and who.side != "mediator":
        raise RoomError(gettext("本案已标记安全风险，联合调解已关闭，只能背靠背沟通。"), field="room", status_code=409)
    replaces = _replaced(case, user, data.get("replaces_id"))
    offer = Offer(case_id=case.id, room=room, made_by_id=user.id, side=who.side, amount=amount,
                  instalments=instalments, pay_by=pay_by, apology=apology, other_terms=other or None,
                  replaces_id=replaces.id if replaces else None, status="open", created_at=utcnow())
    db.session.add(offer)
    if replaces is not None and replaces.status == "open":
        replaces.status, replaces.decided_at = "rejected", utcnow()
    db.session.flush()
    message = RoomMessage(case_id=case.id, room=room, sender_id=user.id, kind="offer", body=describe(offer),
                          offer_id=offer.id, created_at=utcnow())
    db.session.add(message)
    db.session.flush()
    return offer, message


def _replaced(case: Case, user: User, raw) -> Offer | None:
    if raw in (None, ""):
        return None
    try:
        offer = db.session.get(Offer, int(raw))
    except (TypeError, ValueError):
        offer = None
    if offer is None or offer.case_id != case.id or offer.room not in visible_rooms(case, user):
        raise RoomError(gettext("没有这个方案。"), field="replaces_id")
    return offer


def respond(case: Case, user: User, offer_id, answer: str) -> Offer:
    """A party accepts or rejects an offer they can see and did not make (nor their side)."""
    who = participant(case, user)
    if who is None or who.side not in PARTY_SIDES:
        raise RoomError(gettext("只有当事人可以接受或拒绝方案。"), status_code=403)
    _require_open(case)
    try:
        offer = db.session.get(Offer, int(offer_id))
    except (TypeError, ValueError):
        offer = None
    if offer is None or offer.case_id != case.id or offer.room not in visible_rooms(case, user):
        raise RoomError(gettext("没有这个方案。"), status_code=404)
    if answer not in ("accept", "reject"):
        raise RoomError(gettext("请选择接受或拒绝。"), field="answer")
    if offer.status != "open":
        raise RoomError(gettext("这个方案已经%(status)s，不能再答复。", status=status_label(offer.status)), status_code=409)
    if offer.side == who.side:
        raise RoomError(gettext("这是您一方提出的方案，等待对方答复。"), status_code=409)
    existing = db.session.scalar(sa.select(OfferResponse).where(OfferResponse.offer_id == offer.id,
                                                                OfferResponse.user_id == user.id))
    if existing is None:
        db.session.add(OfferResponse(offer_id=offer.id, user_id=user.id, side=who.side, answer=answer,
                                     created_at=utcnow()))
    else:
        existing.answer, existing.created_at = answer, utcnow()
    db.session.flush()
    _settle_status(case, offer, user)
    return offer


def _settle_status(case: Case, offer: Offer, user: User) -> None:
    answers = {r.side: r.answer for r in offer.responses}
    if "reject" in answers.values():
        offer.status, offer.decided_at = "rejected", utcnow()
    elif all(side == offer.side or answers.get(side) == "accept" for side in PARTY_SIDES):
        offer.status, offer.decided_at = "accepted", utcnow()
        append_event(case, user, "offer_accepted", (case.stage, case.status), describe(offer))
    db.session.flush()


def withdraw(case: Case, user: User, offer_id) -> Offer:
    offer = db.session.get(Offer, int(offer_id)) if str(offer_id).isdigit() else None
    if offer is None or offer.case_id != case.id or offer.made_by_id != user.id:
        raise RoomError(gettext("只能撤回自己提出的方案。"), status_code=403)
    if offer.status != "open":
        raise RoomError(gettext("这个方案已经%(status)s，不能撤回。", status=status_label(offer.status)), status_code=409)
    offer.status, offer.decided_at = "withdrawn", utcnow()
    db.session.flush()
    return offer


def visible_offers(case: Case, user: User) -> list[Offer]:
    rooms = visible_rooms(case, user)
    if not rooms:
        return []
    return db.session.scalars(sa.select(Offer).where(Offer.case_id == case.id, Offer.room.in_(rooms))
                              .order_by(Offer.id)).all()


def status_label(status: str) -> str:
    return {"open": gettext("待答复"), "accepted": gettext("双方已接受"), "rejected": gettext("被拒绝"),
            "withdrawn": gettext("已撤回")}[status]


def side_label(side: str) -> str:
    return {"applicant": gettext("申请人"), "respondent": gettext("被申请人"), "mediator": gettext("调解员")}[side]


def describe(offer: Offer) -> str:
    """The offer as one plain sentence, e.g. "支付 5,000.00 元，分 3 期，于 2026-12-31 前付清；赔礼道歉"."""
    parts = []
    if offer.amount is not None:
        money = gettext("支付 %(amount)s 元", amount=f"{offer.amount:,.2f}")
        if offer.instalments and offer.instalments > 1:
            money += gettext("，分 %(n)s 期", n=offer.instalments)
        if offer.pay_by:
            money += gettext("，于 %(date)s 前付清", date=offer.pay_by.isoformat())
        parts.append(money)
    elif offer.pay_by:
        parts.append(gettext("于 %(date)s 前履行", date=offer.pay_by.isoformat()))
    if offer.apology:
        parts.append(gettext("赔礼道歉"))
    if offer.other_terms:
        parts.append(offer.other_terms)
    return gettext("；").join(parts)


def offer_json(offer: Offer) -> dict:
    """The same for every viewer (it is broadcast to a room); each page works out itself whether it may answer."""
    answers = {r.side: r.answer for r in offer.responses}
    return {"id": offer.id, "room": offer.room, "side": offer.side, "side_label": side_label(offer.side),
            "made_by_id": offer.made_by_id, "text": describe(offer), "status": offer.status,
            "status_label": status_label(offer.status),
            "amount": str(offer.amount) if offer.amount is not None else None, "instalments": offer.instalments,
            "pay_by": offer.pay_by.isoformat() if offer.pay_by else None, "apology": offer.apology,
            "other_terms": offer.other_terms, "replaces_id": offer.replaces_id, "answers": answers}
