"""Per-court bearer tokens: issued once in plain text, stored as SHA-256 only, revocable. Never commits."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, User
from app.api.models import ApiToken
from app.core.errors import DomainError
from app.core.time import utcnow
from app.extensions import db

LAST_USED_RESOLUTION = timedelta(minutes=1)  # write last_used_at at most once a minute per token


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(court: Organisation, name: str, created_by: User | None = None) -> tuple[ApiToken, str]:
    """A new token for a court: returns the row and the plain token, which is shown once and never stored."""
    if court is None or court.type != OrgType.court:
        raise DomainError("API tokens are issued to courts only.", 422)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise DomainError("A token needs a name of 1 to 80 characters.", 422)
    plain = secrets.token_urlsafe(32)
    row = ApiToken(organisation_id=court.id, name=name, token_hash=hash_token(plain),
                   created_by_id=created_by.id if created_by else None, created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row, plain


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


def authenticated_token(header: str | None) -> ApiToken | None:
    """The live token row the header names, else None (missing, malformed, unknown or revoked)."""
    token = token_from_header(header)
    if token is None:
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or row.organisation.type != OrgType.court:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        db.session.flush()
    return row


def authenticate(header: str | None) -> Organisation | None:
    """The court an `Authorization: Bearer <token>` header speaks for, or None (unknown or revoked token)."""
    row = authenticated_token(header)
    return row.organisation if row else None
