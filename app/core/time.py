"""One definition of "now": naive UTC, stored as such on every backend."""
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current UTC time without tzinfo, at microsecond precision (same on SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)
