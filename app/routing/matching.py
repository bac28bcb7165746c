"""Rank mediators for a case: vectorised scoring over a pool, hard exclusions, stable tie-breaks."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.routing.types import MEDIATING_ORG_TYPES, TIERS, CategoryRule, MediatorMatch, MediatorSnapshot

# Points per component; the breakdown shows each component already multiplied by its weight.
WEIGHTS = {"specialty": 2.0, "tier": 2.5, "region": 3.0, "load": 1.5, "availability": 0.5, "language": 1.0}
TIER_POINTS = {"village": 1.0, "town": 0.6, "county": 0.2}     # lowest competent tier first
REGION_LEVELS = (12, 9, 6, 4, 2)                                # village, town, county, city, province
REGION_SHARED = {12: 1.0, 9: 0.6, 6: 0.35, 4: 0.15, 2: 0.05}   # same town but another village: 0.6
EXCLUSIONS_ZH = {
    "party": "调解员是本案当事人", "relative": "调解员与当事人有亲属关系",
    "respondent_org": "调解员任职于被申请单位", "unavailable": "调解员暂停接案",
    "full": "调解员在办案件已满", "org_type": "所在组织不调解此类纠纷", "tier": "所在层级不调解此类纠纷",
}
CONFLICTS = ("party", "relative", "respondent_org")
ORG_CODES = {t: i for i, t in enumerate(MEDIATING_ORG_TYPES)}


def _region_prefix(code: str, level: int) -> int:
    """The code cut to `level` digits as an int, -1 when the code is shorter or not digits."""
    return int(code[:level]) if len(code) >= level and code[:level].isdigit() else -1


@dataclass
class MediatorPool:
    """Column arrays of a list of mediators; build once per list and reuse for many cases."""

    mediators: list[MediatorSnapshot]
    ids: np.ndarray
    tier_rank: np.ndarray
    org_type: np.ndarray
    region_len: np.ndarray
    region: dict[int, np.ndarray]
    load: np.ndarray
    full: np.ndarray
    available: np.ndarray
    specialties: dict[str, np.ndarray]
    languages: dict[str, np.ndarray]
    by_relative: dict[str, list[int]]
    by_org_name: dict[str, list[int]]

    @classmethod
    def build(cls, mediators: Sequence[MediatorSnapshot]) -> MediatorPool:
        """Column arrays for `mediators` (about 1 ms per 1,000)."""
        ms = list(mediators)
        n = len(ms)
        specialties: dict[str, np.ndarray] = {}
        languages: dict[str, np.ndarray] = {}
        by_relative: dict[str, list[int]] = {}
        by_org_name: dict[str, list[int]] = {}
        for i, m in enumerate(ms):
            for s in m.specialties:
                specialties.setdefault(s, np.zeros(n, bool))[i] = True
            for lang in m.languages:
                languages.setdefault(lang, np.zeros(n, bool))[i] = True
            for name in m.relatives:
                by_relative.setdefault(name, []).append(i)
            for name in {m.organisation_name, m.employer} - {None, ""}:
                by_org_name.setdefault(name, []).append(i)
        codes = [m.region_code or "" for m in ms]
        capacity = np.array([max(m.capacity, 0) for m in ms], float)
        open_cases = np.array([max(m.open_cases, 0) for m in ms], float)
        with np.errstate(divide="ignore", invalid="ignore"):
            load = np.where(capacity > 0, open_cases / np.maximum(capacity, 1), 1.0)
        return cls(
            mediators=ms, ids=np.array([m.id for m in ms], np.int64),
            tier_rank=np.array([TIERS.index(m.tier) if m.tier in TIERS else 9 for m in ms], np.int64),
            org_type=np.array([ORG_CODES.get(m.org_type, len(ORG_CODES)) for m in ms], np.int64),
            region_len=np.array([len(c) for c in codes], np.int64),
            region={lv: np.array([_region_prefix(c, lv) for c in codes], np.int64) for lv in REGION_LEVELS},
            load=np.clip(load, 0.0, 1.0), full=open_cases >= capacity,
            available=np.array([bool(m.available) for m in ms], bool),
            specialties=specialties, languages=languages, by_relative=by_relative, by_org_name=by_org_name,
        )

    def __len__(self) -> int:
        return len(self.mediators)


def _region_scores(pool: MediatorPool, case_region: str | None) -> np.ndarray:
    """1.0 where the mediator's jurisdiction contains the case; less the further apart they are."""
    score = np.zeros(len(pool))
    code = case_region or ""
    for level in REGION_LEVELS:                      # deepest shared level first
        mine = _region_prefix(code, level)
        if mine < 0:
            continue
        same = (pool.region[level] == mine) & (score == 0)
        score[same] = REGION_SHARED[level]
    # containment: the mediator's whole code is a prefix of the case's code
    for level in REGION_LEVELS:
        mine = _region_prefix(code, level)
        if mine >= 0:
            score[(pool.region_len == level) & (pool.region[level] == mine)] = 1.0
    return score


def _exclusions(pool: MediatorPool, case, rule: CategoryRule | None) -> np.ndarray:
    """Per mediator: '' when eligible, otherwise the exclusion code (conflicts win)."""
    reason = np.full(len(pool), "", dtype=object)
    if rule is not None:
        org_ok = np.array([t in rule.org_types for t in MEDIATING_ORG_TYPES] + [False])
        tier_ok = np.array([t in rule.tiers for t in TIERS] + [False] * 8)
        reason[~tier_ok[pool.tier_rank]] = "tier"
        reason[~org_ok[pool.org_type]] = "org_type"
    reason[pool.full] = "full"
    reason[~pool.available] = "unavailable"
    for name in case.respondent_org_names:
        reason[pool.by_org_name.get(name, [])] = "respondent_org"
    for name in case.party_names:
        reason[pool.by_relative.get(name, [])] = "relative"
    if case.party_user_ids:
        reason[np.isin(pool.ids, list(case.party_user_ids))] = "party"
    return reason


def _components(pool: MediatorPool, case, rule: CategoryRule | None) -> dict[str, np.ndarray]:
    n = len(pool)
    specialty = pool.specialties.get(rule.id) if rule else None
    lang = pool.languages.get(case.language) if case.language else None
    tier_points = np.array([TIER_POINTS[t] for t in TIERS] + [0.0])
    return {
        "specialty": (specialty.astype(float) if specialty is not None else np.zeros(n)),
        "tier": tier_points[np.minimum(pool.tier_rank, len(TIERS))],
        "region": _region_scores(pool, case.region_code),
        "load": 1.0 - pool.load,
        "availability": pool.available.astype(float),
        "language": (lang.astype(float) if lang is not None else np.zeros(n)) if case.language else np.ones(n),
    }


def _as_match(pool: MediatorPool, i: int, total: float, parts: dict, excluded: str | None) -> MediatorMatch:
    m = pool.mediators[i]
    breakdown = {k: round(float(v[i]) * WEIGHTS[k], 3) for k, v in parts.items()}
    return MediatorMatch(m.id, m.name, m.organisation_name, m.tier, round(total, 3), breakdown,
                         excluded, EXCLUSIONS_ZH.get(excluded or ""))


def rank_mediators(case, rule: CategoryRule | None, pool: MediatorPool, limit: int | None = 10,
                   include_excluded: bool = False) -> list[MediatorMatch]:
    """Eligible mediators best first (score, then lower tier, then id), then the excluded ones.

    Conflicts of interest are always listed after the ranking so that the record shows them;
    other exclusions (wrong tier or organisation type, full, unavailable) only on request.
    """
    if not len(pool):
        return []
    parts = _components(pool, case, rule)
    total = sum(parts[k] * WEIGHTS[k] for k in parts)
    reason = _exclusions(pool, case, rule)
    eligible = np.flatnonzero(reason == "")
    order = eligible[np.lexsort((pool.ids[eligible], pool.tier_rank[eligible], -np.round(total[eligible], 6)))]
    if limit is not None:
        order = order[:limit]
    out = [_as_match(pool, int(i), float(total[i]), parts, None) for i in order]
    shown = CONFLICTS if not include_excluded else tuple(EXCLUSIONS_ZH)
    for i in sorted(np.flatnonzero(np.isin(reason, shown)), key=lambda j: int(pool.ids[j])):
        out.append(_as_match(pool, int(i), float(total[i]), parts, str(reason[i])))
    return out
