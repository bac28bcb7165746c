"""`flask users ...`: what the system administrator does to accounts from the server (OWASP ASVS 5.0 7.4.5: end the
sessions of one user or of everyone; stop a staff member's account when they leave).

Every change is on the record like the web's (app/accounts/admin_ops.py): an account event in the hash chain that
`flask audit verify` checks, with the CLI as the actor, the operating-system user who ran it and the --reason given;
and the person is told in the app, in the words the web's actions use."""
from __future__ import annotations

import os
import pwd

import click
import sqlalchemy as sa
from flask.cli import AppGroup, with_appcontext

from app.accounts import admin_ops
from app.accounts.models import User
from app.core.errors import DomainError
from app.extensions import db

users_cli = AppGroup("users", help="Accounts: end sessions, stop or restart an account, reset its second factor.")
REASON_HELP = "Why (required): kept in the account event log, and shown to the person in their message."


def _reason(ctx: click.Context, param: click.Parameter, value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise click.BadParameter("give the reason in words, e.g. --reason \"left the organisation on 1 March\"")
    if len(value) > 500:
        raise click.BadParameter(f"at most 500 characters ({len(value)} given)")
    return value


reason_option = click.option("--reason", required=True, callback=_reason, help=REASON_HELP)


def _uid_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # no passwd entry for this uid (a container)
        return f"uid {uid}"


def _login_uid() -> int | None:
    """The uid the session logged in as (the kernel's audit login uid, set at login by PAM and kept across su and
    sudo; the process cannot change it), or None where the kernel does not keep one."""
    try:
        with open("/proc/self/loginuid", encoding="ascii") as f:
            value = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return None if value in (-1, 2**32 - 1) else value


def os_user() -> str:
    """Who ran the command on the server, for the account event log (at most 64 characters).

    The effective user's name from the password database: not getpass.getuser(), which believes the LOGNAME and
    USER variables that anyone can set. When the login user differs (su, sudo), it is named too; where the kernel
    keeps no login uid, sudo's SUDO_USER stands in for it (only trusted when running as root, as sudo runs)."""
    euid = os.geteuid()
    name = _uid_name(euid)
    login = _login_uid()
    if login is not None and login != euid:
        return f"{name} (login {_uid_name(login)})"[:64]
    sudo_user = os.environ.get("SUDO_USER", "").strip()
    if login is None and euid == 0 and sudo_user and sudo_user != name:
        return f"{name} (sudo from {sudo_user})"[:64]
    return name[:64]


def _user(username: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no account named {username!r}")
    return user


def _act(username: str, action: str, reason: str, refused: str = "") -> int:
    """Do the action, record it and tell the person; commit. The sessions it ended; `refused` says why nothing was
    done when there was nothing to change."""
    user = _user(username)
    try:
        event = admin_ops.act_from_cli(user, action, reason, os_user())
    except DomainError:
        db.session.rollback()
        raise click.ClickException(f"{username} {refused}; nothing done or recorded") from None
    db.session.commit()
    return event.sessions_ended


def _recorded(username: str) -> str:
    return f"Recorded in the account event log (by the CLI, OS user {os_user()}); {username} was told in the app."


@users_cli.command("end-sessions")
@click.argument("username", required=False)
@click.option("--all", "everyone", is_flag=True, help="Every user's sessions (everybody logs in again).")
@reason_option
@with_appcontext
def end_sessions_command(username: str | None, everyone: bool, reason: str) -> None:
    """End the open sessions of USERNAME, or of every user with --all."""
    if bool(username) == everyone:
        raise click.UsageError("give a USERNAME or --all, not both")
    if everyone:
        events = admin_ops.end_everyones_sessions(reason, os_user())
        db.session.commit()
        count = sum(e.sessions_ended for e in events)
        click.echo(f"{count} session(s) ended (every user). Recorded for each of the {len(events)} user(s) who had "
                   f"one (by the CLI, OS user {os_user()}); each was told in the app.")
        return
    count = _act(username, "end_sessions", reason)
    click.echo(f"{count} session(s) ended ({username}). {_recorded(username)}")


@users_cli.command("deactivate")
@click.argument("username")
@reason_option
@with_appcontext
def deactivate_command(username: str, reason: str) -> None:
    """Stop an account (a staff member who left): it can no longer log in, and its sessions end now."""
    count = _act(username, "deactivate", reason, "is already deactivated")
    click.echo(f"{username} deactivated; {count} session(s) ended. {_recorded(username)}")


@users_cli.command("activate")
@click.argument("username")
@reason_option
@with_appcontext
def activate_command(username: str, reason: str) -> None:
    """Let a stopped account log in again (not a closed one: its personal data is gone)."""
    user = _user(username)
    if user.closed_at is not None:
        raise click.ClickException(f"{username} was closed (注销): it cannot be restored")
    _act(username, "activate", reason, "is active already")
    click.echo(f"{username} can log in again. {_recorded(username)}")


@users_cli.command("reset-mfa")
@click.argument("username")
@reason_option
@with_appcontext
def reset_mfa_command(username: str, reason: str) -> None:
    """Remove USERNAME's second factor (a lost phone; check who is asking first): they enrol again at next login."""
    _act(username, "reset_mfa", reason, "has no second factor")
    click.echo(f"{username}: second factor removed. {_recorded(username)}")
