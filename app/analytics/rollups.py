"""Rollup tables behind the governance dashboard, and their incremental refresh.

Four rollups, each keyed by the filing month (YYYY-MM in Beijing time) and the handling organisation (0: none; -1:
the sum over all, for platform-wide panels):
  dash_case_counts   cases by category, county (region_code[:6]), stage, status and `reached` (a bitmask of the
                     funnel steps the case ever took: REACHED below)
  dash_stage_days    a histogram of whole days spent in each stage (one row per stage x day count), from which
                     the median and 90th percentile are read exactly (linear interpolation between ranks)
  dash_mediators     per mediator: open / closed / settled / ended mediations
  dash_ratings       satisfaction ratings by score

How they are kept fresh: `refresh()` compares the watermark (dash_watermark: the largest cases.updated_at and
satisfaction_ratings.id it has seen) with the data, finds the filing months of the cases changed since (with a
safety overlap of OVERLAP, for transactions that committed late) and recomputes those months only: a month is
deleted from every rollup and rebuilt from the cases by the same SELECT that `source()` hands to a query whose
dates do not fall on month boundaries. A first refresh (no watermark) or `refresh(full=True)` rebuilds all.
Every state change of a case sets its updated_at (the funnel steps do), and a case's filing month never changes,
so recomputing those months is exact. Cases are never deleted by the application; after a manual deletion run
`flask dashboard refresh --full`.

Callers: `flask dashboard refresh` (cron, e.g. every minute), `flask seed-bulk` after loading, and every dashboard
query through `ensure_fresh()`, which costs two index lookups when nothing changed and otherwise refreshes the
changed months in its own committed transaction (so small live data, e.g. the tests, is always current).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import g, has_request_context

from app.agreements.models import ConfirmationApplication
from app.analytics import panel_cache
from app.cases.models import Case, CaseParty, PartyRole
from app.core.time import BEIJING_OFFSET, utcnow
from app.extensions import db

OVERLAP = timedelta(minutes=10)
STAGES = ("consult", "assess", "mediate", "arbitrate", "litigate")
# Bits of `reached`: the funnel steps a case has ever taken.
REACHED = {"consult": 1, "cases": 2, "mediated": 4, "arbitrated": 8, "litigated": 16}
LOCK_KEY = 8_080_808  # PostgreSQL advisory lock: one refresh at a time
ANALYZE_FROM_MONTHS = 3  # a refresh recomputing more months than this ANALYZEs the rollups (PostgreSQL)

metadata = db.metadata


def _dims(*extra: sa.Column) -> list[sa.Column]:
    return [sa.Column("month", sa.String(7), primary_key=True),
            sa.Column("org_id", sa.Integer, primary_key=True, autoincrement=False), *extra]


case_counts = sa.Table(
    "dash_case_counts", metadata,
    *_dims(sa.Column("category", sa.String(40), primary_key=True),
           sa.Column("county", sa.String(6), primary_key=True),
           sa.Column("stage", sa.String(32), primary_key=True),
           sa.Column("status", sa.String(32), primary_key=True),
           sa.Column("reached", sa.Integer, primary_key=True, autoincrement=False),
           sa.Column("n", sa.Integer, nullable=False)),
    sa.Index("ix_dash_case_counts_org_month", "org_id", "month"),
)
stage_days = sa.Table(
    "dash_stage_days", metadata,
    *_dims(sa.Column("stage", sa.String(32), primary_key=True),
           sa.Column("days", sa.Integer, primary_key=True, autoincrement=False),
           sa.Column("n", sa.Integer, nullable=False)),
    sa.Index("ix_dash_stage_days_org_month", "org_id", "month"),
)
mediators = sa.Table(
    "dash_mediators", metadata,
    *_dims(sa.Column("mediator_id", sa.Integer, primary_key=True, autoincrement=False),
           sa.Column("open", sa.Integer, nullable=False),
           sa.Column("closed", sa.Integer, nullable=False),
           sa.Column("settled", sa.Integer, nullable=False),
           sa.Column("ended", sa.Integer, nullable=False)),
    sa.Index("ix_dash_mediators_org_month", "org_id", "month"),
)
ratings = sa.Table(
    "dash_ratings", metadata,
    *_dims(sa.Column("score", sa.Integer, primary_key=True, autoincrement=False),
           sa.Column("n", sa.Integer, nullable=False)),
)
# Early warning (app/analytics/warnings.py) reads these instead of the cases: new cases per Beijing day by county and
# category (spikes), and per respondent as named (mass disputes). `day` is a 'YYYY-MM-DD' text on both backends.
daily = sa.Table(
    "dash_daily", metadata,
    *_dims(sa.Column("day", sa.String(10), primary_key=True),
           sa.Column("county", sa.String(6), primary_key=True),
           sa.Column("category", sa.String(40), primary_key=True),
           sa.Column("n", sa.Integer, nullable=False)),
    sa.Index("ix_dash_daily_org_day", "org_id", "day"),
)
respondents = sa.Table(
    "dash_respondents", metadata,  # one row per case and respondent (as named): the few columns warnings need
    *_dims(sa.Column("case_id", sa.Integer, primary_key=True, autoincrement=False),
           # the blind index of the credit code / ID number (case_parties.id_number_bidx), '' when none was given
           sa.Column("id_key", sa.String(64), primary_key=True),
           sa.Column("name", sa.String(120), primary_key=True),
           sa.Column("name_key", sa.String(120), nullable=False),  # normalise_name(name), from dash_respondent_names
           sa.Column("day", sa.String(10), nullable=False),
           sa.Column("category", sa.String(40), nullable=False),
           sa.Column("county", sa.String(6), nullable=False)),
    sa.Index("ix_dash_respondents_day", "day"),
)
# Respondent names as written -> normalised (warnings.normalise_name: NFKC, no spaces or punctuation, lower case),
# which neither SQL dialect can do alike: filled in Python at refresh time for names not seen before, so the
# mass-dispute query compares stored keys in SQL.
respondent_names = sa.Table(
    "dash_respondent_names", metadata,
    sa.Column("name", sa.String(120), primary_key=True),
    sa.Column("name_key", sa.String(120), nullable=False),
)
watermark = sa.Table(
    "dash_watermark", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("max_updated_at", sa.DateTime, nullable=True),
    sa.Column("max_rating_id", sa.Integer, nullable=False),
    sa.Column("refreshed_at", sa.DateTime, nullable=False),
)
ROLLUPS = (case_counts, stage_days, mediators, ratings, daily, respondents)
# These two also hold, per month, the sum over all organisations (org_id = ALL_ORGS): platform-wide panels read only
# those rows, a few times fewer than one per organisation. Readers of per-organisation rows use org_id >= 0.
ALL_ORGS = -1
TOTALLED = (case_counts, stage_days, daily)

# Indexes on the cases the dashboard and the organisation's case list need (created in the same migration).
sa.Index("ix_cases_updated_at", Case.updated_at)
sa.Index("ix_cases_created_at", Case.created_at, postgresql_include=["id"])  # the first case id of a window
sa.Index("ix_cases_org_created", Case.organisation_id, Case.created_at, postgresql_include=["id"])
# INCLUDE (PostgreSQL): the overdue lists find, count and filter cases by category and organisation from the index
# alone (index-only scans).
sa.Index("ix_cases_stage_status_due", Case.stage, Case.status, Case.mediation_due_on,
         postgresql_include=["id", "category", "organisation_id"])
# The overdue list of confirmation applications nobody joined within the 30 days.
sa.Index("ix_confirmation_applications_status_deadline", ConfirmationApplication.status,
         ConfirmationApplication.deadline_at)


# --- the SELECTs (one per rollup), shared by refresh and by queries over arbitrary dates ----------------------
def _sql(dialect: str) -> dict[str, str]:
    if dialect == "postgresql":
        return {"month": "to_char(c.created_at + interval '8 hours', 'YYYY-MM')",
                "day": "to_char(c.created_at + interval '8 hours', 'YYYY-MM-DD')",
                "days": "CAST(floor(extract(epoch FROM (ch.left_at - ch.created_at)) / 86400) AS INTEGER)"}
    return {"month": "strftime('%Y-%m', c.created_at, '+8 hours')",
            "day": "strftime('%Y-%m-%d', c.created_at, '+8 hours')",
            "days": "CAST(CAST((julianday(ch.left_at) - julianday(ch.created_at)) * 86400 + 0.5 AS INTEGER) / 86400 "
                    "AS INTEGER)"}


def _facts(dialect: str, where: str) -> str:
    return (f"SELECT c.id, {_sql(dialect)['month']} AS month, {_sql(dialect)['day']} AS day, "
            "COALESCE(c.organisation_id, 0) AS org_id, "
            "COALESCE(c.category, '') AS category, COALESCE(substr(c.region_code, 1, 6), '') AS county, "
            f"c.stage, c.status, c.mediator_id FROM cases c WHERE {where}")


def source(kind: str, dialect: str, where: str = "1 = 1") -> str:
    """The SELECT whose rows are the rollup `kind` for the cases matching `where` (over cases c)."""
    facts = _facts(dialect, where)
    if kind == "dash_case_counts":
        flags = ("SELECT e.case_id, MAX(CASE WHEN e.to_stage = 'assess' THEN 1 ELSE 0 END) AS r_assess, "
                 "MAX(CASE WHEN e.to_stage = 'mediate' AND e.to_status = 'in_progress' THEN 1 ELSE 0 END) AS r_med, "
                 "MAX(CASE WHEN e.to_stage = 'arbitrate' THEN 1 ELSE 0 END) AS r_arb, "
                 "MAX(CASE WHEN e.to_stage = 'litigate' THEN 1 ELSE 0 END) AS r_lit "
                 "FROM case_events e JOIN f ON f.id = e.case_id GROUP BY e.case_id")
        reached = ("1 + CASE WHEN r.r_assess = 1 OR f.stage = 'assess' THEN 2 ELSE 0 END"
                   " + CASE WHEN r.r_med = 1 OR f.mediator_id IS NOT NULL THEN 4 ELSE 0 END"
                   " + CASE WHEN r.r_arb = 1 OR f.stage = 'arbitrate' THEN 8 ELSE 0 END"
                   " + CASE WHEN r.r_lit = 1 OR f.stage = 'litigate' THEN 16 ELSE 0 END")
        return (f"WITH f AS ({facts}), r AS ({flags}) "
                f"SELECT f.month, f.org_id, f.category, f.county, f.stage, f.status, {reached} AS reached, "
                "COUNT(*) AS n FROM f LEFT JOIN r ON r.case_id = f.id "
                "GROUP BY f.month, f.org_id, f.category, f.county, f.stage, f.status, 7")
    if kind == "dash_stage_days":
        return (f"WITH f AS ({facts}), ev AS (SELECT e.case_id, e.seq, e.to_stage, e.created_at, "
                "LAG(e.to_stage) OVER (PARTITION BY e.case_id ORDER BY e.seq) AS prev_stage "
                "FROM case_events e JOIN f ON f.id = e.case_id), "
                "ch AS (SELECT case_id, to_stage, created_at, "
                "LEAD(created_at) OVER (PARTITION BY case_id ORDER BY seq) AS left_at "
                "FROM ev WHERE prev_stage IS NULL OR prev_stage <> to_stage) "
                f"SELECT f.month, f.org_id, ch.to_stage AS stage, {_sql(dialect)['days']} AS days, COUNT(*) AS n "
                "FROM ch JOIN f ON f.id = ch.case_id WHERE ch.left_at IS NOT NULL AND ch.to_stage IN "
                f"({', '.join(repr(s) for s in STAGES)}) GROUP BY f.month, f.org_id, ch.to_stage, 4")
    if kind == "dash_mediators":
        return (f"WITH f AS ({facts}) SELECT f.month, f.org_id, f.mediator_id, "
                f"SUM(CASE WHEN {ENDED} THEN 0 ELSE 1 END) AS open, "
                "SUM(CASE WHEN f.stage = 'closed' THEN 1 ELSE 0 END) AS closed, "
                "SUM(CASE WHEN f.status = 'settled' THEN 1 ELSE 0 END) AS settled, "
                f"SUM(CASE WHEN {ENDED} THEN 1 ELSE 0 END) AS ended "
                "FROM f WHERE f.mediator_id IS NOT NULL GROUP BY f.month, f.org_id, f.mediator_id")
    if kind == "dash_daily":
        return (f"WITH f AS ({facts}) SELECT f.month, f.org_id, f.day, f.county, f.category, COUNT(*) AS n FROM f "
                "WHERE f.category <> '' AND f.county <> '' GROUP BY f.month, f.org_id, f.day, f.county, f.category")
    if kind == "dash_respondents":
        return (f"WITH f AS ({facts}) SELECT DISTINCT f.month, f.org_id, f.id, COALESCE(p.id_number_bidx, ''), "
                "p.name, n.name_key, f.day, f.category, f.county FROM case_parties p JOIN f ON f.id = p.case_id "
                "JOIN dash_respondent_names n ON n.name = p.name "
                f"WHERE p.role = 'respondent' AND {COUNTABLE_RESPONDENT}")
    if kind == "dash_ratings":
        return (f"WITH f AS ({facts}) SELECT f.month, f.org_id, s.score, COUNT(*) AS n "
                "FROM satisfaction_ratings s JOIN f ON f.id = s.case_id GROUP BY f.month, f.org_id, s.score")
    raise ValueError(kind)


# Respondents a mass-dispute warning may count: organisations (by code or name), and people only by their ID number
# (common names such as 王伟 would otherwise merge strangers into one "respondent").
COUNTABLE_RESPONDENT = "(p.kind = 'organisation' OR p.id_number_bidx IS NOT NULL)"
# A mediation has ended unless the case is still waiting for or in mediation.
ENDED = "NOT (f.stage = 'mediate' AND f.status IN ('awaiting_assignment', 'in_progress'))"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants where a Beijing calendar month begins and ends."""
    y, m = int(month[:4]), int(month[5:7])
    start = datetime(y, m, 1)
    end = datetime(y + (m == 12), m % 12 + 1, 1)
    return start - BEIJING_OFFSET, end - BEIJING_OFFSET


# --- refresh -------------------------------------------------------------------------------------------------
def _state(conn) -> tuple[datetime | None, int]:
    max_updated = conn.execute(sa.select(sa.func.max(Case.updated_at))).scalar()
    max_rating = conn.execute(sa.text("SELECT MAX(id) FROM satisfaction_ratings")).scalar() or 0
    return max_updated, max_rating


def is_stale(conn) -> bool:
    """Whether any case changed, or a rating came in, after the last refresh (two index lookups)."""
    mark = conn.execute(sa.select(watermark).where(watermark.c.id == 1)).first()
    max_updated, max_rating = _state(conn)
    if mark is None:
        return max_updated is not None
    return (max_updated is not None and (mark.max_updated_at is None or max_updated > mark.max_updated_at)) \
        or max_rating > mark.max_rating_id


def _changed_months(conn, mark, dialect: str, since: datetime | None) -> set[str]:
    month = _sql(dialect)["month"]
    since = since if since is not None else (mark.max_updated_at or datetime(1970, 1, 1)) - OVERLAP
    # month is a fixed SQL expression from _sql(); the watermarks are bound parameters.
    # nosemgrep: sql-built-from-strings -- fixed fragments only
    months = set(conn.execute(sa.text(f"SELECT DISTINCT {month} FROM cases c WHERE c.updated_at > :since")
                              .bindparams(sa.bindparam("since", since, type_=sa.DateTime))).scalars())
    rated = (f"SELECT DISTINCT {month} FROM satisfaction_ratings s JOIN cases c ON c.id = s.case_id "
             "WHERE s.id > :rid")
    # nosemgrep: sql-built-from-strings -- fixed fragments only
    months |= set(conn.execute(sa.text(rated), {"rid": mark.max_rating_id}).scalars())
    return months


def _add_totals(conn, table: sa.Table, month: str | None) -> None:
    """Rows with org_id = ALL_ORGS summing every organisation's: what platform-wide panels read (fewer rows)."""
    keys = [c.name for c in table.primary_key.columns if c.name != "org_id"]
    cols = ", ".join(keys)
    where = "org_id >= 0" + (" AND month = :month" if month else "")
    # nosemgrep: sql-built-from-strings -- table and column names from our metadata, ALL_ORGS a constant, month bound
    conn.execute(sa.text(f"INSERT INTO {table.name} ({cols}, org_id, n) SELECT {cols}, {ALL_ORGS}, SUM(n) "
                         f"FROM {table.name} WHERE {where} GROUP BY {cols}"), {"month": month} if month else {})


def _add_name_keys(conn, months: list[str] | None) -> None:
    """Normalised keys for the respondent names of these months (None: all) not in dash_respondent_names yet."""
    from app.analytics.warnings import normalise_name

    if months is None:  # a full rebuild renormalises every name (normalise_name may have changed)
        conn.execute(respondent_names.delete())
    new = sa.select(CaseParty.name).distinct().where(
        CaseParty.role == PartyRole.respondent,
        ~sa.exists().where(respondent_names.c.name == CaseParty.name))
    if months is not None:
        if not months:
            return
        spans = [month_bounds(month) for month in months]
        new = new.join(Case, Case.id == CaseParty.case_id).where(
            sa.or_(*[sa.and_(Case.created_at >= start, Case.created_at < end) for start, end in spans]))
    rows = [{"name": name, "name_key": normalise_name(name)} for name in conn.execute(new).scalars()]
    for i in range(0, len(rows), 5000):
        conn.execute(respondent_names.insert(), rows[i:i + 5000])


def _rebuild(conn, dialect: str, months: list[str] | None) -> None:
    _add_name_keys(conn, months)
    cols = {table: ", ".join(c.name for c in table.columns) for table in ROLLUPS}
    if months is None:
        for table in ROLLUPS:
            conn.execute(table.delete())
            # nosemgrep: sql-built-from-strings -- names from ROLLUPS' metadata, SELECT from source() (fixed fragments)
            conn.execute(sa.text(f"INSERT INTO {table.name} ({cols[table]}) {source(table.name, dialect)}"))
            if table in TOTALLED:
                _add_totals(conn, table, None)
        return
    for month in sorted(months):
        start, end = month_bounds(month)
        where = "c.created_at >= :start AND c.created_at < :end"
        for table in ROLLUPS:
            conn.execute(table.delete().where(table.c.month == month))
            # nosemgrep: sql-built-from-strings -- as above; where is fixed, start and end are bound
            conn.execute(sa.text(f"INSERT INTO {table.name} ({cols[table]}) {source(table.name, dialect, where)}")
                         .bindparams(sa.bindparam("start", start, type_=sa.DateTime),
                                     sa.bindparam("end", end, type_=sa.DateTime)))
            if table in TOTALLED:
                _add_totals(conn, table, month)


def refresh(since: datetime | None = None, *, full: bool = False, conn=None) -> dict:
    """Bring the rollups up to date: the months of cases changed since `since` (default: the watermark), or
    everything when full or never refreshed. Runs in `conn`'s transaction (default: its own, committed)."""
    if conn is None:
        with db.engine.begin() as own:
            return refresh(since, full=full, conn=own)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    mark = conn.execute(sa.select(watermark).where(watermark.c.id == 1)).first()
    max_updated, max_rating = _state(conn)
    if full or mark is None:
        months = None
    else:
        months = _changed_months(conn, mark, dialect, since)
    _rebuild(conn, dialect, months)
    if dialect == "postgresql" and (months is None or len(months) > ANALYZE_FROM_MONTHS):
        # Fresh statistics at once (autovacuum comes later): a rebuilt rollup otherwise looks empty to the planner.
        # nosemgrep: sql-built-from-strings -- table names from our metadata
        conn.execute(sa.text(f"ANALYZE {', '.join(t.name for t in ROLLUPS)}"))
    conn.execute(watermark.delete())
    conn.execute(watermark.insert().values(id=1, max_updated_at=max_updated, max_rating_id=max_rating,
                                           refreshed_at=utcnow()))
    # The built dashboard panels of this process are now older than the rollups; other processes' (gunicorn
    # workers') expire within panel_cache.TTL seconds.
    panel_cache.clear()
    return {"months": "all" if months is None else len(months)}  # how many filing months were recomputed


def ensure_fresh() -> None:
    """Refresh the changed months first when the data moved since the last refresh (see the module's doc).

    Once per request: the dashboard's panels asked ten times per page (three statements each), and under load the
    data moved between them, so a page could refresh more than once and show panels of different moments."""
    in_request = has_request_context()
    if in_request and g.get("_rollups_checked"):
        return
    with db.engine.connect() as conn:
        stale = is_stale(conn)
    if stale:
        refresh()
    if in_request:
        g._rollups_checked = True
