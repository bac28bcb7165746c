"""The agreement as other modules need it: which version is current, and its plain data for the PDF.

current_agreement(case): the newest version that is not superseded, except that a signed agreement stays
current while a correction of it is drafted or reviewed: a signed agreement is replaced only by a newer
*signed* one."""
from __future__ import annotations

import base64

import sqlalchemy as sa

from app.agreements.drafting import parties_content
from app.agreements.models import Agreement
from app.agreements.signing import signature_lines
from app.cases import facts
from app.cases.models import Case
from app.core.render_memo import per_render
from app.core.web import localtime
from app.extensions import db

TITLE = "人民调解协议书"


@per_render(lambda case: case.id)  # the case page's agreement, PDF and confirmation panels all ask
def agreement_versions(case: Case) -> list[Agreement]:
    """Every version of the case's agreement, newest first: a handful of rows, one query for all the lookups below."""
    if not facts.may_have(case, "agreements"):
        return []
    return list(db.session.scalars(sa.select(Agreement).where(Agreement.case_id == case.id)
                                   .order_by(Agreement.version.desc())))


def current_agreement(case: Case) -> Agreement | None:
    """The signed agreement in force (the newest signed version), else the newest draft or one in signing."""
    versions = agreement_versions(case)
    return (next((a for a in versions if a.status == "signed"), None)
            or next((a for a in versions if a.status != "superseded"), None))


def newest_version(case: Case, statuses: tuple[str, ...]) -> Agreement | None:
    """The newest version in one of these statuses (drafting.latest's answer for every status but superseded)."""
    return next((a for a in agreement_versions(case) if a.status in statuses), None)


def png_data_uri(png: bytes | None) -> str | None:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else None


def seal_data_uri(name: str | None) -> str | None:
    """The committee's seal as a data URI; None when there is no name or no CJK font to draw it with."""
    if not name:
        return None
    from app.agreements.seal import seal_png
    from app.documents.errors import DocumentError

    try:
        return png_data_uri(seal_png(name))
    except DocumentError:
        return None


def agreement_number(case: Case, agreement: Agreement) -> str:
    """解纷调字〔2026〕第12号: the year the agreement was signed (or drafted), Beijing time, and the case id."""
    year = localtime(agreement.signed_at or agreement.created_at, "%Y")
    return f"解纷调字〔{year}〕第{case.id}号"


def _signatures(case: Case, agreement: Agreement) -> list[dict]:
    return [{"role": line.role_label, "name": line.signature.typed_name or line.name,
             "method": line.signature.method, "image": png_data_uri(line.signature.image_png),
             "signed_at": localtime(line.signature.signed_at)}
            for line in signature_lines(case, agreement) if line.signature is not None]


def pdf_data(agreement: Agreement) -> dict:
    """Plain data (str/int/list/dict) for the agreement's PDF; see the interface in the issue's brief."""
    case = db.session.get(Case, agreement.case_id)
    org = case.organisation.name if case.organisation else ""
    mediator = next((line.name for line in signature_lines(case, agreement) if line.role == "mediator"), "")
    signed_on = ""
    if agreement.signed_at is not None:
        d = localtime(agreement.signed_at, "%Y-%m-%d").split("-")
        signed_on = f"{int(d[0])}年{int(d[1])}月{int(d[2])}日"
    return {
        "title": TITLE, "number": agreement_number(case, agreement),
        "organisation": {"name": org, "seal_png": seal_data_uri(org) if agreement.signed_at else None},
        "case": {"id": case.id, "title": case.title},
        "parties": parties_content(case),
        "facts": agreement.facts, "responsibility": agreement.responsibility,
        "terms": [t["text"] for t in agreement.terms], "performance": agreement.performance,
        "mediator": {"name": mediator},
        "signatures": _signatures(case, agreement),
        "signed_on": signed_on, "content_hash": agreement.content_hash or "", "version": agreement.version,
        "agreement_id": agreement.id,
    }


facts.register_case_fact("agreements", lambda: sa.exists().where(Agreement.case_id == Case.id))
