"""How fast one room connection may send: a token bucket per Socket.IO connection and kind of event, in the worker
that holds the connection (a connection lives in one worker). Every chat message, offer or move is stored or
broadcast, so a script in a browser could otherwise fill the record and everyone's screens; WebRTC signalling comes
in bursts (ICE candidates) and has a bucket of its own. The sizes are settings (ROOM_EVENT_BURST,
ROOM_EVENTS_PER_SECOND, ROOM_SIGNAL_BURST, ROOM_SIGNALS_PER_SECOND)."""
from __future__ import annotations

import threading
import time

from flask import current_app

DEFAULTS = {"chat": (20, 1.0), "signal": (300, 50.0)}  # burst, then tokens per second
_SETTINGS = {"chat": ("ROOM_EVENT_BURST", "ROOM_EVENTS_PER_SECOND"),
             "signal": ("ROOM_SIGNAL_BURST", "ROOM_SIGNALS_PER_SECOND")}
_buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (sid, kind) -> (tokens, when)
_lock = threading.Lock()


def _limits(kind: str) -> tuple[float, float]:
    burst_key, rate_key = _SETTINGS[kind]
    burst, rate = DEFAULTS[kind]
    cfg = current_app.config
    return float(cfg.get(burst_key, burst)), float(cfg.get(rate_key, rate))


def allow(sid: str, kind: str = "chat") -> bool:
    """Take one token from this connection's bucket; False when it is empty."""
    burst, rate = _limits(kind)
    now = time.monotonic()
    with _lock:
        tokens, then = _buckets.get((sid, kind), (burst, now))
        tokens = min(burst, tokens + (now - then) * rate)
        allowed = tokens >= 1
        _buckets[(sid, kind)] = (tokens - 1 if allowed else tokens, now)
    return allowed


def forget(sid: str) -> None:
    """The connection closed: its buckets go."""
    with _lock:
        for kind in DEFAULTS:
            _buckets.pop((sid, kind), None)
