"""The dashboard's panel cache is on for the tests here (the app leaves it off under TESTING), and empty at the start
and end of each: every test has its own data, and an earlier test's cached panels would show that test's numbers."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _panel_cache_on_and_empty(request, monkeypatch):
    from app.analytics import panel_cache

    if "app" in request.fixturenames:
        monkeypatch.setitem(request.getfixturevalue("app").config, "DASHBOARD_PANEL_CACHE", True)
    panel_cache.clear()
    yield
    panel_cache.clear()
