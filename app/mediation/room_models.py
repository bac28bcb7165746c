"""The session room's stored state: messages, where each party sits (joint room or caucus), offers, safety flags.

Room names: "joint" (everyone), or "caucus-<user id>" (背靠背: that party and the mediator only).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.time import utcnow
from app.extensions import db

JOINT = "joint"
MESSAGE_KINDS = ("text", "system", "offer", "statement")
OFFER_STATUSES = ("open", "accepted", "rejected", "withdrawn")
SIDES = ("applicant", "respondent", "mediator")


def caucus_room(user_id: int) -> str:
    return f"caucus-{user_id}"


def caucus_owner(room: str) -> int | None:
    """The party whose caucus this is, or None for the joint room."""
    return int(room.split("-", 1)[1]) if room.startswith("caucus-") else None


class RoomMessage(db.Model):
    __tablename__ = "room_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    room: Mapped[str] = mapped_column(sa.String(24))
    sender_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: a system notice
    kind: Mapped[str] = mapped_column(sa.String(10), default="text")
    body: Mapped[str] = mapped_column(sa.Text)
    offer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offers.id", ondelete="SET NULL"))
    client_id: Mapped[str | None] = mapped_column(sa.String(40))  # the sender's id for the message: a resend is not a copy
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sender: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_room_messages_case_id_id", "case_id", "id"),
        sa.UniqueConstraint("sender_id", "client_id", name="uq_room_messages_sender_client"),
        sa.CheckConstraint("room IN ('joint', 'hearing') OR room LIKE 'caucus-%'", name="room"),
        sa.CheckConstraint("kind IN ('text', 'system', 'offer', 'statement')", name="kind"),
    )


class RoomPlacement(db.Model):
    """Where the mediator has put a party. No row: the joint room (or their caucus once the joint room is closed)."""

    __tablename__ = "room_placements"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    room: Mapped[str] = mapped_column(sa.String(24))
    moved_at: Mapped[datetime] = mapped_column(default=utcnow)
    moved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.CheckConstraint("room = 'joint' OR room LIKE 'caucus-%'", name="room"),)


class Offer(db.Model):
    """A structured offer or counter-offer. Accepted once both sides have accepted it (the maker's side implicitly)."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    room: Mapped[str] = mapped_column(sa.String(24))
    made_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    side: Mapped[str] = mapped_column(sa.String(12))
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    instalments: Mapped[int | None] = mapped_column()
    pay_by: Mapped[date | None] = mapped_column()
    apology: Mapped[bool] = mapped_column(default=False)
    other_terms: Mapped[str | None] = mapped_column(sa.Text)
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offers.id"))  # the offer this counters
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()

    made_by: Mapped[User] = relationship(foreign_keys=[made_by_id])
    responses: Mapped[list[OfferResponse]] = relationship(order_by="OfferResponse.id", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'accepted', 'rejected', 'withdrawn')", name="status"),
        sa.CheckConstraint("side IN ('applicant', 'respondent', 'mediator')", name="side"),
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name="amount_non_negative"),
        sa.CheckConstraint("instalments IS NULL OR (instalments >= 1 AND instalments <= 120)", name="instalments"),
        sa.CheckConstraint("(status = 'open') = (decided_at IS NULL)", name="decided_at"),
    )


class OfferResponse(db.Model):
    __tablename__ = "offer_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("offers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    side: Mapped[str] = mapped_column(sa.String(12))
    answer: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("offer_id", "user_id", name="uq_offer_responses_offer_user"),
        sa.CheckConstraint("answer IN ('accept', 'reject')", name="answer"),
        sa.CheckConstraint("side IN ('applicant', 'respondent')", name="side"),
    )


class SafetyFlag(db.Model):
    """Violence or coercion flagged by the mediator: from then on the case's joint room stays closed."""

    __tablename__ = "safety_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    note: Mapped[str | None] = mapped_column(sa.Text)
    flagged_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("kind IN ('violence', 'coercion', 'other')", name="kind"),)
