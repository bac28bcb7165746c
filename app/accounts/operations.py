"""Account logic: registration, password checks, server-side login sessions."""
from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, session
from flask_login import login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts.models import Role, User, UserSession
from app.core.time import utcnow
from app.extensions import db

# A real hash of a random password, so unknown usernames cost the same time as wrong passwords.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16), method="scrypt")


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


def start_session(user: User, ip_address: str | None) -> None:
    """Log in with a fresh server-side session: the old cookie's contents are discarded."""
    session.clear()
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=UserSession.hash_token(token),
                               ip_address=ip_address))
    db.session.flush()
    user.session_token = token
    login_user(user)
    session.permanent = True


def end_session(user: User) -> None:
    """Log out: the server forgets the session, so a copied cookie no longer works."""
    if user.session_token:
        end_sessions(UserSession.token_hash == UserSession.hash_token(user.session_token))
    logout_user()
    session.clear()


def end_sessions(*criteria) -> None:
    """End every open server-side session matching the criteria."""
    db.session.execute(
        sa.update(UserSession).where(UserSession.ended_at.is_(None), *criteria).values(ended_at=utcnow())
    )


def load_user_from_session_token(token: str) -> User | None:
    """Flask-Login's user loader: the session must be open and within its idle and absolute limits."""
    if not token:
        return None
    row = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == UserSession.hash_token(token)))
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    cfg = current_app.config
    idle = timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        row.ended_at = now
        db.session.commit()
        return None
    user = row.user
    if not user.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):  # keep writes rare
        row.last_seen_at = now
        db.session.commit()
    user.session_token = token
    return user
