"""An account's phone number, proven by an SMS code (OWASP ASVS 5.0 V6; PIPL: the number is the person's own before
it opens anything of theirs). Never commits.

A number typed at registration or on the account page is anyone's until a 6-digit code sent to it has been typed
back (app/core/sms_codes.py: 10 minutes, 5 tries, once; a newer code replaces the older ones). Only then does
users.phone_verified_at say the number is the account's, and only a verified number lets its account answer an
invitation sent to that number without the invitation's own code (app/mediation/operations.py answer_refusal).

Changing the number: the code goes to the NEW number, and the account's number changes only when that code is typed
back; then the old number is told by SMS, the account in the app (and by e-mail when it has an address), and the
change is an account event (hash chain, app/accounts/admin_ops.record; no number in it) and a security event (the
view's). A number proven by one account is no longer counted as verified on any other (carriers give numbers out
again: whoever proves it now holds it), and those accounts are told.

How many codes go out is limited per account, per number sent to and per IP (PHONE_CODE_*_RATE_LIMIT), in
Flask-Limiter's storage; the registration's first code counts like a resend."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from app.accounts.models import PhoneVerification, User
from app.core import sms_codes
from app.core.crypto import normalise_phone
from app.core.i18n import gettext
from app.core.masking import mask_phone
from app.core.sms_codes import Outcome, SendRefused
from app.core.time import utcnow
from app.extensions import db

log = logging.getLogger(__name__)
VERIFY, CHANGE = "verify", "change"
CODE_MINUTES = sms_codes.CODE_MINUTES
# What the account events say (their reason column is free text for admins; here it is always one of these).
EVENT_REASONS = {
    "phone_verified": "本人输入了发到该号码的短信验证码",
    "phone_changed": "本人输入了发到新号码的短信验证码",
}


@dataclass(frozen=True)
class Pending:
    """What the account has to prove now: its own number (VERIFY) or the new number it asked for (CHANGE)."""

    purpose: str
    phone: str                            # never shown whole: `masked`
    row: PhoneVerification | None         # the newest code for it; None while none was sent

    @property
    def masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def code_sent(self) -> bool:
        """A code went out that can still be typed."""
        return self.row is not None and sms_codes.usable(self.row)


@dataclass(frozen=True)
class Confirmed:
    """The outcome of a typed code, and what it proved (None unless done)."""

    outcome: Outcome
    purpose: str | None = None
    tries: int = 0


def _subject(row: PhoneVerification) -> str:
    """What a code proves: this account, this purpose, this number (its blind index), this row."""
    return f"phone-code:{row.user_id}:{row.purpose}:{row.phone_bidx}:{row.salt}"


def _open_row(user: User) -> PhoneVerification | None:
    """The account's one unused code row, if any."""
    return db.session.scalar(sa.select(PhoneVerification).where(
        PhoneVerification.user_id == user.id, PhoneVerification.used_at.is_(None))
        .order_by(PhoneVerification.id.desc()).limit(1))


def pending(user: User) -> Pending | None:
    """A change to a new number waiting for its code, else the account's own number while unverified; None when
    there is nothing to prove."""
    row = _open_row(user)
    if row is not None and row.purpose == CHANGE:
        return Pending(CHANGE, row.phone, row)
    if user.phone and user.phone_verified_at is None:
        same = row is not None and row.purpose == VERIFY and row.phone_bidx == user.phone_bidx
        return Pending(VERIFY, user.phone, row if same else None)
    return None


def _end_open_codes(user: User, now) -> None:
    db.session.execute(sa.update(PhoneVerification).where(PhoneVerification.user_id == user.id,
                                                          PhoneVerification.used_at.is_(None))
                       .values(used_at=now).execution_options(synchronize_session=False))


def _limits(user: User, number_bidx: str | None, ip: str | None) -> list[tuple[str, str, str]]:
    cfg = current_app.config
    return [("phone-code-account", cfg["PHONE_CODE_ACCOUNT_RATE_LIMIT"], str(user.id)),
            ("phone-code-number", cfg["PHONE_CODE_NUMBER_RATE_LIMIT"], (number_bidx or "-")[:32]),
            ("phone-code-ip", cfg["PHONE_CODE_IP_RATE_LIMIT"], ip or "-")]


def _send(user: User, purpose: str, phone: str, ip: str | None) -> SendRefused | None:
    now = utcnow()
    row = PhoneVerification(user_id=user.id, purpose=purpose, phone=phone, salt=secrets.token_hex(16),
                            created_at=now, expires_at=sms_codes.expires(now), attempts=0,
                            ip_address=(ip or None) and ip[:45])
    refused = sms_codes.send_refusal(_limits(user, row.phone_bidx, ip))
    if refused is not None:
        return refused
    _end_open_codes(user, now)  # a newer code replaces the older ones
    code = sms_codes.new_code()
    row.code_hmac = sms_codes.code_hmac(_subject(row), code)
    db.session.add(row)
    from app.mediation.operations import queue

    if purpose == CHANGE:
        body = gettext("【解纷】您正在把解纷账号的手机号更换为本号码，验证码 %(code)s，%(minutes)s 分钟内有效。"
                       "如非本人操作，请忽略本短信；工作人员不会向您索要验证码，请勿告诉他人。",
                       code=code, minutes=CODE_MINUTES)
    else:
        body = gettext("【解纷】您正在验证解纷账号绑定的手机号，验证码 %(code)s，%(minutes)s 分钟内有效。"
                       "如非本人操作，请忽略本短信；工作人员不会向您索要验证码，请勿告诉他人。",
                       code=code, minutes=CODE_MINUTES)
    queue("sms", phone, "", body)
    db.session.flush()
    log.info("phone code (%s) sent for user %s", purpose, user.id)
    return None


def send_code(user: User, ip: str | None) -> SendRefused | None:
    """Send a code for what the account has to prove now (pending): the first one after registration, or again.
    None when sent (or when there is nothing to prove); else the limit that refused it."""
    now_pending = pending(user)
    if now_pending is None:
        return None
    return _send(user, now_pending.purpose, now_pending.phone, ip)


def start_change(user: User, new_phone: str, ip: str | None) -> SendRefused | None:
    """Send a code to the new number (checked by the form: valid, not the account's own); the account keeps its
    number until the code comes back (confirm)."""
    return _send(user, CHANGE, normalise_phone(new_phone), ip)


def cancel_change(user: User) -> bool:
    """Drop a change waiting for its code; whether there was one."""
    row = _open_row(user)
    if row is None or row.purpose != CHANGE:
        return False
    row.used_at = utcnow()
    db.session.flush()
    return True


def confirm(user: User, code: str, ip: str | None) -> Confirmed:
    """Check a typed code against the account's newest one; when right, the number is verified (VERIFY) or becomes
    the account's (CHANGE), and it is recorded and announced."""
    waiting = pending(user)
    if waiting is None or waiting.row is None:
        return Confirmed(Outcome.no_longer_valid)
    row = waiting.row
    outcome = sms_codes.check(row, _subject(row), code)
    if outcome is not Outcome.done:
        return Confirmed(outcome, tries=row.attempts)
    now = row.used_at
    if waiting.purpose == CHANGE:
        old = user.phone
        user.phone = row.phone  # clears phone_verified_at (accounts.models): set again just below
        user.phone_verified_at = now
        _take_from_other_accounts(user)
        _record(user, "phone_changed", ip)
        _announce_change(user, old, now)
        log.info("phone changed for user %s", user.id)
    else:
        user.phone_verified_at = now
        _take_from_other_accounts(user)
        _record(user, "phone_verified", ip)
        log.info("phone verified for user %s", user.id)
    db.session.flush()
    return Confirmed(Outcome.done, waiting.purpose, row.attempts)


def _record(user: User, action: str, ip: str | None) -> None:
    from app.accounts.admin_ops import record

    record(user, user, action, EVENT_REASONS[action], ip)


def _take_from_other_accounts(user: User) -> None:
    """Any other account that had verified this number no longer counts as holding it; each is told in the app."""
    from app.mediation.operations import queue

    others = db.session.scalars(sa.select(User).where(
        User.phone_bidx == user.phone_bidx, User.id != user.id, User.phone_verified_at.is_not(None))).all()
    for other in others:
        other.phone_verified_at = None
        queue("in_app", str(other.id), gettext("手机号已被另一个账号验证"),
              gettext("您账号绑定的手机号 %(number)s 已由另一个解纷账号通过短信验证码验证，您的账号不再视为持有这个号码。"
                      "如果这仍是您在用的号码，请在“我的账号”中重新验证；如果已不是，请更换为您现在使用的号码。",
                      number=other.masked_phone))
        log.info("phone verification of user %s taken by user %s", other.id, user.id)


def _announce_change(user: User, old: str | None, when) -> None:
    """The old number by SMS (a change nobody asked for is noticed at once), the account in the app and by e-mail."""
    from app.core.web import localtime
    from app.mediation.operations import notify_user, queue

    at = localtime(when)
    if old:
        queue("sms", old, "", gettext("【解纷】您的解纷账号绑定的手机号已于 %(at)s 更换为其他号码，本号码不再接收该账号的通知和验证码。"
                                      "如果不是您本人操作，请立即联系所在调解组织或拨打 12348 法律服务热线。", at=at))
        body = gettext("您的解纷账号绑定的手机号已于 %(at)s 由 %(old)s 更换为 %(new)s。如果不是您本人操作，请立即修改密码，"
                       "并联系所在调解组织或拨打 12348 法律服务热线。", at=at, old=mask_phone(old), new=user.masked_phone)
    else:
        body = gettext("您的解纷账号已于 %(at)s 绑定手机号 %(new)s。如果不是您本人操作，请立即修改密码，"
                       "并联系所在调解组织或拨打 12348 法律服务热线。", at=at, new=user.masked_phone)
    notify_user(user, gettext("账号手机号已更换"), body)
