"""Background jobs: RQ on Redis when REDIS_URL is set, in-process otherwise."""
from __future__ import annotations

from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="Background jobs (RQ worker, due jobs).")
