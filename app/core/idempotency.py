"""Idempotent submissions: a key sent with a form (hidden field) or an API call (Idempotency-Key header) is
claimed once, in the transaction that does the work, under a UNIQUE constraint: the database, not a lock in
one process, decides which of several identical concurrent requests does the work. The others wait for it (the
row lock on PostgreSQL, the write lock on SQLite), find the key taken, and are sent to the first one's result.

A view: replay = claim(); if replay: return it -> do the work -> record(url) -> commit -> redirect(url). No
key (an old page, a script) means no protection, never a refusal: the page works as before. A view that knows
where its work leads before doing it passes claim(result_path=url): the row is written with it, no UPDATE after.
Work that only writes rows of this session may also come first and claim(result_path=url) last: a lost claim
rolls that work back with the session (never so for work with effects outside the transaction: files, messages).
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import flash, g, redirect, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.errors import DomainError
from app.core.i18n import N_, gettext
from app.core.time import utcnow
from app.extensions import db

FIELD = "idempotency_key"
HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
RETENTION_DAYS = 30  # long after any browser could resend the form
REPLAYED = N_("此表单已经提交过，这是那次提交的结果（没有重复创建）。")


class IdempotencyKey(db.Model):
    """One claimed submission: who sent which key to which endpoint, and where its result is."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    result_path: Mapped[str | None] = mapped_column(sa.String(300))  # where the first submission led

    # Scoped to the user and the endpoint: someone else's key can neither block nor reveal a submission.
    __table_args__ = (sa.UniqueConstraint("key", "user_id", "endpoint"),)


def new_key() -> str:
    """A fresh random key for a form being rendered."""
    return secrets.token_urlsafe(24)


def form_key() -> str:
    """The hidden field's key: the one posted (a form shown again with errors keeps it), else a new one."""
    posted = request.form.get(FIELD, "") if request.method == "POST" else ""
    return posted if KEY_RE.match(posted) else new_key()


def request_key() -> str | None:
    """The key sent with this request (header first, then the form field); None when there is none."""
    key = (request.headers.get(HEADER) or request.form.get(FIELD) or "").strip()
    if not key:
        return None
    if not KEY_RE.match(key):
        message = gettext("请求标识（Idempotency-Key）格式有误：应为 16–64 位字母、数字、- 或 _。")
        raise DomainError(message, 400)
    return key


def claim(user_id: int, endpoint: str | None = None, result_path: str | None = None):
    """Claim this request's key: None to go ahead (or no key), else a redirect to the result of the earlier
    submission with the same key. A lost claim rolls the session back, so it comes before any effect outside the
    transaction; result_path, when already known, is stored with the claim (record() then has nothing to write)."""
    key = request_key()
    if key is None:
        return None
    endpoint = endpoint or request.endpoint or request.path
    row = IdempotencyKey(key=key, user_id=user_id, endpoint=endpoint, created_at=utcnow(),
                         result_path=result_path[:300] if result_path else None)
    db.session.add(row)
    try:
        db.session.flush()  # waits for a concurrent claim of the same key to commit or roll back
    except IntegrityError as exc:
        db.session.rollback()
        earlier = db.session.scalar(sa.select(IdempotencyKey).where(
            IdempotencyKey.key == key, IdempotencyKey.user_id == user_id,
            IdempotencyKey.endpoint == endpoint))
        if earlier is None or not earlier.result_path:  # cannot happen: the claim commits with its result
            raise DomainError(gettext("此表单正在提交中，请稍候刷新页面查看结果。"), 409) from exc
        flash(gettext(REPLAYED), "info")
        return redirect(earlier.result_path)
    g.idempotency_claim = row
    return None


def record(result_path: str) -> None:
    """Store where this request's work led, in the same transaction as the work (no-op without a claim)."""
    row = g.pop("idempotency_claim", None)
    if row is not None and row.result_path != result_path[:300]:
        row.result_path = result_path[:300]
        db.session.flush()


def purge(days: int = RETENTION_DAYS, now: datetime | None = None) -> int:
    """Delete keys older than `days` (no form is resubmitted that late); returns how many. Never commits."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
                                .execution_options(synchronize_session=False))
    return result.rowcount or 0
