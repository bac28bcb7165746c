"""The governance dashboard's numbers, as plain data (dicts, lists, ints, floats, str): one function per panel.

Every function takes a `Scope`: the whole platform (admin / governance centre) or one organisation (an org admin
sees only cases whose organisation_id is theirs). Interface fixed by the lead; helper P implements it (rollups
refreshed incrementally where the raw query is too slow on 1,000,000 cases), helper Q draws it.

Where the numbers come from (app/analytics/rollups.py): when the scope's dates are None or first days of months
(whole Beijing calendar months), from the rollup tables, refreshed first when the data moved since the last refresh;
otherwise from the very same SELECTs run over the cases of the exact date range (slower on big data, same
meaning). The overdue lists always read the live tables (they need today's date), through indexes.

Definitions: "filed" is created_at in Beijing time; time in a stage is whole days (elapsed time rounded down) from
the event that entered the stage to the one that left it; the median and p90 interpolate linearly between ranks
(like PostgreSQL's percentile_cont). A mediation has "ended" unless the case still waits for or is in mediation
(settled, failed, escalated after mediation or withdrawn); settlement_rate = settled / ended.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from app.accounts.models import Organisation, Tier, User
from app.analytics import rollups
from app.cases.models import Case, CaseStatus, Stage
from app.cases.rules import current_rules
from app.core.i18n import gettext
from app.core.time import beijing_date, day_start_utc
from app.extensions import db

COUNTY_NAMES = {"340202": "镜湖区", "340203": "弋江区", "340207": "鸠江区", "340209": "湾沚区", "340210": "繁昌区",
                "340223": "南陵县"}
OVERDUE_CAP = 100
COURT_RETURN_DAYS = 15


@dataclass(frozen=True)
class Scope:
    organisation_id: int | None = None      # None: every case (admin); else only this organisation's cases
    since: date | None = None               # cases filed on or after (None: all time)
    until: date | None = None               # cases filed before (None: up to now)


# --- the rows of a rollup for a scope --------------------------------------------------------------------------
def _whole_months(scope: Scope) -> bool:
    return all(d is None or d.day == 1 for d in (scope.since, scope.until))


def _from(table: sa.Table, scope: Scope, per_org: bool) -> tuple[str, dict]:
    """A FROM item (aliased t) with the rollup's columns for this scope, and its parameters. per_org: the caller
    needs each organisation's rows (else platform-wide scopes read the all-organisations totals where there are)."""
    params: dict = {}
    if _whole_months(scope):
        rollups.ensure_fresh()
        where = ["1 = 1"]
        if scope.organisation_id is not None:
            where.append("t.org_id = :org")
            params["org"] = scope.organisation_id
        elif table in rollups.TOTALLED and not per_org:
            where.append(f"t.org_id = {rollups.ALL_ORGS}")
        else:
            where.append("t.org_id >= 0")
        if scope.since is not None:
            where.append("t.month >= :m0")
            params["m0"] = scope.since.strftime("%Y-%m")
        if scope.until is not None:
            where.append("t.month < :m1")
            params["m1"] = scope.until.strftime("%Y-%m")
        return f"(SELECT * FROM {table.name} t WHERE {' AND '.join(where)}) t", params
    where = ["1 = 1"]
    if scope.organisation_id is not None:
        where.append("c.organisation_id = :org")
        params["org"] = scope.organisation_id
    if scope.since is not None:
        where.append("c.created_at >= :start")
        params["start"] = day_start_utc(scope.since)
    if scope.until is not None:
        where.append("c.created_at < :end")
        params["end"] = day_start_utc(scope.until)
    dialect = db.session.get_bind().dialect.name
    return f"({rollups.source(table.name, dialect, ' AND '.join(where))}) t", params


def _select(table: sa.Table, scope: Scope, columns: str, group: str | None = None, per_org: bool = False) -> list:
    src, params = _from(table, scope, per_org)
    sql = f"SELECT {columns} FROM {src}" + (f" GROUP BY {group}" if group else "")
    # columns and group are fixed fragments of this module; _from adds rollup table names and fixed conditions,
    # and every value (organisation, months, dates) is a bound parameter.
    # nosemgrep: sql-built-from-strings -- see the comment above
    stmt = sa.text(sql)
    for key in ("start", "end"):
        if key in params:
            stmt = stmt.bindparams(sa.bindparam(key, type_=sa.DateTime))
    return db.session.execute(stmt, params).all()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- panels ---------------------------------------------------------------------------------------------------
def funnel(scope: Scope) -> list[dict]:
    """Conversion through the funnel, in order: [{"key": "consults"|"cases"|"mediated"|"settled"|"arbitrated"|
    "litigated", "count": int, "rate": float | None, "of": str | None}] where rate is count / the count of the step
    named by "of" (None for the first): cases of consults, mediated of cases, settled of mediated, and arbitrated
    and litigated of cases (they are branches after assessment, not a chain). consults = every case filed (each starts as a question); cases = cases that left consult (assessed);
    mediated = reached mediation with a mediator; settled = closed as settled; arbitrated = reached arbitration;
    litigated = reached litigation. "Reached" means the case has ever been in that stage."""
    rows = _select(rollups.case_counts, scope, "t.reached, t.status, SUM(t.n)", "t.reached, t.status")
    bit = rollups.REACHED
    counts = {"consults": 0, "cases": 0, "mediated": 0, "settled": 0, "arbitrated": 0, "litigated": 0}
    for reached, status, n in rows:
        n = int(n)
        counts["consults"] += n
        for key in ("cases", "mediated", "arbitrated", "litigated"):
            if reached & bit[key]:
                counts[key] += n
        if status == CaseStatus.settled.value:
            counts["settled"] += n
    return [{"key": key, "count": n, "of": FUNNEL_BASE[key],
             "rate": None if FUNNEL_BASE[key] is None else _rate(n, counts[FUNNEL_BASE[key]])}
            for key, n in counts.items()]


# The step each funnel step's rate is measured against (branches after assessment share "cases").
FUNNEL_BASE = {"consults": None, "cases": "consults", "mediated": "cases", "settled": "mediated",
               "arbitrated": "cases", "litigated": "cases"}


def by_dimension(scope: Scope, dimension: str) -> list[dict]:
    """Case counts by "category" | "region" (county-level code, 6 digits) | "tier" (of the handling organisation)
    | "month" (YYYY-MM of filing): [{"key": str, "label": str, "count": int}], largest first (month: in order)."""
    column = {"category": "category", "region": "county", "tier": "org_id", "month": "month"}[dimension]
    rows = _select(rollups.case_counts, scope, f"t.{column}, SUM(t.n)", f"t.{column}", per_org=dimension == "tier")
    counts: dict[str, int] = {}
    if dimension == "tier":
        tiers = dict(db.session.execute(sa.select(Organisation.id, Organisation.tier)).all())
        for org_id, n in rows:
            key = tiers[org_id].value if org_id in tiers else "none"
            counts[key] = counts.get(key, 0) + int(n)
    else:
        counts = {(key or "none"): int(n) for key, n in rows}
    out = [{"key": key, "label": _label(dimension, key), "count": n} for key, n in counts.items()]
    if dimension == "month":
        return sorted(out, key=lambda r: r["key"])
    return sorted(out, key=lambda r: (-r["count"], r["key"]))


def _label(dimension: str, key: str) -> str:
    if key == "none":
        return {"category": gettext("未分类"), "region": gettext("未填写地区"), "tier": gettext("尚无调解组织")}.get(
            dimension, key)
    if dimension == "category":
        category = current_rules().category(key)
        return category.label if category else key
    if dimension == "tier":
        return Tier(key).label
    if dimension == "region":
        return COUNTY_NAMES.get(key, key)
    return key


def percentile(histogram: dict[int, int], p: float) -> float | None:
    """The p-quantile (0..1) of values given as {value: count}, interpolating linearly between ranks."""
    total = sum(histogram.values())
    if not total:
        return None
    position = p * (total - 1)
    lower = int(position)
    values = []
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        while len(values) < 2 and seen > lower + len(values):
            values.append(value)
        if len(values) == 2:
            break
    if len(values) == 1:
        values.append(values[0])
    return round(values[0] + (position - lower) * (values[1] - values[0]), 2)


def stage_times(scope: Scope) -> list[dict]:
    """Time spent in each stage, in days: [{"stage": str, "label": str, "cases": int, "median_days": float | None,
    "p90_days": float | None}] for consult, assess, mediate, arbitrate, litigate (cases that left the stage)."""
    rows = _select(rollups.stage_days, scope, "t.stage, t.days, SUM(t.n)", "t.stage, t.days")
    hist: dict[str, dict[int, int]] = {s: {} for s in rollups.STAGES}
    for stage, days, n in rows:
        hist[stage][int(days)] = hist[stage].get(int(days), 0) + int(n)
    return [{"stage": s, "label": Stage(s).label, "cases": sum(hist[s].values()),
             "median_days": percentile(hist[s], 0.5), "p90_days": percentile(hist[s], 0.9)}
            for s in rollups.STAGES]


def _load_rows(rows, names: dict[int, tuple[str, str | None]], id_key: str) -> list[dict]:
    out = []
    for ident, open_, closed, settled, ended in rows:
        name, org = names.get(ident, (str(ident), None))
        row = {id_key: ident, "name": name, "open": int(open_), "closed": int(closed), "settled": int(settled),
               "ended": int(ended), "settlement_rate": _rate(int(settled), int(ended))}
        if id_key == "mediator_id":
            row["organisation"] = org
        out.append(row)
    return sorted(out, key=lambda r: (-r["open"], -(r["open"] + r["closed"]), r[id_key]))


def mediator_load(scope: Scope) -> list[dict]:
    """Per mediator: [{"mediator_id", "name", "organisation", "open": int, "closed": int, "settled": int,
    "settlement_rate": float | None}] (settled / mediations that ended), busiest first."""
    rows = _select(rollups.mediators, scope, "t.mediator_id, SUM(t.open), SUM(t.closed), SUM(t.settled), "
                   "SUM(t.ended)", "t.mediator_id")
    ids = [r[0] for r in rows]
    names = {uid: (name, org) for uid, name, org in db.session.execute(
        sa.select(User.id, User.display_name, Organisation.name).outerjoin(
            Organisation, Organisation.id == User.organisation_id).where(User.id.in_(ids))).all()} if ids else {}
    return _load_rows(rows, names, "mediator_id")


def organisation_load(scope: Scope) -> list[dict]:
    """Per organisation, same keys as mediator_load with "organisation_id" and "name"."""
    ended = rollups.ENDED.replace("f.", "t.")
    rows = _select(rollups.case_counts, scope, f"t.org_id, SUM(CASE WHEN {ended} THEN 0 ELSE t.n END), "
                   "SUM(CASE WHEN t.stage = 'closed' THEN t.n ELSE 0 END), "
                   "SUM(CASE WHEN t.status = 'settled' THEN t.n ELSE 0 END), "
                   f"SUM(CASE WHEN {ended} THEN t.n ELSE 0 END)", "t.org_id", per_org=True)
    rows = [r for r in rows if r[0]]
    names = {oid: (name, None) for oid, name in db.session.execute(sa.select(Organisation.id, Organisation.name))}
    return _load_rows(rows, names, "organisation_id")


def satisfaction(scope: Scope) -> dict:
    """{"ratings": int, "average": float | None, "by_score": {1: n, ..., 5: n}}."""
    rows = _select(rollups.ratings, scope, "t.score, SUM(t.n)", "t.score")
    by_score = {score: 0 for score in range(1, 6)}
    for score, n in rows:
        by_score[int(score)] += int(n)
    total = sum(by_score.values())
    average = round(sum(s * n for s, n in by_score.items()) / total, 2) if total else None
    return {"ratings": total, "average": average, "by_score": by_score}


def _scoped(query, scope: Scope):
    if scope.organisation_id is not None:
        query = query.where(Case.organisation_id == scope.organisation_id)
    if scope.since is not None:
        query = query.where(Case.created_at >= day_start_utc(scope.since))
    if scope.until is not None:
        query = query.where(Case.created_at < day_start_utc(scope.until))
    return query


def _overdue_queries(scope: Scope, today: date) -> dict:
    """name -> (a SELECT of case_id and due with the list's filters and scope, a function of a row's due giving the
    day it was due). Only the ids and dates: counting them needs no titles, and the 100 shown get theirs after."""
    from app.agreements.models import ConfirmationApplication as Application
    from app.escalation.models import CourtFiling

    labour = [c.id for c in current_rules().categories.values() if c.group == "labour"]
    mediation = _scoped(sa.select(Case.id.label("case_id"), Case.mediation_due_on.label("due")).where(
        Case.stage == Stage.mediate, Case.status == CaseStatus.in_progress, Case.mediation_due_on < today), scope)
    confirmation = sa.select(Application.case_id, Application.deadline_at.label("due")).where(
        Application.status == "awaiting", Application.deadline_at < day_start_utc(today))
    # Only the cases still standing returned (a few, by the stage/status index), not every return ever made.
    standing = _scoped(sa.select(Case.id).where(Case.stage == Stage.litigate, Case.status == CaseStatus.returned),
                       scope)
    grace = timedelta(days=COURT_RETURN_DAYS)
    returned = (sa.select(CourtFiling.case_id, sa.func.max(CourtFiling.decided_at).label("due"))
                .where(CourtFiling.status == "returned", CourtFiling.case_id.in_(standing))
                .group_by(CourtFiling.case_id)
                .having(sa.func.max(CourtFiling.decided_at) < day_start_utc(today - grace)))
    if scope != Scope():  # the organisation's (or period's) case ids, from the (organisation, created) index alone
        confirmation = confirmation.where(Application.case_id.in_(_scoped(sa.select(Case.id), scope)))
    return {
        # COALESCE: read the category from the overdue index (INCLUDE), never through the category index, which
        # the planner would otherwise AND with it over every labour case ever filed.
        "mediation": (mediation.where(sa.func.coalesce(Case.category, "").not_in(labour)), lambda due: due),
        "labour_mediation": (mediation.where(sa.func.coalesce(Case.category, "").in_(labour)), lambda due: due),
        "confirmation": (confirmation, beijing_date),
        "court_returns": (returned, lambda due: beijing_date(due) + grace),
    }


def overdue(scope: Scope, today: date) -> dict:
    """Lists of what is late, each [{"case_id", "title", "days_over": int, "organisation": str | None}]
    most overdue first, capped at 100 per list: "mediation" (past mediation_due_on, non-labour), "labour_mediation"
    (the same for labour categories: 15 days), "confirmation" (judicial confirmation applications whose 30-day
    window ended without a joint submission), "court_returns" (filings returned by a court and not resubmitted
    after 15 days). Plus "counts": {list name: total}."""
    out: dict = {"counts": {}}
    for name, (core, due_day) in _overdue_queries(scope, today).items():
        listed = core.subquery()
        out["counts"][name] = db.session.scalar(sa.select(sa.func.count()).select_from(listed))
        first = sa.select(listed).order_by(listed.c.due, listed.c.case_id).limit(OVERDUE_CAP).subquery()
        rows = db.session.execute(
            sa.select(first.c.case_id, first.c.due, Case.title, Organisation.name.label("organisation"))
            .join(Case, Case.id == first.c.case_id).outerjoin(Organisation, Organisation.id == Case.organisation_id)
            .order_by(first.c.due, first.c.case_id)).all()
        out[name] = [{"case_id": r.case_id, "title": r.title, "organisation": r.organisation,
                      "days_over": (today - due_day(r.due)).days} for r in rows]
    return out
