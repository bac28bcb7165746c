"""A second factor at login (OWASP ASVS 5.0 6.3.3): a TOTP authenticator app (RFC 6238 via pyotp: 6 digits, 30 s,
one step of clock drift either way). Never commits.

Enrolment (/account/mfa) shows a QR code (segno, an inline SVG) and the secret; the factor counts once a first code
proves the app has it. At login, after the password, an account with a factor is asked for a code before any session
starts (app/accounts/views.py). A code is refused if its time step was used before (a replay). Roles listed in
MFA_REQUIRED_ROLES (e.g. "mediator,org_admin,admin,court_clerk,arbitrator" in production) must enrol before any
other page: the login leaves a flag in the signed session cookie, so no page pays a query for it. A lost phone:
one of the ten one-time recovery codes shown at enrolment, or the administrator removes the factor
(`flask users reset-mfa USERNAME`) and the user enrols again."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app

from app.accounts.models import MfaRecoveryCode, TotpFactor, User
from app.core.time import utcnow
from app.extensions import db

ISSUER = "解纷 Jiefen"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


def factor(user: User) -> TotpFactor | None:
    """The user's confirmed factor, or None."""
    row = db.session.get(TotpFactor, user.id)
    return row if row is not None and row.confirmed_at is not None else None


def required(user: User) -> bool:
    """Must this user have a factor (their role is in MFA_REQUIRED_ROLES)?"""
    roles = current_app.config.get("MFA_REQUIRED_ROLES") or ()
    if isinstance(roles, str):
        roles = [r.strip() for r in roles.split(",") if r.strip()]
    return user.role.value in roles


def start_enrolment(user: User) -> TotpFactor:
    """The user's factor row: a new unconfirmed secret when there is none (a new phone: remove the old one first)."""
    row = db.session.get(TotpFactor, user.id)
    if row is None:
        row = TotpFactor(user_id=user.id, secret=pyotp.random_base32())
        db.session.add(row)
        db.session.flush()
    return row


def pending_secret(user: User) -> str | None:
    """The secret being enrolled (unconfirmed), or None."""
    row = db.session.get(TotpFactor, user.id)
    return row.secret if row is not None and row.confirmed_at is None else None


def qr_svg(user: User, secret: str) -> str:
    """The otpauth:// URI as a QR code, an SVG data URI for an <img> (the CSP allows data: images)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    base = totp.timecode(now or datetime.now(UTC))
    for step in (base, base - 1, base + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify(row: TotpFactor, code: str, now: datetime | None = None) -> bool:
    """Is this the current code of the factor, not used before? Records its step when it is."""
    step = _matching_step(row.secret, code, now)
    if step is None or (row.last_step is not None and step <= row.last_step):
        return False
    row.last_step = step
    db.session.flush()
    return True


def confirm(user: User, code: str) -> list[str] | None:
    """Finish enrolment with a first code from the app: the new recovery codes (shown once), or None."""
    row = db.session.get(TotpFactor, user.id)
    if row is None or row.confirmed_at is not None or not verify(row, code):
        return None
    row.confirmed_at = utcnow()
    return new_recovery_codes(user)


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace(" ", "").encode("utf-8")).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh one-time codes ("abcd-efgh", 40 random bits each); the old ones stop working."""
    db.session.execute(sa.delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    codes = ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(2))
             for _ in range(RECOVERY_CODES)]
    db.session.add_all(MfaRecoveryCode(user_id=user.id, code_hash=_hash(c)) for c in codes)
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str) -> int | None:
    """Spend one recovery code: how many remain, or None when it is not an unused code of this user."""
    row = db.session.scalar(sa.select(MfaRecoveryCode).where(
        MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.code_hash == _hash(code),
        MfaRecoveryCode.used_at.is_(None)))
    if row is None:
        return None
    row.used_at = utcnow()
    db.session.flush()
    return db.session.scalar(sa.select(sa.func.count()).select_from(MfaRecoveryCode).where(
        MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.used_at.is_(None))) or 0


def remove(user: User) -> bool:
    """Remove the user's factor (the user with a code, or the administrator); whether there was one."""
    db.session.execute(sa.delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    row = db.session.get(TotpFactor, user.id)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True
