"""Command-line tools: `flask audit verify`, `flask seed-demo`, `flask backup`, `flask restore`,
`flask idempotency purge`."""
from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import db

audit_cli = AppGroup("audit", help="Check the hash-chained case history, PII reveal log and account event log.")


@audit_cli.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Verify every case's event chain, the PII reveal log's chain and the account event log's chain; name the first
    broken link of each and exit 1 if there is one."""
    from app.cases.operations import verify_chain
    from app.privacy import reveal_chain

    checked, broken = verify_chain()
    if broken:
        click.echo(f"BROKEN after {checked} good events: {broken}", err=True)
    else:
        click.echo(f"OK: {checked} events verified, every chain intact.")
    reveals, broken_reveal = reveal_chain.verify()
    if broken_reveal:
        click.echo(f"PII reveal log BROKEN after {reveals} good reveals: {broken_reveal}", err=True)
    else:
        click.echo(f"OK: {reveals} PII reveals verified, the reveal log's chain is intact.")
    from app.accounts import admin_ops

    account_events, broken_accounts = admin_ops.verify_chain()
    if broken_accounts:
        click.echo(f"Account event log BROKEN after {account_events} good events: {broken_accounts}", err=True)
    else:
        click.echo(f"OK: {account_events} account events verified, the account event log's chain is intact.")
    if broken or broken_reveal or broken_accounts:
        sys.exit(1)


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


# --- reliability: backups and idempotency keys ---------------------------------------------------------
@click.command("backup")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Archive to write (default: <instance>/backups/jiefen-<UTC time>.tar.gz).")
@click.option("--logical", is_flag=True, help="A logical dump through SQLAlchemy (instead of pg_dump).")
@with_appcontext
def backup_command(output: Path | None, logical: bool) -> None:
    """Write one archive: the database dump, every stored file, a manifest (counts, hashes, audit head)."""
    from app.core.backup import BackupError, create_backup

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = output or Path(current_app.config["INSTANCE_DIR"]) / "backups" / f"jiefen-{stamp}.tar.gz"
    try:
        manifest = create_backup(output, logical=logical)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(manifest["tables"].values())
    click.echo(f"Backup written: {output} ({manifest['database']['kind']}, {len(manifest['tables'])} tables, "
               f"{rows} rows, {len(manifest['files'])} files, {manifest['audit']['events']} audit events, "
               f"revision {manifest['alembic_revision']}).")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Restore even over a non-empty database or files folder.")
@with_appcontext
def restore_command(archive: Path, force: bool) -> None:
    """Restore an archive of `flask backup` into an empty database and files folder, then verify it."""
    from app.core.backup import BackupError, restore_backup

    try:
        report = restore_backup(archive, force=force)
    except BackupError as exc:
        click.echo(f"Restore refused: {exc}", err=True)
        sys.exit(1)
    if not report.ok:
        click.echo("Restored, but the verification FAILED:\n  " + "\n  ".join(report.problems), err=True)
        sys.exit(1)
    click.echo(f"Restored and verified: {report.tables} tables, {report.rows} rows, {report.files} files, "
               f"{report.events} audit events (chain intact), {report.reveals} PII reveals (chain intact), "
               f"{report.signed_pdfs} signed PDF(s) valid.")


idempotency_cli = AppGroup("idempotency", help="Keys of idempotent submissions.")


@idempotency_cli.command("purge")
@click.option("--days", default=30, show_default=True, help="Delete keys older than this.")
@with_appcontext
def idempotency_purge(days: int) -> None:
    """Delete idempotency keys older than --days (no form is resubmitted that late)."""
    from app.core.idempotency import purge

    n = purge(days)
    db.session.commit()
    click.echo(f"{n} idempotency key(s) purged.")


RELIABILITY_COMMANDS = (backup_command, restore_command, idempotency_cli)
