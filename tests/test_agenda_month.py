"""The agenda's month view: a calendar grid whose days are the reader's days
(Paris, La Réunion, Guyane, across daylight-saving changes), the filters of the
list (kind, axis, group, mine) kept from month to month, and a bounded number
of SQL queries whatever the number of events."""

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from extranet.agenda import services
from extranet.agenda.models import Event, EventKind
from extranet.auth.models import User
from extranet.extensions import db
from extranet.plan.models import Axis
from extranet.timeutil import utcnow

from .group_helpers import text_of
from .helpers import parse, queries_for

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def cells(response) -> dict[str, str]:
    """The text of each day of the grid, by ISO date."""
    root = parse(response.get_data(as_text=True))
    return {n.attrs["data-date"]: n.text() for n in root.iter() if n.tag == "td" and "data-date" in n.attrs}


def day_of(response, title) -> list[str]:
    return sorted(day for day, text in cells(response).items() if title in text)


def link(response, rel) -> dict:
    root = parse(response.get_data(as_text=True))
    href = next(n.attrs["href"] for n in root.iter() if n.tag == "a" and n.attrs.get("rel") == rel)
    assert urlsplit(href).path == "/agenda/month"
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def axis_id(app, number) -> int:
    with app.app_context():
        return db.session.scalar(select(Axis.id).filter_by(number=number))


def register_directly(app, event, user):
    with app.app_context(), app.test_request_context():
        services.register(db.session.get(User, user.id), db.session.get(Event, event.id))
        db.session.commit()


# --- The grid -------------------------------------------------------------------------------------


def test_an_accessible_french_grid_from_monday(client, logged_in, make_event):
    make_event("Amicall de février", starts_at=datetime(2027, 2, 10, 13, 0))
    logged_in("member")
    response = client.get("/agenda/month?month=2027-02")
    assert response.status_code == 200
    root = parse(response.get_data(as_text=True))
    table = next(n for n in root.iter() if n.tag == "table")
    assert next(n for n in table.iter() if n.tag == "caption").text().startswith("Février 2027")
    headers = [n for n in table.iter() if n.tag == "th"]
    assert [h.text() for h in headers] == ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"]
    assert all(h.attrs.get("scope") == "col" for h in headers)
    # February 2027 starts on a Monday and fills exactly four weeks.
    days = cells(response)
    assert list(days)[0] == "2027-02-01" and list(days)[-1] == "2027-02-28" and len(days) == 28
    assert "14:00" in days["2027-02-10"] and "Amicall de février" in days["2027-02-10"] and "Amicall" in days["2027-02-10"]
    html = text_of(response)
    assert "Agenda de février 2027" in html and "Mois précédent\u00a0: janvier 2027" in html and "Mois suivant\u00a0: mars 2027" in html


@pytest.mark.parametrize(
    "timezone, late_day, early_day, late_time",
    [
        # 22:30 UTC: 23:30 in Paris, 02:30 the next day in La Réunion, 19:30 in Cayenne.
        ("Europe/Paris", "2027-01-14", "2027-01-15", "23:30"),
        ("Indian/Reunion", "2027-01-15", "2027-01-15", "02:30"),
        ("America/Cayenne", "2027-01-14", "2027-01-14", "19:30"),
    ],
)
def test_days_are_the_readers_days(client, as_, make_event, timezone, late_day, early_day, late_time):
    make_event("Amicall tardif", starts_at=datetime(2027, 1, 14, 22, 30), hours=0.25)
    # 02:00 UTC: 23:00 the day before in Cayenne.
    make_event("Amicall matinal", starts_at=datetime(2027, 1, 15, 2, 0), hours=0.25)
    as_("coordinator", territory="la-reunion", timezone=timezone)
    response = client.get("/agenda/month?month=2027-01")
    assert day_of(response, "Amicall tardif") == [late_day]
    assert day_of(response, "Amicall matinal") == [early_day]
    assert late_time in cells(response)[late_day]
    if timezone != "Europe/Paris":
        # Paris time beside the reader's own.
        assert f"{late_time} (23:30 in Paris)" in cells(response)[late_day]


def test_the_month_edges_are_the_readers_midnights(client, as_, make_event):
    # 1 March 2027 at 01:30 in La Réunion is still 28 February in UTC.
    make_event("Début de mois réunionnais", starts_at=datetime(2027, 2, 28, 21, 30), hours=0.25)
    as_("member", timezone="Indian/Reunion")
    assert day_of(client.get("/agenda/month?month=2027-03"), "Début de mois réunionnais") == ["2027-03-01"]
    # February's grid ends on Sunday the 28th: the event is not there.
    assert day_of(client.get("/agenda/month?month=2027-02"), "Début de mois réunionnais") == []


@pytest.mark.parametrize(
    "month, starts_at, day, shown",
    [
        # Paris moves to summer time at 01:00 UTC on 28 March 2027 (UTC+1 → UTC+2).
        ("2027-03", datetime(2027, 3, 27, 23, 30), "2027-03-28", "00:30"),
        ("2027-03", datetime(2027, 3, 28, 21, 30), "2027-03-28", "23:30"),
        ("2027-03", datetime(2027, 3, 28, 22, 30), "2027-03-29", "00:30"),
        # 1 April at 00:30 in Paris, in the last week of March's grid.
        ("2027-03", datetime(2027, 3, 31, 22, 30), "2027-04-01", "00:30"),
        # And back to winter time at 01:00 UTC on 31 October 2027 (UTC+2 → UTC+1).
        ("2027-10", datetime(2027, 10, 30, 22, 30), "2027-10-31", "00:30"),
        ("2027-10", datetime(2027, 10, 31, 22, 30), "2027-10-31", "23:30"),
        ("2027-11", datetime(2027, 10, 31, 23, 30), "2027-11-01", "00:30"),
    ],
)
def test_daylight_saving_changes_in_paris(client, as_, make_event, month, starts_at, day, shown):
    make_event("Amicall de nuit", starts_at=starts_at, hours=0.25)
    as_("member", timezone="Europe/Paris")
    response = client.get(f"/agenda/month?month={month}")
    assert day_of(response, "Amicall de nuit") == [day]
    assert shown in cells(response)[day]


def test_an_event_over_several_days_is_on_each(client, as_, make_event):
    make_event("Club de printemps", kind=EventKind.CLUB, starts_at=datetime(2027, 4, 7, 7, 0), ends_at=datetime(2027, 4, 8, 15, 0))
    # Ends at midnight sharp, Paris time: not on the next day.
    make_event("Soirée", starts_at=datetime(2027, 4, 12, 19, 0), ends_at=datetime(2027, 4, 12, 22, 0))
    as_("member")
    response = client.get("/agenda/month?month=2027-04")
    assert day_of(response, "Club de printemps") == ["2027-04-07", "2027-04-08"]
    assert "09:00" in cells(response)["2027-04-07"] and "(continued)" in cells(response)["2027-04-08"]
    assert day_of(response, "Soirée") == ["2027-04-12"]


def test_today_is_marked_in_the_readers_zone(client, as_):
    as_("member", timezone="Pacific/Kiritimati")
    response = client.get("/agenda/month")
    assert response.status_code == 200
    today = services.to_local(utcnow(), "Pacific/Kiritimati").date().isoformat()
    root = parse(response.get_data(as_text=True))
    marked = [n.attrs["data-date"] for n in root.iter() if n.tag == "td" and n.attrs.get("aria-current") == "date"]
    assert marked == [today]
    assert "Today" in cells(response)[today]
    # The current month needs no "this month" link; another month has one.
    assert "This month" not in text_of(response)
    assert "This month" in text_of(client.get("/agenda/month?month=2031-01"))


def test_cancelled_events_and_my_registrations_are_marked(client, app, as_, make_event):
    mine = make_event("Amicall où je vais", starts_at=datetime(2031, 5, 6, 12, 0))
    make_event("Webinaire annulé", kind=EventKind.WEBINAR, starts_at=datetime(2031, 5, 7, 12, 0))
    with app.app_context():
        event = db.session.scalar(select(Event).filter_by(title="Webinaire annulé"))
        event.status = "cancelled"
        db.session.commit()
    user = as_("member")
    register_directly(app, mine, user)
    days = cells(client.get("/agenda/month?month=2031-05"))
    assert "Registered" in days["2031-05-06"]
    assert "Webinar" in days["2031-05-07"] and "Cancelled" in days["2031-05-07"]


# --- Filters and navigation ------------------------------------------------------------------------


def test_filters_kind_axis_group_and_mine(client, app, as_, make_event, make_group):
    group = make_group("Groupe prévention des expulsions")
    axis12, axis3 = axis_id(app, 12), axis_id(app, 3)
    day = datetime(2031, 6, 10, 12, 0)
    make_event("Amicall expulsions", starts_at=day, axis_ids=[axis12])
    make_event("Amicall accompagnement", starts_at=day, axis_ids=[axis3])
    club = make_event("Club de juin", kind=EventKind.CLUB, starts_at=day, axis_ids=[axis12, axis3])
    make_event("Réunion du groupe", kind=EventKind.GROUP_MEETING, starts_at=day, group=group)
    user = as_("member")
    register_directly(app, club, user)

    def shown(query):
        response = client.get(f"/agenda/month?month=2031-06&{query}")
        assert response.status_code == 200
        text = cells(response)["2031-06-10"]
        return {t for t in ("Amicall expulsions", "Amicall accompagnement", "Club de juin", "Réunion du groupe") if t in text}

    assert shown("") == {"Amicall expulsions", "Amicall accompagnement", "Club de juin", "Réunion du groupe"}
    assert shown(f"axis={axis12}") == {"Amicall expulsions", "Club de juin"}
    assert shown(f"axis={axis12}&kind=amicall") == {"Amicall expulsions"}
    assert shown(f"group={group.id}") == {"Réunion du groupe"}
    assert shown("mine=1") == {"Club de juin"}
    # Odd values filter nothing rather than fail.
    assert shown("axis=999999&kind=nonsense&group=abc&mine=yes") == shown("")
    # The list view filters on the axis too.
    listing = text_of(client.get(f"/agenda/?axis={axis3}"))
    assert "Amicall accompagnement" in listing and "Club de juin" in listing and "Amicall expulsions" not in listing


def test_the_axis_select_lists_the_sixteen_axes_by_priority(client, app, as_):
    as_("member")
    for url in ("/agenda/", "/agenda/month"):
        root = parse(client.get(url).get_data(as_text=True))
        select_ = next(n for n in root.iter() if n.tag == "select" and n.attrs.get("id") == "filter-axis")
        groups = [n for n in select_.iter() if n.tag == "optgroup"]
        assert len(groups) == 5 and groups[0].attrs["label"].startswith("Priority I ")
        options = [n.attrs["value"] for n in select_.iter() if n.tag == "option" and n.attrs["value"]]
        assert len(options) == 16
    with app.app_context():
        label = next(n for n in root.iter() if n.tag == "label" and n.attrs.get("for") == "filter-axis")
    assert label.text() == "Axis of the plan"


def test_navigation_keeps_the_filters(client, app, as_, make_group):
    group = make_group()
    axis = axis_id(app, 12)
    as_("member")
    response = client.get(f"/agenda/month?month=2027-01&kind=club&axis={axis}&group={group.id}&mine=1")
    expected = {"kind": "club", "axis": str(axis), "group": str(group.id), "mine": "1"}
    assert link(response, "prev") == {"month": "2026-12", **expected}
    assert link(response, "next") == {"month": "2027-02", **expected}
    # The filter form keeps the month; the switch to the list keeps the filters.
    root = parse(response.get_data(as_text=True))
    assert any(n.tag == "input" and n.attrs.get("name") == "month" and n.attrs.get("value") == "2027-01" for n in root.iter())
    to_list = next(n.attrs["href"] for n in root.iter() if n.tag == "a" and n.text() == "List")
    assert urlsplit(to_list).path == "/agenda/" and {k: v[0] for k, v in parse_qs(urlsplit(to_list).query).items()} == expected
    # And back: the list links to the month view with its filters.
    root = parse(client.get(f"/agenda/?kind=club&axis={axis}").get_data(as_text=True))
    to_month = next(n.attrs["href"] for n in root.iter() if n.tag == "a" and n.text() == "Month")
    assert urlsplit(to_month).path == "/agenda/month"
    assert {k: v[0] for k, v in parse_qs(urlsplit(to_month).query).items()} == {"kind": "club", "axis": str(axis)}


@pytest.mark.parametrize("month", ["2027-13", "2027-00", "mars", "1999-12", "2101-01", "2027-03-01", "99999999-01", "2027-1'"])
def test_an_invalid_month_says_so_in_french(client, logged_in, month):
    logged_in("member")
    response = client.get("/agenda/month", query_string={"month": month})
    assert response.status_code == 400
    html = text_of(response)
    assert "Ce mois ne peut pas être affiché" in html
    # The current month is shown instead.
    assert len(cells(response)) >= 28


def test_the_years_shown_are_bounded(client, as_):
    as_("member")
    first = client.get("/agenda/month?month=2000-01")
    last = client.get("/agenda/month?month=2100-12")
    assert first.status_code == last.status_code == 200
    assert 'rel="prev"' not in first.get_data(as_text=True) and 'rel="next"' in first.get_data(as_text=True)
    assert 'rel="next"' not in last.get_data(as_text=True) and 'rel="prev"' in last.get_data(as_text=True)


def test_a_closed_groups_events_stay_private(client, app, as_, make_user, login, make_group, make_event):
    member = make_user("member")
    closed = make_group("Groupe fermé", is_open=False, members=[member])
    make_event("Réunion confidentielle", group=closed, kind=EventKind.GROUP_MEETING, starts_at=datetime(2031, 3, 4, 9, 0))
    as_("member")
    assert day_of(client.get("/agenda/month?month=2031-03"), "Réunion confidentielle") == []
    inside = app.test_client()
    login(member, client=inside)
    assert day_of(inside.get("/agenda/month?month=2031-03"), "Réunion confidentielle") == ["2031-03-04"]


def test_filtering_on_a_closed_group_one_may_not_read_filters_nothing(client, app, as_, make_user, make_group, make_event):
    closed = make_group("Groupe fermé des bailleurs", is_open=False, members=[make_user("member")])
    make_event("Amicall ouvert à tous", starts_at=datetime(2031, 3, 5, 9, 0))
    as_("member")
    for page in ("/agenda/month?month=2031-03", "/agenda/?when=upcoming"):
        response = client.get(f"{page}&group={closed.id}")
        assert response.status_code == 200
        text = text_of(response)
        assert "Groupe fermé des bailleurs" not in text and f'name="group" value="{closed.id}"' not in response.get_data(as_text=True)
        assert "Amicall ouvert à tous" in text  # as if no group was asked for


def test_the_month_view_runs_a_bounded_number_of_queries(client, app, as_, make_event, make_group):
    group = make_group()
    axis = axis_id(app, 12)
    user = as_("member")
    first_day = datetime(2031, 7, 1, 8, 0)

    def add(n, start):
        events = []
        for i in range(start, start + n):
            events.append(make_event(f"Événement {i}", starts_at=first_day + timedelta(hours=11 * i), hours=1,
                                     group=group if i % 3 == 1 else None, axis_ids=[axis] if i % 2 else []))
        return events

    for event in add(3, 0):
        register_directly(app, event, user)
    urls = ["/agenda/month?month=2031-07", f"/agenda/month?month=2031-07&axis={axis}&mine=1", "/agenda/"]
    few = {url: queries_for(app, client, url) for url in urls}
    for event in add(57, 3)[::5]:
        register_directly(app, event, user)
    many = {url: queries_for(app, client, url) for url in urls}
    assert len(cells(client.get("/agenda/month?month=2031-07"))) == 35
    assert many == few, (few, many)
    assert max(few.values()) <= 15, few
