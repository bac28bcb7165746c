"""The tests here that run the benchmarks (those using the `app` fixture) need PostgreSQL: they belong to the
PostgreSQL leg only, where the root conftest keeps the tests that use `app`. On the SQLite leg they are deselected
here (deselected, not skipped: the suite allows no skips); the rest (test_http_client.py, no database) stay there."""
from __future__ import annotations

from tests.conftest import BACKEND


def pytest_collection_modifyitems(config, items):
    if BACKEND == "postgresql":
        return
    deselected = [i for i in items if i.nodeid.startswith("tests/bench/")
                  and "app" in getattr(i, "fixturenames", ())]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [i for i in items if i not in deselected]
