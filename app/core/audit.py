"""Hash chains for append-only histories: h_i = sha256(h_{i-1} || canonical(event_i)).

A free text that may have to be erased later (a reason that names people) is not put in the payload itself but as
a salted digest (commit_text): the text and its salt can then be deleted and the chain still verifies, and without
the salt the digest does not let anyone test guesses of a short text."""
from __future__ import annotations

import hashlib
import json
import secrets
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


def text_digest(salt: str, text: str) -> str:
    """The digest a chain payload holds in place of `text`."""
    return hashlib.sha256(f"{salt}\x00{text}".encode()).hexdigest()


def commit_text(text: str) -> tuple[str, str]:
    """(a fresh random salt, the digest of text under it)."""
    salt = secrets.token_hex(16)
    return salt, text_digest(salt, text)
