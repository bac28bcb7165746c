"""One definition of "now": naive UTC, stored as such on every backend; and of Beijing's calendar (UTC+8 all year,
no daylight saving), in which residents count days: "today", deadlines, months."""
from datetime import UTC, date, datetime, timedelta, timezone

BEIJING_OFFSET = timedelta(hours=8)
CHINA_TZ = timezone(BEIJING_OFFSET, "CST")


def utcnow() -> datetime:
    """Current UTC time without tzinfo, at microsecond precision (same on SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


def beijing_today() -> date:
    """Today's date in Beijing, whatever the server's own time zone (a UTC server is a day behind until 08:00)."""
    return datetime.now(CHINA_TZ).date()


def beijing_date(moment: datetime) -> date:
    """The Beijing calendar date of a naive UTC datetime."""
    return (moment + BEIJING_OFFSET).date()


def day_start_utc(day: date) -> datetime:
    """The naive-UTC instant where this Beijing calendar day begins (16:00 UTC the day before)."""
    return datetime(day.year, day.month, day.day) - BEIJING_OFFSET
