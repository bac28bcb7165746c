"""Find earlier cases related to a new one: the same parties, or nearly the same description."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process

from app.routing.text import normalise
from app.routing.types import CaseSnapshot, Related

DUPLICATE_CUTOFF = 85      # fuzz.ratio on the normalised descriptions
COMPARE_CHARS = 500        # descriptions are compared on their first 500 characters
MIN_TEXT_CHARS = 8         # shorter descriptions ("欠钱") say too little to call duplicates


def _clean_names(names) -> set[str]:
    return {n.strip() for n in names if isinstance(n, str) and n.strip()}


def _party_reasons(case: CaseSnapshot, other: CaseSnapshot) -> list[str]:
    reasons = [f"same party user #{uid}" for uid in sorted(set(case.party_user_ids) & set(other.party_user_ids))]
    reasons += [f"same party name {name}"
                for name in sorted(_clean_names(case.party_names) & _clean_names(other.party_names))]
    return reasons


def related_cases(case: CaseSnapshot, earlier: Sequence[CaseSnapshot],
                  cutoff: int = DUPLICATE_CUTOFF) -> list[Related]:
    """Earlier cases sharing a party (first) or with a near-duplicate description (by similarity)."""
    others = [e for e in earlier if e.id != case.id]
    if not others:
        return []
    text = normalise(case.text, COMPARE_CHARS)
    similarity = np.zeros(len(others), dtype=np.uint8)
    if len(text) >= MIN_TEXT_CHARS:
        texts = [normalise(e.text, COMPARE_CHARS) for e in others]
        similarity = process.cdist([text], texts, scorer=fuzz.ratio, dtype=np.uint8,
                                   score_cutoff=cutoff, workers=1)[0]
    found: list[Related] = []
    for other, sim in zip(others, similarity, strict=True):
        reasons = _party_reasons(case, other)
        if sim:
            reasons.append(f"near-duplicate description ({int(sim)}%)")
        if reasons:
            found.append(Related(other.id, float(sim), reasons))
    return sorted(found, key=lambda r: (not r.reasons[0].startswith("same party"), -r.score, str(r.case_id)))
