"""Per-court bearer tokens: issued once in plain text, stored as SHA-256 only, revocable, expiring after
API_TOKEN_DAYS, and rotated (a new token, the old one revoked) from the CLI. Never commits."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.accounts.models import Organisation, OrgType, User
from app.api.models import ApiToken
from app.core.errors import DomainError
from app.core.time import utcnow
from app.extensions import db

LAST_USED_RESOLUTION = timedelta(minutes=1)  # write last_used_at at most once a minute per token


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


MAX_DAYS = 3660  # ten years: a longer span is a typo


@dataclass(frozen=True)
class TokenCheck:
    """What an Authorization header amounts to: the live token row, or why there is none (a security log reason)."""

    row: ApiToken | None
    reason: str | None = None          # no_token, invalid_token (unknown, revoked, not a court's) or expired_token
    expired_at: datetime | None = None


def _lifetime(days: int | None) -> timedelta:
    days = current_app.config["API_TOKEN_DAYS"] if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise DomainError(f"A token lasts 1 to {MAX_DAYS} days.", 422)
    return timedelta(days=days)


def issue_token(court: Organisation, name: str, created_by: User | None = None, days: int | None = None,
                replaces: ApiToken | None = None) -> tuple[ApiToken, str]:
    """A new token for a court, valid for `days` (default API_TOKEN_DAYS): returns the row and the plain token, which
    is shown once and never stored."""
    if court is None or court.type != OrgType.court:
        raise DomainError("API tokens are issued to courts only.", 422)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise DomainError("A token needs a name of 1 to 80 characters.", 422)
    lifetime, now = _lifetime(days), utcnow()
    plain = secrets.token_urlsafe(32)
    row = ApiToken(organisation_id=court.id, name=name, token_hash=hash_token(plain),
                   created_by_id=created_by.id if created_by else None, created_at=now, expires_at=now + lifetime,
                   replaces_id=replaces.id if replaces else None)
    db.session.add(row)
    db.session.flush()
    return row, plain


def rotate(old: ApiToken, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for the same court and purpose (expired or not), the old one revoked at once."""
    if old.revoked_at is not None:
        raise DomainError(f"Token {old.id} was revoked on {old.revoked_at:%Y-%m-%d %H:%M} UTC: issue a new one.", 409)
    row, plain = issue_token(old.organisation, old.name, days=days, replaces=old)
    revoke(old)
    return row, plain


def state(row: ApiToken, now: datetime | None = None) -> str:
    """active, expired or revoked."""
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= (now or utcnow()) else "active"


def revoke(token_row: ApiToken) -> ApiToken:
    """Revoke a token (idempotent: the first revocation time is kept)."""
    if token_row.revoked_at is None:
        token_row.revoked_at = utcnow()
        db.session.flush()
    return token_row


def token_from_header(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, value = (header or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        return None
    return value


def check_token(header: str | None) -> TokenCheck:
    """The live token row the header names, or why not: missing or malformed (no_token), unknown, revoked or not a
    court's (invalid_token), past its expiry (expired_token: only whoever holds the token learns it expired)."""
    token = token_from_header(header)
    if token is None:
        return TokenCheck(None, "no_token")
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or row.organisation.type != OrgType.court:
        return TokenCheck(None, "invalid_token")
    now = utcnow()
    if row.expires_at <= now:
        return TokenCheck(None, "expired_token", row.expires_at)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        db.session.flush()
    return TokenCheck(row)


def authenticated_token(header: str | None) -> ApiToken | None:
    """The live token row the header names, else None (missing, malformed, unknown, revoked or expired)."""
    return check_token(header).row


def authenticate(header: str | None) -> Organisation | None:
    """The court an `Authorization: Bearer <token>` header speaks for, or None (unknown, revoked or expired)."""
    row = authenticated_token(header)
    return row.organisation if row else None
