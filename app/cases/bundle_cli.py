"""`flask cases ...`: list case ids, export and import portable case bundles (format: app/cases/bundle.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.cases.models import Case, Stage
from app.extensions import db

cases_cli = AppGroup("cases", help="Cases: list ids, export and import case bundles.")


@cases_cli.command("list")
@click.option("--stage", type=click.Choice([s.value for s in Stage]), default=None,
              help="Only cases at this stage.")
def list_cases(stage: str | None) -> None:
    """Print one case id per line, ordered by id."""
    query = sa.select(Case.id).order_by(Case.id)
    if stage:
        query = query.where(Case.stage == Stage(stage))
    for case_id in db.session.scalars(query):
        click.echo(case_id)


@cases_cli.command("export-bundle")
@click.argument("case_id", type=int)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_bundle_command(case_id: int, out: Path) -> None:
    """Write case CASE_ID as a bundle zip to OUT."""
    from app.cases.bundle import export_bundle
    from app.core.storage import storage

    case = db.session.get(Case, case_id)
    if case is None:
        click.echo(f"案件 {case_id} 不存在 / case {case_id} does not exist", err=True)
        sys.exit(1)
    data = export_bundle(case, storage())
    out.write_bytes(data)
    click.echo(f"{out} ({len(data)} bytes)")


@cases_cli.command("import-bundle")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_bundle_command(bundle: Path) -> None:
    """Check every hash in BUNDLE and re-create its case; print the new case id."""
    from app.cases.bundle import BundleError, import_bundle
    from app.core.storage import storage

    try:
        case = import_bundle(bundle.read_bytes(), storage())
    except BundleError as exc:
        db.session.rollback()
        click.echo(f"拒绝导入 / import refused: {exc.zh} / {exc.en}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(case.id)
