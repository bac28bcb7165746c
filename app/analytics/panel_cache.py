"""A short in-process cache of the governance dashboard's built panels.

The panels read rollups that are themselves refreshed periodically, so figures up to TTL seconds old are honest as
long as the page says when they were computed. Entries live in this process only (a dict: no pickle, no Redis):
`rollups.refresh()` clears the cache of the process that runs it, and other gunicorn workers' entries expire within
TTL seconds. Callers key entries by what decides the numbers: the scope the current user is allowed (organisation
or all, checked on every request before the cache is read), the filter's dates and the locale.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import TypeVar

from app.core.time import utcnow

TTL = 60.0          # seconds
MAX_ENTRIES = 256   # scopes x filters x locales x (page + one per CSV panel): plenty for the admins of a county

T = TypeVar("T")
_entries: dict[Hashable, tuple[float, datetime, object]] = {}   # key -> (expires at, computed at, value)
_lock = threading.Lock()


def _now() -> float:
    """The monotonic clock (tests monkeypatch this)."""
    return time.monotonic()


def get_or_build(key: Hashable, build: Callable[[], T]) -> tuple[T, datetime]:
    """The cached value for key and when it was computed (UTC), building and storing it when absent or expired."""
    now = _now()
    with _lock:
        entry = _entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[2], entry[1]  # type: ignore[return-value]
    computed_at = utcnow()
    value = build()  # outside the lock: two requests may both build on a miss, which is harmless
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            for stale in [k for k, e in _entries.items() if e[0] <= now]:
                del _entries[stale]
            while len(_entries) >= MAX_ENTRIES:
                del _entries[next(iter(_entries))]  # the oldest insertion
        _entries.pop(key, None)  # re-inserted last, so insertion order stays oldest first
        _entries[key] = (now + TTL, computed_at, value)  # counted from when the figures were read
    return value, computed_at


def clear() -> None:
    """Forget every entry (after a rollup refresh; between tests)."""
    with _lock:
        _entries.clear()


def size() -> int:
    """How many entries are held (for tests and the size cap)."""
    return len(_entries)
