"""How fast is this machine? The yardstick issue 9 gives for the load target: a bare Flask page on PostgreSQL
(one `SELECT 1` through a SQLAlchemy pool, a short HTML answer) served by gunicorn with 2 sync workers, driven
by 50 simulated clients through the same client bench/load.py uses (bench/http_client.py: a new TCP connection per
request, as gunicorn's sync workers close each connection after one answer anyway). The issue quotes ~600
requests/s for it on its reference machine; machines here have differed by 3-4x, so quote this figure beside
bench/load.py's. Until bench/http_client.py, aiohttp drove it (keep-alive asked for, but gunicorn closed each
connection all the same): the client's CPU per request was higher then, so figures from before are not quite
comparable on a 2-core machine.

    python bench/calibrate.py [--seconds 15] [--connections 50] [--workers 2]

Prints one JSON line: rps, p50_ms, p99_ms, errors, and scale (rps / 600: 1.0 is the issue's machine).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import http_client  # noqa: E402
from bench.load_server import free_port, wait_ready  # noqa: E402

REFERENCE_RPS = 600
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/test"


def create_app():
    """The bare page gunicorn serves (bench.calibrate:create_app())."""
    from flask import Flask
    from sqlalchemy import create_engine, text

    from app.config import normalise_database_url

    app = Flask(__name__)
    engine = create_engine(normalise_database_url(os.environ.get("CALIBRATE_DATABASE_URL", DEFAULT_DB)), pool_size=2)

    @app.get("/healthz")  # what bench/load_server.wait_ready asks
    def healthz():
        return "ok"

    @app.get("/")
    def page():
        with engine.connect() as conn:
            one = conn.execute(text("SELECT 1")).scalar_one()
        return f"<!doctype html><title>bare</title><p>{one}</p>"

    return app


async def drive(url: str, seconds: float, connections: int) -> tuple[list[float], int]:
    """`connections` clients GET `url` for `seconds`: the latency (ms) of every request, and how many did not
    answer 200 (a broken connection included)."""
    samples: list[float] = []
    errors = 0
    end = time.monotonic() + seconds

    async def one() -> None:
        nonlocal errors
        while time.monotonic() < end:
            started = time.monotonic()
            response = await http_client.request("GET", url)
            errors += response.status != 200
            samples.append((time.monotonic() - started) * 1000)

    for _ in range(50):  # warm the workers' pools before measuring
        await http_client.request("GET", url)
    await asyncio.gather(*(one() for _ in range(connections)))
    return samples, errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args(argv)
    port = free_port()
    env = dict(os.environ, CALIBRATE_DATABASE_URL=args.database_url, PYTHONPATH=str(ROOT))
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-k", "sync", "-w", str(args.workers), "-b",
           f"127.0.0.1:{port}", "--backlog", "2048", "bench.calibrate:create_app()"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(proc, port, args.workers)
        started = time.monotonic()
        samples, errors = http_client.run(drive(f"http://127.0.0.1:{port}/", args.seconds, args.connections))
        elapsed = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    samples.sort()
    rps = len(samples) / elapsed
    print(json.dumps({"rps": round(rps, 1), "p50_ms": round(samples[len(samples) // 2], 1),
                      "p99_ms": round(samples[int(0.99 * (len(samples) - 1))], 1), "errors": errors,
                      "workers": args.workers, "connections": args.connections,
                      "scale": round(rps / REFERENCE_RPS, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
