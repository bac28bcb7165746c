"""Governance dashboard on a big database: p50/p99 of every dashboard query, one organisation's case list and search.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_dash python bench/dashboard.py [--cases 1000000]

The database must be migrated (`flask db upgrade`). When it holds fewer than --cases cases, the missing ones are
added with seed-bulk (generated inside PostgreSQL, app/analytics/bulk_sql.py) first; the rollups are then refreshed. Ends with one JSON line: cases, seed
(when it seeded: cases/s over the whole seed-bulk call, its phases, and the rollup refresh's seconds), the load
average while measuring (the machine may be shared), max_p99_ms (the slowest query's p99, search included),
max_dashboard_p99_ms, max_list_search_p99_ms (one organisation's case list and search, through
app/cases/search.py), and every query's p50/p99.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa


def _timed(fn, runs: int) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99


def _prepare(app, wanted: int, seed: int, full: bool) -> tuple[int, dict]:
    from app.analytics import rollups
    from app.analytics.bulk import seed_bulk
    from app.extensions import db

    seeded: dict = {}
    with app.app_context():
        have = db.session.scalar(sa.text("SELECT COUNT(*) FROM cases"))
        if have < wanted:
            print(f"{have} cases; adding {wanted - have} with seed-bulk ...", flush=True)
            stats = seed_bulk(wanted - have, seed)
            print(f"  {stats['cases']} cases, {stats['events']} events in {stats['seconds']:.1f} s: "
                  f"{stats['rate']:,.0f} cases/s; phases {stats.get('phases')}", flush=True)
            seeded = {"cases": stats["cases"], "seconds": round(stats["seconds"], 1), "cases_per_s": round(stats["rate"]),
                      "phases": stats.get("phases")}
        started = time.perf_counter()
        result = rollups.refresh(full=full)
        seeded["rollups_refresh_s"] = round(time.perf_counter() - started, 1)
        print(f"rollups refreshed ({result['months']} months) in {seeded['rollups_refresh_s']} s", flush=True)
        return db.session.scalar(sa.text("SELECT COUNT(*) FROM cases")), seeded


def _subjects(db) -> tuple[int, str]:
    org = db.session.execute(sa.text("SELECT organisation_id FROM cases WHERE organisation_id IS NOT NULL "
                                     "GROUP BY organisation_id ORDER BY COUNT(*) DESC LIMIT 1")).scalar()
    name = db.session.execute(sa.text(
        "SELECT p.name FROM case_parties p JOIN cases c ON c.id = p.case_id WHERE c.organisation_id = :org "
        "AND p.kind = 'organisation' ORDER BY p.id DESC LIMIT 1"), {"org": org}).scalar()
    return org, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full-refresh", action="store_true", help="rebuild the rollups from scratch first")
    parser.add_argument("--gc-freeze", action=argparse.BooleanOptionalAction, default=True,
                        help="gc.freeze() after start-up and seeding, as the production server does (app/wsgi.py; the "
                             "~230k start-up objects otherwise make each full collection cost 50-150 ms: the p99)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a (scratch) PostgreSQL database, migrated with `flask db upgrade`.")
    from app import create_app
    from app.analytics import queries as q
    from app.analytics.queries import Scope
    from app.analytics.warnings import (
        current_warning_rules,
        current_warnings,
        mass_dispute_warnings,
        spike_warnings,
    )
    from app.cases.search import search_cases
    from app.extensions import db

    app = create_app()
    cases, seeded = _prepare(app, args.cases, args.seed, args.full_refresh)
    if args.gc_freeze:
        import gc

        gc.collect()
        gc.freeze()
    results: dict[str, tuple[float, float]] = {}
    with app.app_context():
        org, party = _subjects(db)
        today = date.today()
        rules = current_warning_rules()
        for label, scope in (("platform", Scope()), ("org", Scope(organisation_id=org))):
            panels = {"funnel": lambda s=scope: q.funnel(s), "stage_times": lambda s=scope: q.stage_times(s),
                      "mediator_load": lambda s=scope: q.mediator_load(s),
                      "organisation_load": lambda s=scope: q.organisation_load(s),
                      "satisfaction": lambda s=scope: q.satisfaction(s),
                      "overdue": lambda s=scope: q.overdue(s, today)}
            for dim in ("category", "region", "tier", "month"):
                panels[f"by_{dim}"] = lambda s=scope, d=dim: q.by_dimension(s, d)
            three_months = date(today.year - (today.month <= 2), (today.month - 3) % 12 + 1, 1)  # the dashboard's filter
            panels["funnel_last_3_months"] = lambda s=scope, since=three_months: q.funnel(
                Scope(s.organisation_id, since=since))
            for name, fn in panels.items():
                results[f"{label}.{name}"] = _timed(fn, args.runs)
            results[f"{label}.warnings"] = _timed(lambda s=scope: current_warnings(s, today), args.runs)
            # The same computed afresh (what the first dashboard load after a change pays).
            results[f"{label}.warnings_recomputed"] = _timed(
                lambda s=scope: spike_warnings(s, today, rules) + mass_dispute_warnings(s, today, rules), args.runs)
        person = db.session.execute(sa.text(
            "SELECT p.name FROM case_parties p JOIN cases c ON c.id = p.case_id WHERE c.organisation_id = :org "
            "AND p.kind = 'person' ORDER BY p.id DESC LIMIT 1"), {"org": org}).scalar()
        # One organisation's case list and search, through the app's own operation (app/cases/search.py).
        listing = {"case_list": {}, "case_list_page_10": {"page": 10}, "case_list_in_mediation": {"stage": "mediate"},
                   "search_common_word": {"query": "漏水"}, "search_word_in_mediation": {"query": "工资",
                                                                                       "stage": "mediate"},
                   "search_rare_phrase": {"query": "天花板"}, "search_company": {"query": party},
                   "search_person": {"query": person}, "search_no_match": {"query": "不存在的词语"},
                   "search_one_character": {"query": "王"}}
        for name, kw in listing.items():
            results[f"org.{name}"] = _timed(lambda k=kw: search_cases(organisation_id=org, **k), args.runs)
    print(f"{'query':<34}{'p50 ms':>10}{'p99 ms':>10}")
    for name, (p50, p99) in results.items():
        print(f"{name:<34}{p50:>10.1f}{p99:>10.1f}")
    lists = [k for k in results if k.split(".")[1] in listing]
    dash = [k for k in results if k not in lists]
    print(json.dumps({"cases": cases, "runs": args.runs, "organisation_id": org, "seed": seeded,
                      "gc_freeze": args.gc_freeze,
                      "load_average": os.getloadavg()[0],
                      "max_p99_ms": round(max(v[1] for v in results.values()), 1),  # every query, search included
                      "max_dashboard_p99_ms": round(max(results[k][1] for k in dash), 1),
                      "max_list_search_p99_ms": round(max(results[k][1] for k in lists), 1),
                      "queries": {k: {"p50_ms": round(v[0], 1), "p99_ms": round(v[1], 1)} for k, v in results.items()}}))


if __name__ == "__main__":
    main()
