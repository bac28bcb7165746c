"""Routing wired to the database: snapshots in, the routing engine's choice out, recorded with its reasons."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, g
from flask_login import current_user

from app.accounts.models import MediatorProfile, Organisation, Role, User
from app.accounts.operations import forget_session_extra, register_session_extra, session_extra
from app.cases.models import Case, CaseParty, PartyKind, PartyRole, RoutingDecision, Stage
from app.core.rules_store import RuleVersion, latest_version_id, version_text
from app.extensions import db
from app.routing import (
    CaseSnapshot,
    Classification,
    MediatorMatch,
    MediatorSnapshot,
    RoutingEngine,
    engine_from_text,
    load_engine,
)

CATEGORIES_FILE = "categories.yaml"
TIER_ZH = {"village": "村（社区）级", "town": "乡镇（街道）级", "county": "县（区）级"}
_engines_by_version: dict[str, RoutingEngine] = {}
# The resident's chosen category must be among the classifier's first few, or a person looks first.
AGREEMENT_DEPTH = 3
SESSION_RULES_VERSION = "categories_version"
_NOT_LOADED = object()


def _categories_version():
    return sa.select(sa.func.max(RuleVersion.id)).where(RuleVersion.filename == CATEGORIES_FILE).scalar_subquery()


# Which rules are in force is asked on every intake, filing and consult page: a logged-in request gets the answer
# in its session lookup's round trip instead of a query of its own (an index-only max() for the database).
register_session_extra(SESSION_RULES_VERSION, _categories_version)


def forget_rules_version() -> None:
    """A new rules version was saved in this request: the version loaded with the session is stale."""
    forget_session_extra(current_user._get_current_object(), SESSION_RULES_VERSION)


def current_engine() -> RoutingEngine:
    """The engine for the rules in force (the newest saved version, else the shipped file); cached."""
    if "routing_engine" in g:
        return g.routing_engine
    rules_dir = current_app.config["RULES_DIR"]
    # Only the version id per request: the text (and the shipped file) is read when the engine must be built.
    # (no user outside a request, or an anonymous one: nothing was loaded, so the query below runs)
    version_id = session_extra(current_user._get_current_object(), SESSION_RULES_VERSION, _NOT_LOADED)
    if version_id is _NOT_LOADED:
        version_id = latest_version_id(CATEGORIES_FILE)
    if version_id is None:
        engine = load_engine(rules_dir)
    else:
        key = f"v{version_id}"
        engine = _engines_by_version.get(key)
        if engine is None:
            engine = engine_from_text(version_text(version_id), rules_dir)
            _engines_by_version.clear()  # keep only the newest edited version in memory
            _engines_by_version[key] = engine
    g.routing_engine = engine
    return engine


def case_text(case: Case) -> str:
    """What the classifier reads: the title, the account of events and what the resident wants."""
    return "\n".join(p for p in (case.title, case.description, case.desired_outcome) if p)


def case_snapshot(case: Case) -> CaseSnapshot:
    """The case as the routing engine sees it."""
    return CaseSnapshot(
        id=case.id, text=case_text(case), category=case.category, region_code=case.region_code,
        party_user_ids=frozenset(p.user_id for p in case.parties if p.user_id) | {case.filed_by_id},
        party_names=frozenset(p.name for p in case.parties),
        respondent_org_names=frozenset(p.name for p in case.parties
                                       if p.role == PartyRole.respondent and p.kind == PartyKind.organisation),
    )


def mediator_snapshots() -> list[MediatorSnapshot]:
    """Every active mediator with their organisation, profile and open mediation cases."""
    loads = dict(db.session.execute(
        sa.select(Case.mediator_id, sa.func.count()).where(Case.stage == Stage.mediate, Case.mediator_id.is_not(None))
        .group_by(Case.mediator_id)).all())
    rows = db.session.execute(
        sa.select(User, Organisation, MediatorProfile)
        .join(Organisation, User.organisation_id == Organisation.id)
        .outerjoin(MediatorProfile, MediatorProfile.user_id == User.id)
        .where(User.role == Role.mediator, User.active.is_(True)).order_by(User.id)).all()
    out = []
    for user, org, profile in rows:
        out.append(MediatorSnapshot(
            id=user.id, name=user.display_name, organisation_id=org.id, organisation_name=org.name,
            org_type=org.type.value, tier=org.tier.value, region_code=org.region_code,
            specialties=tuple(profile.specialties or ()) if profile else (),
            languages=tuple(profile.languages or ("zh",)) if profile else ("zh",),
            capacity=profile.capacity if profile else 10, open_cases=loads.get(user.id, 0),
            available=profile.available if profile else True,
            relatives=frozenset(profile.relatives or ()) if profile else frozenset(),
            employer=profile.employer if profile else None))
    return out


@dataclass
class RoutingChoice:
    """The engine's answer for one case: a mediator, or a reason for a person to triage it."""

    classification: Classification
    best: MediatorMatch | None
    ranked: list[MediatorMatch]
    triage_reason: str | None


def choose_mediator(case: Case, engine: RoutingEngine, exclude_ids: set[int] = frozenset()) -> RoutingChoice:
    """Classify the text, check it agrees with the case's category, and rank mediators."""
    snapshot = case_snapshot(case)
    classification = engine.classify(snapshot.text)
    ranked = [m for m in engine.match(snapshot, mediator_snapshots(), limit=None) if m.mediator_id not in exclude_ids]
    candidates = [m for m in ranked if m.excluded is None]
    if classification.uncertain:
        return RoutingChoice(classification, None, ranked, classification.reason_zh or "系统无法确定纠纷类型。")
    top_ids = [c.id for c in classification.ranked[:AGREEMENT_DEPTH]]
    if case.category not in top_ids:
        names = "、".join(c.zh for c in classification.ranked[:2])
        return RoutingChoice(classification, None, ranked,
                             f"申请人选择的纠纷类型与系统识别（{names}）不一致，需人工确认。")
    if not candidates:
        return RoutingChoice(classification, None, ranked, "暂无可接案且无利益冲突的调解员。")
    return RoutingChoice(classification, candidates[0], ranked, None)


def record_decision(case: Case, choice: RoutingChoice, kind: str, actor: User | None, reason: str | None = None,
                    mediator: User | None = None) -> RoutingDecision:
    """Store the explanation: matched words, organisation, tier, score breakdown, related cases."""
    top = choice.classification.top
    chosen = choice.best
    if mediator is not None and (chosen is None or chosen.mediator_id != mediator.id):
        chosen = next((m for m in choice.ranked if m.mediator_id == mediator.id), None)
    own = next((c for c in choice.classification.ranked if c.id == case.category), top)
    decision = RoutingDecision(
        case_id=case.id, kind=kind, category=case.category, classified_as=top.id if top else None,
        confidence=round(own.confidence, 3) if own else None,
        matched_words=[{"word": m.word, "found": m.found, "kind": m.kind, "weight": m.weight}
                       for m in (own.matched if own else [])][:12],
        mediator_id=mediator.id if mediator else (chosen.mediator_id if chosen and kind != "triage" else None),
        organisation_id=case.organisation_id, tier=chosen.tier if chosen and kind != "triage" else None,
        score=round(chosen.score, 3) if chosen and kind != "triage" else None,
        breakdown={k: round(v, 3) for k, v in (chosen.breakdown.items() if chosen and kind != "triage" else [])},
        related=related_for(case), reason=reason or choice.triage_reason, actor_id=actor.id if actor else None)
    db.session.add(decision)
    db.session.flush()
    return decision


def _respondent_snapshot(case: Case) -> CaseSnapshot:
    """For related cases only the respondents count: an applicant's own earlier disputes are not a signal."""
    respondents = case.respondents
    return CaseSnapshot(id=case.id, text=case_text(case), category=case.category,
                        party_user_ids=frozenset(p.user_id for p in respondents if p.user_id),
                        party_names=frozenset(p.name for p in respondents))


_REASON_PATTERNS = (
    (re.compile(r"^same party user #(\d+)$"), lambda m: {"kind": "same_respondent_account"}),
    (re.compile(r"^same party name (.+)$"), lambda m: {"kind": "same_respondent", "name": m.group(1)}),
    (re.compile(r"^near-duplicate description \((\d+)%\)$"), lambda m: {"kind": "duplicate", "pct": int(m.group(1))}),
)


def _reason(text: str) -> dict:
    for pattern, build in _REASON_PATTERNS:
        if m := pattern.match(text):
            return build(m)
    return {"kind": "other", "text": text}


def related_for(case: Case, limit: int = 200) -> list[dict]:
    """Earlier cases against the same respondent or with a near-duplicate description (for the org admin)."""
    names = [p.name for p in case.respondents]
    earlier = db.session.scalars(
        sa.select(Case).where(Case.id != case.id).where(
            sa.or_(Case.id.in_(sa.select(CaseParty.case_id).where(CaseParty.role == PartyRole.respondent,
                                                                  CaseParty.name.in_(names))),
                   Case.category == case.category))
        .order_by(Case.id.desc()).limit(limit)).all()
    found = current_engine().related_cases(_respondent_snapshot(case), [_respondent_snapshot(c) for c in earlier])
    return [{"case_id": r.case_id, "score": round(r.score, 1), "reasons": [_reason(t) for t in r.reasons]}
            for r in found[:10]]


def summary(choice: RoutingChoice) -> str:
    """One line for the case history: the words that matched and where the case went."""
    top = choice.classification.top
    words = "、".join(dict.fromkeys(m.found for m in (top.matched if top else []) if m.kind != "negative"))
    best = choice.best
    return f"识别依据：{words or '—'}；分派至{best.organisation_name}（{TIER_ZH.get(best.tier, best.tier)}）{best.name}"
