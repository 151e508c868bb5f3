"""Times are stored as naive UTC datetimes, identical on SQLite and PostgreSQL;
Flask-Babel shows them in the reader's time zone."""

import re
from datetime import UTC, datetime

# A lone "d" (day of the month) outside quoted literals of a CLDR pattern.
_DAY_FIELD = re.compile(r"('[^']*')|(?<!d)d(?!d)")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def first_of_month_pattern(pattern: str, day: int, locale) -> str:
    """French writes the first day of a month « 1er avril », not « 1 avril »:
    in a French pattern that names the month (MMM, MMMM), the day of the
    1st gets its ordinal. Any other pattern, day or language is unchanged."""
    if day != 1 or not str(locale or "").startswith("fr") or "MMM" not in pattern:
        return pattern
    return _DAY_FIELD.sub(lambda m: m.group(1) or "d'er'", pattern)
