"""The application for arbitration (仲裁申请书, or 劳动人事争议仲裁申请书 for labour cases) generated from the case:
parties, claims, facts and reasons (with the failed mediation), the evidence list, the commission. Plain data only."""
from __future__ import annotations

from datetime import UTC, datetime

from app.cases.models import Case, PartyKind
from app.cases.rules import Rules
from app.core.web import CHINA_TZ
from app.escalation.arbitration import commission_for


def is_labour(case: Case, rules: Rules) -> bool:
    cat = rules.category(case.category)
    return cat is not None and cat.arbitration_body == "labour_arbitration"


def _party(p) -> dict:
    organisation = p.kind == PartyKind.organisation
    return {"name": p.name, "organisation": organisation,
            "id_number": p.id_number, "address": p.address, "phone": p.phone}


def _mediation_org(case: Case) -> str | None:
    """The mediation organisation when mediation was tried and failed (the template says 经XX调解未能达成协议)."""
    if not any(e.action == "record_failure" for e in case.events):
        return None
    return case.organisation.name if case.organisation else "人民调解委员会"


def application_data(case: Case, rules: Rules, now: datetime | None = None) -> dict:
    labour = is_labour(case, rules)
    body = commission_for(case, rules)
    cat = rules.category(case.category)
    today = (now or datetime.now(UTC)).astimezone(CHINA_TZ)
    return {
        "case": {"id": case.id, "title": case.title, "category": cat.zh if cat else "",
                 "description": case.description, "has_agreement": bool(case.has_arbitration_agreement)},
        "title": "劳动人事争议仲裁申请书" if labour else "仲裁申请书",
        "labour": labour,
        "body": body.name if body else ("劳动人事争议仲裁委员会" if labour else "仲裁委员会"),
        "applicants": [_party(p) for p in case.applicants],
        "respondents": [_party(p) for p in case.respondents],
        "desired_outcome": case.desired_outcome or "",
        "amount": f"{case.amount:,.2f}" if case.amount is not None else None,
        "mediation_org": _mediation_org(case),
        "evidence": [{"name": e.original_name, "description": e.description or ""} for e in case.evidence],
        "date": f"{today.year}年{today.month}月{today.day}日",
    }


def filename(case: Case, rules: Rules) -> str:
    return f"labour-arbitration-application-{case.id}.pdf" if is_labour(case, rules) \
        else f"arbitration-application-{case.id}.pdf"
