"""Closing an account (注销, PIPL art. 47): a resident ends their account themselves, and the personal data it holds
goes at once. Never commits.

The row stays: cases, events, signatures and consent records refer to it. It is anonymised in place: no name,
phone, e-mail or region, a username nobody can log in with (the old one is free to register again), a password
hash of random bytes, every session ended, every consent withdrawn, in-app messages deleted, undelivered e-mail
and SMS to the old number or address given up, password reset codes and the second factor deleted, consult
questions detached and their text cleared. While a dispute of theirs is still in progress the account cannot be closed (the other party,
the mediator or a court may still need them); the page lists those disputes. Disputes that ended keep their
parties' data for the retention period like any other (the retention job purges it, app/privacy/retention.py).
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.accounts import mfa
from app.accounts.models import PasswordReset, PhoneVerification, Role, User, UserSession
from app.accounts.operations import SessionEnd, end_sessions, hash_password
from app.cases.models import Case
from app.core.time import utcnow
from app.extensions import db
from app.mediation.models import OutboxMessage
from app.privacy.consent_models import ConsentRecord
from app.privacy.retention_rules import ENDED_STATES, PURGED

log = logging.getLogger(__name__)

# Stored as the display name of a closed account: what other people's pages show for its past actions.
CLOSED_NAME = "已注销用户"
CLOSED_USERNAME_PREFIX = "closed-"


class ClosureRefused(Exception):
    """The account cannot be closed (yet): `reason` is a code the page explains."""

    def __init__(self, reason: str, cases: list[Case] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cases = cases or []


@dataclass
class ClosureReport:
    sessions: int = 0
    consents_withdrawn: int = 0
    in_app_deleted: int = 0
    messages_given_up: int = 0
    consult_queries_detached: int = 0


def can_close_itself(user: User) -> bool:
    """Residents close their own accounts; staff accounts are stopped by their organisation's administrator."""
    return user.role == Role.resident


def cases_in_progress(user: User) -> list[Case]:
    """The user's disputes (filed by them or naming them as a party) that have not ended, oldest first."""
    cases = db.metadata.tables["cases"]
    ended = sa.or_(*[sa.and_(cases.c.stage == stage, *([cases.c.status == status] if status else []))
                     for stage, status in ENDED_STATES])
    return list(db.session.scalars(sa.select(Case).where(Case.visible_to(user), ~ended).order_by(Case.id)))


def close_account(user: User, why: str = "closed by its owner") -> ClosureReport:
    """Close the account now (see the module's docstring); ClosureRefused when it may not be closed."""
    if not can_close_itself(user):
        raise ClosureRefused("staff")
    if user.closed_at is not None:
        raise ClosureRefused("already_closed")
    blocking = cases_in_progress(user)
    if blocking:
        raise ClosureRefused("cases_in_progress", blocking)
    now = utcnow()
    report = ClosureReport()
    report.sessions = _count(sa.select(sa.func.count()).select_from(UserSession)
                             .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None)))
    end_sessions(UserSession.user_id == user.id, reason=SessionEnd.account_closed)
    report.consents_withdrawn = db.session.execute(
        sa.update(ConsentRecord).where(ConsentRecord.user_id == user.id, ConsentRecord.withdrawn_at.is_(None))
        .values(withdrawn_at=now).execution_options(synchronize_session=False)).rowcount or 0
    report.in_app_deleted = db.session.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.channel == "in_app", OutboxMessage.to == str(user.id))
        .execution_options(synchronize_session=False)).rowcount or 0
    report.messages_given_up = _give_up_messages_to(user, now)
    db.session.execute(sa.delete(PasswordReset).where(PasswordReset.user_id == user.id))  # codes, IPs: nothing to keep
    db.session.execute(sa.delete(PhoneVerification).where(PhoneVerification.user_id == user.id))  # numbers, codes
    mfa.remove(user)  # the authenticator secret and recovery codes
    consult = db.metadata.tables["consult_queries"]
    report.consult_queries_detached = db.session.execute(  # their own words go; the statistics stay
        sa.update(consult).where(consult.c.user_id == user.id).values(user_id=None, question=PURGED)).rowcount or 0
    _anonymise(user, now)
    db.session.flush()
    log.info("account %s %s: %s", user.id, why, report)
    return report


def _count(query) -> int:
    return db.session.scalar(query) or 0


def _give_up_messages_to(user: User, now) -> int:
    """Undelivered e-mail and SMS to the user's number or address are never sent. The recipient is encrypted with a
    random nonce, so the pending ones (few: the sender delivers within minutes) are compared decrypted."""
    waiting = db.session.scalars(sa.select(PhoneVerification.phone).where(  # a code on its way to a new number
        PhoneVerification.user_id == user.id, PhoneVerification.used_at.is_(None)))
    addresses = {a for a in (user.phone, user.email, *waiting) if a}
    if not addresses:
        return 0
    pending = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.channel.in_(("sms", "email")), OutboxMessage.sent_at.is_(None),
        OutboxMessage.gave_up_at.is_(None)))
    given_up = 0
    for message in pending:
        if message.to in addresses:
            message.gave_up_at, message.last_error = now, "the recipient closed the account"
            message.claimed_by = message.claimed_until = None
            given_up += 1
    return given_up


def _anonymise(user: User, now) -> None:
    user.username = f"{CLOSED_USERNAME_PREFIX}{user.id}-{secrets.token_hex(4)}"
    user.password_hash = hash_password(secrets.token_urlsafe(32))  # nobody knows it: no login, no reset
    user.display_name = CLOSED_NAME
    user.phone = None  # the blind index follows (accounts.models)
    user.email = None
    user.region_code = None
    user.active = False
    user.closed_at = now


def inactive_residents(days: int, now: datetime | None = None) -> list[User]:
    """Open resident accounts with no request for more than `days` days (the last session's last request, or the
    registration when there was never a session), oldest id first: the retention job closes them
    (app/privacy/retention_cli.py) unless a dispute of theirs is still in progress."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    last_seen = (sa.select(sa.func.max(UserSession.last_seen_at)).where(UserSession.user_id == User.id)
                 .scalar_subquery())
    return list(db.session.scalars(sa.select(User).where(
        User.role == Role.resident, User.closed_at.is_(None),
        sa.func.coalesce(last_seen, User.created_at) < cutoff).order_by(User.id)))
