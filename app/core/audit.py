"""Hash chains for append-only histories: h_i = sha256(h_{i-1} || canonical(event_i))."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def canonical(payload: dict[str, Any]) -> bytes:
    """Deterministic JSON bytes: sorted keys, no spaces, UTF-8, datetimes at microsecond precision."""

    def default(value: Any) -> str:
        if isinstance(value, datetime):
            return value.replace(tzinfo=None).isoformat(timespec="microseconds")
        return str(value)

    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=default).encode("utf-8")


def chain_hash(previous_hash: str, payload: dict[str, Any]) -> str:
    """The link hash of one event given the previous link's hash."""
    return hashlib.sha256(previous_hash.encode("ascii") + canonical(payload)).hexdigest()
