"""A forgotten password (忘记密码): a 6-digit code by SMS to the phone on the account, then a new password. Never
commits.

Whether a username and phone match an account is never told: the request page answers the same either way, and a
browser that asked for an account that does not exist gets a token too, for which no code is ever right. A code
lasts RESET_CODE_MINUTES, takes RESET_CODE_ATTEMPTS tries, and works once; asking again replaces the older codes;
the number of requests is limited per account and per IP (app/accounts/recovery_views.py). A reset ends every
session of the account and is announced like any password change (app/accounts/devices.py). The code itself is
app/core/sms_codes.py's, under the browser's token."""
from __future__ import annotations

import hashlib
import logging
import secrets

import sqlalchemy as sa

from app.accounts.models import PasswordReset, User, UserSession
from app.accounts.operations import SessionEnd, end_sessions, forget_temporary_password, hash_password
from app.core import sms_codes
from app.core.crypto import blind_index
from app.core.i18n import gettext
from app.core.sms_codes import Outcome
from app.core.time import utcnow
from app.extensions import db

log = logging.getLogger(__name__)
RESET_CODE_MINUTES = sms_codes.CODE_MINUTES
RESET_CODE_ATTEMPTS = sms_codes.CODE_ATTEMPTS


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def find_account(username: str, phone: str) -> User | None:
    """The active resident or staff account with this username whose phone is this number (via the blind index)."""
    user = db.session.scalar(sa.select(User).where(User.username == username.strip(), User.active.is_(True)))
    if user is None or not user.phone_bidx or user.phone_bidx != blind_index("phone", phone.strip()):
        return None
    return user


def request_code(username: str, phone: str, ip: str | None) -> str:
    """A token for this browser; when the account matches, a code is sent to its phone (older codes stop working)."""
    from app.mediation.operations import queue

    token = secrets.token_urlsafe(24)
    user = find_account(username, phone)
    if user is None:
        return token  # nothing sent, nothing stored: the page says the same as when a code went out
    now = utcnow()
    db.session.execute(sa.update(PasswordReset).where(PasswordReset.user_id == user.id,
                                                      PasswordReset.used_at.is_(None))
                       .values(used_at=now).execution_options(synchronize_session=False))
    code = sms_codes.new_code()
    db.session.add(PasswordReset(user_id=user.id, token_hash=_token_hash(token),
                                 code_hmac=sms_codes.code_hmac(token, code), created_at=now,
                                 expires_at=sms_codes.expires(now), ip_address=ip))
    queue("sms", user.phone, "", gettext("【解纷】您正在重设登录密码，验证码 %(code)s，%(minutes)s 分钟内有效。"
                                         "工作人员不会向您索要验证码，请勿告诉他人。", code=code,
                                         minutes=RESET_CODE_MINUTES))
    log.info("password reset code sent for user %s", user.id)
    return token


def _row(token: str | None) -> PasswordReset | None:
    if not token:
        return None
    return db.session.scalar(sa.select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token)))


def pending(token: str | None) -> PasswordReset | None:
    """The reset this token stands for, while its code can still be used."""
    row = _row(token)
    return row if row is not None and sms_codes.usable(row) else None


def reset_password(token: str | None, code: str, new_password: str) -> Outcome:
    """Check the code and set the new password; every session of the account ends. A token for which no code was
    sent (no such account, or another phone) is answered like a wrong code: the view ends it after as many tries
    and minutes as a real one, so the answers never tell whether the account exists."""
    row = _row(token)
    if row is None:
        return Outcome.wrong_code
    outcome = sms_codes.check(row, token, code)
    if outcome is not Outcome.done:
        return outcome
    row.user.password_hash = hash_password(new_password)
    forget_temporary_password(row.user)  # a password of their own now: no longer "temporary", nor expired
    end_sessions(UserSession.user_id == row.user_id, reason=SessionEnd.password_changed)
    db.session.flush()
    log.info("password reset by SMS code for user %s", row.user_id)
    return Outcome.done
