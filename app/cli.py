"""Command-line tools: `flask audit verify`, `flask seed-demo`."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import db

audit_cli = AppGroup("audit", help="Check the hash-chained case history.")


@audit_cli.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Verify every case's event chain; name the first broken link and exit 1 if there is one."""
    from app.cases.operations import verify_chain

    checked, broken = verify_chain()
    if broken:
        click.echo(f"BROKEN after {checked} good events: {broken}", err=True)
        sys.exit(1)
    click.echo(f"OK: {checked} events verified, every chain intact.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create (idempotently) a demo county with organisations, users and cases at every stage."""
    from app.demo import seed_demo

    password = current_app.config["DEMO_PASSWORD"]
    created = seed_demo(password)
    db.session.commit()
    click.echo("Demo data " + ("created." if created else "already present (nothing changed)."))
    click.echo(f"Case with a fully signed agreement: {demo_signed_agreement_case()}")
    click.echo(f"Log in at /login with password {password!r} as:")
    for username, role, org in demo_logins():
        click.echo(f"  {username:<12} {role:<14} {org}")


def demo_signed_agreement_case():
    from app.demo import signed_agreement_case_id

    return signed_agreement_case_id()


def demo_logins():
    from app.demo import DEMO_LOGINS

    return DEMO_LOGINS
