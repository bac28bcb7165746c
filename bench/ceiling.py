"""Ceiling per page: the most requests/s one page alone gets from the same server and client as bench/load.py, and
where each request's CPU goes (gunicorn workers, PostgreSQL, the client).

    python bench/ceiling.py [--seconds 15] [--connections 50] [--workers 4] [--pages "GET /" ...]

bench/load.py's journey mixes pages; this asks one page at a time, so the journey's figure can be read against what
its cheapest pages can do at all on this machine. Same set-up as bench/load.py (scratch database migrated and seeded,
gunicorn with sync workers and --preload in production configuration, the client of bench/http_client.py with a new
connection per request, each simulated person logged in as its own resident where the page needs a login). CPU per
request comes from /proc: the gunicorn workers' own, every PostgreSQL server process's, and this process's (the
client), over the measured seconds. Run it on a quiet machine: whatever else runs is not counted, but it takes the
cores. Prints a table, then one JSON line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import http_client  # noqa: E402
from bench.load import Client, Load  # noqa: E402
from bench.load_server import (  # noqa: E402
    cpu_seconds,
    drop_database,
    free_port,
    postgres_pids,
    recreate_database,
    server_env,
    start_gunicorn,
    wait_ready,
    worker_pids,
)

# (label, path, logged in): from the cheapest the app serves to the journey's most frequent pages
PAGES = [("GET /healthz (anonymous)", "/healthz", False), ("GET / (anonymous)", "/", False),
         ("GET / (logged in)", "/", True), ("GET /cases/new", "/cases/new", True),
         ("GET /notifications", "/notifications", True), ("GET /my/cases", "/my/cases", True)]
async def hammer(clients: list[Client], path: str, seconds: float) -> list[tuple[float, int]]:
    """Every client asks `path` again and again for `seconds`: (ms, status) of each answer."""
    samples: list[tuple[float, int]] = []
    end = time.monotonic() + seconds

    async def one(client: Client) -> None:
        while time.monotonic() < end:
            started = time.monotonic()
            status, _, _ = await client.send("GET", path)
            samples.append(((time.monotonic() - started) * 1000, status))
    await asyncio.gather(*(one(c) for c in clients))
    return samples


def summary(samples: list[tuple[float, int]], seconds: float, cpu: dict[str, float]) -> dict:
    """rps, latency percentiles, errors and CPU ms per request of one page's run."""
    answered = sorted(ms for ms, status in samples if status)
    n = max(len(samples), 1)

    def pct(q: float) -> float | None:
        return round(answered[min(len(answered) - 1, int(q * len(answered)))], 1) if answered else None
    return {"rps": round(len(samples) / seconds, 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "errors_5xx": sum(1 for _, s in samples if s >= 500), "not_200": sum(1 for _, s in samples if s != 200),
            **{f"{k}_cpu_ms": round(1000 * v / n, 2) for k, v in cpu.items()}}


async def run_pages(base: str, master: int, pages: list[tuple[str, str, bool]], args) -> dict:
    """Log the clients in once, then measure each page in turn."""
    load = Load()
    anonymous = [Client(base, load, "", i) for i in range(args.connections)]
    residents = [Client(base, load, f"bench{i:03d}", i) for i in range(args.connections)]
    if any(logged_in for _, _, logged_in in pages):
        await asyncio.gather(*(c.login() for c in residents))
    results = {}
    for label, path, logged_in in pages:
        clients = residents if logged_in else anonymous
        await hammer(clients, path, args.warmup)
        workers = worker_pids(master)
        before = {"worker": cpu_seconds(workers), "postgres": cpu_seconds(postgres_pids()),
                  "client": time.process_time()}
        started = time.monotonic()
        samples = await hammer(clients, path, args.seconds)
        seconds = time.monotonic() - started
        cpu = {"worker": cpu_seconds(workers) - before["worker"],
               "postgres": cpu_seconds(postgres_pids()) - before["postgres"],
               "client": time.process_time() - before["client"]}
        results[label] = summary(samples, seconds, cpu)
        r = results[label]
        print(f"{label:26s} {r['rps']:7.1f} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f} {r['errors_5xx']:4d} "
              f"{r['not_200']:5d} {r['worker_cpu_ms']:8.2f} {r['postgres_cpu_ms']:6.2f} {r['client_cpu_ms']:6.2f}",
              flush=True)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per page")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds per page first")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pages", nargs="*", help="labels from the table (default: all)")
    parser.add_argument("--database", default="bench_ceiling")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args(argv)
    pages = [p for p in PAGES if not args.pages or p[0] in args.pages]
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    db_url = recreate_database(args.database)
    workdir = Path(tempfile.mkdtemp(prefix="jiefen-ceiling-"))
    env = server_env(db_url, args.redis_url, workdir)
    subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--prepare", str(args.connections)], env=env,
                   check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    port = free_port()
    proc = start_gunicorn(env, port, args.workers, workdir / "gunicorn.log")
    try:
        wait_ready(proc, port, args.workers)
        print(f"gunicorn :{port}, {args.workers} sync workers, --preload; {args.connections} connections, "
              f"{args.seconds:.0f} s per page", flush=True)
        print(f"{'page':26s} {'rps':>7s} {'p50':>7s} {'p99':>7s} {'5xx':>4s} {'!200':>5s} {'worker':>8s} "
              f"{'pg':>6s} {'client':>6s}   (ms; CPU ms per request)", flush=True)
        results = http_client.run(run_pages(f"http://127.0.0.1:{port}", proc.pid, pages, args))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        drop_database(args.database)
    print(json.dumps({"pages": results, "workers": args.workers, "connections": args.connections}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
