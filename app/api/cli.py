"""`flask api-tokens issue|list|revoke`: the court-facing API's bearer tokens."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.extensions import db

api_tokens_cli = AppGroup("api-tokens",
                          help="Bearer tokens of the court-facing API (/api/v1): issue, list, revoke.")


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@api_tokens_cli.command("issue")
@click.option("--court-id", type=int, required=True, help="The court (organisation id) the token speaks for.")
@click.option("--name", required=True, help="What the token is for, e.g. the court's filing system.")
def issue_command(court_id: int, name: str) -> None:
    """Issue a token; it is printed once and only its SHA-256 is kept."""
    from app.accounts.models import Organisation
    from app.api.tokens import issue_token
    from app.core.errors import DomainError

    court = db.session.get(Organisation, court_id)
    if court is None:
        _fail(f"No organisation with id {court_id}.")
    try:
        row, plain = issue_token(court, name)
    except DomainError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"Token {row.id} for {court.name} ({name}). Shown once, store it now:", err=True)
    click.echo(plain)


@api_tokens_cli.command("list")
def list_command() -> None:
    """One line per token: id, court id, court, name, created, last used, revoked."""
    from app.api.models import ApiToken

    for row in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        click.echo(f"{row.id}\t{row.organisation_id}\t{row.organisation.name}\t{row.name}\t"
                   f"created {row.created_at:%Y-%m-%d %H:%M}\tlast used {used}\t{state}")


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
