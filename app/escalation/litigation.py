"""Filing with a court: which courts are competent, the complaint (民事起诉状) and its package, one row per
submission (CourtFiling), and the court's answer recorded on that row. Never commits."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Tier, User
from app.cases import funnel
from app.cases.assessment import fee_scenarios
from app.cases.assessment_rules import current_assessment_rules
from app.cases.models import Case, CaseEvent, CaseParty, CaseStatus, PartyKind, Stage
from app.cases.operations import UNCHECKED, transition
from app.cases.rules import Rules
from app.cases.signals import case_transitioned
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.core.web import localtime
from app.documents import issue
from app.escalation.litigation_rules import Basis, LitigationRules
from app.escalation.models import CourtFiling
from app.extensions import db

NUMBERING_RE = re.compile(r"^\s*(?:\d{1,2}\s*[.、．)）]|[一二三四五六七八九十]{1,3}\s*[、.．]|[（(]\s*\d{1,2}\s*[)）])\s*")


# --- jurisdiction ------------------------------------------------------------------------------------
@dataclass
class CompetentCourt:
    court: Organisation
    bases: list[Basis] = field(default_factory=list)

    @property
    def labels(self) -> str:
        return "、".join(b.label for b in self.bases)


def _basic_courts() -> list[Organisation]:
    return db.session.scalars(sa.select(Organisation).where(Organisation.type == OrgType.court,
                                                            Organisation.tier == Tier.county)
                              .order_by(Organisation.id)).all()


def court_for_region(region_code: str | None, courts: list[Organisation]) -> Organisation | None:
    """The basic-level court whose region code is the longest prefix of region_code."""
    if not region_code:
        return None
    matching = [c for c in courts if c.region_code and region_code.startswith(c.region_code)]
    return max(matching, key=lambda c: (len(c.region_code), -c.id), default=None)


def _regions(case: Case, basis: Basis, performance_region_code: str | None) -> list[str]:
    if basis.region == "defendants":
        return [p.region_code for p in case.respondents if p.region_code]
    if basis.region == "performance_place":
        return [performance_region_code] if performance_region_code else []
    return [case.region_code] if case.region_code else []


def competent_courts(case: Case, performance_region_code: str | None,
                     lrules: LitigationRules | None = None) -> list[CompetentCourt]:
    """The basic-level courts competent for this case (民事诉讼法 art. 22, 24, 34), each with its grounds."""
    if lrules is None:
        from app.escalation.litigation_rules import current_litigation_rules

        lrules = current_litigation_rules()
    courts, found = _basic_courts(), {}
    for basis in lrules.bases_for(case.category):
        for region in _regions(case, basis, performance_region_code):
            court = court_for_region(region, courts)
            if court is not None:
                entry = found.setdefault(court.id, CompetentCourt(court))
                if basis not in entry.bases:
                    entry.bases.append(basis)
    return list(found.values())


def no_court_message(case: Case, lrules: LitigationRules) -> str:
    """Why no court could be found, in words the resident can act on."""
    bases = lrules.bases_for(case.category)
    if any(b.region == "case" for b in bases) and not case.region_code:
        return gettext("本案依法由%(where)s的人民法院专属管辖，但案件信息中没有填写所在地区。请先在“修改案件信息”中填写地区代码。",
                       where=bases[0].label)
    if any(b.region == "defendants" for b in bases) and not any(p.region_code for p in case.respondents):
        return gettext("案件信息中没有被告的所在地区，无法确定管辖法院。请先在“修改案件信息”中填写被告的地区代码。")
    return gettext("平台上暂无对本案有管辖权的基层人民法院。请携带材料到有管辖权的人民法院立案窗口起诉，或联系网格员。")


# --- what the filing page starts from ------------------------------------------------------------
def fee_estimate(case: Case) -> dict | None:
    """The 案件受理费 scenarios of the assessment for this case's amount and kind (None without an amount)."""
    fees = current_assessment_rules().fees
    return fee_scenarios(case.amount, fees.kind_for(case.category), fees)


def filings(case: Case) -> list[CourtFiling]:
    return db.session.scalars(sa.select(CourtFiling).where(CourtFiling.case_id == case.id)
                              .order_by(CourtFiling.seq)).all()


def latest_filing(case: Case) -> CourtFiling | None:
    return db.session.scalar(sa.select(CourtFiling).where(CourtFiling.case_id == case.id)
                             .order_by(CourtFiling.seq.desc()).limit(1))


def _lines(text: str) -> str:
    """Text as stored: browsers send CRLF line breaks; keep plain newlines, no outer blanks."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def default_claims(case: Case) -> str:
    """诉讼请求 to start from: what the resident wants (else the amount claimed), and the costs."""
    lines = [line.strip() for line in (case.desired_outcome or "").splitlines() if line.strip()]
    if case.amount and not lines:
        lines.append(gettext("判令被告向原告支付人民币%(amount)s元；", amount=f"{case.amount:,.2f}"))
    lines.append(gettext("本案诉讼费用由被告承担。"))
    return "\n".join(lines)


def filing_action(case: Case) -> str:
    returned = (case.stage, case.status) == (Stage.litigate, CaseStatus.returned)
    return "resubmit_filing" if returned else "file_lawsuit"


def check_may_file(case: Case, user: User, rules: Rules) -> str:
    """The step the filing page takes (file or resubmit), or DomainError with the funnel's reason."""
    action = filing_action(case)
    why = funnel.refusal(case, action, user, rules)
    if why:
        raise DomainError(why[1], why[0])
    return action


# --- submitting --------------------------------------------------------------------------------------
@dataclass
class FilingData:
    court_id: int
    performance_region_code: str | None
    cause_code: str
    claims: str
    facts: str


def submit_filing(case: Case, user: User, data: FilingData, rules: Rules, lrules: LitigationRules,
                  seen_version=UNCHECKED, issue_complaint: bool = True) -> CourtFiling:
    """Record a submission (seq n), take the funnel step and issue its complaint, in the caller's transaction.
    Without issue_complaint (demo data) the complaint is rendered when first downloaded."""
    action = check_may_file(case, user, rules)
    competent = competent_courts(case, data.performance_region_code, lrules)
    chosen = next((c for c in competent if c.court.id == data.court_id), None)
    cause = lrules.causes.get(data.cause_code)
    if chosen is None or cause is None:
        raise DomainError(gettext("请选择有管辖权的法院和案由。"), 422)
    estimate = fee_estimate(case)
    last = db.session.scalar(sa.select(sa.func.max(CourtFiling.seq)).where(CourtFiling.case_id == case.id))
    filing = CourtFiling(case_id=case.id, seq=(last or 0) + 1, court_id=chosen.court.id,
                         jurisdiction_basis=chosen.bases[0].key,
                         performance_region_code=data.performance_region_code or None, cause_code=cause.code,
                         cause_name=cause.name, claims=_lines(data.claims), facts=_lines(data.facts),
                         fee_estimate=Decimal(estimate["full"]["low"]) if estimate else None,
                         submitted_by_id=user.id, submitted_at=utcnow())
    db.session.add(filing)
    if action == "resubmit_filing":
        case.court = chosen.court  # the resident may correct the court too after a return
    transition(case, action, user, rules, data={"court_id": chosen.court.id}, seen_version=seen_version)
    db.session.flush()
    if not issue_complaint:
        return filing
    issued = issue("civil_complaint", "documents/civil_complaint.html", complaint_data(case, filing, lrules),
                   case_id=case.id, user_id=user.id)
    filing.complaint_document_id = issued.document.id
    db.session.flush()
    return filing


# --- the complaint and the package as plain data ------------------------------------------------------
def cn_date(value) -> str:
    """A naive UTC datetime as a Chinese date in Beijing time, as court documents write it: 2026年3月5日."""
    y, m, d = (int(x) for x in localtime(value, "%Y-%m-%d").split("-"))
    return gettext("%(y)s年%(m)s月%(d)s日", y=y, m=m, d=d)


def _person_details(id_number: str | None) -> tuple[str | None, str | None]:
    """(gender, date of birth) read from an 18-digit resident ID number (GB 11643)."""
    if not id_number or len(id_number) != 18 or not id_number[:17].isdigit():
        return None, None
    gender = gettext("男") if int(id_number[16]) % 2 else gettext("女")
    y, m, d = id_number[6:10], id_number[10:12], id_number[12:14]
    return gender, gettext("%(y)s年%(m)s月%(d)s日", y=y, m=int(m), d=int(d))


def party_data(party: CaseParty) -> dict:
    gender, born = _person_details(party.id_number) if party.kind == PartyKind.person else (None, None)
    return {"name": party.name, "organisation": party.kind == PartyKind.organisation, "gender": gender,
            "born": born, "id_number": party.id_number, "phone": party.phone,
            "region_code": party.region_code,
            "address": party.address}


def claim_items(claims: str) -> list[str]:
    """The claims one per line, without the numbers the resident typed (the document numbers them)."""
    items = (NUMBERING_RE.sub("", line).strip() for line in claims.splitlines())
    return [item for item in items if item]


def evidence_data(case: Case) -> list[dict]:
    return [{"id": e.id, "name": e.original_name, "description": e.description,
             "source": gettext("原告提交") if case.is_applicant_side(e.uploaded_by) else gettext("被告提交"),
             "uploaded_by": e.uploaded_by.display_name, "uploaded_at": localtime(e.created_at, "%Y-%m-%d")}
            for e in case.evidence]


def _event(case: Case, action: str, last: bool = False) -> CaseEvent | None:
    events = [e for e in case.events if e.action == action]
    return (events[-1] if last else events[0]) if events else None


def mediation_statement(case: Case) -> dict | None:
    """调解不成的说明: who mediated, when, and why it failed (None when mediation never failed)."""
    failed = _event(case, "record_failure", last=True)
    if failed is None:
        return None
    from app.mediation import record as record_ops

    started = _event(case, "request_mediation")
    record = record_ops.current_record(case)
    return {"organisation": case.organisation.name if case.organisation else None,
            "mediator": case.mediator.display_name if case.mediator else None,
            "started_on": cn_date(started.created_at) if started else None,
            "failed_on": cn_date(failed.created_at), "reason": failed.reason,
            "record_version": record.version if record else None}


def complaint_data(case: Case, filing: CourtFiling, lrules: LitigationRules) -> dict:
    """Plain data for documents/civil_complaint.html."""
    basis = lrules.bases.get(filing.jurisdiction_basis)
    applicant = case.applicants[0] if case.applicants else None
    return {"case": {"id": case.id, "title": case.title}, "seq": filing.seq,
            "plaintiffs": [party_data(p) for p in case.applicants],
            "defendants": [party_data(p) for p in case.respondents],
            "cause": filing.cause_name, "claims": claim_items(filing.claims), "facts": filing.facts,
            "evidence": evidence_data(case), "court": filing.court.name if filing.court else "",
            "basis": {"label": basis.label, "law": basis.law} if basis else None,
            "signer": applicant.name if applicant else filing.submitted_by.display_name,
            "date": cn_date(filing.submitted_at), "copies": max(len(case.respondents), 1),
            "amount": case.amount, "mediation": mediation_statement(case)}


# --- the court's answer, recorded on the submission ------------------------------------------------
def _record_decision(case: Case, transition=None, actor: User | None = None, event: CaseEvent | None = None,
                     **_) -> None:
    """accept_filing / return_filing (from the web or the court API) also decide the latest submission."""
    if transition is None or transition.action not in ("accept_filing", "return_filing"):
        return
    filing = latest_filing(case)
    if filing is None or filing.status != "submitted":
        return  # filed through the bare step (before the filing page existed): nothing to record
    filing.decided_at = event.created_at if event else utcnow()
    filing.decided_by_id = actor.id if actor else None
    if transition.action == "accept_filing":
        filing.status, filing.court_case_number = "accepted", case.court_case_number
    else:
        filing.status, filing.reasons = "returned", (event.reason if event else None) or "—"
    db.session.flush()


case_transitioned.connect(_record_decision, weak=False)
