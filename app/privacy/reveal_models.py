"""One row per time a staff member had a party's full phone or ID number shown: who, why, when, from where."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.time import utcnow
from app.extensions import db


class PiiReveal(db.Model):
    """Append-only: the application never updates or deletes these rows."""

    __tablename__ = "pii_reveals"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))  # the revealer's role at the time
    # The case and party may be deleted later (retention): the row stays, with the organisation it was scoped to.
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    party_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_parties.id", ondelete="SET NULL"))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    field: Mapped[str] = mapped_column(sa.String(20))
    reason_code: Mapped[str] = mapped_column(sa.String(30))
    reason_text: Mapped[str] = mapped_column(sa.String(500))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship()

    __table_args__ = (sa.CheckConstraint("field IN ('phone', 'id_number')", name="field"),)
