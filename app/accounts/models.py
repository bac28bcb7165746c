"""Accounts: users with one role, organisations with a type, tier and region, server-side sessions."""
from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.crypto import EncryptedString, blind_index_or_none
from app.core.enums import LabelledEnum, enum_column
from app.core.masking import mask_phone
from app.core.time import utcnow
from app.extensions import db


class Role(LabelledEnum):
    resident = ("resident", "居民", "Resident")
    grid_worker = ("grid_worker", "网格员", "Grid worker")
    mediator = ("mediator", "调解员", "Mediator")
    org_admin = ("org_admin", "调解组织管理员", "Organisation admin")
    arbitrator = ("arbitrator", "仲裁员", "Arbitrator")
    court_clerk = ("court_clerk", "法院立案庭", "Court clerk")
    admin = ("admin", "系统管理员", "Administrator")


class OrgType(LabelledEnum):
    people_mediation = ("people_mediation", "人民调解委员会", "People's mediation committee")
    trade_mediation = ("trade_mediation", "行业性专业性调解组织", "Trade mediation body")
    lawyer_mediation = ("lawyer_mediation", "律师调解工作室", "Lawyer mediation studio")
    court = ("court", "人民法院", "Court")
    arbitration_commission = ("arbitration_commission", "仲裁委员会", "Arbitration commission")
    labour_arbitration = ("labour_arbitration", "劳动人事争议仲裁委员会", "Labour arbitration commission")

    @property
    def mediates(self) -> bool:
        return self in (OrgType.people_mediation, OrgType.trade_mediation, OrgType.lawyer_mediation)


class Tier(LabelledEnum):
    village = ("village", "村（社区）级", "Village / community")
    town = ("town", "乡镇（街道）级", "Town / street")
    county = ("county", "县（区）级", "County / district")

    @property
    def rank(self) -> int:
        return {"village": 0, "town": 1, "county": 2}[self.value]


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    type: Mapped[OrgType] = mapped_column(enum_column(OrgType, "org_type"))
    tier: Mapped[Tier] = mapped_column(enum_column(Tier, "org_tier"))
    region_code: Mapped[str] = mapped_column(sa.String(12), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(60))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), default=Role.resident)
    phone: Mapped[str | None] = mapped_column(EncryptedString("users.phone"))  # encrypted at rest (core/crypto)
    phone_bidx: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # blind index, follows `phone`
    # When the phone was proven by an SMS code sent to it (app/accounts/phone.py); None: never, or it changed since
    # (follows `phone`: any other number clears it). Only a verified number counts as the person's own.
    phone_verified_at: Mapped[datetime | None] = mapped_column()
    email: Mapped[str | None] = mapped_column(sa.String(120))
    region_code: Mapped[str | None] = mapped_column(sa.String(12))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the resident closed (注销) the account (app/privacy/closure.py): the row stays, anonymised, because cases,
    # events and signatures refer to it.
    closed_at: Mapped[datetime | None] = mapped_column()
    # Set when an organisation admin gave the resident a temporary password at the counter (app/accounts/admin_ops.py):
    # the next login burns it and asks for a new password before any other page.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # When that temporary password stops working (TEMP_PASSWORD_HOURS after it was given); None without one.
    temp_password_expires_at: Mapped[datetime | None] = mapped_column()

    organisation: Mapped[Organisation | None] = relationship(back_populates="members")
    mediator_profile: Mapped[MediatorProfile | None] = relationship(back_populates="user")

    # Set per request by the user loader: the token of the server-side session in use.
    session_token = None  # type: str | None

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str | None:
        """Flask-Login stores the server-side session token, never the bare user id."""
        return self.session_token

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def phone_verified(self) -> bool:
        return bool(self.phone) and self.phone_verified_at is not None

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"


@sa.event.listens_for(User.phone, "set")
def _user_phone_set(target: User, value: str | None, oldvalue, initiator) -> None:
    bidx = blind_index_or_none("phone", value)
    if sa.inspect(target).attrs.phone_bidx.loaded_value != bidx:  # another number (or not known): not proven
        target.phone_verified_at = None
    target.phone_bidx = bidx


class MediatorProfile(db.Model):
    __tablename__ = "mediator_profiles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    specialties: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    capacity: Mapped[int] = mapped_column(default=10)
    available: Mapped[bool] = mapped_column(default=True)
    # Declared for conflict-of-interest checks: close relatives' names, and any other employer.
    relatives: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    employer: Mapped[str | None] = mapped_column(sa.String(120))

    user: Mapped[User] = relationship(back_populates="mediator_profile")

    __table_args__ = (sa.CheckConstraint("capacity >= 0", name="capacity_non_negative"),)


class UserSession(db.Model):
    """A login session held on the server; the cookie carries only its random token."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    # Why it ended (SessionEnd): the login page tells a timed-out user so, rather than a bare "please log in".
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))

    user: Mapped[User] = relationship()

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode("ascii")).hexdigest()


class PasswordReset(db.Model):
    """A code sent by SMS to the phone on an account, to set a new password (app/accounts/recovery.py). The browser
    holds a random token (in its signed session); the database holds the token's SHA-256 and an HMAC of the code
    under the SECRET_KEY, so a copy of the database alone cannot recover a code."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    code_hmac: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))

    user: Mapped[User] = relationship()


class TotpFactor(db.Model):
    """A second factor (OWASP ASVS 5.0 6.3.3): a TOTP authenticator app (RFC 6238, 6 digits, 30 s) the user enrolled
    at /account/mfa (app/accounts/mfa.py). The shared secret is encrypted at rest; last_step refuses a code seen
    before (a replay)."""

    __tablename__ = "totp_factors"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(EncryptedString("totp_factors.secret"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column()  # None until a first code proved the app has it
    last_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class MfaRecoveryCode(db.Model):
    """One of the ten one-time codes shown once when two-step verification is turned on: a way in when the phone
    is lost (app/accounts/mfa.py). Only their SHA-256 is kept (40 random bits each, and a login limit)."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column()


class PhoneVerification(db.Model):
    """A code sent by SMS to prove a phone number (app/accounts/phone.py): the account's own number (purpose
    "verify"), or a new number the account is to change to (purpose "change"), which replaces the old one only once
    its code is typed. The number is encrypted at rest with its blind index, as users.phone; only an HMAC of the code
    is kept (app/core/sms_codes.py). An account has at most one unused row: a newer code, a confirmation or a
    cancelled change sets used_at."""

    __tablename__ = "phone_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(10))
    phone: Mapped[str] = mapped_column(EncryptedString("phone_verifications.phone"))  # encrypted at rest
    phone_bidx: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # blind index, follows `phone`
    salt: Mapped[str] = mapped_column(sa.String(32))
    code_hmac: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column()  # confirmed, replaced by a newer code, or cancelled
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))

    user: Mapped[User] = relationship()

    __table_args__ = (sa.CheckConstraint("purpose IN ('verify', 'change')", name="purpose"),)


@sa.event.listens_for(PhoneVerification.phone, "set")
def _verification_phone_set(target: PhoneVerification, value: str | None, oldvalue, initiator) -> None:
    target.phone_bidx = blind_index_or_none("phone", value)


# What an account event's hash covers: every column it is written with except its id (as PiiReveal's HASHED).
ACCOUNT_EVENT_HASHED = ("actor_id", "actor_role", "target_id", "organisation_id", "action", "reason",
                        "id_checked", "sessions_ended", "ip", "created_at")
# Covered too, but only when set: the events written before the column existed keep the hashes they were given.
ACCOUNT_EVENT_HASHED_WHEN_SET = ("actor_os_user",)
CLI_ACTOR_ROLE = "cli"  # actor_role of an event written by `flask users` on the server (no actor_id)


def account_event_payload(values: dict) -> dict:
    """The hashed content of an account event from its column values (ACCOUNT_EVENT_HASHED, and the
    ACCOUNT_EVENT_HASHED_WHEN_SET ones that are not None)."""
    payload = {name: values[name] for name in ACCOUNT_EVENT_HASHED}
    payload.update((name, values[name]) for name in ACCOUNT_EVENT_HASHED_WHEN_SET if values[name] is not None)
    return payload


class AccountEvent(db.Model):
    """What an organisation admin did to an account from the web (app/accounts/admin_ops.py), or the system
    administrator with `flask users` on the server (app/accounts/cli.py: no actor_id, actor_role 'cli', the OS user in
    actor_os_user): stop or restart it, end its sessions, reset its second factor, give a resident a temporary
    password; and what people did to their own phone number (app/accounts/phone.py: verified it, changed it; actor
    and target are then the same account, and no number is recorded). Who, to whom, why, from where.

    Append-only and hash-chained in id order like the PII reveal log (app/core/audit.py): `hash` = sha256(`prev_hash`
    || canonical JSON of ACCOUNT_EVENT_HASHED); `flask audit verify` checks it. No foreign key on target_id's
    organisation: the row keeps saying which organisation acted even if the person later moves."""

    __tablename__ = "account_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)  # None: the CLI
    actor_role: Mapped[str] = mapped_column(sa.String(20))  # the actor's role at the time, or CLI_ACTOR_ROLE
    actor_os_user: Mapped[str | None] = mapped_column(sa.String(64))  # the CLI's operating-system user
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(index=True)  # the actor's organisation at the time
    action: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.String(500))
    id_checked: Mapped[bool] = mapped_column(default=False)  # an identity document was seen (assisted reset)
    sessions_ended: Mapped[int] = mapped_column(default=0)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # unique: the chain cannot fork
    hash: Mapped[str] = mapped_column(sa.String(64))

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    target: Mapped[User] = relationship(foreign_keys=[target_id])

    __table_args__ = (
        sa.CheckConstraint("action IN ('deactivate', 'activate', 'end_sessions', 'reset_mfa', 'assisted_reset', "
                           "'phone_verified', 'phone_changed')", name="action"),
        sa.CheckConstraint("actor_id IS NOT NULL OR (actor_role = 'cli' AND actor_os_user IS NOT NULL)",
                           name="actor_known"),
    )

    def payload(self) -> dict:
        """The hashed content (account_event_payload)."""
        return account_event_payload({name: getattr(self, name)
                                      for name in ACCOUNT_EVENT_HASHED + ACCOUNT_EVENT_HASHED_WHEN_SET})
