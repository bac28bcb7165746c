"""Server CPU and SQL statements per page of bench/load.py's journey, in one process (no HTTP, no other load).

    python bench/page_cost.py [--rounds 30] [--profile PAGE] [--database bench_pages]
    PAGE_SQL="GET /cases/N" python bench/page_cost.py     # the statements of one request, with where they come from

Builds a scratch PostgreSQL database like bench/load.py does (migrated, demo county, bench residents; dropped at the
end), serves app/wsgi.py's production app through Flask's test client, and requests each page of the journey
`--rounds` times: CPU time (time.process_time) and SQL statements per request, the median and the minimum over the
rounds (the minimum is the least disturbed by other processes on a shared machine). The weighted mean uses the
journey's mix (from gunicorn's access log of a full bench/load.py run). --profile PAGE prints a cProfile of that page
(PSORT=tottime to sort otherwise, PDUMP=file to keep it); with PYINSTRUMENT=1 a sampling profile instead (pyinstrument
on PYTHONPATH: it is not a project dependency).

Diagnostic modes (bench/page_modes.py):
    SEGMENTS=1|flask|hooks   CPU per page split into SQL (ORM included), rendering, forms, Flask's fixed costs, hooks
    CACHE_STATS=1            how often SQLAlchemy's compiled-statement cache answered, over every page
    PYSPY=1 --profile journey  the journey interleaved with no profiler inside, for `py-spy record -p <pid>`
Measured this way (2026-12-03): a step's cost inside a request is 2-5x what the same call costs in a tight loop
(open_session: 28 µs alone, 60-160 µs in a page), so micro-benchmarks understate what a saving is worth.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
KEY_RE = re.compile(r'name="idempotency_key"(?: type="hidden")? value="([^"]+)"')
CASE_RE = re.compile(r"/cases/(\d+)(?:/|$)")  # in a Location header
CASE_LINK_RE = re.compile(r'href="/cases/(\d+)"')  # a link to a case page (CASE_RE's $ never matched in HTML)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# Share of each page in the load's requests (from a full bench/load.py run's access log), for the weighted mean. Staff case
# pages: ~6 % since load.py's staff follow the case links of their inboxes (2026-12-02; before, they never did).
MIX = {"GET /cases/new": 0.155, "POST /cases/new": 0.155, "GET /cases/N/intake/2": 0.19, "GET /cases/N": 0.135,
       "GET /cases/N/intake/4": 0.06, "POST /cases/N/intake/4": 0.06, "POST /consult": 0.02, "GET /consult/N": 0.02,
       "GET /notifications": 0.045, "GET /my/cases": 0.043, "GET /": 0.049, "GET /dashboard/governance": 0.015,
       "GET /mediator/inbox": 0.005, "GET /org/cases": 0.005, "GET /admin/overview": 0.007, "GET staff /cases/N": 0.06,
       "GET /org/cases/search": 0.003, "GET /court/inbox": 0.003, "GET /arbitration/inbox": 0.003}


def setup_environment(database: str, redis_url: str) -> str:
    """Scratch database migrated and seeded (in a subprocess, as bench/load.py does); the environment set."""
    import subprocess

    from bench.load_server import recreate_database, server_env

    db_url = recreate_database(database)
    env = server_env(db_url, redis_url, Path(tempfile.mkdtemp(prefix="jiefen-pages-")))
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--prepare", "5"], env=env, check=False,
                          cwd=ROOT, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"seeding failed:\n{done.stderr[-3000:]}")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env["PYTHONPATH"], os.environ.get("PYTHONPATH")]))
    os.environ.update(env)
    return db_url


class Session:
    """One logged-in person on the test client (https, as production cookies are Secure)."""

    def __init__(self, app, username: str) -> None:
        from bench.load_server import PASSWORD

        self.client = app.test_client()
        html = self.get("/login").get_data(as_text=True)
        resp = self.post("/login", data={
            "csrf_token": CSRF_RE.search(html).group(1), "username": username, "password": PASSWORD})
        assert resp.status_code == 302 and "/login" not in resp.headers["Location"], resp.status_code

    def get(self, path: str):
        """GET a page."""
        return self.client.get(path, base_url="https://localhost")

    def post(self, path: str, data: dict, **kw):
        """POST a form."""
        # Flask-WTF checks the Referer on HTTPS (WTF_CSRF_SSL_STRICT), as a browser sends it.
        return self.client.post(path, base_url="https://localhost", data=data,
                                headers={"Referer": "https://localhost/"}, **kw)


def case_form(person: Session, n: int) -> dict:
    """The intake form's step 1 as bench/load.py fills it (tokens from a fresh GET /cases/new)."""
    html = person.get("/cases/new").get_data(as_text=True)
    text = f"PC-{n} 楼上邻居装修漏水，把我家天花板和墙面泡坏了，多次沟通没有结果，希望对方赔偿维修费用。"
    return {"csrf_token": CSRF_RE.search(html).group(1), "version": "", "nav": "next",
            "idempotency_key": KEY_RE.search(html).group(1), "title": f"PC-{n} 邻居装修漏水", "description": text,
            "desired_outcome": "赔偿维修费用", "began_on": "", "learned_on": ""}


def file_case(person: Session, data: dict) -> int:
    """POST step 1; the new case's id."""
    resp = person.post("/cases/new", data)
    return int(CASE_RE.search(resp.headers["Location"]).group(1))


def evidence_form(person: Session, case_id: int, n: int) -> dict:
    """The intake form's step 4 with one small PDF (tokens from a fresh GET)."""
    import io

    html = person.get(f"/cases/{case_id}/intake/4").get_data(as_text=True)
    version = re.search(r'name="version"(?: type="hidden")? value="([^"]*)"', html)
    return {"csrf_token": CSRF_RE.search(html).group(1), "version": version.group(1) if version else "",
            "idempotency_key": KEY_RE.search(html).group(1), "nav": "save", "description": "聊天记录",
            "file": (io.BytesIO(PDF + str(n).encode()), f"pc-{n}.pdf", "application/pdf")}


def pages(app) -> dict:
    """name -> callable making one request of that page (and returning the response)."""
    resident = Session(app, "bench000")
    anonymous = Session.__new__(Session)
    anonymous.client = app.test_client()
    case_ids = [file_case(resident, case_form(resident, i)) for i in range(3)]
    counter = iter(range(10**6))
    asked = [resident.post("/consult", {"csrf_token": CSRF_RE.search(resident.get("/").get_data(as_text=True)).group(1),
                                        "q": "房东不退押金"}).headers["Location"]]
    staff = {u: Session(app, u) for u in ("mediator1", "orgadmin1", "admin", "court1", "arbitrator1")}
    seen = [int(i) for i in CASE_LINK_RE.findall(staff["mediator1"].get("/mediator/inbox").get_data(as_text=True))]
    staff_case = seen[0] if seen else case_ids[0]
    return {
        "GET /healthz (anonymous)": lambda: Session.get(anonymous, "/healthz"),
        "GET /healthz (logged in)": lambda: resident.get("/healthz"),
        "GET /cases/new": lambda: resident.get("/cases/new"),
        # (setup, request): only the request is measured
        "POST /cases/new": (lambda: case_form(resident, 1000 + next(counter)),
                            lambda data: case_ids.append(file_case(resident, data))),
        "GET /cases/N/intake/2": lambda: resident.get(f"/cases/{case_ids[-1]}/intake/2"),
        "GET /cases/N": lambda: resident.get(f"/cases/{case_ids[0]}"),
        "GET /cases/N/intake/4": lambda: resident.get(f"/cases/{case_ids[0]}/intake/4"),
        "POST /cases/N/intake/4": (lambda: evidence_form(resident, case_ids[1], next(counter)),
                                   lambda data: resident.post(f"/cases/{case_ids[1]}/intake/4", data,
                                                              content_type="multipart/form-data")),
        "POST /consult": (lambda: {"csrf_token": CSRF_RE.search(resident.get("/").get_data(as_text=True)).group(1),
                                   "q": "老板拖欠工资三个月不给怎么办"},
                          lambda data: asked.append(resident.post("/consult", data).headers["Location"])),
        "GET /consult/N": lambda: resident.get(asked[-1]),
        "GET /notifications": lambda: resident.get("/notifications"),
        "GET /my/cases": lambda: resident.get("/my/cases"),
        "GET /": lambda: resident.get("/"),
        "GET /dashboard/governance": lambda: staff["orgadmin1"].get("/dashboard/governance"),
        "GET /mediator/inbox": lambda: staff["mediator1"].get("/mediator/inbox"),
        "GET /org/cases": lambda: staff["orgadmin1"].get("/org/cases"),
        "GET /admin/overview": lambda: staff["admin"].get("/admin/overview"),
        "GET staff /cases/N": lambda: staff["mediator1"].get(f"/cases/{staff_case}"),
        "GET /org/cases/search": lambda: staff["orgadmin1"].get("/org/cases/search?q=工资"),
        "GET /court/inbox": lambda: staff["court1"].get("/court/inbox"),
        "GET /arbitration/inbox": lambda: staff["arbitrator1"].get("/arbitration/inbox"),
    }


def as_args(value) -> tuple:
    """A setup's result as the request's arguments."""
    return value if isinstance(value, tuple) else (value,)


def chosen_pages(todo: dict, profile: str, rounds: int) -> dict[str, int]:
    """How often to profile each page: "journey" is every page of the mix, as often as its share (rounds x 10
    requests in all); otherwise the one page, `rounds` times."""
    if profile == "journey":
        return {name: round(MIX.get(name, 0) * rounds * 10) for name in todo}
    return {profile: rounds}


def measure(app, rounds: int, profile: str | None) -> None:
    """Print CPU ms and SQL statements per page, and the journey's weighted mean."""
    import sqlalchemy as sa

    from app.extensions import db
    from bench import page_modes

    statements = [0]
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    todo = {name: call if isinstance(call, tuple) else (lambda: (), call) for name, call in pages(app).items()}
    for setup, call in todo.values():  # warm: first use of each template and query
        call(*as_args(setup()))
    if os.environ.get("PAGE_SQL"):  # the statements of one request of that page
        setup, call = todo[os.environ["PAGE_SQL"]]
        args = as_args(setup())
        with app.app_context():
            def show(conn, cursor, statement, *a):
                import traceback

                # ROOT, not a fixed checkout name: the origins show from any worktree
                ours = [f"{Path(f.filename).relative_to(ROOT)}:{f.lineno}" for f in traceback.extract_stack()
                        if f.filename.startswith((f"{ROOT}/app/", f"{ROOT}/templates/"))]
                print(" ".join(statement.split())[:110], "<-", " ".join(ours[-3:]))
            sa.event.listen(db.engine, "before_cursor_execute", show)
            call(*args)
            sa.event.remove(db.engine, "before_cursor_execute", show)
        return
    if os.environ.get("CACHE_STATS"):  # SQLAlchemy's compiled-statement cache over the whole journey
        return page_modes.cache_stats(app, todo, rounds)
    if os.environ.get("SEGMENTS"):  # CPU per page split into SQL (ORM included), templates, forms and the rest
        return page_modes.segments(app, todo, rounds)
    if profile and os.environ.get("PYSPY"):  # no profiler in-process: for `py-spy record -p <this pid>`
        return page_modes.for_py_spy(todo, chosen_pages(todo, profile, rounds))
    if profile and os.environ.get("PYINSTRUMENT"):  # sampling: far less distortion than cProfile
        from pyinstrument import Profiler

        prof = Profiler(interval=0.0005, async_mode="disabled")
        if os.environ["PYINSTRUMENT"] == "cpu":  # sample CPU time, not wall time (waits on PostgreSQL drop out)
            from pyinstrument.stack_sampler import get_stack_sampler

            get_stack_sampler().timer_func = time.process_time
        for name, times in chosen_pages(todo, profile, rounds).items():
            setup, call = todo[name]
            for _ in range(times):
                args = as_args(setup())
                prof.start()
                call(*args)
                prof.stop()
        print(prof.output_text(unicode=False, color=False, show_all=False, timeline=False))
        if os.environ.get("PDUMP"):  # the session, for pyinstrument's own tools (Session.load)
            prof.last_session.save(os.environ["PDUMP"])
        return
    if profile:
        prof = cProfile.Profile(time.process_time)
        # "journey": every page of the mix, as often as its share (rounds x 10 requests in all)
        for name, times in chosen_pages(todo, profile, rounds).items():
            setup, call = todo[name]
            for _ in range(times):
                prof.runcall(call, *as_args(setup()))
        pstats.Stats(prof).sort_stats(os.environ.get("PSORT", "cumulative")).print_stats(40)
        if os.environ.get("PDUMP"):
            prof.dump_stats(os.environ["PDUMP"])
        return
    cpu: dict[str, list[float]] = {name: [] for name in todo}
    sql: dict[str, int] = {}
    collector = gc_clock()
    for _ in range(rounds):
        for name, (setup, call) in todo.items():
            args = as_args(setup())
            before, t0 = statements[0], time.process_time()
            call(*args)
            cpu[name].append((time.process_time() - t0) * 1000)
            sql[name] = statements[0] - before
    weighted = weighted_min = 0.0
    # The minimum over the rounds is the least disturbed by other processes sharing the cores.
    print(f"{'page':28s} {'median':>8s} {'min':>8s} {'sql':>5s} {'share':>6s}   (CPU ms per request)")
    for name in todo:
        median, least = statistics.median(cpu[name]), min(cpu[name])
        weighted += MIX.get(name, 0) * median
        weighted_min += MIX.get(name, 0) * least
        print(f"{name:28s} {median:8.2f} {least:8.2f} {sql[name]:5d} {MIX.get(name, 0):6.3f}")
    print(f"{'weighted mean (journey)':28s} {weighted / sum(MIX.values()):8.2f} {weighted_min / sum(MIX.values()):8.2f}")
    total = sum(sum(times) for times in cpu.values())
    print(f"garbage collection: {collector['runs']} collections, {collector['ms']:.0f} ms "
          f"({100 * collector['ms'] / max(total, 1e-9):.1f} % of the measured CPU; gc thresholds {gc.get_threshold()})")


def gc_clock() -> dict:
    """Counts the collector's runs and CPU ms from now on (gc.callbacks)."""
    clock = {"runs": 0, "ms": 0.0, "t0": 0.0}

    def callback(phase: str, _info: dict) -> None:
        if phase == "start":
            clock["t0"] = time.process_time()
        else:
            clock["runs"] += 1
            clock["ms"] += (time.process_time() - clock["t0"]) * 1000
    gc.callbacks.append(callback)
    return clock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--profile", help="cProfile this page (a name from the table), or 'journey' for the mix")
    parser.add_argument("--database", default="bench_pages")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    if not os.environ.get("JIEFEN_PAGES_DB_READY"):
        # app.config reads the environment once, at import: measure in a fresh interpreter that has it set.
        setup_environment(args.database, args.redis_url)
        os.environ["JIEFEN_PAGES_DB_READY"] = "1"
        os.execv(sys.executable, [sys.executable, __file__, *sys.argv[1:]])  # noqa: S606 (this same script)
    from app.wsgi import application as app

    try:
        measure(app, args.rounds, args.profile)
    finally:
        from app.extensions import db
        from bench.load_server import drop_database

        with app.app_context():
            db.engine.dispose()
        drop_database(args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
