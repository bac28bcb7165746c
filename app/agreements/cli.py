"""`flask agreements ...` and `flask pki ...`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.extensions import db

agreements_cli = AppGroup("agreements", help="Settlement agreements: list, export the signed PDF.")
pki_cli = AppGroup("pki", help="Development CA and organisation signing certificates (instance/pki/).")


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _cases_with_agreements() -> list[int]:
    from app.agreements.models import Agreement

    return list(db.session.scalars(sa.select(Agreement.case_id).distinct().order_by(Agreement.case_id)))


@agreements_cli.command("list")
@click.option("--signed", is_flag=True, help="Only cases whose current agreement is fully signed: one id per line.")
def list_command(signed: bool) -> None:
    """Cases with an agreement: `id<TAB>status` (current version), or with --signed only the ids."""
    from app.agreements.pdf import content_module
    from app.cases.models import Case

    content = content_module()
    for case_id in _cases_with_agreements():
        agreement = content.current_agreement(db.session.get(Case, case_id))
        if agreement is None:
            continue
        if signed:
            if agreement.signed_at is not None:
                click.echo(str(case_id))
        else:
            click.echo(f"{case_id}\t{agreement.status}\tv{agreement.version}")


@agreements_cli.command("export")
@click.argument("case_id", type=int)
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_command(case_id: int, out: Path) -> None:
    """Write the signed PDF of the case's current agreement to OUT (rendered and signed now if not yet done)."""
    from app.agreements import pdf as pdf_ops
    from app.cases.models import Case

    case = db.session.get(Case, case_id)
    if case is None:
        _fail(f"Case {case_id} does not exist. 案件 {case_id} 不存在。")
    agreement = pdf_ops.content_module().current_agreement(case)
    if agreement is None or agreement.signed_at is None:
        _fail(f"Case {case_id} has no fully signed agreement. 案件 {case_id} 没有已全部签署的调解协议。")
    data = pdf_ops.signed_pdf_bytes(agreement)
    if data is None:
        agreement_id = agreement.id
        row = pdf_ops.request_pdf(agreement_id, again=True)
        row_id = row.id
        db.session.commit()
        pdf_ops.render_and_sign(row_id)  # here and now, whether or not a worker also got it
        db.session.expire_all()
        agreement = db.session.get(type(agreement), agreement_id)
        data = pdf_ops.signed_pdf_bytes(agreement)
        if data is None:
            row = pdf_ops.pdf_row(agreement_id)
            _fail(f"The PDF could not be made: {row.error if row else 'unknown error'}")
    out.write_bytes(data)
    click.echo(f"{out}\t{len(data)} bytes\tsha256 {pdf_ops.pdf_row(agreement.id).sha256}")


@pki_cli.command("init")
@click.option("--org", "org_id", type=int, default=None, help="Only this organisation (its id).")
def pki_init_command(org_id: int | None) -> None:
    """Create the development CA and a signing certificate per mediation organisation (keeps what exists)."""
    from flask import current_app

    from app.agreements import pki

    if current_app.config.get("AGREEMENT_SIGNING_P12"):
        click.echo("Note: AGREEMENT_SIGNING_P12 is set, so agreements are signed with that file, not these.")
    if org_id is not None and not pki.signing_organisations(org_id):
        _fail(f"Organisation {org_id} does not exist.")
    for what, path, made in pki.init(org_id):
        click.echo(f"{'created' if made else 'kept   '}  {path}  ({what})")
    click.echo(f"Folder {pki.pki_dir()} (0700), files 0600; PKCS#12 password from AGREEMENT_P12_PASSWORD.")
