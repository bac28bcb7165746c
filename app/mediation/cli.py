"""`flask outbox send` and `flask invitations expire`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db

outbox_cli = AppGroup("outbox", help="Deliver queued messages (console backend in development).")
invitations_cli = AppGroup("invitations", help="Mediation invitations.")


@outbox_cli.command("send")
def outbox_send() -> None:
    from app.mediation.operations import send_pending

    n = send_pending()
    db.session.commit()
    click.echo(f"{n} message(s) sent.")


@invitations_cli.command("expire")
def invitations_expire() -> None:
    from app.mediation.operations import expire_invitations

    n = len(expire_invitations())
    db.session.commit()
    click.echo(f"{n} invitation(s) expired.")
