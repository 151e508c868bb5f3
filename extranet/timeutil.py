"""Times are stored as naive UTC datetimes, identical on SQLite and PostgreSQL;
Flask-Babel shows them in the reader's time zone."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
