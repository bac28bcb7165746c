"""`flask users ...`: what the system administrator does to accounts from the server (OWASP ASVS 5.0 7.4.5: end the
sessions of one user or of everyone; stop a staff member's account when they leave)."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup, with_appcontext

from app.accounts.models import User, UserSession
from app.accounts.operations import SessionEnd, count_and_end_sessions
from app.extensions import db

users_cli = AppGroup("users", help="Accounts: list sessions, end them, stop or restart an account.")


def _user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no account named {username!r}")
    return user


def _end(*criteria) -> int:
    return count_and_end_sessions(*criteria, reason=SessionEnd.ended_by_admin)


@users_cli.command("end-sessions")
@click.argument("username", required=False)
@click.option("--all", "everyone", is_flag=True, help="Every user's sessions (everybody logs in again).")
@with_appcontext
def end_sessions_command(username: str | None, everyone: bool) -> None:
    """End the open sessions of USERNAME, or of every user with --all."""
    if bool(username) == everyone:
        raise click.UsageError("give a USERNAME or --all, not both")
    criteria = [] if everyone else [UserSession.user_id == _user(username).id]
    count = _end(*criteria)
    db.session.commit()
    click.echo(f"{count} session(s) ended ({'every user' if everyone else username}).")


@users_cli.command("deactivate")
@click.argument("username")
@with_appcontext
def deactivate_command(username: str) -> None:
    """Stop an account (a staff member who left): it can no longer log in, and its sessions end now."""
    user = _user(username)
    user.active = False
    count = _end(UserSession.user_id == user.id)
    db.session.commit()
    click.echo(f"{username} deactivated; {count} session(s) ended.")


@users_cli.command("activate")
@click.argument("username")
@with_appcontext
def activate_command(username: str) -> None:
    """Let a stopped account log in again (not a closed one: its personal data is gone)."""
    user = _user(username)
    if user.closed_at is not None:
        raise click.ClickException(f"{username} was closed (注销): it cannot be restored")
    user.active = True
    db.session.commit()
    click.echo(f"{username} can log in again.")


@users_cli.command("reset-mfa")
@click.argument("username")
@with_appcontext
def reset_mfa_command(username: str) -> None:
    """Remove USERNAME's second factor (a lost phone; check who is asking first): they enrol again at next login."""
    from app.accounts import mfa

    removed = mfa.remove(_user(username))
    db.session.commit()
    click.echo(f"{username}: second factor {'removed' if removed else 'was not set'}.")
