"""One-time codes sent by SMS, shared by the password reset (app/accounts/recovery.py), the proof of an invited
number (app/mediation/operations.py) and the verification of an account's phone (app/accounts/phone.py).

A code is 6 random digits; only an HMAC of it under the SECRET_KEY is stored, bound to a `subject` that names what
the code is for (a browser's token, an invitation and account, a number), so a copy of the database alone recovers
no code and a code typed for one thing never proves another. It lasts CODE_MINUTES, takes CODE_ATTEMPTS tries and
works once; each caller keeps its own rows (columns code_hmac, expires_at, attempts, used_at) and makes a newer code
replace the older ones. How many codes may be sent is counted in Flask-Limiter's storage (send_refusal): Redis when
REDIS_URL is set, so every worker counts together."""
from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from flask import current_app

from app.core.time import utcnow
from app.extensions import db

log = logging.getLogger(__name__)
CODE_MINUTES = 10
CODE_ATTEMPTS = 5


class Outcome(enum.Enum):
    done = "done"
    wrong_code = "wrong_code"        # counted; the form says so next to the code field
    no_longer_valid = "expired"      # expired, used, replaced, too many tries, or never issued


class CodeRow(Protocol):
    code_hmac: str
    expires_at: datetime
    attempts: int
    used_at: datetime | None


def new_code() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(10**6):06d}"


def expires(now: datetime) -> datetime:
    return now + timedelta(minutes=CODE_MINUTES)


def code_hmac(subject: str, code: str) -> str:
    """HMAC-SHA256 under the SECRET_KEY of `subject:code` (hex)."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, f"{subject}:{code}".encode(), hashlib.sha256).hexdigest()


def typed(code: str | None) -> str:
    """A code as typed: full-width digits (a Chinese input method) become ASCII, spaces go."""
    return "".join(unicodedata.normalize("NFKC", code or "").split())


def usable(row: CodeRow, now: datetime | None = None) -> bool:
    """Not used (nor replaced), not expired, tries left."""
    return row.used_at is None and row.expires_at > (now or utcnow()) and row.attempts < CODE_ATTEMPTS


def check(row: CodeRow, subject: str, code: str | None, now: datetime | None = None) -> Outcome:
    """Check a typed code against a row issued for `subject`: a right code is used up now (the caller acts on it in
    the same transaction), a wrong one counts against CODE_ATTEMPTS (flushed, so that the caller's commit keeps it
    even when it answers with an error)."""
    now = now or utcnow()
    if not usable(row, now):
        return Outcome.no_longer_valid
    if not hmac.compare_digest(row.code_hmac, code_hmac(subject, typed(code))):
        row.attempts += 1
        db.session.flush()
        return Outcome.wrong_code if row.attempts < CODE_ATTEMPTS else Outcome.no_longer_valid
    row.used_at = now
    db.session.flush()
    return Outcome.done


# --- how many codes may be sent ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendRefused:
    """A send refused by one of the limits: which (scope, for the security log), the limit, and the wait."""

    scope: str
    limit: str
    seconds: int

    @property
    def minutes(self) -> int:
        return max(1, -(-self.seconds // 60))


def send_refusal(limits: list[tuple[str, str, str]]) -> SendRefused | None:
    """Count one send against each limit, given as (scope, limit string such as "5/hour", key), in order, in
    Flask-Limiter's storage and strategy; stop at the first that is used up (as Flask-Limiter does with a route's
    limits) and say how long until it allows another. Keys must hold no personal data (ids, blind indexes).

    Like the app's other limits (RATELIMIT_SWALLOW_ERRORS), a storage that does not answer lets the send through."""
    from limits import parse

    from app.extensions import limiter

    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    try:
        strategy = limiter.limiter
        for scope, spec, key in limits:
            item = parse(spec)
            if not strategy.hit(item, prefix, "sms-code", scope, key):
                reset_at = strategy.get_window_stats(item, prefix, "sms-code", scope, key).reset_time
                return SendRefused(scope, f"{item.amount}/{item.get_expiry()}s", max(1, round(reset_at - time.time())))
    except Exception:  # the limiter's storage is down: as RATELIMIT_SWALLOW_ERRORS, let it through
        log.warning("SMS code send limits could not be checked (rate limit storage unavailable)", exc_info=True)
    return None
