"""The award's content as plain data: what its content hash covers, and what templates/documents/
arbitration_award.html is fed (title, number, parties, 案由, the procedure, claims, findings, reasoning, the
numbered decision, the notice of finality or of the right to sue, the arbitrator, the date and the seal)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.accounts.models import Organisation, User
from app.cases.models import Case, CaseEvent, CaseParty, PartyKind, PartyRole
from app.cases.rules import current_rules
from app.core.web import localtime
from app.escalation.award_rules import AwardRules
from app.escalation.models import Award, Hearing
from app.extensions import db

DIGITS = "〇一二三四五六七八九"
ROLE_LABELS = {PartyRole.applicant: "申请人", PartyRole.respondent: "被申请人"}


# --- dates -------------------------------------------------------------------------------------------------
def chinese_date(value: datetime | None) -> str:
    """2026年11月30日 (Beijing)."""
    if value is None:
        return ""
    return localtime(value, "%Y年%m月%d日").replace("年0", "年").replace("月0", "月")


def _small_number(n: int) -> str:
    """1..31 in Chinese numerals: 十一, 二十, 三十一."""
    if n < 10:
        return DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")


def numeral_date(value: datetime) -> str:
    """二〇二六年十一月三十日 (Beijing), as awards are dated."""
    year, month, day = (int(x) for x in localtime(value, "%Y-%m-%d").split("-"))
    return "".join(DIGITS[int(d)] for d in str(year)) + f"年{_small_number(month)}月{_small_number(day)}日"


def ordinal(n: int) -> str:
    """1 -> 一, 12 -> 十二: the numbering of the decision's items."""
    return _small_number(n) if n < 100 else str(n)


# --- the parties -------------------------------------------------------------------------------------
def _sorted_parties(case: Case) -> list[CaseParty]:
    return sorted(case.parties, key=lambda p: (p.role != PartyRole.applicant, p.id))


def party_content(party: CaseParty) -> dict:
    """One party as the award states it (full details: the award is the parties' own document)."""
    organisation = party.kind == PartyKind.organisation
    details = []
    if party.id_number:
        details.append(("统一社会信用代码：" if organisation else "公民身份号码：") + party.id_number)
    if party.address:
        details.append(("住所地：" if organisation else "住址：") + party.address)
    if party.phone:
        details.append("联系电话：" + party.phone)
    return {"role": ROLE_LABELS[party.role], "name": party.name, "organisation": organisation,
            "details": details}


def _names(case: Case, role: PartyRole) -> str:
    return "、".join(p.name for p in _sorted_parties(case) if p.role == role)


# --- the procedure -----------------------------------------------------------------------------------
def accepted_at(case: Case) -> datetime | None:
    """When the application was accepted (the accept_arbitration event), else when it was filed."""
    events = db.session.scalars(sa.select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.action.in_(("accept_arbitration", "request_arbitration")))
        .order_by(CaseEvent.seq)).all()
    accepted = [e for e in events if e.action == "accept_arbitration"]
    chosen = accepted[-1] if accepted else (events[-1] if events else None)
    return chosen.created_at if chosen else None


def held_hearings(case: Case) -> list[Hearing]:
    return db.session.scalars(sa.select(Hearing).where(Hearing.case_id == case.id, Hearing.status == "held")
                              .order_by(Hearing.starts_at)).all()


def procedure(case: Case, self_name: str, arbitrator: str, cause: str) -> str:
    """本委于…受理…依法组成仲裁庭…开庭审理…: the procedural paragraph from the case's events and hearings."""
    received = chinese_date(accepted_at(case))
    text = (f"{self_name}于{received}受理申请人{_names(case, PartyRole.applicant)}与被申请人"
            f"{_names(case, PartyRole.respondent)}{cause}一案后，依法组成仲裁庭，由仲裁员{arbitrator}独任审理。")
    hearings = held_hearings(case)
    if hearings:
        dates = "、".join(chinese_date(h.starts_at) for h in hearings)
        places = "、".join(dict.fromkeys(h.place for h in hearings))
        text += f"仲裁庭于{dates}在{places}开庭审理了本案。"
    else:
        text += "仲裁庭依法对本案进行了书面审理。"
    return text + "本案现已审理终结。"


# --- what the hash covers, and the document ------------------------------------------------------------
def cause_of(case: Case) -> str:
    category = current_rules().category(case.category)
    return category.zh if category else "争议"


def canonical_content(case: Case, award: Award, body: Organisation, number: str, issued_at: datetime) -> dict:
    """What the content hash covers: who decided what, between whom, under which number and on which day."""
    arbitrator = db.session.get(User, award.arbitrator_id)
    return {"case_id": case.id, "body": body.name, "number": number,
            "issued_on": localtime(issued_at, "%Y-%m-%d"),
            "arbitrator": arbitrator.display_name if arbitrator else "",
            "parties": [party_content(p) for p in _sorted_parties(case)], "cause": cause_of(case),
            "claims": award.claims, "findings": award.findings, "reasoning": award.reasoning,
            "decision": [line for line in award.decision.splitlines() if line.strip()]}


def seal_data_uri(name: str, subtitle: str) -> str | None:
    from app.agreements.content import png_data_uri
    from app.agreements.seal import seal_png
    from app.documents.errors import DocumentError

    try:
        return png_data_uri(seal_png(name, subtitle))
    except DocumentError:
        return None


def verify_url() -> str:
    from flask import current_app

    return current_app.config.get("BASE_URL", "").rstrip("/") + "/verify"


def document_data(case: Case, body: Organisation, rules: AwardRules, content: dict, content_hash: str,
                  issued_at: datetime) -> dict:
    """Plain data for templates/documents/arbitration_award.html (content as canonical_content made it)."""
    body_rules = rules.for_type(body.type.value)
    return {
        "case": {"id": case.id}, "body": {"name": body.name, "type": body.type.value,
                                          "seal": seal_data_uri(body.name, body_rules.seal_subtitle)},
        "number": content["number"], "parties": content["parties"], "cause": content["cause"],
        "self_name": body_rules.self_name, "law": body_rules.law,
        "procedure": procedure(case, body_rules.self_name, content["arbitrator"], content["cause"]),
        "applicants": _names(case, PartyRole.applicant), "claims": content["claims"],
        "findings": content["findings"], "reasoning": content["reasoning"],
        "decision": [{"n": ordinal(i), "text": text} for i, text in enumerate(content["decision"], 1)],
        "finality": list(body_rules.finality), "arbitrator": content["arbitrator"],
        "date": numeral_date(issued_at), "content_hash": content_hash, "verify_url": verify_url(),
    }
