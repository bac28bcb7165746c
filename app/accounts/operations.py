"""Account logic: registration, password checks, server-side login sessions."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, session
from flask_login import login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts.models import Role, User, UserSession
from app.core.time import utcnow
from app.extensions import db

# A real hash of a random password, so unknown usernames cost the same time as wrong passwords.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16), method="scrypt")
# last_seen_at is written at most this often: the idle clock is exact to a minute without a write per request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class SessionEnd:
    """Why a server-side session ended (UserSession.end_reason)."""

    logout = "logout"
    idle = "idle"                      # no request for SESSION_IDLE_MINUTES
    absolute = "absolute"              # older than SESSION_ABSOLUTE_HOURS, however active
    password_changed = "password"      # noqa: S105 (a reason code) the password was changed (here or on another device)
    account_closed = "closed"          # the user closed the account (app/privacy/closure.py)
    ended_elsewhere = "revoked"        # the user ended it from another device's list of logins (app/accounts/devices.py)
    ended_by_admin = "admin"           # `flask users end-sessions|deactivate` or an org admin (admin_ops.py)


def hash_password(password: str) -> str:
    """scrypt (Werkzeug's default since 3.0) with a random salt."""
    return generate_password_hash(password, method="scrypt")


def register_resident(username: str, password: str, display_name: str, phone: str | None,
                      email: str | None = None) -> User:
    """Create a resident account; the caller has checked the username is free."""
    user = User(username=username, password_hash=hash_password(password), display_name=display_name,
                phone=phone or None, email=(email or "").strip() or None, role=Role.resident)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


# Keys of the signed cookie session that survive logging in (registered by the packages that own them): harmless
# facts about this browser, such as the ids of the questions it asked at /consult.
KEPT_AT_LOGIN: set[str] = set()


def clear_session() -> None:
    """Empty the cookie session before a login step, keeping KEPT_AT_LOGIN."""
    kept = {key: session[key] for key in KEPT_AT_LOGIN if key in session}
    session.clear()
    session.update(kept)


def start_session(user: User, ip_address: str | None, user_agent: str | None = None) -> None:
    """Log in with a fresh server-side session: the old cookie's contents are discarded, but for KEPT_AT_LOGIN."""
    clear_session()
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=UserSession.hash_token(token),
                               ip_address=ip_address, user_agent=(user_agent or "")[:200] or None))
    db.session.flush()
    user.session_token = token
    login_user(user)
    session.permanent = True  # the cookie's own lifetime: PERMANENT_SESSION_LIFETIME (the absolute limit)


def end_session(user: User, reason: str = SessionEnd.logout) -> None:
    """Log out: the server forgets the session, so a copied cookie no longer works."""
    if user.session_token:
        end_sessions(UserSession.token_hash == UserSession.hash_token(user.session_token), reason=reason)
    logout_user()
    session.clear()


def end_sessions(*criteria, reason: str) -> None:
    """End every open server-side session matching the criteria."""
    db.session.execute(
        sa.update(UserSession).where(UserSession.ended_at.is_(None), *criteria)
        .values(ended_at=utcnow(), end_reason=reason)
    )


def count_and_end_sessions(*criteria, reason: str) -> int:
    """End the open sessions matching the criteria; how many there were (the CLI and the org admin's pages)."""
    count = db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                              .where(UserSession.ended_at.is_(None), *criteria)) or 0
    end_sessions(*criteria, reason=reason)
    return count


def change_password(user: User, new_password: str, ip_address: str | None, user_agent: str | None) -> None:
    """Set a new password and end every session of the user, on every device; this browser gets a fresh one.

    The current session is replaced rather than kept, so a copy of this browser's cookie taken before the change
    dies with the others."""
    user.password_hash = hash_password(new_password)
    end_sessions(UserSession.user_id == user.id, reason=SessionEnd.password_changed)
    start_session(user, ip_address, user_agent)


def forget_temporary_password(user: User) -> None:
    """The user has a password of their own again (chosen after a temporary one, or reset by SMS code): it is no
    longer temporary, nor can it expire (app/accounts/admin_ops.py)."""
    user.must_change_password = False
    user.temp_password_expires_at = None


def expired_reason(row) -> str | None:
    """The reason this open session (a UserSession, or a row with its created_at and last_seen_at) must end now, or
    None while it is within its limits."""
    now = utcnow()
    cfg = current_app.config
    if now - row.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]):
        return SessionEnd.absolute
    if now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return SessionEnd.idle
    return None


# Per-request facts other packages need on most pages (the nav's unread badge, the consent check), answered in the
# session lookup's own round trip: name -> (a function returning a scalar subquery correlated to
# UserSession.user_id, a function returning the values of its bound parameters or None). The loader keeps the
# answers in user.session_extras; a package reads its own key there and falls back to its own query when the key
# is missing (another user object, a value made stale within the request).
SESSION_EXTRAS: dict[str, tuple[Callable[[], sa.ScalarSelect], Callable[[], dict] | None]] = {}
_session_query: dict[tuple, sa.Select] = {}  # built once per set of extras: building it cost ~0.2 ms a request


def register_session_extra(name: str, subquery: Callable[[], sa.ScalarSelect],
                           params: Callable[[], dict] | None = None) -> None:
    """Answer `subquery` (correlated to UserSession.user_id; its varying values as bindparams that `params`
    supplies) with every logged-in request's session lookup."""
    SESSION_EXTRAS[name] = (subquery, params)
    _session_query.clear()


def _session_lookup() -> tuple[list[str], sa.Select]:
    names = tuple(SESSION_EXTRAS)
    query = _session_query.get(names)
    if query is None:
        # The user as an entity, the session as plain columns: one ORM object per request, not two joined ones.
        query = _session_query[names] = (
            sa.select(User, *(getattr(UserSession, c).label(c) for c in _SESSION_COLUMNS),
                      *(SESSION_EXTRAS[n][0]().label(n) for n in names))
            .join(UserSession, UserSession.user_id == User.id)
            .where(UserSession.token_hash == sa.bindparam("session_token_hash", type_=sa.String))
            # A look-up by a unique token: PostgreSQL may keep one plan for it (planning it took ~0.3 ms, running
            # it ~0.08; app/core/db_plans.py).
            .execution_options(generic_plan=True))
    return list(names), query


_SESSION_COLUMNS = ("id", "created_at", "last_seen_at", "ended_at", "end_reason")


def session_extra(user: User, name: str, missing=None):
    """The value the session lookup loaded for `name` on this user object, or `missing`."""
    return getattr(user, "session_extras", {}).get(name, missing)


def forget_session_extra(user: User | None, name: str) -> None:
    """Drop a loaded value that the request has made stale, so the next read queries again."""
    extras = getattr(user, "session_extras", None)
    if extras:
        extras.pop(name, None)


def load_user_from_session_token(token: str) -> User | None:
    """Flask-Login's user loader: the session must be open and within its idle and absolute limits.

    When it has ended, g.session_end says why, so the login page can explain (the view that asks for a login
    reads it)."""
    if not token:
        return None
    # The user comes in the same query: every logged-in request runs this, and a second round trip per request
    # showed in the load benchmark.
    names, query = _session_lookup()
    params = {"session_token_hash": UserSession.hash_token(token)}
    for name in names:
        if SESSION_EXTRAS[name][1] is not None:
            params.update(SESSION_EXTRAS[name][1]())
    found = db.session.execute(query, params).first()
    if found is None:
        return None
    if found.ended_at is not None:
        g.session_end = found.end_reason
        return None
    if reason := expired_reason(found):
        _update_session(found.id, ended_at=utcnow(), end_reason=reason)
        g.session_end = reason
        return None
    user = found[0]
    if not user.active:
        return None
    now = utcnow()
    if now - found.last_seen_at >= LAST_SEEN_RESOLUTION:
        _update_session(found.id, last_seen_at=now)
    user.session_token = token
    user.session_extras = dict(zip(names, found[1 + len(_SESSION_COLUMNS):]))
    return user


def _update_session(session_id: int, **values) -> None:
    """Store the session lookup's change to the session row at once (an UPDATE by id, then commit)."""
    db.session.execute(sa.update(UserSession).where(UserSession.id == session_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()
