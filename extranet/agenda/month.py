"""The month view's grid: weeks from Monday to Sunday, in the reader's time zone.

A day is a day of the reader's calendar: an Amicall at 22:30 UTC is on the
next day for someone in La Réunion (UTC+4). The grid shows whole weeks, so it
starts on the Monday before the 1st and ends on the Sunday after the last day;
the events of those few days of the months around are shown too.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from extranet.agenda.services import PARIS, to_local, to_utc

FIRST_YEAR, LAST_YEAR = 2000, 2100
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def parse_month(value: str | None) -> date | None:
    """``"2027-03"`` as the 1st of that month; None when malformed or outside the years shown."""
    found = _MONTH.fullmatch((value or "").strip())
    if found is None:
        return None
    year, month = int(found.group(1)), int(found.group(2))
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def shift(first: date, months: int) -> date | None:
    """The 1st of the month ``months`` away; None outside the years shown."""
    index = first.year * 12 + first.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1) if FIRST_YEAR <= year <= LAST_YEAR else None


def grid_bounds(first: date) -> tuple[date, date]:
    """The Monday the grid starts on and the Sunday it ends on."""
    following = shift(first, 1) or date(first.year + 1, 1, 1)
    start = first - timedelta(days=first.weekday())
    last = following - timedelta(days=1)
    return start, last + timedelta(days=6 - last.weekday())


def utc_range(first: date, zone: str) -> tuple[datetime, datetime]:
    """The grid's first and last local midnights as naive UTC: [start, end)."""
    start, last = grid_bounds(first)
    return to_utc(datetime.combine(start, time()), zone), to_utc(datetime.combine(last + timedelta(days=1), time()), zone)


@dataclass
class Entry:
    event: object
    starts_here: bool  # False on the following days of an event over several days
    time: str = ""  # the start, in the reader's zone
    paris_time: str | None = None  # the start in Paris, when it differs


@dataclass
class Day:
    date: date
    in_month: bool
    is_today: bool
    entries: list[Entry] = field(default_factory=list)


def weeks(first: date, zone: str, today: date, events) -> list[list[Day]]:
    """The grid's weeks, each event on every local day it covers (``events`` soonest first)."""
    start, last = grid_bounds(first)
    days = {}
    for n in range((last - start).days + 1):
        day = start + timedelta(days=n)
        days[day] = Day(day, day.month == first.month, day == today)
    for event in events:
        local_start = to_local(event.starts_at, zone)
        local_end = to_local(event.ends_at, zone)
        paris_start = to_local(event.starts_at, PARIS)
        time_shown = local_start.strftime("%H:%M")
        paris_time = paris_start.strftime("%H:%M") if paris_start != local_start else None
        # An event ending at midnight does not spill onto the next day.
        end_day = (local_end - timedelta(microseconds=1)).date() if local_end > local_start else local_start.date()
        day = max(local_start.date(), start)
        while day <= min(end_day, last):
            days[day].entries.append(Entry(event, day == local_start.date(), time_shown, paris_time))
            day += timedelta(days=1)
    ordered = list(days.values())
    return [ordered[i:i + 7] for i in range(0, len(ordered), 7)]
