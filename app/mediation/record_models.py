"""The mediation record (调解笔录): statements the mediator enters, frozen versions, and the participants' signatures;
and the agreement draft prefilled from accepted offers when mediation settles (the agreement issue builds on it)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.time import utcnow
from app.extensions import db


class RecordStatement(db.Model):
    """What a participant said, as the mediator enters it into the record."""

    __tablename__ = "record_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    speaker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    speaker_label: Mapped[str] = mapped_column(sa.String(120))  # e.g. "申请人 张三", "调解员 李四"
    text: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediationRecord(db.Model):
    """A frozen version of the record: its content (JSON drawn from the session) and the SHA-256 of that content.
    Signatures bind to content_hash; a new version is needed after any change."""

    __tablename__ = "mediation_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column()
    content: Mapped[dict] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column()

    signatures: Mapped[list[RecordSignature]] = relationship(order_by="RecordSignature.id",
                                                               cascade="all, delete-orphan")

    __table_args__ = (sa.UniqueConstraint("case_id", "version", name="uq_mediation_records_case_version"),)


class RecordSignature(db.Model):
    __tablename__ = "record_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("mediation_records.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    typed_name: Mapped[str] = mapped_column(sa.String(60))
    content_hash: Mapped[str] = mapped_column(sa.String(64))  # the hash the signer saw
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("record_id", "user_id", name="uq_record_signatures_record_user"),)


class AgreementDraft(db.Model):
    """Terms prefilled from the accepted offers when the mediator records a settlement."""

    __tablename__ = "agreement_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    terms: Mapped[list] = mapped_column(sa.JSON)       # one dict per accepted offer: amount, instalments, pay_by, ...
    offer_ids: Mapped[list] = mapped_column(sa.JSON)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
