"""Scheduling a remote session (slots the mediator proposes, each party's pick, reminders) and mediation deadlines."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.time import utcnow
from app.extensions import db


class SessionSlot(db.Model):
    """A time the mediator proposes (UTC). Confirmed once every party has picked it."""

    __tablename__ = "session_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column()
    minutes: Mapped[int] = mapped_column(default=60)
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()

    picks: Mapped[list[SlotPick]] = relationship(order_by="SlotPick.id", cascade="all, delete-orphan")

    __table_args__ = (sa.CheckConstraint("minutes BETWEEN 15 AND 480", name="minutes"),)


class SlotPick(db.Model):
    """A party's choice among the proposed slots: one per party per case (picking again moves it)."""

    __tablename__ = "slot_picks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("session_slots.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("case_id", "user_id", name="uq_slot_picks_case_user"),)


class SlotReminder(db.Model):
    """A reminder due before a confirmed slot; the job that sends it marks sent_at, so it is sent once."""

    __tablename__ = "slot_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("session_slots.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(4))
    due_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        sa.UniqueConstraint("slot_id", "kind", name="uq_slot_reminders_slot_kind"),
        sa.CheckConstraint("kind IN ('24h', '1h')", name="kind"),
    )


class DeadlineExtension(db.Model):
    """The mediator asks to extend the mediation deadline; it takes effect only when every party consents."""

    __tablename__ = "deadline_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    new_due_on: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.Text)
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(8), default="pending")
    decided_at: Mapped[datetime | None] = mapped_column()

    consents: Mapped[list[ExtensionConsent]] = relationship(order_by="ExtensionConsent.id",
                                                              cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'agreed', 'refused')", name="status"),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided_at"),
    )


class ExtensionConsent(db.Model):
    __tablename__ = "extension_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    extension_id: Mapped[int] = mapped_column(sa.ForeignKey("deadline_extensions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    agreed: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("extension_id", "user_id", name="uq_extension_consents_ext_user"),)
