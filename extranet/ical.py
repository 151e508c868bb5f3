"""An RFC 5545 (iCalendar) writer that takes plain values, not models, so
the agenda's `.ics` downloads and personal feeds share one serialiser that
can be tested without a database.

UTC or TZID? Both are written; callers should pass `tzid="Europe/Paris"`.
An event written with a TZID is shown by Thunderbird, Outlook and Google
Calendar as "10:00 (Paris)" and keeps its wall-clock hour if the client
re-edits it, while a UTC time is only an instant. A TZID costs a VTIMEZONE
component, which RFC 5545 requires for every TZID used; it is generated here
from zoneinfo so it can never disagree with how the rest of the extranet
converts times. `tzid=None` writes `...Z` times, which every parser
understands and needs no VTIMEZONE.
"""

from __future__ import annotations

import calendar as _calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_PRODID = "-//Dihal//Extranet Logement d'abord//FR"
STATUSES = ("CONFIRMED", "CANCELLED", "TENTATIVE")

_MAX_OCTETS = 75  # RFC 5545 §3.1, excluding the CRLF
# TEXT values may hold HTAB but no other control character (§3.3.11);
# a stray one makes strict parsers reject the whole calendar.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TOKEN = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True, kw_only=True)
class CalendarEvent:
    """One VEVENT. Datetimes must be timezone-aware: a naive value has no
    instant, and guessing one is how meetings end up an hour off.

    `uid` must stay the same for the life of the event (clients match
    updates on it) and `sequence` must grow on every change the attendees
    should see (reschedule, cancellation), or clients keep the old copy.
    """

    uid: str
    sequence: int
    dtstamp: datetime
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str = ""
    url: str | None = None
    status: str = "CONFIRMED"
    tzid: str | None = None
    organizer: str | None = None  # an email address
    organizer_name: str | None = None
    last_modified: datetime | None = None

    def __post_init__(self) -> None:
        if not self.uid or _CONTROL.search(self.uid) or "\n" in self.uid:
            raise ValueError("uid must be a non-empty single line")
        if self.sequence < 0:
            raise ValueError("sequence must be >= 0")
        for name in ("dtstamp", "start", "end", "last_modified"):
            value = getattr(self, name)
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise ValueError(f"{name} must be a timezone-aware datetime")
        if self.end < self.start:
            raise ValueError("end must not be before start")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if self.tzid is not None:
            ZoneInfo(self.tzid)  # raises ZoneInfoNotFoundError (a KeyError) early


def calendar(
    events: Iterable[CalendarEvent],
    *,
    name: str,
    prodid: str = DEFAULT_PRODID,
    method: str | None = None,
) -> bytes:
    """A complete VCALENDAR as UTF-8 bytes with CRLF line ends.

    `method` is usually left out for a feed or a download: with METHOD set,
    Outlook treats the file as a scheduling message rather than a calendar
    to import; "PUBLISH" is the only value that suits a non-invitation.
    """
    events = list(events)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:" + escape_text(prodid),
        "CALSCALE:GREGORIAN",
    ]
    if method is not None:
        if not _TOKEN.match(method):
            raise ValueError("method must be an iCalendar token such as PUBLISH")
        lines.append("METHOD:" + method.upper())
    lines.append("X-WR-CALNAME:" + escape_text(name))

    years: dict[str, set[int]] = {}
    for event in events:
        if event.tzid is not None:
            zone = ZoneInfo(event.tzid)
            span = years.setdefault(event.tzid, set())
            span.add(event.start.astimezone(zone).year)
            span.add(event.end.astimezone(zone).year)
    for tzid in sorted(years):
        lines.extend(vtimezone(tzid, min(years[tzid]), max(years[tzid])))

    for event in events:
        lines.extend(_vevent(event))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines).encode("utf-8")


def _vevent(event: CalendarEvent) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        "UID:" + escape_text(event.uid),
        "DTSTAMP:" + _utc(event.dtstamp),
        "SEQUENCE:" + str(int(event.sequence)),
        _datetime_property("DTSTART", event.start, event.tzid),
        _datetime_property("DTEND", event.end, event.tzid),
        "SUMMARY:" + escape_text(event.summary),
    ]
    if event.description:
        lines.append("DESCRIPTION:" + escape_text(event.description))
    if event.location:
        lines.append("LOCATION:" + escape_text(event.location))
    if event.url:
        # A URI is not TEXT: commas and semicolons stay as they are.
        lines.append("URL:" + _single_line(event.url))
    if event.organizer:
        params = ""
        if event.organizer_name:
            params = ";CN=" + _param_value(event.organizer_name)
        lines.append(f"ORGANIZER{params}:mailto:{_single_line(event.organizer)}")
    lines.append("STATUS:" + event.status)
    if event.last_modified is not None:
        lines.append("LAST-MODIFIED:" + _utc(event.last_modified))
    lines.append("END:VEVENT")
    return lines


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _datetime_property(name: str, value: datetime, tzid: str | None) -> str:
    if tzid is None:
        return f"{name}:{_utc(value)}"
    local = value.astimezone(ZoneInfo(tzid))
    # A wall time met twice (02:30 on the night clocks go back) means its
    # first occurrence in iCalendar (§3.3.5); the second one can only be
    # said in UTC.
    if local.fold and _is_ambiguous(local):
        return f"{name}:{_utc(value)}"
    return f"{name};TZID={_param_value(tzid)}:{local.strftime('%Y%m%dT%H%M%S')}"


def _is_ambiguous(local: datetime) -> bool:
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def escape_text(value: str) -> str:
    """TEXT escaping (§3.3.11): backslash first, so the escapes added for
    the others are not themselves doubled."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _single_line(value: str) -> str:
    return _CONTROL.sub("", value.replace("\r", "").replace("\n", "")).strip()


def _param_value(value: str) -> str:
    # Parameter values cannot hold a DQUOTE at all (§3.1), and need quoting
    # when they hold ":", ";" or ",".
    value = _single_line(value).replace('"', "'")
    if any(c in value for c in ":;,"):
        return f'"{value}"'
    return value


def fold(line: str) -> str:
    """Splits a content line so that no physical line exceeds 75 octets,
    never inside a UTF-8 sequence (an accented letter cut in two is mojibake
    in every client)."""
    data = line.encode("utf-8")
    if len(data) <= _MAX_OCTETS:
        return line
    # Cut the bytes, not the characters: a feed folds thousands of lines.
    parts: list[bytes] = []
    start, limit = 0, _MAX_OCTETS
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: step back to the character's start
            cut -= 1
        parts.append(data[start:cut])
        start, limit = cut, _MAX_OCTETS - 1  # the leading space counts
    parts.append(data[start:])
    return b"\r\n ".join(parts).decode("utf-8")


# --- VTIMEZONE ---------------------------------------------------------------


@dataclass(frozen=True)
class _Transition:
    at: datetime  # UTC instant of the change
    offset_from: timedelta
    offset_to: timedelta
    daylight: bool
    name: str

    @property
    def local_onset(self) -> datetime:
        # Onsets are written as local time in the offset being left (§3.6.5).
        return (self.at + self.offset_from).replace(tzinfo=None)


def vtimezone(tzid: str, first_year: int, last_year: int) -> list[str]:
    """A VTIMEZONE valid from 1 January of `first_year` to the end of
    `last_year`, taken from zoneinfo.

    Regular yearly changes (Europe/Paris: last Sunday of March and October)
    become one STANDARD and one DAYLIGHT rule with an RRULE, the form
    Outlook and Apple write and every client reads. Anything irregular is
    written as one sub-component per transition. A zone without changes
    (Indian/Reunion, America/Cayenne, Pacific/Noumea) gets a single
    STANDARD whose offset does not move.
    """
    zone = ZoneInfo(tzid)
    # The scan starts a year early so that 1 January of `first_year` lies
    # after an onset: times before every DTSTART of a VTIMEZONE are undefined.
    scan_from = datetime(first_year - 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
    scan_to = datetime(last_year + 1, 1, 1, tzinfo=UTC) + timedelta(days=1)
    transitions = _transitions(zone, scan_from, scan_to)

    lines = ["BEGIN:VTIMEZONE", "TZID:" + escape_text(tzid)]
    rules = _yearly_rules(transitions, first_year - 1, last_year)
    if rules is not None:
        for transition, rrule in rules:
            lines.extend(_observance(transition, transition.local_onset, rrule))
    else:
        onset = datetime(first_year - 1, 1, 1)
        offset, daylight, name = _state(zone, onset.replace(tzinfo=zone))
        initial = _Transition(onset - offset, offset, offset, daylight, name)
        lines.extend(_observance(initial, onset, None))
        for transition in transitions:
            lines.extend(_observance(transition, transition.local_onset, None))
    lines.append("END:VTIMEZONE")
    return lines


def _state(zone: tzinfo, instant: datetime) -> tuple[timedelta, bool, str]:
    local = instant.astimezone(zone)
    return local.utcoffset(), bool(local.dst()), local.tzname() or ""


def _transitions(zone: tzinfo, start: datetime, end: datetime) -> list[_Transition]:
    """zoneinfo does not expose its transition table: walk day by day (no
    zone changes twice in a day) and bisect each change to the second."""
    found = []
    step = timedelta(days=1)
    t = start
    before = _state(zone, t)
    while t < end:
        after = _state(zone, t + step)
        if after != before:
            low, high = t, t + step
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                mid = mid.replace(microsecond=0)
                if mid <= low:
                    break
                if _state(zone, mid) == before:
                    low = mid
                else:
                    high = mid
            found.append(_Transition(high, before[0], after[0], after[1], after[2]))
        before = after
        t += step
    return found


def _yearly_rules(transitions: list[_Transition], first_year: int, last_year: int) -> list[tuple[_Transition, str]] | None:
    """Groups transitions that recur once a year at the same local hour on
    the same weekday of the same week of the same month; None unless every
    transition fits such a rule in every year of the range."""
    if not transitions:
        return None
    groups: dict[tuple, list[_Transition]] = {}
    for tr in transitions:
        onset = tr.local_onset
        key = (
            tr.daylight,
            tr.offset_from,
            tr.offset_to,
            tr.name,
            onset.month,
            onset.weekday(),
            onset.time(),
        )
        groups.setdefault(key, []).append(tr)
    years = list(range(first_year, last_year + 1))
    rules = []
    for (_, _, _, _, month, weekday, _), group in groups.items():
        if [tr.local_onset.year for tr in group] != years:
            return None
        weeks: set[int] | None = None
        for tr in group:
            day = tr.local_onset.day
            possible = {(day - 1) // 7 + 1}
            if day + 7 > _calendar.monthrange(tr.local_onset.year, month)[1]:
                possible.add(-1)
            weeks = possible if weeks is None else weeks & possible
        if not weeks:
            return None
        week = -1 if -1 in weeks else min(weeks)
        byday = f"{week}{('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[weekday]}"
        rules.append((group[0], f"FREQ=YEARLY;BYMONTH={month};BYDAY={byday}"))
    rules.sort(key=lambda rule: rule[0].at)
    return rules


def _observance(tr: _Transition, onset: datetime, rrule: str | None) -> list[str]:
    kind = "DAYLIGHT" if tr.daylight else "STANDARD"
    lines = [
        "BEGIN:" + kind,
        "DTSTART:" + onset.strftime("%Y%m%dT%H%M%S"),
        "TZOFFSETFROM:" + _offset(tr.offset_from),
        "TZOFFSETTO:" + _offset(tr.offset_to),
    ]
    if rrule:
        lines.append("RRULE:" + rrule)
    if tr.name:
        lines.append("TZNAME:" + escape_text(tr.name))
    lines.append("END:" + kind)
    return lines


def _offset(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")
