"""bench/load.py --smoke against gunicorn on PostgreSQL: it runs to the end and prints its JSON line, and no
acknowledged case or evidence file is lost or stored twice, with or without workers being killed."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_URL
from tests.services import TEST_REDIS

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"rps", "p50_ms", "p99_ms", "errors_5xx", "lost", "duplicates", "requests", "seconds", "workers",
        "connections", "fault_errors_5xx", "fault_lost", "fault_duplicates", "fault_kills"}


def test_smoke_run_loses_nothing_and_duplicates_nothing(app):
    """`app` only places the test on the PostgreSQL leg (tests/conftest.py keeps the tests that use it there)."""
    env = dict(os.environ, TEST_DATABASE_URL=PG_URL)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--smoke", "--connections", "10", "--workers", "2",
         "--database", f"jiefen_test_load_{os.getpid()}", "--redis-url", TEST_REDIS],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert KEYS <= set(report), KEYS - set(report)
    assert report["requests"] > 0 and report["fault_requests"] > 0 and report["fault_kills"] >= 1
    assert report["acknowledged"] > 0 and report["fault_acknowledged"] > 0
    assert (report["lost"], report["duplicates"]) == (0, 0)
    assert (report["fault_lost"], report["fault_duplicates"]) == (0, 0)
    assert report["errors_5xx"] == 0 and report["fault_errors_5xx"] == 0
    # Which pages made the slowest 1 % of the steady phase (what sets p99), named as the access-log table names them
    tail = result.stdout.split("the slowest 1 % of the steady phase", 1)[1]
    assert re.search(r"\n  (GET|POST) /\S* +\d+ of the slowest \d+ +\( *[\d.]+ % of its \d+ requests\)", tail), tail
    # where the CPU went: the workers' share per request, and each page's CPU from bench/gunicorn_cpu.py's hooks
    assert report["cpu_ms_per_request"]["workers"] > 0 and report["cpu_ms_per_request"]["client"] > 0
    cpu_table = result.stdout.split("worker CPU by page", 1)[1]
    assert re.search(r"\n  GET /cases/new +\d+ requests  mean +[\d.]+ ms", cpu_table), cpu_table
