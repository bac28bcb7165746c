"""Invitations to mediation (one-time links for respondents) and the outbox of messages to deliver."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.cases.models import Case, CaseParty
from app.core.crypto import EncryptedRecipient
from app.core.time import utcnow
from app.extensions import db

# How an invitation ended: the respondent's answer, its 7 days passing, or "revoked" when the mediator corrected the
# party's phone number and sent a new invitation in its place (its link and codes then stop working).
ANSWERS = ("accepted", "declined", "expired", "revoked")
CHANNELS = ("email", "sms", "in_app")


class Invitation(db.Model):
    """A respondent's invitation to mediate. Only the sha256 of the one-time token is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("case_parties.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(sa.String(10))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    party: Mapped[CaseParty] = relationship()

    __table_args__ = (
        sa.CheckConstraint("answer IS NULL OR answer IN ('accepted', 'declined', 'expired', 'revoked')", name="answer"),
        sa.CheckConstraint("(answer IS NULL) = (answered_at IS NULL)", name="answered_at"),
    )

    @property
    def pending(self) -> bool:
        return self.answer is None

    @property
    def revoked(self) -> bool:
        return self.answer == "revoked"


class InvitationCode(db.Model):
    """A one-time code sent by SMS to the invited party's number on file, so that a resident whose account has
    another number (or none) proves they hold the invited one (app/mediation/operations.py). As with password reset
    codes (app/accounts/recovery.py) only an HMAC of the code under the SECRET_KEY is stored, with a salt of its own;
    a code belongs to the invitation and to the account that asked for it, and the newest one replaces the others."""

    __tablename__ = "invitation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    salt: Mapped[str] = mapped_column(sa.String(32))
    code_hmac: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column()  # the right code was typed: the account holds the number


class OutboxMessage(db.Model):
    """A message a sender process delivers (`flask outbox send`); never sent from a request."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    # A phone number or e-mail address (encrypted at rest, app/core/crypto.py), or a user id (in_app, in the clear).
    to: Mapped[str] = mapped_column(EncryptedRecipient("outbox_messages.to"))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # Delivery state of the sender (app/notifications/outbox.py): a claim is a lease that another sender may take
    # over once it expires; a failed attempt waits until next_attempt_at; gave_up_at after the last attempt.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(40))
    claimed_until: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    gave_up_at: Mapped[datetime | None]

    __table_args__ = (
        sa.CheckConstraint("channel IN ('email', 'sms', 'in_app')", name="channel"),
        # The nav's unread badge counts these on every page: only each user's own unread in-app messages.
        sa.Index("ix_outbox_messages_unread_in_app", "to",
                 postgresql_where=sa.text("channel = 'in_app' AND sent_at IS NULL"),
                 sqlite_where=sa.text("channel = 'in_app' AND sent_at IS NULL")),
    )


# The session room, scheduling and the record keep their models in their own modules; importing them here
# registers every mediation table with the metadata (migrations, tests) wherever app.mediation.models is imported.
from app.mediation.record_models import (  # noqa: E402,F401
    AgreementDraft,
    MediationRecord,
    RecordSignature,
    RecordStatement,
)
from app.mediation.room_models import Offer, OfferResponse, RoomMessage, RoomPlacement, SafetyFlag  # noqa: E402,F401
from app.mediation.schedule_models import (  # noqa: E402,F401
    DeadlineExtension,
    ExtensionConsent,
    SessionSlot,
    SlotPick,
    SlotReminder,
)
