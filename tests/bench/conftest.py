"""tests/bench runs the load benchmark, which needs PostgreSQL: it belongs to the PostgreSQL leg only. The root
conftest keeps, on that leg, the tests that use the `app` fixture; on the SQLite leg these are deselected here
(deselected, not skipped: the suite allows no skips)."""
from __future__ import annotations

from tests.conftest import BACKEND


def pytest_collection_modifyitems(config, items):
    if BACKEND == "postgresql":
        return
    deselected = [i for i in items if i.nodeid.startswith("tests/bench/")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [i for i in items if i not in deselected]
