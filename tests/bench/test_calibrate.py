"""bench/calibrate.py serves its bare page through gunicorn on PostgreSQL and prints a JSON line with a rate."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]


def test_calibration_prints_a_rate_with_no_errors(app):
    """`app` only places the test on the PostgreSQL leg."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "calibrate.py"), "--seconds", "1", "--connections", "5",
         "--database-url", PG_URL], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["rps"] > 0 and report["errors"] == 0 and report["workers"] == 2
    assert report["p50_ms"] <= report["p99_ms"]
    assert report["scale"] == round(report["rps"] / 600, 2)
