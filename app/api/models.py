"""Bearer tokens of the court-facing API: one or more per court, stored as SHA-256 only, revocable, expiring."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation
from app.core.time import utcnow
from app.extensions import db


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))            # e.g. "镜湖区法院立案系统"
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    # API_TOKEN_DAYS after issue (`flask api-tokens issue --days` for another span); `rotate` replaces a token.
    expires_at: Mapped[datetime] = mapped_column()
    # The token this one replaced (`flask api-tokens rotate`), so the list shows a token's line of descent.
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))

    organisation: Mapped[Organisation] = relationship()
