"""Consent records: who agreed to which version of the personal-information rules, for which purposes, and when
(PIPL art. 14/29: informed, separate, provable; art. 15: withdrawable)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.time import utcnow
from app.extensions import db

# How a consent was given: online by the user themself, or in person before a grid worker filing on their behalf.
CONSENT_METHODS = ("online", "in_person_signed", "in_person_read_aloud")


class ConsentRecord(db.Model):
    """One act of consent to one version of the rules. Never deleted; withdrawal sets withdrawn_at."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The resident's account; NULL when a grid worker filed for a resident without one (then case_id says which).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    subject_name: Mapped[str | None] = mapped_column(sa.String(120))  # the resident's name (grid worker filings)
    version: Mapped[str] = mapped_column(sa.String(20))
    text_sha256: Mapped[str] = mapped_column(sa.String(64))  # of the exact text shown
    purposes: Mapped[list] = mapped_column(sa.JSON)
    method: Mapped[str] = mapped_column(sa.String(24), default="online")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # the grid worker, if not online
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    __table_args__ = (
        sa.CheckConstraint("user_id IS NOT NULL OR case_id IS NOT NULL", name="subject"),
        sa.CheckConstraint("method IN ('online', 'in_person_signed', 'in_person_read_aloud')", name="method"),
        sa.CheckConstraint("method = 'online' OR recorded_by_id IS NOT NULL", name="recorded_by"),
    )


class PersonalDataPurge(db.Model):
    """That (and when) the retention job removed a closed case's personal data, with counts of what went."""

    __tablename__ = "personal_data_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    purged_at: Mapped[datetime] = mapped_column(default=utcnow)
    retention_days: Mapped[int] = mapped_column()
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class PurgedFile(db.Model):
    """A stored file (evidence or issued document) removed by the retention job: its row elsewhere keeps the
    SHA-256; this says when the bytes went."""

    __tablename__ = "purged_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))      # evidence | document
    row_id: Mapped[int] = mapped_column()                 # evidence_files.id or documents.id
    sha256: Mapped[str] = mapped_column(sa.String(64))
    purged_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("kind", "row_id", name="uq_purged_files_kind_row"),
                      sa.CheckConstraint("kind IN ('evidence', 'document')", name="kind"))
