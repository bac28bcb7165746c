"""Security events (OWASP ASVS 5.0 V16): one key=value line per event on the `security` logger.

Only tokens reach the line: the event and outcome names below, ids, numbers, the client's IP, the HTTP method and the
endpoint name (never the URL: its query string may hold what people typed). What someone typed as a username or an
API token is logged as a short keyed hash (account_ref), so that repeated attacks on one account line up without
the log holding the name or phone number that was typed. Called on refused or failed requests and on the few
account events below only, never on an ordinary page view."""
from __future__ import annotations

import hashlib
import hmac
import logging
import re

from flask import current_app, g, has_request_context, request
from flask.logging import has_level_handler, wsgi_errors_stream

from app.core.request_id import request_id

log = logging.getLogger("security")

# The documented set (README, "Security log"); security_event() refuses any other name.
EVENTS = {
    "login_succeeded": "a password (and second factor, if enrolled) was accepted and a session started",
    "login_failed": "wrong username or password at /login (account: keyed hash of the username typed), or a right "
                    "temporary password past its expiry (reason: temporary_password_expired)",
    "login_locked": "refused by the per-account limit of failed password or code checks (HTTP 429)",
    "mfa_failed": "a wrong or reused second-factor or recovery code at login or when removing the factor",
    "reauth_failed": "a wrong current password where a logged-in user must give it again",
    "password_changed": "a new password took effect (via: change, temporary, reset); every other session ended",
    "reset_requested": "a reset code was asked for (account: keyed hash; sent only if name and phone match)",
    "reset_failed": "a wrong, expired or used-up password reset code (reason)",
    "invitation_code_failed": "a wrong, expired or used-up SMS code typed to answer a mediation invitation (reason, "
                              "invitation, tries)",
    "phone_code_sent": "an SMS code went to the account's phone or to a new number for it (purpose: verify, change)",
    "phone_code_failed": "a wrong, expired or used-up phone verification code (purpose, reason, tries)",
    "phone_verified": "the account's phone number was proven by the SMS code sent to it",
    "phone_changed": "the account's phone number was replaced by a new one proven by its SMS code (old number told)",
    "logout": "the user logged out",
    "access_denied": "403 or 404 answered to a logged-in user (status, endpoint)",
    "csrf_failed": "a form or AJAX request refused for a missing or bad CSRF token or referrer (reason)",
    "api_auth_failed": "court API request without a valid bearer token (reason; credential: keyed hash of it)",
    "rate_limited": "any other rate limit refused a request (scope, limit)",
}
OUTCOMES = {"success", "failure", "refused"}
# Rate limit scopes whose refusal is an event of its own rather than rate_limited (app/accounts/views.py).
LIMIT_EVENTS = {"password-account": "login_locked"}
_TOKEN = re.compile(r"[A-Za-z0-9_.:/\-]{1,100}")


def account_ref(typed: str | None) -> str:
    """A short keyed hash (HMAC-SHA256 with SECRET_KEY, 16 hex digits) of a typed username or credential."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode("utf-8") if isinstance(key, str) else key
    message = b"security-log\x00" + (typed or "").strip().lower().encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def _value(value: object) -> str:
    """A field's value as a token; anything that could be free text is replaced, never written."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return text if _TOKEN.fullmatch(text) else "?"


def _current_user_id() -> int | None:
    from flask_login import current_user

    return current_user.id if current_user and current_user.is_authenticated else None


def security_event(event: str, outcome: str, **fields: object) -> None:
    """Log one security event: event and outcome (success, failure, refused), the user id when known (user_id=, else
    the logged-in user's), the fields given (tokens and numbers only), the client's IP, method and endpoint."""
    if event not in EVENTS or outcome not in OUTCOMES:
        raise ValueError(f"undocumented security event {event!r}/{outcome!r}")
    data: dict[str, object] = {"event": event, "outcome": outcome}
    user_id = fields.pop("user_id", None)
    if user_id is None and has_request_context():
        user_id = _current_user_id()
    if user_id is not None:
        data["user_id"] = user_id
    data.update((k, v) for k, v in fields.items() if v is not None)
    if has_request_context():
        data.update(ip=request.remote_addr or "-", method=request.method, endpoint=request.endpoint or "-",
                    request_id=request_id())
    line = " ".join(f"{key}={_value(value)}" for key, value in data.items())
    log.log(logging.INFO if outcome == "success" else logging.WARNING, line,
            extra={"security_event": {k: _value(v) for k, v in data.items()}})


def rate_limit_breached(limit) -> None:
    """Flask-Limiter's on_breach (every limit of the app): login_locked or rate_limited, with the scope."""
    if not has_request_context():
        return
    args = getattr(limit, "request_args", None) or []  # [key prefix,] key, scope
    scope = args[-1] if args else "-"
    item = limit.limit
    typed = g.get("limited_account")  # set by the per-account limit's key (app/accounts/views.py)
    security_event(LIMIT_EVENTS.get(scope, "rate_limited"), "refused", scope=scope,
                   limit=f"{item.amount}/{item.get_expiry()}s",
                   account=account_ref(typed) if typed is not None else None)


def install() -> None:
    """INFO and up of the `security` logger are written; to stderr (gunicorn's error log) unless a handler up the
    logger tree already takes them (a configured root logger, pytest's capture)."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not has_level_handler(log):
        handler = logging.StreamHandler(wsgi_errors_stream)  # type: ignore[arg-type]
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s in %(name)s: %(message)s"))
        log.addHandler(handler)
