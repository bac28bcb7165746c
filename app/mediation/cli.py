"""`flask outbox send` and `flask invitations expire`."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db

outbox_cli = AppGroup("outbox", help="Deliver queued messages (console backend in development).")
invitations_cli = AppGroup("invitations", help="Mediation invitations.")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep sending: a pass, then a pause when nothing was due.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes with --loop.")
def outbox_send(loop: bool, interval: float) -> None:
    """Deliver the due e-mail and SMS messages (leased claims, retries: app/notifications/outbox.py)."""
    from app.notifications.outbox import run_forever, send_due

    if loop:
        def report(r) -> None:
            if r.batches:
                click.echo(f"{r.sent} message(s) sent, {r.failed} failed.")

        run_forever(interval, on_pass=report)
        return
    result = send_due()
    db.session.remove()
    failed = f" {result.failed} failed (retried later)." if result.failed else ""
    click.echo(f"{result.sent} message(s) sent.{failed}")


@invitations_cli.command("expire")
def invitations_expire() -> None:
    from app.mediation.operations import expire_invitations

    n = len(expire_invitations())
    db.session.commit()
    click.echo(f"{n} invitation(s) expired.")
