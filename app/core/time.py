"""One definition of "now": naive UTC, stored as such on every backend."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    """Current UTC time without tzinfo, at microsecond precision (same on SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
