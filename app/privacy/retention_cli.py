"""`flask privacy purge`: the retention job (run daily from cron)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import db

privacy_cli = AppGroup("privacy", help="Personal data: the retention purge.")


@privacy_cli.command("purge")
@click.option("--days", type=int, default=None,
              help="Purge cases that ended more than this many days ago (default: PERSONAL_DATA_RETENTION_DAYS).")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@click.option("--batch-size", type=int, default=100, show_default=True, help="Cases per transaction.")
@with_appcontext
def purge(days: int | None, dry_run: bool, batch_size: int) -> None:
    """Remove the personal data and files of cases that ended more than --days ago (idempotent)."""
    from app.core.storage import storage
    from app.privacy.retention import purge_due

    days = current_app.config["PERSONAL_DATA_RETENTION_DAYS"] if days is None else days
    if days < 0 or batch_size < 1:
        raise click.BadParameter("--days must be >= 0 and --batch-size >= 1")
    report = purge_due(days, storage(), batch_size=batch_size, dry_run=dry_run, commit=db.session.commit)
    codes = _old_reset_codes(dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "would be purged (dry run)" if dry_run else "purged"
    rows = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing"
    click.echo(f"{report.cases} case(s) {verb} (retention {days} days): {rows}.")
    click.echo(f"{codes} password reset code(s) older than {RESET_CODE_DAYS} days {verb}.")


RESET_CODE_DAYS = 30  # a reset code lives minutes; its row (account, time, IP) a month, for questions about it


def _old_reset_codes(dry_run: bool) -> int:
    """Delete (or count) password reset rows older than RESET_CODE_DAYS."""
    from datetime import timedelta

    import sqlalchemy as sa

    from app.accounts.models import PasswordReset
    from app.core.time import utcnow

    old = PasswordReset.created_at < utcnow() - timedelta(days=RESET_CODE_DAYS)
    if dry_run:
        return db.session.scalar(sa.select(sa.func.count()).select_from(PasswordReset).where(old)) or 0
    return db.session.execute(sa.delete(PasswordReset).where(old)).rowcount or 0
