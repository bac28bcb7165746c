"""The governance dashboard's numbers, as plain data (dicts, lists, ints, floats, str): one function per panel.

Every function takes a `Scope`: the whole platform (admin / governance centre) or one organisation (an org admin
sees only cases whose organisation_id is theirs). Interface fixed by the lead; helper P implements it (rollups
refreshed incrementally where the raw query is too slow on 1,000,000 cases), helper Q draws it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Scope:
    organisation_id: int | None = None      # None: every case (admin); else only this organisation's cases
    since: date | None = None               # cases filed on or after (None: all time)
    until: date | None = None               # cases filed before (None: up to now)


def funnel(scope: Scope) -> list[dict]:
    """Conversion through the funnel, in order: [{"key": "consults"|"cases"|"mediated"|"settled"|"arbitrated"|
    "litigated", "count": int, "rate": float | None}] where rate is count / previous step's count (None for the
    first). consults = every case filed (each starts as a question); cases = cases that left consult (assessed);
    mediated = reached mediation with a mediator; settled = closed as settled; arbitrated = reached arbitration;
    litigated = reached litigation. "Reached" means the case has ever been in that stage."""
    raise NotImplementedError


def by_dimension(scope: Scope, dimension: str) -> list[dict]:
    """Case counts by "category" | "region" (county-level code, 6 digits) | "tier" (of the handling organisation)
    | "month" (YYYY-MM of filing): [{"key": str, "label": str, "count": int}], largest first (month: in order)."""
    raise NotImplementedError


def stage_times(scope: Scope) -> list[dict]:
    """Time spent in each stage, in days: [{"stage": str, "label": str, "cases": int, "median_days": float | None,
    "p90_days": float | None}] for consult, assess, mediate, arbitrate, litigate (cases that left the stage)."""
    raise NotImplementedError


def mediator_load(scope: Scope) -> list[dict]:
    """Per mediator: [{"mediator_id", "name", "organisation", "open": int, "closed": int, "settled": int,
    "settlement_rate": float | None}] (settled / mediations that ended), busiest first."""
    raise NotImplementedError


def organisation_load(scope: Scope) -> list[dict]:
    """Per organisation, same keys as mediator_load with "organisation_id" and "name"."""
    raise NotImplementedError


def satisfaction(scope: Scope) -> dict:
    """{"ratings": int, "average": float | None, "by_score": {1: n, ..., 5: n}}."""
    raise NotImplementedError


def overdue(scope: Scope, today: date) -> dict:
    """Lists of what is late, each [{"case_id", "title", "days_over": int, "organisation": str | None}]
    most overdue first, capped at 100 per list: "mediation" (past mediation_due_on, non-labour), "labour_mediation"
    (the same for labour categories: 15 days), "confirmation" (judicial confirmation applications whose 30-day
    window ended without a joint submission), "court_returns" (filings returned by a court and not resubmitted
    after 15 days). Plus "counts": {list name: total}."""
    raise NotImplementedError
