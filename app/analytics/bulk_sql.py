"""`flask seed-bulk` on PostgreSQL: the database generates the rows (INSERT ... SELECT), one connection per core.

Python stages the pools (bulk_pools); then each connection takes an equal range of case ids and draws every case's
choices from (seed, id) with hashint8extended (bulk_seed.h, bulk_seed.r) into its temporary table c. Pass one writes
the cases and their parties; the indexes of those two tables (the GIN index of the search vectors is the longest
single build) are then rebuilt on two more connections while pass two writes the hash-chained events (a recursive
query, level by level: seq 1 of every case, then seq 2 ..., each hash PostgreSQL's sha256 over the previous hash and
the canonical JSON built from pre-quoted pieces, byte-identical to app.core.audit.canonical), court filings,
agreements with their confirmation applications and ratings; the other indexes follow. No row crosses the wire; the
statements are constants with bound values. Events are written level by level, not case by case, as real ones
arrive interleaved over time (the unique (case_id, seq) index serves a case's timeline).
"""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

from app.analytics import bulk_load, bulk_pools
from app.analytics.bulk_world import EPOCH
from app.cases.models import GENESIS_HASH

# Draw numbers (the j of h and r): 1 time in day, 2 story, 3 village, 4 org, 5 category kept, 6 text, 7 applicant,
# 8 phone, 9 company respondent, 10 respondent person, 11 company pick, 12 credit code, 13 case number, 14 mediator,
# 20-22 rating, 23-27 agreement and confirmation.
DRAWS = """
CREATE TEMP TABLE c AS
SELECT x.id, x.t0, x.sid, x.k, x.filer, x.village, x.county, x.county_court, x.clerk, x.org, x.category,
  x.stages[x.k] AS stage, x.statuses[x.k] AS status,
  CASE WHEN x.i_assign <= x.k THEN o.mediators[1 + mod(x.mediator_h, cardinality(o.mediators))] END AS mediator,
  CASE WHEN x.i_assign <= x.k THEN x.t0 + x.offs[x.i_assign] END AS started,
  CASE WHEN x.i_assign <= x.k THEN bulk_seed.ts(x.t0 + x.offs[x.i_assign] + 28800000000)::date + x.limit_days
    END AS due,
  CASE WHEN x.i_arb <= x.k THEN CASE WHEN x.labour_arb THEN %(labour_arb)s ELSE %(arbitration)s END END AS arb,
  x.i_arb <= x.k AND NOT x.labour_arb AS arb_agreement,
  CASE WHEN x.i_law <= x.k THEN x.county_court END AS court,
  CASE WHEN x.i_close <= x.k THEN x.t0 + x.offs[x.i_close] END AS closed,
  x.t0 + x.offs[x.k] AS updated,
  CASE WHEN x.i_accept <= x.k THEN extract(year FROM bulk_seed.ts(x.t0 + x.offs[x.i_accept]))::int END AS accept_year,
  x.i_law <= x.k AS at_court, x.company AND x.category IS NOT NULL AND x.company_roll AS company,
  x.text_k, x.applicant_k, x.phone_k, x.respondent_k, x.company_k, x.code_roll, x.number_k
FROM (
  SELECT y.*, CASE WHEN y.i_med <= y.k THEN CASE y.trade WHEN 'traffic' THEN y.trade_traffic
      WHEN 'labour' THEN y.trade_labour WHEN 'medical' THEN y.trade_medical ELSE CASE WHEN y.r4 < 0.7
      THEN y.org_village WHEN y.r4 < 0.9 THEN y.org_town ELSE y.org_county END END END AS org
  FROM (
    SELECT g.*, s.sid, s.trade, s.labour_arb, s.limit_days, s.offs, s.i_med, s.i_assign, s.i_arb, s.i_law,
      s.i_accept, s.i_close, s.stages, s.statuses, s.company, v.code AS village, v.county, v.org_village, v.org_town,
      v.org_county, v.court AS county_court, v.clerk, v.trade_traffic, v.trade_labour, v.trade_medical, k.k,
      CASE WHEN s.i_assess > k.k AND g.r5 < 0.5 THEN NULL ELSE s.category END AS category
    FROM (
      SELECT g.id, LEAST(dy.start_us + floor((g.id - dy.first_id + bulk_seed.r(g.id, 1, %(seed)s)) * dy.span_us
          / (dy.last_id - dy.first_id + 1))::bigint, %(now)s - 60000000) AS t0,
        mod(bulk_seed.h(g.id, 2, %(seed)s), %(stories)s)::int AS story_k,
        mod(bulk_seed.h(g.id, 3, %(seed)s), 1024)::int AS village_k,
        bulk_seed.r(g.id, 4, %(seed)s) AS r4, bulk_seed.r(g.id, 5, %(seed)s) AS r5,
        mod(bulk_seed.h(g.id, 6, %(seed)s), %(texts)s)::int AS text_k,
        mod(bulk_seed.h(g.id, 7, %(seed)s), %(people)s)::int AS applicant_k,
        mod(bulk_seed.h(g.id, 8, %(seed)s), %(phones)s)::int AS phone_k,
        bulk_seed.r(g.id, 9, %(seed)s) < 0.85 AS company_roll,
        mod(bulk_seed.h(g.id, 10, %(seed)s), %(people)s)::int AS respondent_k,
        mod(bulk_seed.h(g.id, 11, %(seed)s), %(company_slots)s)::int AS company_k,
        bulk_seed.r(g.id, 12, %(seed)s) < 0.6 AS code_roll,
        mod(bulk_seed.h(g.id, 13, %(seed)s), %(numbers)s)::int AS number_k,
        bulk_seed.h(g.id, 14, %(seed)s) AS mediator_h,
        (%(filers)s::int[])[1 + mod(bulk_seed.h(g.id, 15, %(seed)s), cardinality(%(filers)s::int[]))] AS filer
      FROM bulk_seed.day dy
      CROSS JOIN LATERAL generate_series(GREATEST(dy.first_id, %(lo)s), LEAST(dy.last_id, %(hi)s)) AS g(id)
      WHERE dy.last_id >= %(lo)s AND dy.first_id <= %(hi)s
    ) g
    JOIN bulk_seed.story s ON s.sid = g.story_k
    JOIN bulk_seed.village v ON v.k = g.village_k
    CROSS JOIN LATERAL (SELECT count(*)::int AS k FROM unnest(s.offs) o WHERE o <= %(now)s - g.t0) k
  ) y
) x
LEFT JOIN bulk_seed.org o ON o.org_id = x.org
ORDER BY x.id
"""
INSERT_CASES = """
INSERT INTO cases (id, title, stage, status, category, amount, description, region_code, has_arbitration_agreement,
  filed_by_id, organisation_id, mediator_id, arbitration_body_id, court_id, court_case_number, created_at, updated_at,
  closed_at, mediation_started_at, mediation_due_on, version, search_vector)
SELECT c.id, t.title, c.stage, c.status, c.category, t.amount, t.description, c.village, c.arb_agreement, c.filer,
  c.org, c.mediator, c.arb, c.court, nb.number, bulk_seed.ts(c.t0), bulk_seed.ts(c.updated), bulk_seed.ts(c.closed),
  bulk_seed.ts(c.started), c.due, 1,
  CASE WHEN nb.number IS NULL THEN t.tsv ELSE t.tsv || nb.tsv END || p.tsv
    || CASE WHEN c.company THEN co.tsv ELSE rp.tsv END
FROM c
JOIN bulk_seed.text t ON t.key = coalesce(c.category, '') AND t.k = c.text_k
JOIN bulk_seed.person p ON p.k = c.applicant_k
JOIN bulk_seed.person rp ON rp.k = c.respondent_k
JOIN bulk_seed.company_pick cp ON cp.k = c.company_k
JOIN bulk_seed.company co ON co.k = cp.company
LEFT JOIN bulk_seed.number nb ON nb.county = c.county AND nb.year = c.accept_year AND nb.k = c.number_k
"""
INSERT_PARTIES = """
INSERT INTO case_parties (case_id, role, kind, name, phone, phone_bidx, id_number, id_number_bidx, region_code)
SELECT * FROM (
  SELECT c.id, 'applicant', 'person', p.name, ph.phone, ph.bidx, NULL, NULL, c.village
  FROM c JOIN bulk_seed.person p ON p.k = c.applicant_k JOIN bulk_seed.phone ph ON ph.k = c.phone_k
  UNION ALL
  SELECT c.id, 'respondent', CASE WHEN c.company THEN 'organisation' ELSE 'person' END,
    CASE WHEN c.company THEN co.name ELSE rp.name END, NULL, NULL,
    CASE WHEN c.company AND c.code_roll THEN co.code END, CASE WHEN c.company AND c.code_roll THEN co.code_bidx END,
    c.village
  FROM c JOIN bulk_seed.person rp ON rp.k = c.respondent_k JOIN bulk_seed.company_pick cp ON cp.k = c.company_k
  JOIN bulk_seed.company co ON co.k = cp.company) p (id, role, kind, name, phone, phone_bidx, code, code_bidx, village)
ORDER BY id, role
"""
# The JSON of canonical(CaseEvent.payload()): keys sorted; ja and jb are the pre-quoted pieces of the step.
INSERT_EVENTS = """
INSERT INTO case_events (case_id, seq, actor_id, action, from_stage, from_status, to_stage, to_status, reason,
  created_at, prev_hash, hash)
WITH RECURSIVE chain (id, sid, k, t0, filer, mediator, seq, actor, action, from_stage, from_status, to_stage,
    to_status, reason, at, prev, hash) AS (
  SELECT c.id, c.sid, c.k, c.t0, c.filer, c.mediator, 1, e.actor, e.action, e.from_stage, e.from_status, e.to_stage,
    e.to_status, e.reason, c.t0 + e.off_us, %(genesis)s::text,
    encode(sha256(convert_to(%(genesis)s || e.ja || coalesce(e.actor::text, 'null') || ',"case_id":' || c.id
      || ',"created_at":"' || to_char(bulk_seed.ts(c.t0 + e.off_us), 'YYYY-MM-DD"T"HH24:MI:SS.US') || e.jb,
      'UTF8')), 'hex')
  FROM c CROSS JOIN LATERAL (SELECT s.ja, s.jb, s.off_us, s.action, s.from_stage,
    s.from_status, s.to_stage, s.to_status, s.reason, CASE s.actor WHEN 'F' THEN c.filer WHEN 'M' THEN c.mediator END AS actor
    FROM bulk_seed.step s WHERE s.sid = c.sid AND s.seq = 1) e
  WHERE c.id BETWEEN %(part_lo)s AND %(part_hi)s
  UNION ALL
  SELECT ch.id, ch.sid, ch.k, ch.t0, ch.filer, ch.mediator, ch.seq + 1, e.actor, e.action, e.from_stage,
    e.from_status, e.to_stage, e.to_status, e.reason, ch.t0 + e.off_us, ch.hash,
    encode(sha256(convert_to(ch.hash || e.ja || coalesce(e.actor::text, 'null') || ',"case_id":' || ch.id
      || ',"created_at":"' || to_char(bulk_seed.ts(ch.t0 + e.off_us), 'YYYY-MM-DD"T"HH24:MI:SS.US') || e.jb,
      'UTF8')), 'hex')
  FROM chain ch CROSS JOIN LATERAL (SELECT s.ja, s.jb, s.off_us, s.action, s.from_stage,
    s.from_status, s.to_stage, s.to_status, s.reason, CASE s.actor WHEN 'F' THEN ch.filer WHEN 'M' THEN ch.mediator END AS actor
    FROM bulk_seed.step s WHERE s.sid = ch.sid AND s.seq = ch.seq + 1) e
  WHERE ch.seq < ch.k
)
SELECT id, seq, actor, action, from_stage, from_status, to_stage, to_status, reason, bulk_seed.ts(at), prev, hash
FROM chain
"""
INSERT_RATINGS = """
INSERT INTO satisfaction_ratings (case_id, user_id, score, created_at)
SELECT id, filer, CASE WHEN settled THEN CASE WHEN u < 0.02 THEN 1 WHEN u < 0.05 THEN 2 WHEN u < 0.15 THEN 3
    WHEN u < 0.50 THEN 4 ELSE 5 END
  ELSE CASE WHEN u < 0.10 THEN 1 WHEN u < 0.25 THEN 2 WHEN u < 0.50 THEN 3 WHEN u < 0.80 THEN 4 ELSE 5 END END,
  bulk_seed.ts(at)
FROM (SELECT id, filer, status = 'settled' AS settled, bulk_seed.r(id, 21, %(seed)s) AS u,
        closed + floor((0.05 + 9.95 * bulk_seed.r(id, 20, %(seed)s)) * 86400000000)::bigint AS at
      FROM c WHERE closed IS NOT NULL AND bulk_seed.r(id, 22, %(seed)s) < 0.35) q
WHERE at <= %(now)s
ORDER BY id
"""
# The first submission (returned, accepted or waiting) and, after a return, the resubmission.
INSERT_FILINGS = """
INSERT INTO court_filings (case_id, seq, court_id, jurisdiction_basis, cause_code, cause_name, claims, facts,
  fee_estimate, status, submitted_by_id, submitted_at, decided_by_id, decided_at, reasons, court_case_number)
SELECT c.id, f.seq, c.county_court, s.basis, s.cause_code, s.cause_name,
  '1. 判令被告支付' || t.fill || '元；2. 本案诉讼费用由被告承担。', t.title || '。' || t.description,
  CASE WHEN t.amount IS NULL THEN 50 ELSE 50 + floor(t.amount)::bigint / 100 END,
  f.status, c.filer, bulk_seed.ts(c.t0 + s.offs[f.submitted]), CASE WHEN f.decided <= c.k THEN c.clerk END,
  CASE WHEN f.decided <= c.k THEN bulk_seed.ts(c.t0 + s.offs[f.decided]) END,
  CASE WHEN f.status = 'returned' THEN s.return_reason END, CASE WHEN f.status = 'accepted' THEN nb.number END
FROM c JOIN bulk_seed.story s ON s.sid = c.sid
JOIN bulk_seed.text t ON t.key = coalesce(c.category, '') AND t.k = c.text_k
LEFT JOIN bulk_seed.number nb ON nb.county = c.county AND nb.year = c.accept_year AND nb.k = c.number_k
CROSS JOIN LATERAL (
  SELECT 1 AS seq, s.i_law AS submitted, LEAST(s.i_return, s.i_accept) AS decided,
    CASE WHEN s.i_return <= c.k THEN 'returned' WHEN s.i_accept <= c.k THEN 'accepted' ELSE 'submitted' END AS status
  UNION ALL
  SELECT 2, s.i_resubmit, s.i_accept, CASE WHEN s.i_accept <= c.k THEN 'accepted' ELSE 'submitted' END
  WHERE s.i_resubmit <= c.k) f
WHERE c.at_court
ORDER BY c.id, f.seq
"""
AGREED = """
CREATE TEMP TABLE a ON COMMIT DROP AS
SELECT id, %(first_agreement)s + (id - %(first_case)s) AS aid, mediator, filer, county_court, clerk, updated AS signed,
  updated + floor((0.5 + 19.5 * bulk_seed.r(id, 23, %(seed)s)) * 86400000000)::bigint AS applied,
  bulk_seed.r(id, 24, %(seed)s) AS roll,
  floor((0.2 + 7.8 * bulk_seed.r(id, 25, %(seed)s)) * 86400000000)::bigint AS join_after,
  floor((1 + 14 * bulk_seed.r(id, 26, %(seed)s)) * 86400000000)::bigint AS decide_after
FROM c WHERE status = 'settled' AND bulk_seed.r(id, 27, %(seed)s) < 0.12
"""
INSERT_AGREEMENTS = """
INSERT INTO agreements (id, case_id, version, status, facts, responsibility, terms, performance, content_hash,
  created_by_id, created_at, signed_at)
SELECT aid, id, 1, 'signed', %(facts)s, '双方各自承担相应责任。', %(terms)s::json, '一次性转账支付。',
  encode(sha256(convert_to(id || ':' || aid || ':' || %(facts)s || ':' || %(terms)s, 'UTF8')), 'hex'), mediator,
  bulk_seed.ts(signed), bulk_seed.ts(signed)
FROM a ORDER BY id
"""
INSERT_CONFIRMATIONS = """
INSERT INTO confirmation_applications (case_id, agreement_id, court_id, status, applied_by_id, applied_at,
  joined_by_id, joined_at, decided_by_id, decided_at, deadline_at)
SELECT id, aid, county_court, status, filer, bulk_seed.ts(applied),
  CASE WHEN status IN ('submitted', 'confirmed') THEN filer END,
  CASE WHEN status IN ('submitted', 'confirmed') THEN bulk_seed.ts(joined) END,
  CASE WHEN status = 'confirmed' THEN clerk END, CASE WHEN status = 'confirmed' THEN bulk_seed.ts(decided) END,
  bulk_seed.ts(signed + 30 * 86400000000::bigint)
FROM (SELECT a.*, j.joined, j.joined + decide_after AS decided,
        CASE WHEN roll < 0.15 OR j.joined > %(now)s THEN 'awaiting' WHEN roll < 0.25 THEN 'withdrawn'
          WHEN j.joined + decide_after <= %(now)s THEN 'confirmed' ELSE 'submitted' END AS status
      FROM a CROSS JOIN LATERAL (SELECT applied + join_after AS joined) j WHERE applied <= %(now)s) q
ORDER BY id
"""
FACTS = "双方经调解自愿达成如下协议。"
TERMS = '[{"clause": "payment", "params": {}, "text": "被申请人于协议生效后十日内一次性支付。"}]'
# Pass one writes the cases and their parties, so their indexes (the GIN index of the search vectors takes longest)
# are built while pass two writes the events and the rest.
FIRST = {"cases": INSERT_CASES, "case_parties": INSERT_PARTIES}
SECOND = {"case_events": INSERT_EVENTS, "satisfaction_ratings": INSERT_RATINGS, "court_filings": INSERT_FILINGS,
          "agreements": INSERT_AGREEMENTS, "confirmation_applications": INSERT_CONFIRMATIONS}
FIRST_TABLES = re.compile(r" ON (\w+\.)?(cases|case_parties) ")
INDEX_SETUP = "SET maintenance_work_mem = '1GB'"
EVENT_PART = 100_000  # cases per statement writing events (~400,000 rows, ~100 MB in the recursion)


def _connect(url: str):
    conn = bulk_load.open_loader(url)
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET jit = off")  # compiling costs more than it saves here
    conn.execute("SET temp_buffers = '256MB'")
    return conn


def _first(conn, values: dict) -> dict[str, int]:
    """Draw the cases of one id range into the connection's temporary table c; write cases and parties."""
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS c")
        conn.execute(DRAWS, values)
        return {table: conn.execute(statement, values).rowcount for table, statement in FIRST.items()}


def _second(conn, values: dict) -> dict[str, int]:
    """Events, ratings, court filings, agreements and confirmation applications of the cases in c."""
    counts = {}
    with conn.transaction():
        for table, statement in SECOND.items():
            if table == "agreements":
                conn.execute(AGREED, values)
            if table == "case_events":  # by parts, so each recursion's rows stay in work_mem
                counts[table] = sum(conn.execute(statement, {**values, "part_lo": lo, "part_hi": lo + EVENT_PART - 1})
                                    .rowcount for lo in range(values["lo"], values["hi"] + 1, EVENT_PART))
            else:
                counts[table] = conn.execute(statement, values).rowcount
        conn.execute("DROP TABLE c")
    return counts


def _in_parallel(step, conns: list, ranges: list[dict]) -> dict[str, int]:
    totals: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=len(conns)) as pool:
        for counts in pool.map(step, conns, ranges):
            for table, n in counts.items():
                totals[table] = totals.get(table, 0) + n
    return totals


def _ranges(job: dict, sizes: dict[str, int], count: int, workers: int) -> list[dict]:
    """The statements' bound values, one set per connection: its range of case ids (lo..hi) and the pool sizes."""
    world, first = job["world"], job["first_case"]
    params = {**sizes, "seed": job["seed"], "now": round((job["now"] - EPOCH).total_seconds() * 1_000_000),
              "filers": world["filers"], "labour_arb": world["labour_arb"], "arbitration": world["arbitration"],
              "genesis": GENESIS_HASH, "first_case": first, "first_agreement": job["first_agreement"],
              "facts": FACTS, "terms": TERMS}
    step = -(-count // workers)
    return [{**params, "lo": lo, "hi": min(lo + step, first + count) - 1} for lo in range(first, first + count, step)]


def seed(url: str, job: dict, count: int, workers: int, rebuild: list[str]) -> tuple[dict, dict, dict]:
    """Stage the pools, generate every row in PostgreSQL (one id range per connection), rebuild the dropped indexes
    (`rebuild`, whatever happens; those of cases and parties during pass two); returns (row counts, phase seconds,
    index seconds)."""
    phases, started, totals, conns = {}, time.perf_counter(), {}, []
    early = [s for s in rebuild if FIRST_TABLES.search(s)]
    background, building = ThreadPoolExecutor(max_workers=1), None
    try:
        with bulk_load.open_loader(url) as conn:
            sizes = bulk_pools.stage(conn, job["world"], job["rules"], job["litigation"], job["now"], job["seed"],
                                     count, job["first_case"])
        phases["stage"] = time.perf_counter() - started
        ranges = _ranges(job, sizes, count, workers)
        conns.extend(_connect(url) for _ in ranges)
        mark = time.perf_counter()
        try:
            totals.update(_in_parallel(_first, conns, ranges))
        finally:
            phases["cases_and_parties"] = time.perf_counter() - mark
            building = background.submit(bulk_load.run_parallel, url, early, 2, INDEX_SETUP)
        mark = time.perf_counter()
        totals.update(_in_parallel(_second, conns, ranges))
        phases["events_and_the_rest"] = time.perf_counter() - mark
    finally:
        for conn in conns:
            conn.close()
        with bulk_load.open_loader(url) as conn:
            bulk_pools.unstage(conn)
        phases["load"] = time.perf_counter() - started
        mark = time.perf_counter()
        later = rebuild if building is None else [s for s in rebuild if s not in early]
        indexes = bulk_load.run_parallel(url, later, workers, INDEX_SETUP)
        if building is not None:
            indexes.update(building.result())
        background.shutdown()
        phases["indexes_after_load"] = time.perf_counter() - mark
    return totals, phases, indexes
