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
@click.option("--inactive-days", type=int, default=None,
              help="Close resident accounts unused for this many days (default: PERSONAL_DATA_RETENTION_DAYS).")
@with_appcontext
def purge(days: int | None, dry_run: bool, batch_size: int, inactive_days: int | None) -> None:
    """Remove the personal data and files of cases that ended more than --days ago, and close resident accounts
    unused for --inactive-days (idempotent)."""
    from app.core.storage import storage
    from app.privacy.retention import purge_due

    days = current_app.config["PERSONAL_DATA_RETENTION_DAYS"] if days is None else days
    if days < 0 or batch_size < 1:
        raise click.BadParameter("--days must be >= 0 and --batch-size >= 1")
    report = purge_due(days, storage(), batch_size=batch_size, dry_run=dry_run, commit=db.session.commit)
    codes = _old_reset_codes(dry_run)
    phone_codes = _old_phone_codes(dry_run)
    questions_days = current_app.config["CONSULT_RETENTION_DAYS"]
    questions = _old_consult_questions(questions_days, dry_run)
    inactive_days = days if inactive_days is None else inactive_days
    closed, kept = _close_inactive(inactive_days, dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "would be purged (dry run)" if dry_run else "purged"
    rows = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing"
    click.echo(f"{report.cases} case(s) {verb} (retention {days} days): {rows}.")
    click.echo(f"{codes} password reset code(s) older than {RESET_CODE_DAYS} days {verb}.")
    click.echo(f"{phone_codes} phone verification code(s) older than {RESET_CODE_DAYS} days {verb}.")
    click.echo(f"{questions} consult question text(s) older than {questions_days} days {verb}.")
    closed_verb = "would be closed (dry run)" if dry_run else "closed"
    click.echo(f"{closed} resident account(s) unused for {inactive_days} days {closed_verb}; "
               f"{kept} kept while a dispute of theirs is in progress.")


def _close_inactive(days: int, dry_run: bool) -> tuple[int, int]:
    """Close (or count) the resident accounts unused for `days` days, each in its own transaction; (closed, kept)."""
    from app.privacy.closure import ClosureRefused, cases_in_progress, close_account, inactive_residents

    closed = kept = 0
    for user in inactive_residents(days):
        if dry_run:
            closed, kept = (closed, kept + 1) if cases_in_progress(user) else (closed + 1, kept)
            continue
        try:
            close_account(user, why=f"closed by the retention job (unused for {days} days)")
        except ClosureRefused:
            db.session.rollback()
            kept += 1
            continue
        db.session.commit()
        closed += 1
    return closed, kept


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


def _old_phone_codes(dry_run: bool) -> int:
    """Delete (or count) phone verification rows (account, number, time, IP) older than RESET_CODE_DAYS."""
    from datetime import timedelta

    import sqlalchemy as sa

    from app.accounts.models import PhoneVerification
    from app.core.time import utcnow

    old = PhoneVerification.created_at < utcnow() - timedelta(days=RESET_CODE_DAYS)
    if dry_run:
        return db.session.scalar(sa.select(sa.func.count()).select_from(PhoneVerification).where(old)) or 0
    return db.session.execute(sa.delete(PhoneVerification).where(old)).rowcount or 0


def _old_consult_questions(days: int, dry_run: bool) -> int:
    """Clear (or count) the text and asker of /consult questions older than `days`; category, the answers shown and
    the resolved answer stay for the resolved-at-consult figures."""
    from datetime import timedelta

    import sqlalchemy as sa

    from app.consult.models import ConsultQuery
    from app.core.time import utcnow
    from app.privacy.retention_rules import PURGED

    old = (ConsultQuery.created_at < utcnow() - timedelta(days=days), ConsultQuery.question != PURGED)
    if dry_run:
        return db.session.scalar(sa.select(sa.func.count()).select_from(ConsultQuery).where(*old)) or 0
    return db.session.execute(sa.update(ConsultQuery).where(*old).values(question=PURGED, user_id=None)
                              .execution_options(synchronize_session=False)).rowcount or 0
