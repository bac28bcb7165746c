"""What the governance dashboard needs beyond the cases themselves: the parties' ratings of the service."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.time import utcnow
from app.extensions import db


class SatisfactionRating(db.Model):
    """A party's rating of how their case was handled (1-5), given once after the case closed."""

    __tablename__ = "satisfaction_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    score: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (
        sa.UniqueConstraint("case_id", "user_id", name="uq_satisfaction_ratings_case_user"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score"),
    )
