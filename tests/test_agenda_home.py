"""The home page's agenda blocks: "my next events" (with my status) and the
next Amicalls, their empty states, and a bounded number of SQL queries."""

from datetime import datetime, timedelta

from sqlalchemy import select

from extranet.agenda import services
from extranet.agenda.models import Event, EventKind, EventStatus, Registration, RegistrationStatus
from extranet.auth.models import User
from extranet.extensions import db

from .group_helpers import text_of
from .helpers import parse, queries_for

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def block(response, block_id) -> str:
    root = parse(response.get_data(as_text=True))
    return next(n for n in root.iter() if n.attrs.get("id") == block_id).text()


def links(response, block_id) -> list[str]:
    root = parse(response.get_data(as_text=True))
    section = next(n for n in root.iter() if n.attrs.get("id") == block_id)
    return [n.attrs["href"] for n in section.iter() if n.tag == "a"]


def register_directly(app, event, user):
    with app.app_context(), app.test_request_context():
        services.register(db.session.get(User, user.id), db.session.get(Event, event.id))
        db.session.commit()


def test_empty_states_lead_to_the_agenda(client, logged_in):
    logged_in("member")
    response = client.get("/")
    assert "Vous n'êtes inscrit à aucun événement à venir." in block(response, "my-next-events")
    assert "Aucun Amicall prévu pour l'instant." in block(response, "next-amicalls")
    assert "/agenda/" in links(response, "my-next-events") and "/agenda/" in links(response, "next-amicalls")
    assert "Mes prochains événements" in text_of(response) and "Prochains Amicalls" in text_of(response)


def test_my_next_events_with_their_status(client, app, as_, make_user, make_event):
    me = as_("member", timezone="Indian/Reunion")
    events = [make_event(f"Événement {n}", kind=EventKind.WEBINAR, starts_in=timedelta(days=10 + n)) for n in range(6)]
    full = make_event("Club complet", kind=EventKind.CLUB, starts_in=timedelta(days=2), capacity=1)
    register_directly(app, full, make_user("member", territory="brest"))
    past = make_event("Événement passé", starts_in=timedelta(days=-3))
    dropped = make_event("Événement quitté", starts_in=timedelta(days=1))
    for event in [*events, full, dropped]:
        register_directly(app, event, me)
    with app.app_context():
        db.session.add(Registration(event_id=past.id, user_id=me.id, status=RegistrationStatus.REGISTERED))
        registration = db.session.scalar(select(Registration).filter_by(event_id=dropped.id, user_id=me.id))
        registration.status = RegistrationStatus.CANCELLED
        db.session.commit()
    response = client.get("/")
    mine = block(response, "my-next-events")
    # The five soonest, soonest first; neither the past one nor the one left.
    assert "Club complet" in mine and "On the waiting list" in mine
    shown = [n for n in range(6) if f"Événement {n}" in mine]
    assert shown == [0, 1, 2, 3]
    assert mine.index("Club complet") < mine.index("Événement 0") < mine.index("Événement 3")
    assert "Événement passé" not in mine and "Événement quitté" not in mine
    assert mine.count("Registered") == 4
    # Times in my zone, with Paris beside.
    assert "(your time)" in mine
    assert "/agenda/?mine=1" in links(response, "my-next-events")
    assert f"/agenda/{full.id}" in links(response, "my-next-events")


def test_the_next_amicalls_i_may_see(client, app, as_, make_user, make_group, make_event):
    insider = make_user("member")
    closed = make_group("Groupe fermé", is_open=False, members=[insider])
    for n in range(6):
        make_event(f"Amicall {n}", starts_in=timedelta(days=5 + n))
    make_event("Webinaire proche", kind=EventKind.WEBINAR, starts_in=timedelta(days=1))
    make_event("Amicall confidentiel", group=closed, starts_in=timedelta(days=1))
    cancelled = make_event("Amicall annulé", starts_in=timedelta(days=2))
    make_event("Amicall passé", starts_in=timedelta(days=-2))
    with app.app_context():
        db.session.get(Event, cancelled.id).status = EventStatus.CANCELLED
        db.session.commit()
    me = as_("member")
    first = db_event(app, "Amicall 0")
    register_directly(app, first, me)
    response = client.get("/")
    amicalls = block(response, "next-amicalls")
    assert [n for n in range(6) if f"Amicall {n}" in amicalls] == [0, 1, 2, 3, 4]
    for hidden in ("Webinaire proche", "Amicall confidentiel", "Amicall annulé", "Amicall passé"):
        assert hidden not in amicalls, hidden
    # My registration is shown beside it.
    assert amicalls.count("Registered") == 1
    assert "/agenda/?kind=amicall" in links(response, "next-amicalls")


def db_event(app, title) -> Event:
    with app.app_context():
        event = db.session.scalar(select(Event).filter_by(title=title))
        db.session.expunge(event)
        return event


def test_the_home_page_runs_a_bounded_number_of_queries(client, app, as_, make_group, make_event):
    me = as_("member")
    group = make_group()

    def add(count, start):
        for n in range(start, start + count):
            event = make_event(f"Amicall {n}", starts_at=datetime(2031, 1, 1, 9) + timedelta(days=n), group=group if n % 2 else None)
            register_directly(app, event, me)

    add(2, 0)
    few = queries_for(app, client, "/")
    add(28, 2)
    many = queries_for(app, client, "/")
    assert few == many and few <= 15, (few, many)
