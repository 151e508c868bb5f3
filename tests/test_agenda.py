"""The agenda: events, their pages and lists, registration, waitlist and
per-territory seats, time zones, and the guarantee against overbooking."""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from extranet.agenda import services
from extranet.agenda.models import Event, EventKind, Registration
from extranet.auth.models import User
from extranet.extensions import db
from extranet.timeutil import utcnow

from .group_helpers import text_of
from .helpers import errors_beside

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def statuses(app, event_id) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(Registration.status, func.count()).where(Registration.event_id == event_id).group_by(Registration.status)
        )
        return {str(s): n for s, n in rows}


def register_directly(app, event, user):
    with app.app_context(), app.test_request_context():
        registration = services.register(db.session.get(User, user.id), db.session.get(Event, event.id))
        db.session.commit()
        return str(registration.status)


def event_form(**overrides):
    data = {
        "kind": "amicall",
        "title": "Amicall logement des jeunes",
        "description": "Un **échange** entre territoires.",
        "starts_at": "2031-05-12T14:00",
        "ends_at": "2031-05-12T16:00",
        "group": "",
        "speakers": "Dihal",
        "place": "",
        "joining_details": "https://visio.example.org/amicall",
        "capacity": "",
        "seats_per_territory": "",
        "registration_opens_at": "",
        "registration_deadline": "",
    }
    data.update(overrides)
    return data


# --- Navigation and rights ---------------------------------------------------------------


def test_the_menu_leads_to_the_agenda(client, as_):
    as_("member")
    html = client.get("/").get_data(as_text=True)
    assert 'href="/agenda/"' in html
    response = client.get("/agenda/")
    assert response.status_code == 200
    assert "No upcoming event for now." in text_of(response)


@pytest.mark.parametrize(
    "role, status",
    [("admin", 200), ("animator", 200), ("coordinator", 403), ("member", 403)],
)
def test_who_may_create_an_event(client, as_, role, status):
    as_(role)
    assert client.get("/agenda/new").status_code == status
    assert client.post("/agenda/new", data=event_form()).status_code in (status, 302)
    with client.application.app_context():
        count = db.session.scalar(select(func.count()).select_from(Event))
    assert count == (1 if status == 200 else 0)


def test_group_animators_organise_their_groups_events_only(client, app, as_, make_group, make_event):
    animator = as_("member")
    mine = make_group("Groupe animé", animators=[animator])
    other = make_group("Autre groupe")
    response = client.get("/agenda/new")
    assert response.status_code == 200
    assert "Groupe animé" in text_of(response) and "Autre groupe" not in text_of(response)
    response = client.post("/agenda/new", data=event_form(kind="group_meeting", group=str(mine.id)))
    assert response.status_code == 302
    # Another group is not among their choices.
    response = client.post("/agenda/new", data=event_form(kind="group_meeting", group=str(other.id), title="Pas le mien"))
    assert response.status_code == 400
    foreign = make_event("Réunion d'un autre groupe", group=other)
    assert client.get(f"/agenda/{foreign.id}/edit").status_code == 403
    with app.app_context():
        own = db.session.scalar(select(Event).filter_by(group_id=mine.id))
    assert client.get(f"/agenda/{own.id}/edit").status_code == 200


def test_creating_an_event_checks_the_schedule_beside_the_fields(client, as_):
    as_("admin")
    response = client.post("/agenda/new", data=event_form(
        ends_at="2031-05-12T13:00", capacity="0", registration_deadline="2031-05-13T09:00", title=""))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "title") == ["Enter the title of the event."]
    assert errors_beside(html, "capacity") == ["Enter a number from 1 to 100,000."]
    response = client.post("/agenda/new", data=event_form(ends_at="2031-05-12T13:00", registration_deadline="2031-05-13T09:00"))
    html = response.get_data(as_text=True)
    assert errors_beside(html, "ends_at") == ["The end must come after the start."]
    assert errors_beside(html, "registration_deadline") == ["The registration deadline must come before the start of the event."]
    response = client.post("/agenda/new", data=event_form(starts_at="demain"))
    assert errors_beside(response.get_data(as_text=True), "starts_at") == ["Enter a date and a time, for example 2027-03-14 14:30."]
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_an_organiser_creates_then_edits_an_event(client, app, as_):
    as_("animator", timezone="Europe/Paris")
    response = client.post("/agenda/new", data=event_form(capacity="30"))
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event))
        # 14:00 in Paris in May (summer time) is 12:00 UTC.
        assert event.starts_at == datetime(2031, 5, 12, 12, 0)
        assert event.capacity == 30 and event.sequence == 0
    page = client.get(response.headers["Location"])
    assert "<strong>échange</strong>" in page.get_data(as_text=True)
    assert client.post(f"/agenda/{event.id}/edit", data=event_form(capacity="30", starts_at="2031-05-12T15:00", ends_at="2031-05-12T17:00")).status_code == 302
    with app.app_context():
        event = db.session.get(Event, event.id)
        assert event.starts_at == datetime(2031, 5, 12, 13, 0) and event.sequence == 1


def test_markdown_description_is_sanitised(client, as_, make_event):
    event = make_event(description="<script>alert(1)</script> **gras**")
    as_("member")
    html = client.get(f"/agenda/{event.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<strong>gras</strong>" in html


def test_unknown_event_is_a_404(client, as_):
    as_("member")
    assert client.get("/agenda/999999").status_code == 404
    assert client.get("/agenda/99999999999").status_code == 404
    assert client.get("/agenda/999999/register").status_code == 404
    assert client.post("/agenda/999999/register").status_code == 404


# --- Time zones ---------------------------------------------------------------------------


def test_times_in_the_readers_zone_with_paris_beside_across_daylight_saving(client, as_, make_event):
    # Paris moves to summer time on 28 March 2027; La Réunion stays at UTC+4.
    winter = make_event("Avant le changement d'heure", starts_at=datetime(2027, 3, 25, 10, 0))
    summer = make_event("Après le changement d'heure", starts_at=datetime(2027, 3, 30, 10, 0))
    as_("coordinator", territory="la-reunion", timezone="Indian/Reunion")
    html = text_of(client.get(f"/agenda/{winter.id}"))
    assert "14:00 (your time) — 11:00 in Paris" in html
    html = text_of(client.get(f"/agenda/{summer.id}"))
    assert "14:00 (your time) — 12:00 in Paris" in html


def test_paris_readers_see_one_time(client, as_, make_event):
    event = make_event(starts_at=datetime(2027, 3, 30, 10, 0))
    as_("member")
    html = text_of(client.get(f"/agenda/{event.id}"))
    assert "12:00" in html and "in Paris" not in html


def test_an_organiser_in_la_reunion_types_local_times(client, app, as_):
    as_("admin", timezone="Indian/Reunion")
    client.post("/agenda/new", data=event_form(starts_at="2031-01-10T14:00", ends_at="2031-01-10T15:00"))
    with app.app_context():
        assert db.session.scalar(select(Event.starts_at)) == datetime(2031, 1, 10, 10, 0)


# --- Lists ------------------------------------------------------------------------------------


def test_upcoming_past_kind_and_my_registrations(client, app, as_, make_event):
    soon = make_event("Amicall à venir")
    club = make_event("Club de printemps", kind=EventKind.CLUB, starts_in=timedelta(days=30))
    old = make_event("Amicall passé", starts_in=timedelta(days=-30))
    user = as_("member")
    register_directly(app, club, user)
    html = text_of(client.get("/agenda/"))
    assert "Amicall à venir" in html and "Club de printemps" in html and "Amicall passé" not in html
    assert html.index("Amicall à venir") < html.index("Club de printemps")
    html = text_of(client.get("/agenda/?when=past"))
    assert "Amicall passé" in html and "Amicall à venir" not in html
    html = text_of(client.get("/agenda/?kind=club"))
    assert "Club de printemps" in html and "Amicall à venir" not in html
    html = text_of(client.get("/agenda/?mine=1"))
    assert "Club de printemps" in html and "Amicall à venir" not in html
    assert client.get("/agenda/?kind=nonsense&page=abc").status_code == 200
    assert soon.id and old.id


def test_the_list_is_paginated(client, app, as_, make_event):
    for n in range(services.EVENTS_PER_PAGE + 3):
        make_event(f"Événement {n:02d}", starts_in=timedelta(days=1 + n))
    as_("member")
    first = text_of(client.get("/agenda/"))
    second = text_of(client.get("/agenda/?page=2"))
    assert "Événement 00" in first and "Événement 22" not in first
    assert "Événement 22" in second and "Événement 00" not in second


# --- Registration ---------------------------------------------------------------------------


def test_register_see_joining_details_and_cancel(client, app, as_, make_event):
    event = make_event(joining_details="Numéro : 01 23 45 67 89")
    as_("member")
    html = text_of(client.get(f"/agenda/{event.id}"))
    assert "01 23 45 67 89" not in html and "The joining details are shown to registered people." in html
    # Without questions nor workshops there is no form to show: a GET leads back to the event, registering nobody.
    response = client.get(f"/agenda/{event.id}/register")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/agenda/{event.id}")
    assert "You are registered." not in text_of(client.get(f"/agenda/{event.id}"))
    response = client.post(f"/agenda/{event.id}/register", follow_redirects=True)
    assert "You are registered." in text_of(response)
    assert "01 23 45 67 89" in text_of(response)
    assert "Registered" in text_of(client.get("/agenda/?mine=1"))
    response = client.post(f"/agenda/{event.id}/cancel-registration", follow_redirects=True)
    assert "Your registration is cancelled." in text_of(response)
    assert "01 23 45 67 89" not in text_of(response)
    assert statuses(app, event.id) == {"cancelled": 1}
    # Registering again reuses the row.
    client.post(f"/agenda/{event.id}/register")
    assert statuses(app, event.id) == {"registered": 1}


def test_organisers_see_joining_details_without_registering(client, as_, make_event):
    event = make_event(joining_details="https://visio.example.org/salle")
    as_("animator")
    assert "https://visio.example.org/salle" in text_of(client.get(f"/agenda/{event.id}"))


def test_full_event_waitlists_and_a_cancellation_promotes_with_an_email(client, app, as_, make_user, login, make_event, mailbox):
    event = make_event("Amicall complet", capacity=2)
    first, second, third, fourth = (make_user("member", email=f"p{n}@example.org", language="en") for n in range(4))
    assert [register_directly(app, event, u) for u in (first, second, third, fourth)] == [
        "registered", "registered", "waitlisted", "waitlisted"]
    mailbox.clear()
    login(first)
    html = text_of(client.get(f"/agenda/{event.id}"))
    assert "2 of 2 seats taken — 2 people waiting" in html
    client.post(f"/agenda/{event.id}/cancel-registration")
    with app.app_context():
        by_user = {r.user_id: str(r.status) for r in db.session.scalars(select(Registration).filter_by(event_id=event.id))}
    assert by_user == {first.id: "cancelled", second.id: "registered", third.id: "registered", fourth.id: "waitlisted"}
    messages = mailbox.messages
    assert [m["To"] for m in messages] == [third.email]
    assert "Amicall complet" in messages[0]["Subject"]
    assert f"/agenda/{event.id}" in mailbox.body(messages[0])


def test_the_waiting_list_page_says_so(client, app, as_, make_user, make_event):
    event = make_event(capacity=1)
    register_directly(app, event, make_user("member"))
    as_("member")
    assert "Join the waiting list" in text_of(client.get(f"/agenda/{event.id}"))
    response = client.post(f"/agenda/{event.id}/register", follow_redirects=True)
    assert "you are on the waiting list" in text_of(response)
    assert "You are on the waiting list." in text_of(response)


def test_territory_seats_waitlist_and_promotion_skips_a_full_territory(client, app, make_user, make_event, mailbox):
    event = make_event(capacity=10, seats_per_territory=1)
    lyon_1, lyon_2 = make_user("member", territory="lyon"), make_user("member", territory="lyon")
    nantes_1 = make_user("member", territory="nantes")
    assert register_directly(app, event, lyon_1) == "registered"
    assert register_directly(app, event, lyon_2) == "waitlisted"
    assert register_directly(app, event, nantes_1) == "registered"
    # Lyon's seat comes free: the waiting Lyon member takes it.
    with app.app_context(), app.test_request_context():
        registration = db.session.scalar(select(Registration).filter_by(event_id=event.id, user_id=lyon_1.id))
        promoted = services.cancel_registration(db.session.get(User, lyon_1.id), registration)
        db.session.commit()
        assert [r.user_id for r in promoted] == [lyon_2.id]


def test_promotion_goes_to_the_first_who_fits(app, make_user, make_event, mailbox):
    event = make_event(capacity=2, seats_per_territory=1)
    lyon_1, nantes_1 = make_user("member", territory="lyon"), make_user("member", territory="nantes")
    lyon_2, paris_1 = make_user("member", territory="lyon"), make_user("member", territory="paris")
    for user in (lyon_1, nantes_1, lyon_2, paris_1):
        register_directly(app, event, user)
    with app.app_context(), app.test_request_context():
        registration = db.session.scalar(select(Registration).filter_by(event_id=event.id, user_id=nantes_1.id))
        promoted = services.cancel_registration(db.session.get(User, nantes_1.id), registration)
        db.session.commit()
        # Lyon waits first but Lyon's seat is taken: Paris gets the seat.
        assert [r.user_id for r in promoted] == [paris_1.id]
    assert statuses(app, event.id) == {"registered": 2, "waitlisted": 1, "cancelled": 1}


def test_registration_closes_at_the_deadline(client, app, as_, make_event):
    closed = make_event(registration_deadline=(utcnow() - timedelta(minutes=1)).replace(microsecond=0))
    not_yet = make_event(registration_opens_at=(utcnow() + timedelta(days=1)).replace(microsecond=0))
    as_("member")
    html = text_of(client.get(f"/agenda/{closed.id}"))
    assert "Registration is closed." in html and ">Register<" not in html
    assert client.post(f"/agenda/{closed.id}/register").status_code == 403
    assert "Registration opens on" in text_of(client.get(f"/agenda/{not_yet.id}"))
    assert client.post(f"/agenda/{not_yet.id}/register").status_code == 403
    assert statuses(app, closed.id) == {} and statuses(app, not_yet.id) == {}


def test_the_service_refuses_a_closed_registration(app, make_user, make_event):
    from extranet.auth.services import ServiceError

    event = make_event(starts_in=timedelta(days=-1))
    user = make_user("member")
    with app.app_context(), pytest.raises(ServiceError):
        services.register(db.session.get(User, user.id), db.session.get(Event, event.id))


def test_cancelling_needs_a_registration(client, as_, make_event):
    event = make_event()
    as_("member")
    assert client.post(f"/agenda/{event.id}/cancel-registration").status_code == 404


# --- Never overbooked ---------------------------------------------------------------------------


def test_concurrent_registrations_never_overbook(app, backend, make_user, make_event):
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer at a time: the race needs PostgreSQL's row locks")
    event = make_event("Amicall très demandé", capacity=5)
    users = [make_user("member", territory="lyon" if n % 2 else "nantes") for n in range(20)]
    start = threading.Barrier(len(users))
    errors = []

    def attempt(user):
        try:
            with app.app_context():
                start.wait()
                services.register(db.session.get(User, user.id), db.session.get(Event, event.id))
                db.session.commit()
                db.session.remove()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert statuses(app, event.id) == {"registered": 5, "waitlisted": 15}


# --- Coordinators register members of their territory -------------------------------------------


def test_a_coordinator_registers_a_member_of_their_territory(client, app, as_, make_user, make_event, mailbox):
    event = make_event("Club de printemps", kind=EventKind.CLUB, capacity=1)
    local = make_user("member", territory="lyon", name="Alice Locale", email="alice@example.org", language="en")
    second = make_user("member", territory="lyon", name="Bruno Local", email="bruno@example.org", language="en")
    elsewhere = make_user("member", territory="nantes", name="Chloé Ailleurs")
    as_("coordinator", territory="lyon")
    html = text_of(client.get(f"/agenda/{event.id}"))
    assert "Alice Locale" in html and "Bruno Local" in html and "Chloé Ailleurs" not in html
    response = client.post(f"/agenda/{event.id}/register-member", data={"member": ""})
    assert errors_beside(response.get_data(as_text=True), "member") == ["Choose the person to register."]
    mailbox.clear()
    response = client.post(f"/agenda/{event.id}/register-member", data={"member": str(local.id)}, follow_redirects=True)
    assert "Alice Locale is registered." in text_of(response)
    response = client.post(f"/agenda/{event.id}/register-member", data={"member": str(second.id)}, follow_redirects=True)
    assert "The event is full: Bruno Local is on the waiting list." in text_of(response)
    # Someone of another territory: refused, nothing written.
    assert client.post(f"/agenda/{event.id}/register-member", data={"member": str(elsewhere.id)}).status_code == 400
    with app.app_context():
        rows = {r.user_id: (str(r.status), r.registered_by_id is not None) for r in db.session.scalars(select(Registration))}
    assert rows == {local.id: ("registered", True), second.id: ("waitlisted", True)}
    subjects = {m["To"]: m["Subject"] for m in mailbox.messages}
    assert "You are registered for “Club de printemps”" == subjects["alice@example.org"]
    assert "You are on the waiting list for “Club de printemps”" == subjects["bruno@example.org"]
    # The coordinator cancels Alice's seat: Bruno is promoted.
    with app.app_context():
        alice_registration = db.session.scalar(select(Registration).filter_by(user_id=local.id))
    client.post(f"/agenda/registrations/{alice_registration.id}/cancel")
    assert statuses(app, event.id) == {"registered": 1, "cancelled": 1}


@pytest.mark.parametrize("role", ["member", "animator"])
def test_only_coordinators_register_members(client, as_, make_user, make_event, role):
    event = make_event()
    member = make_user("member", territory="lyon")
    as_(role, territory="lyon" if role == "member" else None)
    assert client.post(f"/agenda/{event.id}/register-member", data={"member": str(member.id)}).status_code == 403


def test_a_member_cannot_cancel_someone_elses_registration(client, app, as_, make_user, make_event):
    event = make_event()
    other = make_user("member", territory="lyon")
    register_directly(app, event, other)
    as_("member", territory="lyon")
    with app.app_context():
        registration = db.session.scalar(select(Registration))
    assert client.post(f"/agenda/registrations/{registration.id}/cancel").status_code == 403
    assert client.post("/agenda/registrations/999999/cancel").status_code == 404
    assert statuses(app, event.id) == {"registered": 1}


# --- The group page ----------------------------------------------------------------------------


def test_the_group_page_lists_its_events(client, as_, make_group, make_event):
    animator = as_("member")
    group = make_group("Logement des jeunes", animators=[animator])
    make_event("Réunion du groupe", kind=EventKind.GROUP_MEETING, group=group)
    make_event("Amicall sans groupe")
    html = text_of(client.get(f"/groups/{group.slug}"))
    assert "Réunion du groupe" in html and "Amicall sans groupe" not in html
    assert f"/agenda/new?group={group.id}" in html
    html = text_of(client.get(f"/agenda/?group={group.id}"))
    assert "Réunion du groupe" in html and "Amicall sans groupe" not in html
    # Their form offers their group only, selected.
    form = client.get(f"/agenda/new?group={group.id}").get_data(as_text=True)
    assert f'<option selected value="{group.id}">' in form or f'value="{group.id}" selected' in form


def test_french_pages_show_french_dates(client, logged_in, make_event):
    event = make_event("Amicall d'hiver", starts_at=datetime(2027, 3, 25, 10, 0), capacity=3)
    logged_in("coordinator", territory="centre-littoral-guyane", timezone="America/Cayenne")
    html = text_of(client.get(f"/agenda/{event.id}"))
    # Cayenne is UTC−3, Paris UTC+1 in March before the change.
    assert "jeudi 25 mars 2027, 07:00 (votre heure) — 11:00 à Paris" in html
    assert "0 place prise sur 3" in html
    assert "S'inscrire" in html
    listing = text_of(client.get("/agenda/"))
    assert "Événements à venir" in listing and "jeudi 25 mars 2027, 07:00 (votre heure) — 11:00 à Paris" in listing


def test_a_closed_groups_events_are_private_like_its_discussions(client, app, as_, make_user, login, make_group, make_event):
    member = make_user("member")
    closed = make_group("Groupe fermé", is_open=False, members=[member])
    opened = make_group("Groupe ouvert")
    private = make_event("Réunion confidentielle du groupe", group=closed, kind=EventKind.GROUP_MEETING)
    public = make_event("Réunion ouverte du groupe", group=opened, kind=EventKind.GROUP_MEETING)
    outsider = as_("member")
    assert client.get(f"/agenda/{private.id}").status_code == 403
    assert client.get(f"/agenda/{private.id}.ics").status_code == 403
    listing = text_of(client.get("/agenda/"))
    assert "Réunion ouverte du groupe" in listing and "confidentielle" not in listing
    assert "confidentielle" not in text_of(client.get(f"/groups/{closed.slug}"))
    assert outsider.id != member.id
    inside = app.test_client()
    login(member, client=inside)
    assert inside.get(f"/agenda/{private.id}").status_code == 200
    assert "Réunion confidentielle du groupe" in text_of(inside.get("/agenda/"))
    assert "Réunion confidentielle du groupe" in text_of(inside.get(f"/groups/{closed.slug}"))
    assert public.id != private.id
