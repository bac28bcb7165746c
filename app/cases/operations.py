"""Case logic: filing, editing with optimistic locking, funnel steps, evidence. Never commits."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Role, User
from app.cases import assignment, funnel
from app.cases.models import (
    GENESIS_HASH,
    Case,
    CaseEvent,
    CaseParty,
    CaseStatus,
    PartyKind,
    PartyRole,
    Stage,
    event_payload,
    reason_problem,
)
from app.cases.rules import Rules
from app.cases.signals import case_transitioned
from app.core.errors import CONFLICT_MESSAGE, DomainError, EditConflict, TransitionRefused
from app.core.i18n import gettext
from app.core.time import utcnow
from app.extensions import db

COURT_NUMBER_RE = re.compile(r"^[（(]\d{4}[）)][\u4e00-\u9fff]\d{2,6}[\u4e00-\u9fff]{1,4}\d{1,6}号$")


@dataclass
class PartyData:
    role: PartyRole
    kind: PartyKind
    name: str
    phone: str | None = None
    id_number: str | None = None
    region_code: str | None = None
    address: str | None = None
    user_id: int | None = None
    email: str | None = None


@dataclass
class CaseData:
    title: str
    description: str
    category: str | None = None
    amount: Decimal | None = None
    desired_outcome: str | None = None
    region_code: str | None = None
    has_arbitration_agreement: bool = False


# --- history ---------------------------------------------------------------------------
def append_event(case: Case, actor: User | None, action: str, from_state: tuple | None,
                 reason: str | None = None, *, first: bool = False) -> CaseEvent:
    """Append a hash-chained event for the case's current state; the previous link is read from the DB, except
    for the `first` event of a case created in this same transaction (nobody else can have chained to it yet).
    The first event is written by the request's next flush (its commit at the latest) rather than a flush of its
    own: nothing can read it in between, and a new draft's request has one flush fewer."""
    db.session.flush()
    last = None if first else db.session.execute(
        sa.select(CaseEvent.seq, CaseEvent.hash).where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    event = CaseEvent(
        case_id=case.id, seq=seq, actor_id=actor.id if actor else None, action=action,
        from_stage=from_state[0].value if from_state else None,
        from_status=from_state[1].value if from_state else None,
        to_stage=case.stage.value, to_status=case.status.value, created_at=utcnow(), prev_hash=prev, hash="",
    )
    event.set_reason(reason)
    event.hash = event.compute_hash()
    db.session.add(event)
    if not first:
        db.session.flush()
    return event


# --- filing and editing ------------------------------------------------------------------
def file_case(filer: User, data: CaseData, parties: list[PartyData], rules: Rules) -> Case:
    """A new dispute: straight to assessment when it has a category and a respondent, else a consult."""
    complete = bool(rules.category(data.category)) and any(p.role == PartyRole.respondent for p in parties)
    stage, status = (Stage.assess, CaseStatus.assessed) if complete else (Stage.consult, CaseStatus.open)
    case = Case(stage=stage, status=status, filed_by_id=filer.id, **_case_fields(data))
    for p in parties:
        case.parties.append(CaseParty(**p.__dict__))
    db.session.add(case)
    db.session.flush()
    append_event(case, filer, "file", None, first=True)
    return case


def _case_fields(data: CaseData) -> dict:
    return {"title": data.title.strip(), "description": data.description.strip(), "category": data.category or None,
            "amount": data.amount, "desired_outcome": (data.desired_outcome or "").strip() or None,
            "region_code": data.region_code or None, "has_arbitration_agreement": data.has_arbitration_agreement}


def check_version(case: Case, seen_version: int | None) -> None:
    """Refuse with 409 when the form was loaded from an older version of the case."""
    if seen_version is None or int(seen_version) != case.version:
        raise EditConflict(gettext(CONFLICT_MESSAGE))


def replace_parties(case: Case, parties: list[PartyData]) -> None:
    """Replace the parties, keeping respondents' linked accounts by position."""
    linked = [p.user_id for p in case.respondents]
    new_parties = []
    for p in parties:
        row = CaseParty(**p.__dict__)
        if p.role == PartyRole.respondent and row.user_id is None and linked:
            row.user_id = linked.pop(0)
        new_parties.append(row)
    case.parties[:] = new_parties


def update_case(case: Case, editor: User, data: CaseData, parties: list[PartyData], seen_version: int,
                rules: Rules) -> Case:
    """Replace the intake details; a stale form or a concurrent edit gets 409, never a silent overwrite."""
    if not case.can_edit(editor):
        raise DomainError(gettext("此案件当前不能修改。"), 403)
    check_version(case, seen_version)
    for key, value in _case_fields(data).items():
        setattr(case, key, value)
    replace_parties(case, parties)
    case.updated_at = utcnow()
    db.session.flush()  # the UPDATE carries "WHERE version = n": a concurrent writer raises StaleDataError
    append_event(case, editor, "edit", (case.stage, case.status))
    return case


# --- funnel steps ------------------------------------------------------------------------
def _pick_org(types: tuple[OrgType, ...], region_code: str | None) -> Organisation | None:
    """The lowest-tier organisation of these types whose region contains the case's region."""
    orgs = db.session.scalars(sa.select(Organisation).where(Organisation.type.in_(types))).all()
    region = region_code or ""
    local = [o for o in orgs if region.startswith(o.region_code)]
    pool = local or orgs
    if not pool:
        return None
    return sorted(pool, key=lambda o: (o.tier.rank, -len(o.region_code), o.id))[0]


def _mediation_org(case: Case) -> Organisation | None:
    return _pick_org((OrgType.people_mediation,), case.region_code)


def _arbitration_body(case: Case, rules: Rules) -> Organisation | None:
    cat = rules.category(case.category)
    body_type = OrgType(cat.arbitration_body) if cat else OrgType.arbitration_commission
    return _pick_org((body_type,), case.region_code)


def courts_for(case: Case) -> list[Organisation]:
    """Courts the applicant may choose; those covering the respondent's or the case's region first."""
    courts = db.session.scalars(sa.select(Organisation).where(Organisation.type == OrgType.court)
                                .order_by(Organisation.tier, Organisation.id)).all()
    regions = [p.region_code for p in case.respondents if p.region_code] + [case.region_code or ""]
    return sorted(courts, key=lambda c: not any(r.startswith(c.region_code) for r in regions))


def mediators_for(case: Case) -> list[User]:
    """Mediators of the case's organisation, specialists in its category first."""
    users = db.session.scalars(sa.select(User).where(User.role == Role.mediator, User.active.is_(True),
                                                     User.organisation_id == case.organisation_id)
                               .order_by(User.id)).all()
    return sorted(users, key=lambda u: case.category not in ((u.mediator_profile.specialties or [])
                                                             if u.mediator_profile else []))


def _effect(case: Case, t: funnel.Transition, data: dict, rules: Rules) -> None:
    """Fill in the columns a step needs (its target stage's CHECK constraints)."""
    if t.action == "request_mediation":
        case.organisation = _mediation_org(case)
    elif t.action in ("assign_mediator", "reassign_mediator"):
        mediator = db.session.get(User, int(data.get("mediator_id") or 0))
        if mediator is None or mediator.role != Role.mediator or mediator.organisation_id != case.organisation_id:
            raise TransitionRefused(gettext("请选择本调解组织的一名调解员。"), 422)
        if mediator.id == case.mediator_id:
            raise TransitionRefused(gettext("请选择另一位调解员。"), 422)
        case.mediator = mediator
    elif t.action == "auto_assign":
        mediator = db.session.get(User, int(data["mediator_id"]))
        case.mediator, case.organisation = mediator, mediator.organisation
    elif t.action == "request_other_mediator":
        choice = assignment.choose_mediator(case, assignment.current_engine(), exclude_ids={case.mediator_id})
        if choice.best is None:
            raise TransitionRefused(gettext("暂时没有其他可接案的调解员，请联系调解组织管理员。"), 409)
        data["routing_choice"] = choice
        mediator = db.session.get(User, choice.best.mediator_id)
        case.mediator, case.organisation = mediator, mediator.organisation
    elif t.action == "request_arbitration":
        case.arbitration_body = _arbitration_body(case, rules)
    elif t.action == "file_lawsuit":
        court = db.session.get(Organisation, int(data.get("court_id") or 0))
        if court is None or court.type != OrgType.court:
            raise TransitionRefused(gettext("请选择受理本案的人民法院。"), 422)
        case.court = court
    elif t.action == "accept_filing":
        number = (data.get("court_case_number") or "").strip()
        if not COURT_NUMBER_RE.match(number):
            raise TransitionRefused(gettext("案号格式不正确，应类似“（2026）皖0202民初123号”。"), 422)
        case.court_case_number = number
    if t.target[0] == Stage.closed:
        case.closed_at = utcnow()


def _availability(case: Case, t: funnel.Transition, rules: Rules) -> dict:
    if t.action == "request_mediation":
        return {"mediation_org_available": _mediation_org(case) is not None}
    if t.action == "request_arbitration":
        return {"arbitration_body_available": _arbitration_body(case, rules) is not None}
    return {}


UNCHECKED = object()


def transition(case: Case, action: str, actor: User, rules: Rules, *, reason: str | None = None,
               data: dict | None = None, seen_version=UNCHECKED) -> CaseEvent:
    """Take one funnel step: guard, check the page's version (from the web), fill the columns, record, signal."""
    t = funnel.BY_ACTION.get(action)
    ctx = _availability(case, t, rules) if t else {}
    t = funnel.check(case, action, actor, rules, ctx)
    if seen_version is not UNCHECKED:
        check_version(case, seen_version)  # a page without the version counts as stale
    reason = (reason or "").strip()
    if t.reason_required and not reason:
        raise TransitionRefused(gettext("“%(action)s”需要填写说明或理由。", action=t.label), 422)
    before = (case.stage, case.status)
    _effect(case, t, data or {}, rules)
    case.stage, case.status = t.target
    case.updated_at = utcnow()
    db.session.flush()
    event = append_event(case, actor, action, before, reason)
    _record_routing(case, t, actor, reason, data or {}, rules)
    case_transitioned.send(case, transition=t, actor=actor, event=event)
    return event


def _record_routing(case: Case, t: funnel.Transition, actor: User | None, reason: str, data: dict,
                    rules: Rules) -> None:
    """Route a case entering mediation, and keep the explanation of every (re)assignment."""
    if t.action == "request_mediation":
        choice = assignment.choose_mediator(case, assignment.current_engine())
        if choice.best is None:  # a person decides: the case waits in the organisation's triage queue
            assignment.record_decision(case, choice, "triage", None)
            return
        transition(case, "auto_assign", None, rules, reason=assignment.summary(choice),
                   data={"mediator_id": choice.best.mediator_id})
        assignment.record_decision(case, choice, "auto", None)
    elif t.action == "request_other_mediator":
        assignment.record_decision(case, data["routing_choice"], "resident_request", actor, reason or None)
    elif t.action in ("assign_mediator", "reassign_mediator"):
        choice = assignment.choose_mediator(case, assignment.current_engine())
        assignment.record_decision(case, choice, "override", actor, reason or None, mediator=case.mediator)


# --- audit -------------------------------------------------------------------------------
_CHAIN_COLUMNS = (CaseEvent.id, CaseEvent.case_id, CaseEvent.seq, CaseEvent.actor_id, CaseEvent.action,
                  CaseEvent.from_stage, CaseEvent.from_status, CaseEvent.to_stage, CaseEvent.to_status,
                  CaseEvent.reason, CaseEvent.reason_salt, CaseEvent.reason_digest, CaseEvent.created_at,
                  CaseEvent.prev_hash, CaseEvent.hash)


def verify_chain(batch: int = 5000) -> tuple[int, str | None]:
    """Check every case's event chain; return (events checked, description of the first broken link).

    Streams plain rows in batches (a server-side cursor on PostgreSQL): memory stays flat however many events
    there are, where loading them as ORM objects took gigabytes at a province's four million events."""
    rows = db.session.execute(sa.select(*_CHAIN_COLUMNS).order_by(CaseEvent.case_id, CaseEvent.seq)
                              .execution_options(yield_per=batch))
    with rows:  # closes the server-side cursor also when a broken link ends the scan early
        return _verify_rows(rows)


def _verify_rows(rows) -> tuple[int, str | None]:
    from app.core.audit import chain_hash

    checked = 0
    prev_case, prev_hash, expected_seq = None, GENESIS_HASH, 1
    for row in rows:
        if row.case_id != prev_case:
            prev_case, prev_hash, expected_seq = row.case_id, GENESIS_HASH, 1
        where = f"case {row.case_id} event seq {row.seq} (id {row.id})"
        if row.seq != expected_seq:
            return checked, f"{where}: expected seq {expected_seq} (an event is missing)"
        if row.prev_hash != prev_hash:
            return checked, f"{where}: prev_hash does not match the previous event's hash"
        if chain_hash(row.prev_hash, event_payload(row)) != row.hash:
            return checked, f"{where}: content does not match its hash (altered)"
        if problem := reason_problem(row):
            return checked, f"{where}: {problem}"
        prev_hash, expected_seq = row.hash, expected_seq + 1
        checked += 1
    return checked, None
