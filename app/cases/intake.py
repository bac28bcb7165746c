"""The intake wizard's logic: a draft case (stage consult) saved step by step, then submitted for assessment."""
from __future__ import annotations

from datetime import date

from app.accounts.models import Role, User
from app.cases import operations
from app.cases.models import Case, CaseParty, CaseStatus, PartyKind, PartyRole, Stage
from app.cases.operations import PartyData
from app.cases.rules import Rules
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.extensions import db
from app.privacy import consent

DRAFT_FIELDS = {"title", "description", "desired_outcome", "began_on", "learned_on", "category", "amount",
                "has_arbitration_agreement", "region_code"}


def is_draft(case: Case) -> bool:
    return case.stage == Stage.consult and case.status == CaseStatus.open


def start_draft(filer: User, title: str, description: str, desired_outcome: str | None,
                began_on: date | None, learned_on: date | None) -> Case:
    """Create the draft at step 1; a resident is the applicant, a grid worker names the resident at step 3."""
    case = Case(stage=Stage.consult, status=CaseStatus.open, filed_by_id=filer.id, title=title.strip(),
                description=description.strip(), desired_outcome=(desired_outcome or "").strip() or None,
                began_on=began_on, learned_on=learned_on, region_code=filer.region_code)
    if filer.role == Role.resident:
        case.parties.append(CaseParty(role=PartyRole.applicant, kind=PartyKind.person,
                                                 name=filer.display_name, phone=filer.phone,
                                                 region_code=filer.region_code, user_id=filer.id, email=filer.email))
    db.session.add(case)
    db.session.flush()
    operations.append_event(case, filer, "draft", None, first=True)
    return case


def _editable(case: Case, editor: User, seen_version) -> None:
    if not (is_draft(case) and case.is_applicant_side(editor)):
        raise DomainError(gettext("此纠纷已提交，不能再在填写向导中修改。"), 409)
    operations.check_version(case, seen_version)


def save_fields(case: Case, editor: User, seen_version, **fields) -> None:
    """Save one step's fields of a draft (stale pages get 409)."""
    _editable(case, editor, seen_version)
    unknown = set(fields) - DRAFT_FIELDS
    if unknown:
        raise ValueError(f"not draft fields: {unknown}")
    for key, value in fields.items():
        setattr(case, key, value.strip() or None if isinstance(value, str) else value)
    case.updated_at = utcnow()
    db.session.flush()


def save_parties(case: Case, editor: User, seen_version, applicant: PartyData, respondents: list[PartyData]) -> None:
    """Save the applicant's details and the respondents of a draft."""
    _editable(case, editor, seen_version)
    operations.replace_parties(case, [applicant, *respondents])
    case.region_code = applicant.region_code or case.region_code
    case.updated_at = utcnow()
    db.session.flush()


def submit(case: Case, user: User, rules: Rules, seen_version, on_behalf: bool, consent_method: str | None = None):
    """Submit the draft for assessment (the funnel's guards say what is still missing). A grid worker filing for a
    resident records, on a consent row of its own, that the resident consented in person and how."""
    reason = gettext("网格员代为申请，居民本人已当面确认。") if on_behalf else None
    event = operations.transition(case, "assess", user, rules, reason=reason, seen_version=seen_version)
    if on_behalf:
        applicant = case.applicants[0] if case.applicants else None
        consent.record_consent(applicant.user if applicant else None, method=consent_method or "in_person_signed",
                               recorded_by=user, case_id=case.id, subject_name=applicant.name if applicant else None)
    return event
