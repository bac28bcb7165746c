"""`flask seed-bulk`: realistic synthetic cases, fast (PostgreSQL: made by the database, see bulk_sql, or with
in_database=False by this module's Generator in worker processes and COPYed, see bulk_load; SQLite: executemany).

Six counties of 芜湖市 with mediation committees on three tiers plus county trade bodies, mediators, arbitration
bodies and courts (created once, by name); then N cases over the last three years (more recent ones weigh more,
fewer at weekends and around the Spring Festival, more labour cases before it), categories weighted like real
dispute statistics, one applicant and one respondent each (companies repeat: a few employers owe many workers, often
named with their credit code), a path through the funnel drawn per category (labour: arbitration before court;
family: never arbitration), cut at the present, so old cases are finished and recent ones are under way. Every
event carries a valid hash chain (`fast_canonical` gives byte-identical JSON to app.core.audit.canonical); closed
cases are sometimes rated. Phones and codes are stored encrypted with their blind indexes (`pii_pools`).

The rate returned (cases/s) is the case count over the wall time of the whole call: the world, generation, the
load, the index rebuild and VACUUM ANALYZE, i.e. until the data is committed, indexed and analysed; the dashboard
rollups are refreshed afterwards by the CLI command and timed separately.
"""
from __future__ import annotations

import hashlib
import itertools
import random
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.analytics import bulk_load, bulk_pools, bulk_sql
from app.analytics.bulk_story import Story
from app.analytics.bulk_world import (
    CATEGORY_WEIGHTS,
    COMPANIES,
    COMPANY_RESPONDENTS,
    COMPANY_WORDS,
    COUNTIES,
    COUNTY_WEIGHTS,
    DAY,
    DEFAULT_TEXT,
    EPOCH,
    GIVEN,
    SURNAMES,
    TEXTS,
    TRADE,
    _name,
    _round_amount,
    build_world,
    filing_times,
    pii_pools,
)
from app.cases.models import GENESIS_HASH
from app.cases.rules import current_rules
from app.cases.search import next_position, runs, tsvector_literal
from app.core.time import utcnow
from app.escalation.litigation_rules import current_litigation_rules
from app.extensions import db

# --- the canonical JSON of an event, fast ---------------------------------------------------------------------
_q = bulk_pools.json_string


def fast_canonical(case_id: int, seq: int, actor_id: int | None, action: str, from_stage: str | None,
                   from_status: str | None, to_stage: str, to_status: str, reason: str | None, created_iso: str) -> str:
    """canonical(CaseEvent.payload()) as text, without building a dict (keys in sorted order)."""
    return (f'{{"action":{_q(action)},"actor_id":{"null" if actor_id is None else actor_id},"case_id":{case_id},'
            f'"created_at":"{created_iso}","from_stage":{_q(from_stage)},"from_status":{_q(from_status)},'
            f'"reason":{_q(reason)},"seq":{seq},"to_stage":{_q(to_stage)},"to_status":{_q(to_status)}}}')


_CLOCK = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]  # "HH:MM:SS" by second of day


def _name_shape(name: str) -> tuple[list[tuple[str, int]], str, int]:
    """A name's part of tsvector_literal independent of where it starts: (quoted bigram, offset) pairs, its single
    characters as literal text, and how many positions it takes (next_position's step)."""
    bigrams, offset = [], 0
    for run in runs(name):
        bigrams.extend((f"'{run[i:i + 2]}'", offset + i) for i in range(len(run) - 1))
        offset += len(run)
    chars = " ".join(f"'{c}'" for c in sorted({c for run in runs(name) for c in run}))
    return bigrams, chars, offset


# --- rows -------------------------------------------------------------------------------------------------------
class Generator:
    """Rows for cases and what hangs off them, as tuples in the column orders of COLUMNS."""

    def __init__(self, rng: random.Random, world: dict, now: datetime, rules, litigation, pg: bool):
        self.rng, self.world, self.now, self.rules, self.pg = rng, world, now, rules, pg
        self.epoch = EPOCH
        self.now_s = (now - self.epoch).total_seconds()
        cats = [c for c in CATEGORY_WEIGHTS if self.rules.category(c)]
        self.categories, self.cat_weights = cats, [CATEGORY_WEIGHTS[c] for c in cats]
        counties = list(COUNTIES)
        self.villages_by_county = {c: [v for v in world["village_codes"] if v.startswith(c)] for c in counties}
        self.counties = counties
        self.companies = [f"芜湖{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.choice(COMPANY_WORDS)}有限公司"
                          for _ in range(COMPANIES)]
        # Repeat respondents: company i is picked with weight 1/(i+10) (a few employers owe many workers).
        self.company_cum = list(itertools.accumulate(1 / (i + 10) for i in range(len(self.companies))))
        self.company_index = range(len(self.companies))
        self.people = [_name(rng) for _ in range(20000)]
        self.causes = {c: (lit[0].code, lit[0].name) for c in cats if (lit := litigation.causes_for(c))}
        self.bases = {c: litigation.bases_for(c)[0].key for c in cats}
        self.day_text: dict[int, str] = {}
        self.vectors: dict[tuple, tuple[str, int]] = {}
        self.name_shapes: dict[str, tuple] = {}

    def iso(self, seconds: float) -> str:
        """The database's text of a time (space-separated, microseconds; canonical JSON has a T instead): the same
        text as datetime.isoformat, without building a datetime (day prefixes and clock texts are looked up)."""
        day, micro = divmod(round(seconds * 1_000_000), 86_400_000_000)
        prefix = self.day_text.get(day)
        if prefix is None:
            prefix = self.day_text[day] = (self.epoch + timedelta(days=day)).strftime("%Y-%m-%d ")
        second, micro = divmod(micro, 1_000_000)
        return f"{prefix}{_CLOCK[second]}.{micro:06d}"

    def search_vector(self, title: str, description: str, number: str | None, names: tuple[str, str]) -> str | None:
        """cases.search_vector as text (PostgreSQL): tsvector_literal(title, description, number, *names), built from
        remembered parts (title and description repeat; a name's bigrams are shifted to where it starts)."""
        if not self.pg:
            return None
        key = (title, description, number)
        head = self.vectors.get(key)
        if head is None:
            head = (tsvector_literal(title, description, number), next_position(title, description, number))
            if len(self.vectors) < 200_000:
                self.vectors[key] = head
        parts, start = [head[0]], head[1]
        for name in names:
            shape = self.name_shapes.get(name)
            if shape is None:
                shape = self.name_shapes[name] = _name_shape(name)
            bigrams, chars, length = shape
            parts.extend(f"{lexeme}:{start + offset}" for lexeme, offset in bigrams)
            parts.append(chars)
            start += length
        return " ".join(parts)

    def chunk(self, first_case: int, starts: list[float], agreement_base: int) -> dict:
        """Rows of len(starts) cases with ids from first_case, filed at `starts` (seconds since EPOCH, ascending,
        so ids follow filing order); agreements take the ids agreement_base + (case id - first_case)."""
        rng = self.rng
        out: dict = {table: [] for table in COLUMNS}
        cats = rng.choices(self.categories, self.cat_weights, k=len(starts))
        counties = rng.choices(self.counties, COUNTY_WEIGHTS, k=len(starts))
        filers = self.world["filers"]
        for i, t0 in enumerate(starts):
            village = rng.choice(self.villages_by_county[counties[i]])
            self.case(first_case + i, cats[i], village, rng.choice(filers), t0, out,
                      agreement_base + i)
        return out

    def case(self, case_id: int, category: str, village: str, filer: int, t0: float, out: dict,
             agreement_id: int) -> None:
        rng = self.rng
        steps = [s for s in Story(rng, self.world, self.rules, category, village, filer, t0).tell()
                 if s[3] <= self.now_s]
        state = {"org": None, "mediator": None, "arb": None, "court": None, "number": None, "closed": None,
                 "started": None, "due": None, "arb_agreement": False}
        stage, status = self.events(case_id, steps, category, village, state, out["case_events"])
        reached_assess = any(s[1] not in ("consult", "closed") for s in steps)
        if not reached_assess and rng.random() < 0.5:
            category = None
        label = self.rules.category(category).zh if category else "咨询"
        titles, texts = TEXTS.get(category, DEFAULT_TEXT)
        amount = _round_amount(rng.lognormvariate(8.8, 1.0)) if rng.random() < 0.65 else None
        fill = {"a": int(amount or 5000), "c": label}
        title, description = rng.choice(titles).format(**fill), rng.choice(texts).format(**fill)
        names = self.parties(case_id, category, village, out)
        created, updated = self.iso(t0), self.iso(steps[-1][3])
        out["cases"].append((
            case_id, title, stage, status, category, amount, description, village, state["arb_agreement"], filer,
            state["org"], state["mediator"], state["arb"], state["court"], state["number"], created, updated,
            state["closed"], state["started"], state["due"], 1,
            self.search_vector(title, description, state["number"], names)))
        self.filings(case_id, category, village, filer, steps, title, description, amount, out)
        if status == "settled":
            self.confirmation(case_id, agreement_id, village, filer, state, steps[-1][3], out)
        if state["closed"] and rng.random() < 0.35:
            self.rating(case_id, filer, status, steps[-1][3], out)

    def events(self, case_id: int, steps: list[tuple], category: str, village: str, state: dict,
               rows: list) -> tuple[str, str]:
        """The case's hash-chained events (and the columns each step fills in); returns the final stage, status."""
        prev, stage, status = GENESIS_HASH, None, None
        for seq, (action, to_stage, to_status, t, actor, reason) in enumerate(steps, 1):
            self.effect(action, to_stage, t, category, village, state)
            if actor == "mediator":
                actor = state["mediator"]
            iso = self.iso(t)
            text = fast_canonical(case_id, seq, actor, action, stage, status, to_stage, to_status, reason,
                                  iso.replace(" ", "T"))
            digest = hashlib.sha256((prev + text).encode("utf-8")).hexdigest()
            rows.append((case_id, seq, actor, action, stage, status, to_stage, to_status, reason, iso, prev, digest))
            prev, stage, status = digest, to_stage, to_status
        return stage, status

    def effect(self, action: str, to_stage: str, t: float, category: str, village: str, state: dict) -> None:
        """The columns a step fills in (the CHECK constraints of its target stage)."""
        rng, world = self.rng, self.world
        if action == "request_mediation":
            trade = TRADE.get(category)
            roll = rng.random()
            if trade:
                state["org"] = world["trade"][(village[:6], trade)]
            else:
                key = ("villages", village) if roll < 0.7 else ("towns", village[:9]) if roll < 0.9 else ("county",
                                                                                                      village[:6])
                state["org"] = world[key[0]][key[1]]
        elif action in ("auto_assign", "assign_mediator"):
            state["mediator"] = rng.choice(world["mediators"][state["org"]])
            if state["started"] is None:
                state["started"] = self.iso(t)
                limit = self.rules.category(category).mediation_time_limit_days
                state["due"] = ((self.epoch + timedelta(seconds=t + 8 * 3600)).date()
                                + timedelta(days=limit)).isoformat()
        elif action == "request_arbitration":
            labour = self.rules.category(category).arbitration == "statutory"
            state["arb"] = world["labour_arb"] if labour else world["arbitration"]
            state["arb_agreement"] = not labour
        elif action == "file_lawsuit":
            state["court"] = world["courts"][village[:6]]
        elif action == "accept_filing":
            year = (self.epoch + timedelta(seconds=t)).year
            state["number"] = f"（{year}）皖{village[2:6]}民初{rng.randint(1, 99999)}号"
        if to_stage == "closed":
            state["closed"] = self.iso(t)

    def parties(self, case_id: int, category: str | None, village: str, out: dict) -> tuple[str, str]:
        """The applicant (a person with a phone) and the respondent (a repeat employer, often with its credit code,
        or a person); phones and codes come encrypted with their blind indexes from the pools (see pii_pools)."""
        rng, rows, pii = self.rng, out["case_parties"], self.world["pii"]
        company = category in COMPANY_RESPONDENTS and rng.random() < 0.85
        applicant = rng.choice(self.people)
        phone, phone_bidx = rng.choice(pii["phones"])
        rows.append((case_id, "applicant", "person", applicant, phone, phone_bidx, None, None, village, None))
        if company:
            index = rng.choices(self.company_index, cum_weights=self.company_cum)[0]
            respondent = self.companies[index]
            code, code_bidx = pii["codes"][index] if rng.random() < 0.6 else (None, None)
            rows.append((case_id, "respondent", "organisation", respondent, None, None, code, code_bidx, village, None))
        else:
            respondent = rng.choice(self.people)
            rows.append((case_id, "respondent", "person", respondent, None, None, None, None, village, None))
        return applicant, respondent

    def filings(self, case_id: int, category: str, village: str, filer: int, steps: list[tuple], title: str,
                description: str, amount: float | None, out: dict) -> None:
        """A court_filings row per submission (file_lawsuit, resubmit_filing), decided by the later steps."""
        rows, seq = out["court_filings"], 0
        court, clerk = self.world["courts"][village[:6]], self.world["clerks"][village[:6]]
        code, name = self.causes.get(category, ("contract", "合同纠纷"))
        for action, _stage, _status, t, _actor, reason in steps:
            if action in ("file_lawsuit", "resubmit_filing"):
                seq += 1
                claims = f"1. 判令被告支付{int(amount or 5000)}元；2. 本案诉讼费用由被告承担。"
                rows.append([case_id, seq, court, self.bases[category], code, name, claims,
                             f"{title}。{description}", 50 if amount is None else 50 + int(amount) // 100,
                             "submitted", filer, self.iso(t), None, None, None, None])
            elif action in ("return_filing", "accept_filing"):
                row = rows[-1]
                row[9], row[12], row[13] = ("returned" if action == "return_filing" else "accepted"), clerk, self.iso(t)
                if action == "return_filing":
                    row[14] = reason
                else:
                    row[15] = f"（{(self.epoch + timedelta(seconds=t)).year}）皖{village[2:6]}民初{case_id % 99991}号"

    def confirmation(self, case_id: int, agreement_id: int, village: str, filer: int, state: dict,
                     signed_s: float, out: dict) -> None:
        """For some settled cases, the signed agreement and an application for judicial confirmation (30 days)."""
        rng = self.rng
        if rng.random() >= 0.12:
            return
        signed = self.iso(signed_s)
        facts = "双方经调解自愿达成如下协议。"
        terms = '[{"clause": "payment", "params": {}, "text": "被申请人于协议生效后十日内一次性支付。"}]'
        content = hashlib.sha256(f"{case_id}:{agreement_id}:{facts}:{terms}".encode()).hexdigest()
        out["agreements"].append((agreement_id, case_id, 1, "signed", facts, "双方各自承担相应责任。", terms,
                                  "一次性转账支付。", content, state["mediator"], signed, signed))
        applied_s = signed_s + rng.uniform(0.5, 20) * DAY
        if applied_s > self.now_s:
            return
        deadline = self.iso(signed_s + 30 * DAY)
        roll = rng.random()
        court, clerk = self.world["courts"][village[:6]], self.world["clerks"][village[:6]]
        joined_s = applied_s + rng.uniform(0.2, 8) * DAY
        if roll < 0.15 or joined_s > self.now_s:  # the other side never joins: overdue once the 30 days pass
            row = ("awaiting", None, None, None)
        elif roll < 0.25:
            row = ("withdrawn", None, None, None)
        else:
            decided_s = joined_s + rng.uniform(1, 15) * DAY
            row = (("confirmed", clerk, self.iso(decided_s)) if decided_s <= self.now_s
                   else ("submitted", None, None)) + (self.iso(joined_s),)
            row = (row[0], row[3], row[1], row[2])
        status, joined, decided_by, decided = row
        out["confirmation_applications"].append((
            case_id, agreement_id, court, status, filer, self.iso(applied_s), filer if joined else None, joined,
            decided_by, decided, deadline))

    def rating(self, case_id: int, filer: int, status: str, closed_s: float, out: dict) -> None:
        rng = self.rng
        at = closed_s + rng.uniform(0.05, 10) * DAY
        if at > self.now_s:
            return
        weights = (2, 3, 10, 35, 50) if status == "settled" else (10, 15, 25, 30, 20)
        score = rng.choices((1, 2, 3, 4, 5), weights)[0]
        out["satisfaction_ratings"].append((case_id, filer, score, self.iso(at)))


# --- writing ----------------------------------------------------------------------------------------------------
COLUMNS = {
    "cases": ("id", "title", "stage", "status", "category", "amount", "description", "region_code",
              "has_arbitration_agreement", "filed_by_id", "organisation_id", "mediator_id", "arbitration_body_id",
              "court_id", "court_case_number", "created_at", "updated_at", "closed_at", "mediation_started_at",
              "mediation_due_on", "version", "search_vector"),
    "case_parties": ("case_id", "role", "kind", "name", "phone", "phone_bidx", "id_number", "id_number_bidx",
                     "region_code", "user_id"),
    "case_events": ("case_id", "seq", "actor_id", "action", "from_stage", "from_status", "to_stage",
                    "to_status", "reason", "created_at", "prev_hash", "hash"),
    "satisfaction_ratings": ("case_id", "user_id", "score", "created_at"),
    "court_filings": ("case_id", "seq", "court_id", "jurisdiction_basis", "cause_code", "cause_name", "claims", "facts",
                      "fee_estimate", "status", "submitted_by_id", "submitted_at", "decided_by_id", "decided_at",
                      "reasons", "court_case_number"),
    "agreements": ("id", "case_id", "version", "status", "facts", "responsibility", "terms", "performance",
                   "content_hash", "created_by_id", "created_at", "signed_at"),
    "confirmation_applications": ("case_id", "agreement_id", "court_id", "status", "applied_by_id", "applied_at",
                                  "joined_by_id", "joined_at", "decided_by_id", "decided_at", "deadline_at"),
}
# Loaded in this order (agreements before the applications that name them).
CHUNK = 20_000


def _copy_text(rows: list) -> str:
    """Rows in COPY's text format. Generated text never holds tabs, newlines or backslashes: nothing to escape."""
    return "".join("\t".join("\\N" if v is None else "t" if v is True else "f" if v is False else str(v) for v in row)
                   + "\n" for row in rows)


def _insert_sqlite(conn, table: str, rows: list) -> None:
    if rows:
        cols, marks = ", ".join(COLUMNS[table]), ", ".join("?" * len(COLUMNS[table]))
        # nosemgrep: sql-built-from-strings -- identifiers from COLUMNS, "?" marks, values bound
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # nosec B608
        conn.connection.driver_connection.cursor().executemany(sql, rows)  # nosemgrep: sql-built-from-strings


# Worker processes (fork) generate chunks in parallel; each chunk's random stream depends only on (seed, chunk).
_JOB: dict = {}


def _chunk_rows(k: int) -> dict:
    job = _JOB
    gen = job.get("generator")
    if gen is None:
        gen = job["generator"] = Generator(random.Random(job["seed"]), job["world"], job["now"], job["rules"],
                                           job["litigation"], job["pg"])
    gen.rng = random.Random(job["seed"] * 1_000_003 + k)
    size = job["chunk"]
    starts = job["starts"][k * size:(k + 1) * size]
    rows = gen.chunk(job["first_case"] + k * size, starts, job["first_agreement"] + k * size)
    return {t: _copy_text(r) for t, r in rows.items()} if job["pg"] else rows


def _load_chunk(k: int) -> dict[str, int]:
    """Generate chunk k and COPY it over this process's own connection (PostgreSQL)."""
    conn = _JOB.get("loader")
    if conn is None:
        from multiprocessing import util

        conn = _JOB["loader"] = bulk_load.open_loader(_JOB["dsn"])
        util.Finalize(None, conn.close, exitpriority=10)  # a pool worker closes it on its way out
    cpu = time.process_time()
    rows = _chunk_rows(k)
    cpu = time.process_time() - cpu
    wall = time.perf_counter()
    counts = bulk_load.copy_chunk(conn, COLUMNS, rows)
    # CPU seconds of generating; seconds of the COPY (PostgreSQL parsing and writing, this process waiting).
    return {**counts, "generate_cpu": cpu, "copy": time.perf_counter() - wall}


def _load_all(chunks: int, processes: int) -> dict[str, int]:
    """Every chunk generated and COPYed by `processes` workers (in this process when one); summed row counts."""
    totals = dict.fromkeys((*COLUMNS, "generate_cpu", "copy"), 0)
    if processes <= 1 or chunks < 2:
        results = map(_load_chunk, range(chunks))
        for counts in results:
            for table, n in counts.items():
                totals[table] += n
        loader = _JOB.pop("loader", None)
        if loader is not None:
            loader.close()
        return totals
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for counts in pool.imap_unordered(_load_chunk, range(chunks)):
            for table, n in counts.items():
                totals[table] += n
        pool.close()  # workers exit normally (closing their connections) before the pool is torn down
        pool.join()
    return totals


REBUILD_INDEXES_FROM = 100_000  # cases: from this many, indexes are rebuilt once after the load (faster than kept)


def seed_bulk(count: int, seed: int = 1, processes: int | None = None, *, chunk: int = CHUNK,
              rebuild_indexes_from: int = REBUILD_INDEXES_FROM, in_database: bool = True) -> dict:
    """Add `count` synthetic cases with their parties, events, court filings, agreements with confirmation
    applications and ratings; commit; return counts, phases and the rate (cases per second of the whole call:
    world, generation, load, index rebuild and, on PostgreSQL, VACUUM ANALYZE; the rollups are not included).
    On PostgreSQL the database makes the rows (bulk_sql) unless in_database is False (Python, COPY by `chunk`)."""
    import os

    started = time.perf_counter()
    rng = random.Random(seed)
    world = build_world(rng)
    world["pii"] = pii_pools(random.Random(seed * 31))
    db.session.commit()
    pg = db.engine.dialect.name == "postgresql"
    now = utcnow()
    _JOB.clear()
    _JOB.update(seed=seed, world=world, now=now, rules=current_rules(), litigation=current_litigation_rules(),
                count=count, pg=pg, chunk=chunk, in_database=pg and in_database)
    if not _JOB["in_database"]:
        _JOB["starts"] = filing_times(random.Random(seed * 7919), now, count)
    chunks = (count + chunk - 1) // chunk
    if pg:
        result = _seed_postgresql(count, chunks, processes or os.cpu_count() or 1, rebuild_indexes_from)
    else:
        result = _seed_sqlite(count, chunks)
    _JOB.clear()
    seconds = time.perf_counter() - started
    totals = result.pop("totals")
    return {"cases": count, "parties": totals["case_parties"], "events": totals["case_events"],
            "ratings": totals["satisfaction_ratings"], "filings": totals["court_filings"],
            "confirmations": totals["confirmation_applications"], "seconds": seconds, "rate": count / seconds,
            "backend": "postgresql" if pg else "sqlite", **result}


def _seed_sqlite(count: int, chunks: int) -> dict:
    conn = db.session.connection()
    _JOB["first_case"] = (conn.execute(sa.text("SELECT MAX(id) FROM cases")).scalar() or 0) + 1
    _JOB["first_agreement"] = (conn.execute(sa.text("SELECT MAX(id) FROM agreements")).scalar() or 0) + 1
    totals = dict.fromkeys(COLUMNS, 0)
    for k in range(chunks):
        rows = _chunk_rows(k)
        for table in COLUMNS:  # agreements before the applications that name them
            _insert_sqlite(conn, table, rows[table])
            totals[table] += len(rows[table])
    db.session.commit()
    return {"totals": totals}


def _seed_postgresql(count: int, chunks: int, processes: int, rebuild_from: int) -> dict:
    """Reserve the ids, drop the secondary indexes (big loads), load in parallel, rebuild, VACUUM ANALYZE."""
    engine = db.engine
    url = bulk_load.dsn(engine)
    first = bulk_load.reserve_ids(engine, {"cases": count, "agreements": count})
    _JOB.update(first_case=first["cases"], first_agreement=first["agreements"], dsn=url)
    db.session.close()
    engine.dispose()  # no pooled connection crosses the fork
    phases: dict[str, float] = {}
    mark = time.perf_counter()
    rebuild = bulk_load.drop_secondary_indexes(url, list(COLUMNS)) if count >= rebuild_from else []
    if _JOB["in_database"]:  # rebuilds the indexes itself, those of cases and parties while it loads the rest
        totals, generated, indexes = bulk_sql.seed(url, _JOB, count, processes, rebuild)
        phases.update(generated)
    else:
        try:
            totals = _load_all(chunks, processes)
            phases["load"] = time.perf_counter() - mark
        finally:
            mark = time.perf_counter()
            indexes = bulk_load.run_parallel(url, rebuild, processes, bulk_sql.INDEX_SETUP)
            phases["indexes"] = time.perf_counter() - mark
    mark = time.perf_counter()
    # Biggest first, so the two largest tables overlap.
    bulk_load.run_parallel(url, [f"VACUUM ANALYZE {t}" for t in VACUUM_ORDER], processes)
    phases["vacuum_analyze"] = time.perf_counter() - mark
    if not _JOB["in_database"]:
        phases.update(generate_cpu=totals.pop("generate_cpu"), copy_in_workers=totals.pop("copy"))
    return {"totals": totals, "processes": processes,
            "phases": {k: round(v, 2) for k, v in phases.items()},
            "index_seconds": {k: round(v, 2) for k, v in sorted(indexes.items(), key=lambda kv: -kv[1])[:6]}}


VACUUM_ORDER = ("case_events", "cases", "case_parties", "satisfaction_ratings", "court_filings", "agreements",
                "confirmation_applications")
