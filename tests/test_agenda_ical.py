"""The agenda in other calendars: an event's .ics download and the personal
subscription feed, parsed back with the independent ``icalendar`` package."""

import re
from datetime import UTC, timedelta

import icalendar

from extranet.agenda import services
from extranet.agenda.models import CalendarFeed, Event, EventKind, EventStatus
from extranet.auth.models import User
from extranet.extensions import db
from extranet.timeutil import utcnow

from .conftest import csrf_token_from
from .test_agenda import register_directly

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def vevents(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(response.get_data())
    return {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}


def reschedule(app, event, hours=1):
    with app.app_context(), app.test_request_context():
        e = db.session.get(Event, event.id)
        actor = db.session.get(User, e.created_by_id)
        values = {name: getattr(e, name) for name in services.EDITABLE_FIELDS}
        values["starts_at"] = e.starts_at + timedelta(hours=hours)
        values["ends_at"] = e.ends_at + timedelta(hours=hours)
        values.pop("group_id")
        services.update_event(actor, e, group=e.group, **values)
        db.session.commit()


def cancel(app, event):
    # No cancellation service yet (issue 5, point 5): what it will do to the row.
    with app.app_context():
        e = db.session.get(Event, event.id)
        e.status = EventStatus.CANCELLED
        e.sequence += 1
        db.session.commit()


def make_feed(client, login, user) -> str:
    login(user, client=client)
    page = client.get("/agenda/")
    assert "calendar-feed" in page.get_data(as_text=True)
    response = client.post("/agenda/feed/new", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.status_code == 302
    html = client.get("/agenda/").get_data(as_text=True)
    found = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', html)
    assert found, "the new link is shown once"
    assert 'id="feed-url"' not in client.get("/agenda/").get_data(as_text=True), "and only once"
    return "/" + found.group(1).split("://", 1)[1].split("/", 1)[1]


def test_download_has_the_event_with_uid_sequence_and_times(app, client, make_event, as_):
    starts = (utcnow() + timedelta(days=10)).replace(microsecond=0, second=0)
    event = make_event("Amicall jeunes", starts_at=starts, hours=2, description="Un **échange** entre territoires.",
                       place="Paris, salle 1", joining_details="https://visio.example.org/secret")
    as_("member")
    response = client.get(f"/agenda/{event.id}.ics")
    assert "attachment" in response.headers["Content-Disposition"] and ".ics" in response.headers["Content-Disposition"]
    vevent = vevents(response)["Amicall jeunes"]
    assert str(vevent["UID"]) == f"event-{event.id}@extranet.logement-dabord"
    assert int(vevent["SEQUENCE"]) == 0
    assert vevent["DTSTART"].dt.astimezone(UTC) == starts.replace(tzinfo=UTC)
    assert vevent["DTEND"].dt.astimezone(UTC) == (starts + timedelta(hours=2)).replace(tzinfo=UTC)
    assert str(vevent["DTSTART"].dt.tzinfo) in ("Europe/Paris", "CET") or vevent["DTSTART"].params.get("TZID") == "Europe/Paris"
    description = str(vevent["DESCRIPTION"])
    assert "Un échange entre territoires." in description and "<" not in description and "**" not in description
    assert f"/agenda/{event.id}" in description
    assert str(vevent["STATUS"]) == "CONFIRMED"
    # Not registered: the joining details stay on the page, for registered people.
    assert "visio.example.org" not in response.get_data(as_text=True)
    assert str(vevent["LOCATION"]) == "Paris, salle 1"


def test_joining_details_for_a_registered_person(app, client, make_event, as_):
    event = make_event("Amicall visio", joining_details="https://visio.example.org/secret")
    user = as_("member")
    register_directly(app, event, user)
    assert "visio.example.org/secret" in str(vevents(client.get(f"/agenda/{event.id}.ics"))["Amicall visio"]["DESCRIPTION"])


def test_rescheduling_bumps_sequence_and_keeps_uid_and_cancelling_says_cancelled(app, client, make_event, as_):
    event = make_event("Club de printemps", kind=EventKind.CLUB)
    as_("member")
    before = vevents(client.get(f"/agenda/{event.id}.ics"))["Club de printemps"]
    reschedule(app, event, hours=3)
    after = vevents(client.get(f"/agenda/{event.id}.ics"))["Club de printemps"]
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after["DTSTART"].dt - before["DTSTART"].dt == timedelta(hours=3)
    cancel(app, event)
    cancelled = vevents(client.get(f"/agenda/{event.id}.ics"))["Club de printemps"]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) == int(after["SEQUENCE"]) + 1


def test_download_needs_login(app, client, make_event):
    event = make_event()
    assert client.get(f"/agenda/{event.id}.ics").status_code == 302
    assert client.get("/agenda/999999.ics").status_code in (302, 404)


def test_feed_lists_registrations_and_amicalls_only(app, client, make_event, make_user, login):
    user = make_user("member", language="fr")
    amicall = make_event("Amicall ouvert")
    club = make_event("Club où je suis inscrit", kind=EventKind.CLUB)
    webinar = make_event("Webinaire sans moi", kind=EventKind.WEBINAR)
    full = make_event("Réunion complète", kind=EventKind.GROUP_MEETING, capacity=1, joining_details="https://visio.example.org/full")
    dropped = make_event("Club annulé par moi", kind=EventKind.CLUB)
    cancelled = make_event("Amicall annulé")
    old = make_event("Amicall d'il y a longtemps", starts_in=timedelta(days=-200))
    register_directly(app, club, user)
    register_directly(app, full, make_user("member"))
    register_directly(app, full, user)  # waiting
    register_directly(app, dropped, user)
    with app.app_context(), app.test_request_context():
        services.cancel_registration(db.session.get(User, user.id), db.session.scalar(
            db.select(services.Registration).filter_by(event_id=dropped.id, user_id=user.id)))
        db.session.commit()
    cancel(app, cancelled)
    url = make_feed(client, login, user)

    client.post("/auth/logout", data={"csrf_token": csrf_token_from(client.get("/agenda/").get_data(as_text=True))})
    client.delete_cookie("session")
    response = client.get(url)
    assert "Set-Cookie" not in response.headers
    events = vevents(response)
    assert set(events) == {"Amicall ouvert", "Club où je suis inscrit", "Réunion complète", "Amicall annulé"}
    assert str(events["Amicall annulé"]["STATUS"]) == "CANCELLED"
    assert str(events["Réunion complète"]["STATUS"]) == "TENTATIVE"
    assert "visio.example.org/full" not in response.get_data(as_text=True)  # waiting: no seat, no joining details
    assert str(events["Amicall ouvert"]["UID"]) == f"event-{amicall.id}@extranet.logement-dabord"
    assert webinar.id and old.id


def test_feed_token_regenerate_revoke_and_unknown(app, client, make_user, login, make_event):
    make_event("Amicall du mois")
    user = make_user("member")
    first = make_feed(client, login, user)
    assert client.get(first).status_code == 200
    second = make_feed(client, login, user)
    assert second != first
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    page = client.get("/agenda/").get_data(as_text=True)
    assert client.post("/agenda/feed/revoke", data={"csrf_token": csrf_token_from(page)}).status_code == 302
    assert client.get(second).status_code == 404
    assert client.get("/agenda/feed/" + "x" * 43 + ".ics").status_code == 404
    with app.app_context():
        assert db.session.get(CalendarFeed, user.id) is None


def test_feed_token_is_stored_hashed_and_dies_with_the_account(app, client, make_user, login):
    user = make_user("member")
    url = make_feed(client, login, user)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    with app.app_context():
        feed = db.session.get(CalendarFeed, user.id)
        assert feed.token_hash != token and token not in feed.token_hash
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert client.get(url).status_code == 404


def test_feed_changes_need_post_with_csrf(app, client, as_):
    as_("member")
    assert client.get("/agenda/feed/new").status_code == 405
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/agenda/feed/new", data={}).status_code == 400
    assert client.post("/agenda/feed/revoke", data={}).status_code == 400


def test_feed_leaves_out_a_closed_groups_events_for_outsiders(app, client, make_user, login, make_event, make_group):
    member = make_user("member")
    closed = make_group("Groupe fermé", is_open=False, members=[member])
    make_event("Amicall du groupe fermé", group=closed)
    make_event("Amicall pour tous")
    outsider = make_user("member")
    assert set(vevents(client.get(make_feed(client, login, outsider)))) == {"Amicall pour tous"}
    other = app.test_client()
    assert set(vevents(other.get(make_feed(other, login, member)))) == {"Amicall pour tous", "Amicall du groupe fermé"}
