"""Load and fault benchmark: gunicorn (sync workers, --preload) on PostgreSQL and Redis, driven by 50 simulated
people over HTTP, then the same load while a random worker is killed with SIGKILL every 10 s.

    python bench/load.py [--duration 45] [--fault-duration 120] [--connections 50] [--workers 4] [--no-fault]
    python bench/load.py --smoke          # 5 s of each phase, for tests/bench/test_load_smoke.py

Creates a scratch database (bench_load on the server of TEST_DATABASE_URL, dropped at the end unless --keep-db),
migrates it, seeds the demo county plus one resident per connection, and serves the app in production
configuration with a random SECRET_KEY. Each connection logs in once (the login form, CSRF token) and keeps its
session. Residents file cases through the intake form (CSRF token and the rendered idempotency_key) and upload
evidence; writes make ~20 % of requests, the rest are reads: the own cases, case pages, the intake page, questions
asked from the home page's box (a POST, then the answers' page), notifications, and the staff's inboxes, boards,
dashboards and search. A write without an acknowledgement (a redirect naming the case) is sent again with the same idempotency key. At the end the database
is checked: every acknowledged case and evidence file exists (else `lost`), and no marker is stored twice
(`duplicates`). The consult limit (CONSULT_RATE_LIMIT, 30/minute per IP) is raised for the bench: every simulated
person comes from 127.0.0.1. The client is bench/http_client.py (plain asyncio streams, a new TCP connection per
request, never a request resent), light on the CPU it shares with the server. Prints progress, then one JSON line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import http_client  # noqa: E402
from bench.load_server import (  # noqa: E402
    PASSWORD,
    cpu_per_request,
    cpu_snapshot,
    drop_database,
    free_port,
    prepare,
    recreate_database,
    server_env,
    server_time_by_page,
    start_gunicorn,
    wait_ready,
    worker_pids,
)

STAFF = ("mediator1", "orgadmin1", "admin", "court1", "arbitrator1")
STAFF_PAGES = {"mediator1": ["/mediator/inbox", "/notifications"],
               "orgadmin1": ["/org/cases", "/org/cases/search?q=工资", "/dashboard/governance"],
               "admin": ["/admin/overview", "/dashboard/governance"],
               "court1": ["/court/inbox"], "arbitrator1": ["/arbitration/inbox"]}
QUESTIONS = ("老板拖欠工资三个月不给怎么办", "楼上装修漏水把我家天花板泡坏了", "房东不退押金", "离婚后孩子抚养费怎么算",
             "借给朋友两万元不还", "交通事故对方不赔偿", "邻居占用楼道堆放杂物", "网购商品质量问题商家不退货")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WRITE_SHARE = 0.2
INPUT_RE = re.compile(r"<input\b[^>]*>", re.S)
ATTR_RE = re.compile(r'(\w[\w-]*)="([^"]*)"')
CASE_RE = re.compile(r"/cases/(\d+)(?:/|$)")  # in a Location header
CASE_LINK_RE = re.compile(r'href="/cases/(\d+)"')  # a link to a case page (CASE_RE's $ never matched in HTML)
NUMBER_RE = re.compile(r"/\d+")


# ---------------------------------------------------------------- measuring

@dataclass
class Phase:
    """What one phase measured: one (latency ms, status, is_write) per finished request."""

    name: str
    started: float = 0.0
    ended: float = 0.0
    samples: list = field(default_factory=list)
    pages: list = field(default_factory=list)  # "METHOD /path/N" of each sample, in the same order
    retries: int = 0
    kills: int = 0
    cpu_ms: dict = field(default_factory=dict)  # CPU ms per request of each part (steady phase only)

    def summary(self) -> dict:
        """rps, percentiles and error counts of the phase."""
        seconds = max(self.ended - self.started, 1e-9)
        answered = sorted(ms for ms, status, _ in self.samples if status)

        def pct(q: float) -> float | None:
            return round(answered[min(len(answered) - 1, int(q * len(answered)))], 1) if answered else None
        return {"requests": len(self.samples), "seconds": round(seconds, 1),
                "rps": round(len(self.samples) / seconds, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                "max_ms": round(answered[-1], 1) if answered else None,
                "writes": sum(1 for _, _, w in self.samples if w),
                "errors_5xx": sum(1 for _, s, _ in self.samples if s >= 500),
                "errors_4xx": sum(1 for _, s, _ in self.samples if 400 <= s < 500),
                "connection_errors": sum(1 for _, s, _ in self.samples if s == 0),
                "retries": self.retries}

    def slowest(self, share: float = 0.01) -> list[str]:
        """Which pages make the slowest `share` of the answered requests (the tail that sets p99)."""
        answered = sorted((ms, page) for (ms, status, _), page in zip(self.samples, self.pages) if status)
        tail = answered[int((1 - share) * len(answered)):]
        totals = Counter(page for _, page in answered)
        lines = []
        for page, count in Counter(page for _, page in tail).most_common(8):
            lines.append(f"  {page:32s} {count:5d} of the slowest {len(tail)}  "
                         f"({100 * count / totals[page]:4.1f} % of its {totals[page]} requests)")
        return lines


class Load:
    """Shared state of the clients: the phase being measured and every acknowledged write."""

    def __init__(self) -> None:
        self.phase: Phase | None = None
        self.running = True
        self.stopped_at = 0.0
        self.acked: list[dict] = []       # {"kind", "marker", "key", "case_id", "phase"}
        self.requests = 0
        self.writes = 0
        self.logged_in = 0
        self.connections = 0
        self.everyone_in = asyncio.Event()

    def record(self, started: float, status: int, is_write: bool, page: str = "") -> None:
        """Count a finished request in the current phase."""
        self.requests += 1
        self.writes += is_write
        if self.phase is not None and self.phase.started <= started:
            self.phase.samples.append(((time.monotonic() - started) * 1000, status, is_write))
            self.phase.pages.append(page)


def page_pattern(method: str, path: str) -> str:
    """The page a request asked for, numbers and query left out ("GET /cases/N/intake/N")."""
    return f"{method} {NUMBER_RE.sub('/N', path.split('?', 1)[0])}"


def form_fields(html: str) -> dict:
    """name -> value of the page's hidden and text inputs."""
    fields = {}
    for tag in INPUT_RE.findall(html):
        attrs = dict(ATTR_RE.findall(tag))
        if "name" in attrs and attrs.get("type") not in ("file", "submit", "checkbox"):
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


class Client:
    """One simulated person: logs in once and keeps the session cookie; each request on a new connection
    (bench/http_client.py)."""

    def __init__(self, base: str, load: Load, username: str, index: int) -> None:
        self.base, self.load, self.username, self.index = base, load, username, index
        self.cookies: dict[str, str] = {}
        self.cases: list[int] = []
        self.seen: list[int] = []     # case ids linked from staff pages
        self.pages = list(STAFF_PAGES.get(username, []))
        self.seq = 0
        self.rng = random.Random(index)
        self.home_token = ""          # the CSRF token of the last home page read (its question box)

    async def send(self, method: str, path: str, is_write: bool = False, data: dict | None = None,
                   files: dict | None = None) -> tuple[int, str, str]:
        """One request (no redirects followed, never resent): (status or 0 on a broken connection or after
        http_client.TIMEOUT, location, body)."""
        started = time.monotonic()
        resp = await http_client.request(method, self.base + path, data=data, files=files, cookies=self.cookies)
        self.load.record(started, resp.status, is_write, page_pattern(method, path))
        return resp.status, resp.header("location"), resp.text()

    async def login(self) -> None:
        """The login form, once per connection (the limiter counts failures only; none happen here)."""
        for _ in range(20):
            status, _, html = await self.send("GET", "/login")
            if status == 200:
                data = form_fields(html) | {"username": self.username, "password": PASSWORD}
                status, location, _ = await self.send("POST", "/login", data=data)
                if status == 302 and "/login" not in location:
                    return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"{self.username} could not log in")

    async def post_until_acknowledged(self, path: str, data: dict, pattern: re.Pattern,
                                      files: dict | None = None) -> int | None:
        """POST the same form (same idempotency key) until a redirect names the case; its id."""
        for attempt in range(30):
            status, location, _ = await self.send("POST", path, is_write=True, data=data, files=files)
            found = pattern.search(location) if status in (302, 303) else None
            if found:
                return int(found.group(1))
            if 400 <= status < 500 and status not in (409, 429):
                return None  # refused on its merits: retrying cannot help
            if not self.load.running and time.monotonic() > self.load.stopped_at + 5:
                return None  # the run is over: this write stays unacknowledged (it counts as neither lost nor kept)
            if self.load.phase is not None:
                self.load.phase.retries += 1
            await asyncio.sleep(0.2 + 0.1 * attempt)
        return None

    async def file_case(self) -> None:
        """Step 1 of the intake form: a draft case, its title carrying a marker unique to this submission."""
        status, _, html = await self.send("GET", "/cases/new")
        if status != 200:
            return
        fields = form_fields(html)
        self.seq += 1
        phase = self.load.phase.name[0] if self.load.phase else "W"
        marker = f"LB-{phase}-{self.index}-{self.seq}"
        text = f"{marker} 楼上邻居装修漏水，把我家天花板和墙面泡坏了，多次沟通没有结果，希望对方赔偿维修费用。"
        data = {"csrf_token": fields.get("csrf_token", ""), "version": "", "nav": "next",
                "idempotency_key": fields.get("idempotency_key", ""), "title": f"{marker} 邻居装修漏水",
                "description": text, "desired_outcome": "赔偿维修费用", "began_on": "", "learned_on": ""}
        case_id = await self.post_until_acknowledged("/cases/new", data, CASE_RE)
        if case_id is not None:
            self.cases.append(case_id)
            self.load.acked.append({"kind": "case", "marker": data["title"], "key": data["idempotency_key"],
                                    "case_id": case_id, "phase": phase})
            await self.send("GET", f"/cases/{case_id}/intake/2")

    async def upload_evidence(self) -> None:
        """Step 4 of the intake form: one small PDF on one of the own drafts."""
        case_id = self.rng.choice(self.cases)
        status, _, html = await self.send("GET", f"/cases/{case_id}/intake/4")
        if status != 200:
            return
        fields = form_fields(html)
        self.seq += 1
        phase = self.load.phase.name[0] if self.load.phase else "W"
        marker = f"LB-{phase}-{self.index}-{self.seq}.pdf"
        data = {name: fields.get(name, "") for name in ("csrf_token", "version", "idempotency_key")}
        data |= {"nav": "save", "description": "聊天记录"}
        files = {"file": (marker, "application/pdf", PDF + marker.encode())}  # multipart/form-data
        pattern = re.compile(rf"/cases/({case_id})/intake/4")
        if await self.post_until_acknowledged(f"/cases/{case_id}/intake/4", data, pattern, files) is not None:
            self.load.acked.append({"kind": "evidence", "marker": marker, "key": fields.get("idempotency_key"),
                                    "case_id": case_id, "phase": phase})

    async def ask(self) -> None:
        """A question typed into the home page's box: POSTed (it records the question), then its answers' page."""
        if not self.home_token:
            status, _, html = await self.send("GET", "/")
            self.home_token = form_fields(html).get("csrf_token", "") if status == 200 else ""
        data = {"csrf_token": self.home_token, "q": self.rng.choice(QUESTIONS)}
        status, location, _ = await self.send("POST", "/consult", is_write=True, data=data)
        if status == 303 and location:
            await self.send("GET", location.removeprefix(self.base))

    async def read(self) -> None:
        """One page a person of this role reads."""
        if self.username in STAFF:
            choices = self.pages + [f"/cases/{i}" for i in self.seen[:10]]
        else:
            choices = ["/my/cases", "/", "/notifications", "ask"]
            choices += [f"/cases/{i}" for i in self.cases[-3:]] + [f"/cases/{i}/intake/2" for i in self.cases[-1:]]
        path = self.rng.choice(choices)
        if path == "ask":
            return await self.ask()
        status, _, html = await self.send("GET", path)
        if path == "/" and status == 200:
            self.home_token = form_fields(html).get("csrf_token", self.home_token)
        if status in (403, 404) and path in self.pages:
            self.pages.remove(path)  # not this role's page: read something else
        elif status == 200 and self.username in STAFF and len(self.seen) < 10:
            self.seen = sorted(set(self.seen) | {int(i) for i in CASE_LINK_RE.findall(html)})[:10]

    async def run(self) -> None:
        """Log in, then read and write until told to stop: writes keep to ~20 % of all requests."""
        await self.login()
        self.load.logged_in += 1
        if self.load.logged_in == self.load.connections:
            self.load.everyone_in.set()
        while self.load.running:
            resident = self.username not in STAFF
            if resident and self.load.writes < WRITE_SHARE * self.load.requests:
                if self.cases and self.rng.random() < 0.3:
                    await self.upload_evidence()
                else:
                    await self.file_case()
            else:
                await self.read()


# ---------------------------------------------------------------- phases and checks

async def killer(master: int, phase: Phase, every: float) -> None:
    """SIGKILL a random worker every `every` seconds while the phase runs."""
    rng = random.Random()
    while True:
        await asyncio.sleep(every)
        pids = worker_pids(master)
        if pids:
            victim = rng.choice(pids)
            try:
                os.kill(victim, signal.SIGKILL)
                phase.kills += 1
                print(f"  killed worker {victim} ({phase.kills})", flush=True)
            except ProcessLookupError:
                pass


async def measure(load: Load, phase: Phase, seconds: float, master: int | None = None) -> None:
    """Run a phase for `seconds`, printing progress every 5 s."""
    load.phase = phase
    phase.started = time.monotonic()
    kill_task = asyncio.create_task(killer(master, phase, 10 if seconds >= 20 else 2)) if master else None
    end = phase.started + seconds
    while time.monotonic() < end:
        await asyncio.sleep(min(5, end - time.monotonic()))
        done = phase.samples
        recent = [ms for ms, s, _ in done[-2000:] if s]
        p99 = sorted(recent)[int(0.99 * (len(recent) - 1))] if recent else 0
        print(f"  {phase.name}: {time.monotonic() - phase.started:5.1f} s, {len(done)} requests, "
              f"{len(done) / (time.monotonic() - phase.started):.0f}/s, recent p99 {p99:.0f} ms, "
              f"5xx {sum(1 for _, s, _ in done if s >= 500)}, broken {sum(1 for _, s, _ in done if s == 0)}",
              flush=True)
    phase.ended = time.monotonic()
    load.phase = None
    if kill_task:
        kill_task.cancel()


async def drive(base: str, args, master: int) -> tuple[Load, Phase, Phase | None]:
    """Log everyone in, warm up, then the steady phase and (optionally) the fault phase. bench/http_client.py never
    resends a request: one cut by a killed worker comes back as status 0 and is counted."""
    load = Load()
    load.connections = args.connections
    residents = iter(range(args.connections))
    clients = [Client(base, load, STAFF[(i // 10) % len(STAFF)] if i % 10 == 9
                      else f"bench{next(residents):03d}", i) for i in range(args.connections)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    t0 = time.monotonic()
    everyone_in = asyncio.create_task(load.everyone_in.wait())
    await asyncio.wait([everyone_in, *tasks], return_when=asyncio.FIRST_COMPLETED)  # or a client failed
    everyone_in.cancel()
    print(f"{load.logged_in} connections logged in ({time.monotonic() - t0:.1f} s, one scrypt check each); "
          f"warming up {args.warmup:.0f} s", flush=True)
    await asyncio.sleep(args.warmup)
    steady = Phase("steady")
    before = cpu_snapshot(master)
    await measure(load, steady, args.duration)
    steady.cpu_ms = cpu_per_request(before, cpu_snapshot(master), len(steady.samples))
    fault = None
    if not args.no_fault:
        fault = Phase("fault")
        await measure(load, fault, args.fault_duration, master)
    load.running, load.stopped_at = False, time.monotonic()
    done, pending = await asyncio.wait(tasks, timeout=45)  # writes in flight finish, retried for 5 s more
    for task in pending:
        task.cancel()
    for task in done:
        if task.exception():
            print(f"client failed: {task.exception()!r}", flush=True)
    return load, steady, fault


def check(db_url: str, acked: list[dict], phase: str) -> tuple[int, int]:
    """(lost, duplicates) of one phase's writes, from the database."""
    import sqlalchemy as sa

    from app.config import normalise_database_url

    mine = [a for a in acked if a["phase"] == phase]
    engine = sa.create_engine(normalise_database_url(db_url))
    with engine.connect() as conn:
        cases = dict(conn.execute(sa.text("SELECT title, id FROM cases WHERE title LIKE :p"),
                                  {"p": f"LB-{phase}-%"}).all())
        titles = conn.execute(sa.text("SELECT title FROM cases WHERE title LIKE :p GROUP BY title "
                                      "HAVING count(*) > 1"), {"p": f"LB-{phase}-%"}).all()
        files = conn.execute(sa.text("SELECT original_name, case_id FROM evidence_files WHERE original_name "
                                     "LIKE :p"), {"p": f"LB-{phase}-%"}).all()
        keys = conn.execute(sa.text("SELECT count(*) - count(DISTINCT (key, user_id, endpoint)) "
                                    "FROM idempotency_keys")).scalar()
    engine.dispose()
    stored_files = {name: case_id for name, case_id in files}
    lost = sum(1 for a in mine if a["kind"] == "case" and cases.get(a["marker"]) != a["case_id"])
    lost += sum(1 for a in mine if a["kind"] == "evidence" and stored_files.get(a["marker"]) != a["case_id"])
    duplicates = len(titles) + (len(files) - len(stored_files)) + (keys or 0)
    return lost, duplicates


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=45, help="seconds of steady load")
    parser.add_argument("--fault-duration", type=float, default=120, help="seconds of load with worker kills")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=8, help="seconds before measuring (logins, first pages)")
    parser.add_argument("--no-fault", action="store_true", help="skip the fault phase")
    parser.add_argument("--smoke", action="store_true", help="5 s per phase (for the test)")
    parser.add_argument("--database", default="bench_load", help="scratch database (dropped and created)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13",
                        help="a Redis database of its own (emptied at the start)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)  # internal: run in the subprocess
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.fault_duration, args.warmup = 5, 5, 1
    return args


def main(argv=None) -> int:
    """Set up, serve, load, check, report."""
    args = parse_args(argv)
    if args.prepare is not None:
        prepare(args.prepare)
        return 0
    started = time.monotonic()
    db_url = recreate_database(args.database)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # the bench's own Redis database: limiter counts of earlier runs
    workdir = Path(tempfile.mkdtemp(prefix="jiefen-load-"))
    env = server_env(db_url, args.redis_url, workdir)
    port = free_port()
    log = workdir / "gunicorn.log"
    print(f"database {args.database}: migrating and seeding while gunicorn starts", flush=True)
    # The preloaded app touches no database: gunicorn boots while the schema is built and the demo seeded.
    proc = start_gunicorn(env, port, args.workers, log)
    try:
        with (workdir / "prepare.log").open("wb") as prepare_log:  # alembic's INFO lines, one per migration
            subprocess.run([sys.executable, __file__, "--prepare", str(args.connections)], env=env, check=True,
                           cwd=ROOT, stderr=prepare_log)
        wait_ready(proc, port, args.workers)
        print(f"  ready after {time.monotonic() - started:.1f} s", flush=True)
        print(f"gunicorn on :{port}, {args.workers} sync workers, --preload (log {log}); "
              f"CONSULT_RATE_LIMIT raised to 1000000/minute for the bench", flush=True)
        load, steady, fault = http_client.run(drive(f"http://127.0.0.1:{port}", args, proc.pid))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print("server time by page (gunicorn access log, whole run):", flush=True)
    print("\n".join(server_time_by_page(log.with_suffix(".access"))), flush=True)
    print("worker CPU by page (bench/gunicorn_cpu.py, whole run; from parsed request to written response):",
          flush=True)
    print("\n".join(server_time_by_page(log.with_suffix(".cpu"), top=16)), flush=True)
    print("the slowest 1 % of the steady phase's answers (client side, what sets p99):", flush=True)
    print("\n".join(steady.slowest()), flush=True)
    print("CPU ms per request in the steady phase (workers, master, postgres, redis, client, other; "
          f"idle share of the machine): {steady.cpu_ms}", flush=True)
    result = steady.summary()
    result["cpu_ms_per_request"] = steady.cpu_ms
    result["lost"], result["duplicates"] = check(db_url, load.acked, "s")
    result["acknowledged"] = sum(1 for a in load.acked if a["phase"] == "s")
    if fault is not None:
        f = fault.summary()
        result.update({f"fault_{k}": v for k, v in f.items()})
        result["fault_lost"], result["fault_duplicates"] = check(db_url, load.acked, "f")
        result["fault_acknowledged"] = sum(1 for a in load.acked if a["phase"] == "f")
        result["fault_kills"] = fault.kills
    result.update(workers=args.workers, connections=args.connections, database="postgresql",
                  total_seconds=round(time.monotonic() - started, 1))
    if not args.keep_db:
        drop_database(args.database)
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
