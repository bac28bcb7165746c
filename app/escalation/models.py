"""Escalation records: arbitration agreements signed online, hearings, awards, and court filings (one row per
submission, so a returned filing and its resubmission both stay on record)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.core.time import utcnow
from app.extensions import db


class ArbitrationClause(db.Model):
    """An arbitration agreement (仲裁协议, 仲裁法 art. 16) proposed on the platform and signed online by every party.
    It names the commission; once every party has signed, the case counts as having an arbitration agreement."""

    __tablename__ = "arbitration_clauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    commission_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    content_hash: Mapped[str] = mapped_column(sa.String(64))   # SHA-256 of the text each signer saw
    status: Mapped[str] = mapped_column(sa.String(10), default="signing")
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()    # when the last party signed

    commission: Mapped[Organisation] = relationship()
    proposed_by: Mapped[User] = relationship()
    signatures: Mapped[list[ArbitrationClauseSignature]] = relationship(
        order_by="ArbitrationClauseSignature.id", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("status IN ('signing', 'signed', 'withdrawn')", name="status"),
        sa.CheckConstraint("(status = 'signed') = (completed_at IS NOT NULL)", name="completed_at"),
    )


class ArbitrationClauseSignature(db.Model):
    __tablename__ = "arbitration_clause_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    clause_id: Mapped[int] = mapped_column(sa.ForeignKey("arbitration_clauses.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(sa.String(12))            # applicant | respondent
    typed_name: Mapped[str] = mapped_column(sa.String(60))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("clause_id", "user_id", name="uq_arbitration_clause_signatures_clause_user"),
        sa.CheckConstraint("role IN ('applicant', 'respondent')", name="role"),
    )


class Hearing(db.Model):
    """An arbitration hearing (开庭), held online in the case's session room; the arbitrator records it afterwards."""

    __tablename__ = "arbitration_hearings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    arbitrator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column()
    place: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(10), default="scheduled")
    record_text: Mapped[str | None] = mapped_column(sa.Text)   # 庭审笔录 (summary the arbitrator enters)
    recorded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    arbitrator: Mapped[User] = relationship()

    __table_args__ = (
        sa.CheckConstraint("status IN ('scheduled', 'held', 'cancelled')", name="status"),
        sa.CheckConstraint("status <> 'held' OR (record_text IS NOT NULL AND recorded_at IS NOT NULL)", name="record"),
    )


class Award(db.Model):
    """The arbitral award (裁决书): drafted by the arbitrator, then issued once as a PDF signed with the commission's
    key (PAdES, like the settlement agreements). Issued awards do not change."""

    __tablename__ = "arbitration_awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    arbitrator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    number: Mapped[str | None] = mapped_column(sa.String(60))  # e.g. 镜劳人仲案字〔2026〕第12号, given at issue
    claims: Mapped[str] = mapped_column(sa.Text)               # 仲裁请求
    findings: Mapped[str] = mapped_column(sa.Text)             # 经审理查明
    reasoning: Mapped[str] = mapped_column(sa.Text)            # 本委认为
    decision: Mapped[str] = mapped_column(sa.Text)             # 裁决如下 (one item per line)
    status: Mapped[str] = mapped_column(sa.String(8), default="draft")
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))  # of the canonical content, fixed at issue
    issued_at: Mapped[datetime | None] = mapped_column()
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # of the signed PDF: what /verify looks up
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    body: Mapped[Organisation] = relationship()
    arbitrator: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("body_id", "number", name="uq_arbitration_awards_body_number"),  # numbers never repeat
        sa.CheckConstraint("status IN ('draft', 'issued')", name="status"),
        sa.CheckConstraint("status <> 'issued' OR (issued_at IS NOT NULL AND number IS NOT NULL "
                           "AND content_hash IS NOT NULL AND sha256 IS NOT NULL)", name="issued"),
    )


class CourtFiling(db.Model):
    """One submission of the filing package (起诉材料) to a court: the complaint's content as submitted, the court
    chosen and on what ground, and the clerk's answer. A resubmission after a return is a new row (seq + 1)."""

    __tablename__ = "court_filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column()
    court_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    jurisdiction_basis: Mapped[str] = mapped_column(sa.String(30))  # a key of mediation_rules/jurisdiction.yaml
    performance_region_code: Mapped[str | None] = mapped_column(sa.String(12))  # contracts: place of performance
    cause_code: Mapped[str] = mapped_column(sa.String(40))     # a key of mediation_rules/causes.yaml
    cause_name: Mapped[str] = mapped_column(sa.String(80))     # 案由 as submitted
    claims: Mapped[str] = mapped_column(sa.Text)               # 诉讼请求
    facts: Mapped[str] = mapped_column(sa.Text)                # 事实与理由
    fee_estimate: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))  # 案件受理费 estimate shown at filing
    complaint_document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    status: Mapped[str] = mapped_column(sa.String(10), default="submitted")
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reasons: Mapped[str | None] = mapped_column(sa.Text)       # why it was returned
    court_case_number: Mapped[str | None] = mapped_column(sa.String(60))

    court: Mapped[Organisation] = relationship()
    submitted_by: Mapped[User] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        sa.UniqueConstraint("case_id", "seq", name="uq_court_filings_case_seq"),
        sa.CheckConstraint("status IN ('submitted', 'returned', 'accepted')", name="status"),
        sa.CheckConstraint("status = 'submitted' OR decided_at IS NOT NULL", name="decided"),
        sa.CheckConstraint("status <> 'returned' OR reasons IS NOT NULL", name="reasons"),
        sa.CheckConstraint("status <> 'accepted' OR court_case_number IS NOT NULL", name="number"),
    )
