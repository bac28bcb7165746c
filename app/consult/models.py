"""What residents asked at the consult stage, what they were shown, and whether it solved their problem."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.time import utcnow
from app.extensions import db


class ConsultQuery(db.Model):
    """One question asked on the consult page. resolved: True/False once the resident answered
    "这解决了我的问题吗？", None until then. The share of True is the "resolved at consult" figure."""

    __tablename__ = "consult_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[str | None] = mapped_column(sa.String(40), index=True)     # routing prior, if any
    entry_ids: Mapped[list] = mapped_column(sa.JSON, default=list)             # answers shown, best first
    resolved: Mapped[bool | None] = mapped_column(sa.Boolean, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    feedback_at: Mapped[datetime | None] = mapped_column()
