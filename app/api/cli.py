"""`flask api-tokens issue|list|rotate|revoke`: the court-facing API's bearer tokens (they expire after
API_TOKEN_DAYS, default 90)."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.extensions import db

api_tokens_cli = AppGroup("api-tokens",
                          help="Bearer tokens of the court-facing API (/api/v1): issue, list, rotate, revoke.")
DAYS_HELP = "Days the token works (default API_TOKEN_DAYS, 90)."


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@api_tokens_cli.command("issue")
@click.option("--court-id", type=int, required=True, help="The court (organisation id) the token speaks for.")
@click.option("--name", required=True, help="What the token is for, e.g. the court's filing system.")
@click.option("--days", type=int, default=None, help=DAYS_HELP)
def issue_command(court_id: int, name: str, days: int | None) -> None:
    """Issue a token; it is printed once and only its SHA-256 is kept."""
    from app.accounts.models import Organisation
    from app.api.tokens import issue_token
    from app.core.errors import DomainError

    court = db.session.get(Organisation, court_id)
    if court is None:
        _fail(f"No organisation with id {court_id}.")
    try:
        row, plain = issue_token(court, name, days=days)
    except DomainError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"Token {row.id} for {court.name} ({name}), expires {row.expires_at:%Y-%m-%d %H:%M} UTC. "
               "Shown once, store it now:", err=True)
    click.echo(plain)


@api_tokens_cli.command("list")
def list_command() -> None:
    """One line per token: id, court id, court, name, created, last used, expires, state (active, expired, revoked)."""
    from app.api.models import ApiToken
    from app.api.tokens import state
    from app.core.time import utcnow

    now = utcnow()
    for row in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
        status = state(row, now)
        if status == "revoked":
            status = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        replaces = f"\treplaces {row.replaces_id}" if row.replaces_id else ""
        click.echo(f"{row.id}\t{row.organisation_id}\t{row.organisation.name}\t{row.name}\t"
                   f"created {row.created_at:%Y-%m-%d %H:%M}\tlast used {used}\t"
                   f"expires {row.expires_at:%Y-%m-%d %H:%M}\t{status}{replaces}")


@api_tokens_cli.command("rotate")
@click.argument("token_id", type=int)
@click.option("--days", type=int, default=None, help=DAYS_HELP)
def rotate_command(token_id: int, days: int | None) -> None:
    """Replace a token (expired or not) by a new one for the same court and name; the old one is revoked now."""
    from app.api.models import ApiToken
    from app.api.tokens import rotate
    from app.core.errors import DomainError

    old = db.session.get(ApiToken, token_id)
    if old is None:
        _fail(f"No API token with id {token_id}.")
    try:
        row, plain = rotate(old, days)
    except DomainError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"Token {old.id} revoked; token {row.id} replaces it for {row.organisation.name} ({row.name}), "
               f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC. Shown once, store it now:", err=True)
    click.echo(plain)


@api_tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_command(token_id: int) -> None:
    """Revoke a token by id: it answers 401 from then on."""
    from app.api.models import ApiToken
    from app.api.tokens import revoke

    row = db.session.get(ApiToken, token_id)
    if row is None:
        _fail(f"No API token with id {token_id}.")
    revoke(row)
    db.session.commit()
    click.echo(f"Token {row.id} ({row.name}) revoked.")
