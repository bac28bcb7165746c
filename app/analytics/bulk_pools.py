"""The small things `flask seed-bulk` stages in PostgreSQL before the database generates the cases (bulk_sql).

Python draws what is cheap to draw once and costly to redo per row: a pool of funnel paths (bulk_story.Story, per
category weight, times as offsets from the filing instant, with the pre-quoted JSON around each event's variable
fields), the villages (weighted by county) with their organisations, courts and clerks, the mediators of each
organisation, per category titles and descriptions with their amounts and search-vector heads, names of people and
companies (repeat employers by weight) with their vector parts, the encrypted phones and credit codes, court case
numbers per county and year, and how many cases each day gets. All go into UNLOGGED tables of the schema
`bulk_seed` (dropped afterwards); every case then picks from them by a hash of (seed, case id, draw).

A vector part is `tsvector_literal(text, start=2)`: PostgreSQL's `tsvector || tsvector` shifts the right-hand
positions by the largest position on the left, which is two less than `next_position` whenever the left ends in a
run of two or more characters (checked for every part here), so head || number || names equals tsvector_literal of
the whole case (tests/analytics/test_seed_bulk.py compares them).
"""
from __future__ import annotations

import functools
import itertools
import json
import random
import re
import unicodedata
from datetime import datetime, timedelta

import psycopg

from app.analytics.bulk_story import Story
from app.analytics.bulk_world import (
    CATEGORY_WEIGHTS,
    COMPANIES,
    COMPANY_RESPONDENTS,
    COMPANY_WORDS,
    COUNTIES,
    COUNTY_WEIGHTS,
    DEFAULT_TEXT,
    EPOCH,
    GIVEN,
    SURNAMES,
    TEXTS,
    TRADE,
    YEARS_BACK,
    _name,
    _round_amount,
)
from app.cases.search import runs, tsvector_literal

STORIES = 32_768       # funnel paths drawn (at most; fewer for a small seed)
VILLAGE_SLOTS = 1024   # villages, repeated in proportion to their county's weight
TEXTS_PER_KEY = 256    # (amount, title, description) per category
PEOPLE = 20_000
COMPANY_SLOTS = 65_536  # company indexes drawn with weight 1/(i+10)
NUMBERS = 512          # court case numbers per county and year
FILER, MEDIATOR = -1, "mediator"
US = 1_000_000
TABLES = """
CREATE SCHEMA bulk_seed;
CREATE UNLOGGED TABLE bulk_seed.story (sid int PRIMARY KEY, category text, company bool, trade text, labour_arb bool,
  limit_days int, basis text, cause_code text, cause_name text, n int, offs bigint[], i_assess int, i_med int,
  i_assign int, i_arb int, i_law int, i_return int, i_resubmit int, i_accept int, i_close int, return_reason text,
  stages text[], statuses text[]);
CREATE UNLOGGED TABLE bulk_seed.step (sid int, seq int, off_us bigint, actor text, action text, from_stage text,
  from_status text, to_stage text, to_status text, reason text, ja text, jb text, PRIMARY KEY (sid, seq));
CREATE UNLOGGED TABLE bulk_seed.village (k int PRIMARY KEY, code text, county text, org_village int, org_town int,
  org_county int, court int, clerk int, trade_traffic int, trade_labour int, trade_medical int);
CREATE UNLOGGED TABLE bulk_seed.org (org_id int PRIMARY KEY, mediators int[]);
CREATE UNLOGGED TABLE bulk_seed.text (key text, k int, amount numeric, fill int, title text, description text,
  tsv tsvector, PRIMARY KEY (key, k));
CREATE UNLOGGED TABLE bulk_seed.person (k int PRIMARY KEY, name text, tsv tsvector);
CREATE UNLOGGED TABLE bulk_seed.company (k int PRIMARY KEY, name text, tsv tsvector, code text, code_bidx text);
CREATE UNLOGGED TABLE bulk_seed.company_pick (k int PRIMARY KEY, company int);
CREATE UNLOGGED TABLE bulk_seed.phone (k int PRIMARY KEY, phone text, bidx text);
CREATE UNLOGGED TABLE bulk_seed.number (county text, year int, k int, number text, tsv tsvector,
  PRIMARY KEY (county, year, k));
CREATE UNLOGGED TABLE bulk_seed.day (first_id bigint, last_id bigint, start_us bigint, span_us bigint);
CREATE FUNCTION bulk_seed.h(id bigint, j int, seed bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS 'SELECT hashint8extended(id * 64 + j, seed) & 2147483647';
CREATE FUNCTION bulk_seed.r(id bigint, j int, seed bigint) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS 'SELECT (hashint8extended(id * 64 + j, seed) & 4503599627370495)::float8 / 4503599627370496';
CREATE FUNCTION bulk_seed.ts(us bigint) RETURNS timestamp LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS 'SELECT timestamp ''2000-01-01'' + interval ''1 microsecond'' * us';
"""


def _array(values) -> str:
    """An array literal of plain values (numbers, stage and status names): quicker to COPY than a list."""
    return "{" + ",".join(map(str, values)) + "}"


@functools.lru_cache(maxsize=10_000)
def json_string(value: str | None) -> str:
    """A JSON string (or null) as app.core.audit.canonical writes it; the few distinct values repeat, so they are
    remembered (both seed paths build event JSON from these)."""
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


_q = json_string


_WORD = re.compile(r"[^\W_]{2,}")


def _part(*texts: str | None, start: int = 1) -> str:
    """tsvector_literal of the texts, after checking that the last run has two or more characters (see above); a
    name that is one run already normalised takes a shortcut (the same tsvector, PostgreSQL merges repeats)."""
    if len(texts) == 1 and _WORD.fullmatch(name := texts[0]) and unicodedata.is_normalized("NFKC", name) \
            and name == name.lower():
        return " ".join([*(f"'{name[i:i + 2]}':{start + i}" for i in range(len(name) - 1)),
                         *(f"'{c}'" for c in sorted(set(name)))])
    found = [run for text in texts for run in runs(text)]
    if not found or len(found[-1]) < 2:
        raise ValueError(f"a search-vector part must end in a run of two or more characters: {texts!r}")
    return tsvector_literal(*texts, start=start)


def _stories(rng: random.Random, rules, litigation, count: int) -> tuple[list, list]:
    """STORIES funnel paths (fewer for small seeds): rows of bulk_seed.story and bulk_seed.step."""
    cats = [c for c in CATEGORY_WEIGHTS if rules.category(c)]
    drawn = rng.choices(cats, [CATEGORY_WEIGHTS[c] for c in cats], k=min(STORIES, max(count, 64)))
    stories, steps = [], []
    for sid, category in enumerate(drawn):
        cat = rules.category(category)
        told = Story(rng, {}, rules, category, "", FILER, 0.0).tell()
        first = {}
        for i, (action, to_stage, *_rest) in enumerate(told, 1):
            first.setdefault(action, i)
            if action in ("auto_assign", "assign_mediator"):
                first.setdefault("assign", i)
            if to_stage not in ("consult", "closed"):
                first.setdefault("assess", i)
            if to_stage == "closed":
                first["close"] = i
        lit = litigation.causes_for(category)
        cause = (lit[0].code, lit[0].name) if lit else ("contract", "合同纠纷")
        returned = next((s[5] for s in told if s[0] == "return_filing"), None)
        stories.append((sid, category, category in COMPANY_RESPONDENTS, TRADE.get(category),
                        cat.arbitration == "statutory", cat.mediation_time_limit_days,
                        litigation.bases_for(category)[0].key, *cause, len(told),
                        _array(round(s[3] * US) for s in told),
                        *(first.get(k, 99) for k in ("assess", "request_mediation", "assign", "request_arbitration",
                                                     "file_lawsuit", "return_filing", "resubmit_filing",
                                                     "accept_filing", "close")), returned,
                        _array(s[1] for s in told), _array(s[2] for s in told)))
        stage = status = None
        for seq, (action, to_stage, to_status, t, actor, reason) in enumerate(told, 1):
            ja = f'{{"action":{_q(action)},"actor_id":'
            jb = (f'","from_stage":{_q(stage)},"from_status":{_q(status)},"reason":{_q(reason)},"seq":{seq},'
                  f'"to_stage":{_q(to_stage)},"to_status":{_q(to_status)}}}')
            who = "F" if actor == FILER else "M" if actor == MEDIATOR else None
            steps.append((sid, seq, round(t * US), who, action, stage, status, to_stage, to_status, reason, ja, jb))
            stage, status = to_stage, to_status
    return stories, steps


def _villages(world: dict) -> list[tuple]:
    """VILLAGE_SLOTS rows: each village as often as its county's weight shared among the county's villages."""
    counties = list(COUNTIES)
    weights = {v: COUNTY_WEIGHTS[counties.index(v[:6])] / sum(c.startswith(v[:6]) for c in world["village_codes"])
               for v in world["village_codes"]}
    total = sum(weights.values())
    exact = {v: w / total * VILLAGE_SLOTS for v, w in weights.items()}
    slots = {v: int(x) for v, x in exact.items()}
    for v in sorted(exact, key=lambda v: slots[v] - exact[v])[:VILLAGE_SLOTS - sum(slots.values())]:
        slots[v] += 1  # largest remainders
    codes = [v for v in world["village_codes"] for _ in range(slots[v])]
    trade = world["trade"]
    return [(k, v, v[:6], world["villages"][v], world["towns"][v[:9]], world["county"][v[:6]],
             world["courts"][v[:6]], world["clerks"][v[:6]], trade[(v[:6], "traffic")], trade[(v[:6], "labour")],
             trade[(v[:6], "medical")]) for k, v in enumerate(codes)]


def _texts(rng: random.Random, rules) -> list[tuple]:
    """TEXTS_PER_KEY (amount, title, description) per category, and for cases whose category was never set ('')."""
    rows = []
    for key in ["", *(c for c in CATEGORY_WEIGHTS if rules.category(c))]:
        label = rules.category(key).zh if key else "咨询"
        titles, texts = TEXTS.get(key or None, DEFAULT_TEXT)
        for k in range(TEXTS_PER_KEY):
            amount = _round_amount(rng.lognormvariate(8.8, 1.0)) if rng.random() < 0.65 else None
            fill = {"a": int(amount or 5000), "c": label}
            title, description = rng.choice(titles).format(**fill), rng.choice(texts).format(**fill)
            rows.append((key, k, amount, fill["a"], title, description, _part(title, description)))
    return rows


def _names(rng: random.Random, world: dict) -> dict[str, list[tuple]]:
    """People, companies (with their credit codes) and the weighted company picks."""
    companies = [f"芜湖{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.choice(COMPANY_WORDS)}有限公司"
                 for _ in range(COMPANIES)]
    cum = list(itertools.accumulate(1 / (i + 10) for i in range(COMPANIES)))
    picks = rng.choices(range(COMPANIES), cum_weights=cum, k=COMPANY_SLOTS)
    people = [_name(rng) for _ in range(PEOPLE)]
    codes = world["pii"]["codes"]
    return {"person": [(k, n, _part(n, start=2)) for k, n in enumerate(people)],
            "company": [(k, n, _part(n, start=2), *codes[k]) for k, n in enumerate(companies)],
            "company_pick": list(enumerate(picks)),
            "phone": [(k, *p) for k, p in enumerate(world["pii"]["phones"])]}


def _numbers(rng: random.Random, now: datetime) -> list[tuple]:
    rows = []
    for county in COUNTIES:
        for year in range(now.year - YEARS_BACK, now.year + 1):
            for k, serial in enumerate(rng.sample(range(1, 100_000), NUMBERS)):
                number = f"（{year}）皖{county[2:6]}民初{serial}号"
                rows.append((county, year, k, number, _part(number, start=2)))
    return rows


def _days(now: datetime, count: int, first_case: int) -> list[tuple]:
    """Case ids per day (oldest first), in proportion to filing_times' day weights: ids follow filing order."""
    today = datetime(now.year, now.month, now.day)
    span = 365 * YEARS_BACK
    season = {1: 1.2, 2: 0.65, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.05, 7: 1.15, 8: 1.1, 9: 0.95, 10: 0.85, 11: 1.0, 12: 1.1}
    days = [today - timedelta(days=back) for back in range(span - 1, -1, -1)]
    weights = [(0.45 + 0.55 * (1 - (today - d).days / span)) * season[d.month] * (0.55 if d.weekday() >= 5 else 1)
               for d in days]
    total, rows, done, cum = sum(weights), [], 0, 0.0
    for day, weight in zip(days, weights):
        cum += weight
        upto = count if day == today else round(count * cum / total)
        if upto > done:
            start = round(((day - EPOCH).total_seconds() - 8 * 3600) * US)  # Beijing midnight in UTC
            rows.append((first_case + done, first_case + upto - 1, start, 13 * 3600 * US))
        done = upto
    return rows


def stage(conn: psycopg.Connection, world: dict, rules, litigation, now: datetime, seed: int, count: int,
          first_case: int) -> dict[str, int]:
    """Create and fill bulk_seed (replacing one a crashed run left); returns the pool sizes the SQL needs."""
    rng = random.Random(seed * 104_729)
    stories, steps = _stories(rng, rules, litigation, count)
    tables = {"story": stories, "step": steps, "village": _villages(world),
              "org": [(org, ids) for org, ids in world["mediators"].items()], "text": _texts(rng, rules),
              **_names(rng, world), "number": _numbers(rng, now), "day": _days(now, count, first_case)}
    with conn.transaction():
        conn.execute("DROP SCHEMA IF EXISTS bulk_seed CASCADE")
        conn.execute(TABLES)
        with conn.cursor() as cur:
            for table, rows in tables.items():
                # nosemgrep: sql-built-from-strings -- table names are the literal keys above
                with cur.copy(f"COPY bulk_seed.{table} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.execute("ANALYZE bulk_seed.village, bulk_seed.day")  # the rest: sizes from their pages are enough
    return {"stories": len(stories), "texts": TEXTS_PER_KEY, "people": PEOPLE, "phones": len(world["pii"]["phones"]),
            "company_slots": COMPANY_SLOTS, "numbers": NUMBERS}


def unstage(conn: psycopg.Connection) -> None:
    """Drop the staging schema."""
    conn.execute("DROP SCHEMA IF EXISTS bulk_seed CASCADE")
