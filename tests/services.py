"""Addresses of the services tests use. `make test` runs the SQLite and PostgreSQL legs at the same time, each with
its own Redis database (JIEFEN_TEST_REDIS_URL), so one leg's clean-up never deletes the other's keys."""
from __future__ import annotations

import os

TEST_REDIS = os.environ.get("JIEFEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
