"""Settlement agreements (人民调解协议书): versions, signatures, change requests, the rendered and signed PDF, and
applications for judicial confirmation (司法确认).

Once an agreement is fully signed (signed_at set) neither it nor its signatures may change: an ORM guard (guards.py)
and database triggers (the migration) refuse UPDATE and DELETE. A correction is a new agreement that supersedes it.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.core.time import utcnow
from app.extensions import db

AGREEMENT_STATUSES = ("draft", "signing", "signed", "superseded")
SIGNER_ROLES = ("applicant", "respondent", "mediator")


class Agreement(db.Model):
    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    version: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(10), default="draft")
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agreements.id"))  # the version (or signed agreement) it replaces
    facts: Mapped[str] = mapped_column(sa.Text)              # 纠纷主要事实
    responsibility: Mapped[str] = mapped_column(sa.Text)     # 各方责任
    terms: Mapped[list] = mapped_column(sa.JSON)             # [{"clause": key, "params": {...}, "text": "..."}]
    performance: Mapped[str] = mapped_column(sa.Text)        # 履行方式、地点、期限
    summary: Mapped[str | None] = mapped_column(sa.Text)     # plain-language summary shown beside the legal text
    change_note: Mapped[str | None] = mapped_column(sa.Text)  # why this version exists (the change asked for)
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))  # SHA-256 of the canonical content, fixed for signing
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column()     # when the last signature (the mediator's) was made

    signatures: Mapped[list[AgreementSignature]] = relationship(order_by="AgreementSignature.id")
    created_by: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("case_id", "version", name="uq_agreements_case_version"),
        sa.CheckConstraint("status IN ('draft', 'signing', 'signed', 'superseded')", name="status"),
        sa.CheckConstraint("(status = 'signed') = (signed_at IS NOT NULL)", name="signed_at"),
        sa.CheckConstraint("status = 'draft' OR status = 'superseded' OR content_hash IS NOT NULL", name="content_hash"),
    )


class AgreementSignature(db.Model):
    __tablename__ = "agreement_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreements.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(sa.String(12))
    method: Mapped[str] = mapped_column(sa.String(6))        # drawn (a handwritten image) or typed
    typed_name: Mapped[str] = mapped_column(sa.String(60))
    image_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # the drawn signature, re-encoded PNG
    content_hash: Mapped[str] = mapped_column(sa.String(64))  # the agreement's hash the signer saw
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("agreement_id", "user_id", name="uq_agreement_signatures_agreement_user"),
        sa.CheckConstraint("role IN ('applicant', 'respondent', 'mediator')", name="role"),
        sa.CheckConstraint("method IN ('drawn', 'typed')", name="method"),
        sa.CheckConstraint("method = 'typed' OR image_png IS NOT NULL", name="image"),
    )


class ChangeRequest(db.Model):
    """A party asks for changes to a draft; the mediator answers with a new version (the differences shown)."""

    __tablename__ = "agreement_change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreements.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_by_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agreements.id"))

    user: Mapped[User] = relationship()


class AgreementPdf(db.Model):
    """The rendered and digitally signed PDF of a fully signed agreement (a job makes it, outside the request).
    Kept apart from the agreement row, which is frozen once signed."""

    __tablename__ = "agreement_pdfs"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreements.id"), unique=True)
    status: Mapped[str] = mapped_column(sa.String(8), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # of the signed PDF: what /verify looks up
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        sa.CheckConstraint("status <> 'done' OR (document_id IS NOT NULL AND sha256 IS NOT NULL)", name="done"),
    )


class ConfirmationApplication(db.Model):
    """A joint application for judicial confirmation (司法确认申请): one party applies, the other confirms, then the
    competent court's clerk confirms or rejects with reasons. Within 30 days of the agreement taking effect."""

    __tablename__ = "confirmation_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreements.id"), index=True)
    court_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default="awaiting")
    applied_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    joined_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    joined_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reasons: Mapped[str | None] = mapped_column(sa.Text)
    deadline_at: Mapped[datetime] = mapped_column()          # 30 days after the agreement was signed

    court: Mapped[Organisation] = relationship()
    applied_by: Mapped[User] = relationship(foreign_keys=[applied_by_id])
    joined_by: Mapped[User | None] = relationship(foreign_keys=[joined_by_id])

    __table_args__ = (
        sa.CheckConstraint("status IN ('awaiting', 'submitted', 'confirmed', 'rejected', 'withdrawn')", name="status"),
        sa.CheckConstraint("status NOT IN ('submitted', 'confirmed', 'rejected') OR joined_at IS NOT NULL",
                           name="joined"),
        sa.CheckConstraint("status NOT IN ('confirmed', 'rejected') OR decided_at IS NOT NULL", name="decided"),
        sa.CheckConstraint("status <> 'rejected' OR reasons IS NOT NULL", name="reasons"),
    )
