"""`flask seed-bulk`: realistic synthetic cases, fast (PostgreSQL: COPY through psycopg; SQLite: executemany).

Six counties of 芜湖市 with mediation committees on three tiers plus county trade bodies, mediators, arbitration
bodies and courts (created once, by name); then N cases over the last three years (more recent ones weigh more,
fewer at weekends and around the Spring Festival, more labour cases before it), categories weighted like real
dispute statistics, one applicant and one respondent each (companies repeat: a few employers owe many workers), a
path through the funnel drawn per category (labour: arbitration before court; family: never arbitration), cut at
the present, so old cases are finished and recent ones are under way. Every event carries a valid hash chain
(`fast_canonical` gives byte-identical JSON to app.core.audit.canonical); closed cases are sometimes rated.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import random
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.analytics.bulk_story import Story
from app.analytics.bulk_world import (
    CATEGORY_WEIGHTS,
    COMPANY_RESPONDENTS,
    COMPANY_WORDS,
    COUNTIES,
    COUNTY_WEIGHTS,
    DEFAULT_TEXT,
    GIVEN,
    SURNAMES,
    TEXTS,
    TRADE,
    _name,
    build_world,
)
from app.cases.models import GENESIS_HASH
from app.cases.rules import current_rules
from app.cases.search import next_position, tsvector_literal
from app.core.time import utcnow
from app.escalation.litigation_rules import current_litigation_rules
from app.extensions import db

DAY = 86400
YEARS_BACK = 3
EPOCH = datetime(2000, 1, 1)  # times are handled as float seconds since EPOCH (naive UTC) while generating

# --- the canonical JSON of an event, fast ---------------------------------------------------------------------
_QUOTED: dict = {None: "null"}


def _q(value: str | None) -> str:
    """A JSON string (or null) as canonical writes it; the few distinct values repeat, so they are remembered."""
    quoted = _QUOTED.get(value)
    if quoted is None:
        quoted = json.dumps(value, ensure_ascii=False)
        if len(_QUOTED) < 10_000:
            _QUOTED[value] = quoted
    return quoted


def fast_canonical(case_id: int, seq: int, actor_id: int | None, action: str, from_stage: str | None,
                   from_status: str | None, to_stage: str, to_status: str, reason: str | None, created_iso: str) -> str:
    """canonical(CaseEvent.payload()) as text, without building a dict (keys in sorted order)."""
    return (f'{{"action":{_q(action)},"actor_id":{"null" if actor_id is None else actor_id},"case_id":{case_id},'
            f'"created_at":"{created_iso}","from_stage":{_q(from_stage)},"from_status":{_q(from_status)},'
            f'"reason":{_q(reason)},"seq":{seq},"to_stage":{_q(to_stage)},"to_status":{_q(to_status)}}}')


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
                          for _ in range(30000)]
        # Repeat respondents: company i is picked with weight 1/(i+10) (a few employers owe many workers).
        self.company_cum = list(itertools.accumulate(1 / (i + 10) for i in range(len(self.companies))))
        self.people = [_name(rng) for _ in range(20000)]
        self.causes = {c: (lit[0].code, lit[0].name) for c in cats if (lit := litigation.causes_for(c))}
        self.bases = {c: litigation.bases_for(c)[0].key for c in cats}
        self.day_text: dict[int, str] = {}
        self.vectors: dict[tuple, tuple[str, int]] = {}

    def iso(self, seconds: float) -> str:
        """The database's text of a time (space-separated, microseconds; canonical JSON has a T instead): the same
        text as datetime.isoformat, without building a datetime (the date part is remembered per day)."""
        micro = round(seconds * 1_000_000)
        day, micro = divmod(micro, 86_400_000_000)
        prefix = self.day_text.get(day)
        if prefix is None:
            prefix = self.day_text[day] = (self.epoch + timedelta(days=day)).strftime("%Y-%m-%d ")
        second, micro = divmod(micro, 1_000_000)
        minute, second = divmod(second, 60)
        hour, minute = divmod(minute, 60)
        return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{micro:06d}"

    def search_vector(self, title: str, description: str, number: str | None, names: tuple[str, str]) -> str | None:
        """cases.search_vector as text (PostgreSQL); title and description repeat, so their part is remembered."""
        if not self.pg:
            return None
        key = (title, description, number)
        head = self.vectors.get(key)
        if head is None:
            head = (tsvector_literal(title, description, number), next_position(title, description, number))
            if len(self.vectors) < 200_000:
                self.vectors[key] = head
        return f"{head[0]} {tsvector_literal(*names, start=head[1])}"

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
        rng, rows = self.rng, out["case_parties"]
        company = category in COMPANY_RESPONDENTS and rng.random() < 0.85
        respondent = (rng.choices(self.companies, cum_weights=self.company_cum)[0] if company
                      else rng.choice(self.people))
        applicant = rng.choice(self.people)
        rows.append((case_id, "applicant", "person", applicant, f"13{rng.randint(100000000, 999999999)}", village,
                     None))
        rows.append((case_id, "respondent", "organisation" if company else "person", respondent, None, village, None))
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


def _round_amount(raw: float) -> float:
    """Amounts as people state them: two significant figures (6,634.2 -> 6,600; 128,004 -> 130,000)."""
    digits = max(0, len(str(int(raw))) - 2)
    return float(round(int(raw), -digits))


def filing_times(rng: random.Random, now: datetime, count: int) -> list[float]:
    """`count` filing instants (seconds since EPOCH, ascending) over YEARS_BACK years: growth, fewer at weekends and
    around the Spring Festival, more before it, none in the future."""
    today = datetime(now.year, now.month, now.day)
    span = 365 * YEARS_BACK
    season = {1: 1.2, 2: 0.65, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.05, 7: 1.15, 8: 1.1, 9: 0.95, 10: 0.85, 11: 1.0, 12: 1.1}
    days, weights = [], []
    for back in range(span):
        day = today - timedelta(days=back)
        weights.append((0.45 + 0.55 * (1 - back / span)) * season[day.month] * (0.55 if day.weekday() >= 5 else 1))
        days.append((day - EPOCH).total_seconds() - 8 * 3600)  # Beijing midnight in UTC
    now_s = (now - EPOCH).total_seconds()
    starts = rng.choices(days, weights, k=count)
    return sorted(min(s + rng.uniform(0, 13 * 3600), now_s - rng.uniform(60, 7200)) for s in starts)


# --- writing ----------------------------------------------------------------------------------------------------
COLUMNS = {
    "cases": ("id", "title", "stage", "status", "category", "amount", "description", "region_code",
              "has_arbitration_agreement", "filed_by_id", "organisation_id", "mediator_id", "arbitration_body_id",
              "court_id", "court_case_number", "created_at", "updated_at", "closed_at", "mediation_started_at",
              "mediation_due_on", "version", "search_vector"),
    "case_parties": ("case_id", "role", "kind", "name", "phone", "region_code", "user_id"),
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


def _write(conn, table: str, rows: list | str) -> None:
    if not rows:
        return
    cols = ", ".join(COLUMNS[table])
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        # Table and column names come from the constant COLUMNS; the values travel as COPY data or parameters.
        # nosemgrep: sql-built-from-strings -- identifiers from COLUMNS only
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            copy.write(rows if isinstance(rows, str) else _copy_text(rows))
    else:
        marks = ", ".join("?" * len(COLUMNS[table]))
        # nosemgrep: sql-built-from-strings -- identifiers from COLUMNS, "?" marks, values bound
        raw.cursor().executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def _skip_foreign_key_triggers(conn) -> None:
    """The rows are consistent by construction (ids we hand out, users and organisations we just read): as a
    superuser, skip the per-row foreign-key triggers for this transaction (SET LOCAL), which cost most of the load
    time. CHECK constraints still apply. Without the privilege the triggers simply run."""
    if conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))


# Worker processes (fork) generate chunks in parallel; each chunk's random stream depends only on (seed, chunk).
_JOB: dict = {}


def _chunk_rows(k: int) -> dict:
    job = _JOB
    gen = job.get("generator")
    if gen is None:
        gen = job["generator"] = Generator(random.Random(job["seed"]), job["world"], job["now"], job["rules"],
                                           job["litigation"], job["pg"])
    gen.rng = random.Random(job["seed"] * 1_000_003 + k)
    starts = job["starts"][k * CHUNK:(k + 1) * CHUNK]
    rows = gen.chunk(job["first_case"] + k * CHUNK, starts, job["first_agreement"] + k * CHUNK)
    return {t: _copy_text(r) for t, r in rows.items()} if job["pg"] else rows


def _chunks(count: int, processes: int):
    """Chunks in id order (imap, not imap_unordered: the rows land on disk in filing order, as real ones do)."""
    ks = range((count + CHUNK - 1) // CHUNK)
    if processes <= 1 or len(ks) < 2:
        yield from map(_chunk_rows, ks)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        yield from pool.imap(_chunk_rows, ks)


REBUILD_INDEXES_FROM = 100_000  # cases: from this many, indexes are rebuilt once after the load (faster than kept)


def _drop_secondary_indexes(conn) -> list[str]:
    """Drop the plain indexes of the tables being loaded (not those behind primary keys or unique constraints) and
    return the statements that recreate them, run before the same transaction commits."""
    rows = conn.execute(sa.text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"),
        {"tables": list(COLUMNS)}).all()
    for name, _definition in rows:
        # nosemgrep: sql-built-from-strings -- index names read from pg_indexes for our own tables
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
    return [definition for _name, definition in rows]


def seed_bulk(count: int, seed: int = 1, processes: int | None = None) -> dict:
    """Add `count` synthetic cases with their parties, events, court filings, agreements with confirmation
    applications and ratings; commit; return counts and the rate."""
    import os

    rng = random.Random(seed)
    world = build_world(rng)
    db.session.commit()
    conn = db.session.connection()
    pg = conn.dialect.name == "postgresql"
    if pg:  # nobody else adds rows meanwhile: the ids are ours
        # nosemgrep: sql-built-from-strings -- table names from the constant COLUMNS
        conn.execute(sa.text(f"LOCK TABLE {', '.join(COLUMNS)} IN SHARE ROW EXCLUSIVE MODE"))
        _skip_foreign_key_triggers(conn)
    first = (conn.execute(sa.text("SELECT MAX(id) FROM cases")).scalar() or 0) + 1
    first_agreement = (conn.execute(sa.text("SELECT MAX(id) FROM agreements")).scalar() or 0) + 1
    now = utcnow()
    _JOB.clear()
    _JOB.update(seed=seed, world=world, now=now, rules=current_rules(), litigation=current_litigation_rules(),
                first_case=first, first_agreement=first_agreement, count=count, pg=pg,
                starts=filing_times(random.Random(seed * 7919), now, count))
    totals = dict.fromkeys(COLUMNS, 0)
    started = time.perf_counter()
    processes = processes if processes is not None else (os.cpu_count() or 1) if pg else 1
    rebuild = _drop_secondary_indexes(conn) if pg and count >= REBUILD_INDEXES_FROM else []
    phases = dict.fromkeys(("generate", "copy", "indexes"), 0.0)
    mark = time.perf_counter()
    for rows in _chunks(count, processes):
        phases["generate"] += time.perf_counter() - mark  # waiting for the generators
        mark = time.perf_counter()
        for table in COLUMNS:
            _write(conn, table, rows[table])
            totals[table] += rows[table].count("\n") if isinstance(rows[table], str) else len(rows[table])
        phases["copy"] += time.perf_counter() - mark
        mark = time.perf_counter()
    for statement in rebuild:
        started_index = time.perf_counter()
        conn.execute(sa.text(statement))
        phases[statement.split(" ON ")[0].split()[-1]] = time.perf_counter() - started_index
    phases["indexes"] = time.perf_counter() - mark
    if pg:
        for table in ("cases", "agreements"):  # ids handed out here, not by the sequences
            # nosemgrep: sql-built-from-strings -- table is one of the two literals above
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"GREATEST((SELECT MAX(id) FROM {table}), 1))"))
    db.session.commit()
    seconds = time.perf_counter() - started
    if pg:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            # VACUUM too: it marks the new pages all-visible, so index-only scans (overdue counts) work at once.
            # nosemgrep: sql-built-from-strings -- table names from the constant COLUMNS
            auto.execute(sa.text(f"VACUUM ANALYZE {', '.join(COLUMNS)}"))
    return {"cases": count, "parties": totals["case_parties"], "events": totals["case_events"],
            "ratings": totals["satisfaction_ratings"], "filings": totals["court_filings"],
            "confirmations": totals["confirmation_applications"], "seconds": seconds, "rate": count / seconds,
            "phases": {k: round(v, 2) for k, v in phases.items()},
            "backend": conn.dialect.name}
