"""The iCalendar writer, read back by an independent parser (the `icalendar`
package), the way Thunderbird, Outlook or Google Calendar would read a feed."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from extranet.ical import DEFAULT_PRODID, CalendarEvent, calendar

PARIS = ZoneInfo("Europe/Paris")
STAMP = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def event(**overrides) -> CalendarEvent:
    values = dict(
        uid="agenda-event-42@extranet.logement-dabord.fr",
        sequence=0,
        dtstamp=STAMP,
        start=datetime(2026, 6, 11, 10, 0, tzinfo=PARIS),
        end=datetime(2026, 6, 11, 11, 30, tzinfo=PARIS),
        summary="Amicall : accès au logement",
        description="Ordre du jour",
        location="Visioconférence",
        url="https://extranet.example/agenda/42",
        tzid="Europe/Paris",
    )
    values.update(overrides)
    return CalendarEvent(**values)


def parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def only_event(data: bytes) -> icalendar.Event:
    (vevent,) = parse(data).walk("VEVENT")
    return vevent


def vtimezone_tz(data: bytes, tzid: str):
    """A tzinfo built from the VTIMEZONE we wrote, not from the TZID name."""
    (component,) = [tz for tz in parse(data).walk("VTIMEZONE") if str(tz["TZID"]) == tzid]
    return component.to_tz(lookup_tzid=False)


def test_calendar_and_event_carry_every_required_property():
    data = calendar(
        [
            event(
                organizer="equipe@dihal.example",
                organizer_name="Dihal, équipe",
                last_modified=datetime(2026, 5, 3, 8, 0, tzinfo=UTC),
            )
        ],
        name="Agenda Logement d'abord",
        method="PUBLISH",
    )
    cal = parse(data)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]) == DEFAULT_PRODID
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "Agenda Logement d'abord"

    vevent = only_event(data)
    assert str(vevent["UID"]) == "agenda-event-42@extranet.logement-dabord.fr"
    assert vevent.decoded("DTSTAMP") == STAMP
    assert b"DTSTAMP:20260504T093000Z\r\n" in data
    assert vevent.decoded("SEQUENCE") == 0
    assert vevent.decoded("DTSTART") == datetime(2026, 6, 11, 8, 0, tzinfo=UTC)
    assert vevent.decoded("DTEND") == datetime(2026, 6, 11, 9, 30, tzinfo=UTC)
    assert str(vevent["SUMMARY"]) == "Amicall : accès au logement"
    assert str(vevent["DESCRIPTION"]) == "Ordre du jour"
    assert str(vevent["LOCATION"]) == "Visioconférence"
    assert str(vevent["URL"]) == "https://extranet.example/agenda/42"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert vevent.decoded("LAST-MODIFIED") == datetime(2026, 5, 3, 8, 0, tzinfo=UTC)
    assert str(vevent["ORGANIZER"]) == "mailto:equipe@dihal.example"
    assert vevent["ORGANIZER"].params["CN"] == "Dihal, équipe"


def test_the_same_event_keeps_its_uid_and_a_change_shows_in_sequence_and_status():
    first = only_event(calendar([event()], name="A"))
    cancelled = only_event(calendar([event(sequence=3, status="CANCELLED")], name="A"))
    assert str(first["UID"]) == str(cancelled["UID"])
    assert cancelled.decoded("SEQUENCE") == 3
    assert str(cancelled["STATUS"]) == "CANCELLED"


@pytest.mark.parametrize(
    "text",
    [
        "Plénière, ateliers; déjeuner",
        "Ligne 1\nLigne 2\r\nLigne 3",
        "C:\\dossier\\compte-rendu; v2, final",
        "Accès : « Hôtel de Roquelaure » — salle Œ",
    ],
)
def test_text_round_trips_through_escaping(text):
    vevent = only_event(calendar([event(summary=text, description=text, location=text)], name=text))
    expected = text.replace("\r\n", "\n")
    assert str(vevent["SUMMARY"]) == expected
    assert str(vevent["DESCRIPTION"]) == expected
    assert str(vevent["LOCATION"]) == expected


def test_long_lines_are_folded_at_75_octets_with_crlf_on_character_boundaries():
    summary = ("Réunion « club des territoires », atelier n°3; " * 7)[:300]
    assert len(summary) == 300
    data = calendar([event(summary=summary, description="é" * 500)], name="Agenda")

    assert data.endswith(b"\r\n")
    physical = data.split(b"\r\n")[:-1]
    assert b"\n" not in b"".join(physical) and b"\r" not in b"".join(physical)
    for line in physical:
        assert len(line) <= 75
        line.decode("utf-8")  # a multi-byte character cut in two would raise
    assert any(line.startswith(b" ") for line in physical)
    assert str(only_event(data)["SUMMARY"]) == summary
    assert str(only_event(data)["DESCRIPTION"]) == "é" * 500


def paris_event(start_utc: datetime, tzid: str | None) -> bytes:
    return calendar([event(start=start_utc, end=start_utc + timedelta(hours=1), tzid=tzid)], name="A")


@pytest.mark.parametrize(
    "start_utc, paris_offset",
    [
        # Saturday before the October change: summer time.
        (datetime(2026, 10, 24, 8, 0, tzinfo=UTC), timedelta(hours=2)),
        # Monday after it: winter time.
        (datetime(2026, 10, 26, 9, 0, tzinfo=UTC), timedelta(hours=1)),
    ],
)
def test_utc_and_tzid_forms_name_the_same_instant_across_the_dst_change(start_utc, paris_offset):
    utc_data = paris_event(start_utc, None)
    tzid_data = paris_event(start_utc, "Europe/Paris")
    assert b"DTSTART:" + start_utc.strftime("%Y%m%dT%H%M%SZ").encode() in utc_data
    assert b"BEGIN:VTIMEZONE" not in utc_data
    assert b"DTSTART;TZID=Europe/Paris:" in tzid_data

    from_utc = only_event(utc_data).decoded("DTSTART")
    from_tzid = only_event(tzid_data).decoded("DTSTART")
    assert from_utc == from_tzid == start_utc

    # The wall time written, read with the offsets of our own VTIMEZONE,
    # must land on the same instant as zoneinfo says.
    wall = from_tzid.replace(tzinfo=None)
    assert wall == start_utc.astimezone(PARIS).replace(tzinfo=None)
    written_tz = vtimezone_tz(tzid_data, "Europe/Paris")
    assert wall.replace(tzinfo=written_tz).utcoffset() == paris_offset
    assert wall.replace(tzinfo=written_tz) == start_utc


def test_paris_vtimezone_has_summer_and_winter_rules_matching_zoneinfo_all_year():
    data = paris_event(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), "Europe/Paris")
    (vtimezone,) = parse(data).walk("VTIMEZONE")
    kinds = {(c.name, c["TZOFFSETFROM"].to_ical(), c["TZOFFSETTO"].to_ical()) for c in vtimezone.subcomponents}
    assert ("DAYLIGHT", "+0100", "+0200") in kinds
    assert ("STANDARD", "+0200", "+0100") in kinds
    written_tz = vtimezone_tz(data, "Europe/Paris")
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    while instant.year == 2026:
        local = instant.astimezone(PARIS)
        # The hour met twice in October is left out: it is the one the
        # writer says in UTC (see the ambiguous-time test).
        if not local.fold:
            wall = local.replace(tzinfo=written_tz)
            assert wall.utcoffset() == local.utcoffset(), local
        instant += timedelta(minutes=53)


@pytest.mark.parametrize(
    "tzid, offset",
    [("Indian/Reunion", "+0400"), ("America/Cayenne", "-0300"), ("Pacific/Noumea", "+1100")],
)
def test_overseas_zones_without_dst_get_one_fixed_offset(tzid, offset):
    start = datetime(2026, 10, 26, 6, 0, tzinfo=UTC)  # across Paris' change: must not matter
    data = calendar([event(start=start, end=start + timedelta(hours=2), tzid=tzid)], name="A")
    (vtimezone,) = parse(data).walk("VTIMEZONE")
    (only,) = vtimezone.subcomponents
    assert only.name == "STANDARD"
    assert only["TZOFFSETFROM"].to_ical() == offset
    assert only["TZOFFSETTO"].to_ical() == offset

    vevent = only_event(data)
    assert vevent.decoded("DTSTART") == start
    wall = vevent.decoded("DTSTART").replace(tzinfo=None)
    written_tz = vtimezone_tz(data, tzid)
    for month in (1, 4, 7, 10, 12):
        assert (
            wall.replace(month=month, tzinfo=written_tz).utcoffset()
            == wall.replace(month=month, tzinfo=ZoneInfo(tzid)).utcoffset()
        )


def test_reunion_coordinator_sees_a_paris_amicall_four_hours_later_in_winter():
    # 10:00 in Paris on 9 December is 09:00 UTC and 13:00 in La Réunion (UTC+4).
    start = datetime(2026, 12, 9, 10, 0, tzinfo=PARIS)
    data = calendar([event(start=start, end=start + timedelta(hours=1), tzid="Indian/Reunion")], name="A")
    assert b"DTSTART;TZID=Indian/Reunion:20261209T130000\r\n" in data
    assert only_event(data).decoded("DTSTART") == datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


def test_one_vtimezone_per_zone_used_covering_every_year_of_the_events():
    events = [
        event(uid="a", start=datetime(2026, 11, 5, 10, tzinfo=PARIS), end=datetime(2026, 11, 5, 11, tzinfo=PARIS)),
        event(uid="b", start=datetime(2028, 7, 5, 10, tzinfo=PARIS), end=datetime(2028, 7, 5, 11, tzinfo=PARIS)),
        event(uid="c", tzid="America/Cayenne"),
        event(uid="d", tzid=None),
    ]
    data = calendar(events, name="A")
    cal = parse(data)
    assert sorted(str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")) == ["America/Cayenne", "Europe/Paris"]
    written_tz = vtimezone_tz(data, "Europe/Paris")
    assert datetime(2028, 7, 5, 10, tzinfo=written_tz).utcoffset() == timedelta(hours=2)
    assert datetime(2027, 1, 5, 10, tzinfo=written_tz).utcoffset() == timedelta(hours=1)
    by_uid = {str(v["UID"]): v for v in cal.walk("VEVENT")}
    assert by_uid["b"].decoded("DTSTART") == datetime(2028, 7, 5, 8, tzinfo=UTC)
    assert by_uid["d"].decoded("DTSTART") == datetime(2026, 6, 11, 8, tzinfo=UTC)


def test_irregular_zone_history_is_written_transition_by_transition():
    # Moscow left permanent summer time (+04) for +03 on 26 October 2014:
    # no yearly rule describes that.
    moscow = ZoneInfo("Europe/Moscow")
    start = datetime(2014, 12, 1, 12, tzinfo=moscow)
    data = calendar([event(start=start, end=start + timedelta(hours=1), tzid="Europe/Moscow")], name="A")
    assert b"RRULE" not in data
    written_tz = vtimezone_tz(data, "Europe/Moscow")
    assert datetime(2014, 10, 1, 12, tzinfo=written_tz).utcoffset() == timedelta(hours=4)
    assert datetime(2014, 12, 1, 12, tzinfo=written_tz).utcoffset() == timedelta(hours=3)
    assert only_event(data).decoded("DTSTART") == datetime(2014, 12, 1, 9, tzinfo=UTC)


def test_the_second_occurrence_of_an_ambiguous_wall_time_is_written_in_utc():
    # 25 October 2026, 00:30 UTC is 02:30 summer time; 01:30 UTC is 02:30
    # again, winter time. A TZID time means the first one, so the second
    # must be said in UTC.
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    data = calendar(
        [event(uid="x", start=first, end=second), event(uid="y", start=second, end=second + timedelta(hours=1))], name="A"
    )
    by_uid = {str(v["UID"]): v for v in parse(data).walk("VEVENT")}
    # Aware datetimes in an ambiguous hour never compare equal across zones
    # (PEP 495): compare their UTC forms.
    assert by_uid["x"].decoded("DTSTART").astimezone(UTC) == first
    assert by_uid["x"].decoded("DTEND").astimezone(UTC) == second
    assert by_uid["y"].decoded("DTSTART").astimezone(UTC) == second
    assert b"DTSTART;TZID=Europe/Paris:20261025T023000\r\n" in data
    assert b"DTEND:20261025T013000Z\r\n" in data


def test_an_empty_calendar_is_valid():
    data = calendar([], name="Mes inscriptions")
    cal = parse(data)
    assert cal.name == "VCALENDAR"
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]) == DEFAULT_PRODID
    assert cal.walk("VEVENT") == [] and cal.walk("VTIMEZONE") == []
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    assert b"METHOD" not in data


@pytest.mark.parametrize(
    "overrides",
    [
        {"start": datetime(2026, 6, 11, 10, 0)},
        {"dtstamp": datetime(2026, 6, 11, 10, 0)},
        {"status": "MAYBE"},
        {"uid": ""},
        {"end": datetime(2026, 6, 11, 9, 0, tzinfo=PARIS)},
    ],
)
def test_values_that_would_produce_a_wrong_calendar_are_refused(overrides):
    with pytest.raises(ValueError):
        event(**overrides)


def test_unknown_time_zone_is_refused():
    with pytest.raises(KeyError):
        event(tzid="Europe/Atlantis")
