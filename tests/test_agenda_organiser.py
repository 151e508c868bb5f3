"""The organisers' tools of an event: registrants and waiting list with their
answers and workshops, CSV and XLSX exports, check-in on the day, a message
to everyone, cancelling the event and telling people it moved."""

import csv
import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import openpyxl
import pytest
from sqlalchemy import select

from extranet.agenda.models import (
    Event,
    EventKind,
    EventMessage,
    EventSession,
    EventStatus,
    QuestionKind,
    Registration,
    RegistrationAnswer,
    RegistrationQuestion,
    RegistrationStatus,
    SessionRegistration,
)
from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups import services as group_services
from extranet.groups.models import Group
from extranet.timeutil import utcnow

from .group_helpers import text_of
from .helpers import errors_beside, form_alerts, queries_for

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def add_registration(app, event, user, status="registered", *, minutes_ago=60, registered_by=None, checked_in=False):
    """A registration row straight into the database (events that already started take none through the page)."""
    with app.app_context():
        when = utcnow().replace(microsecond=0) - timedelta(minutes=minutes_ago)
        registration = Registration(
            event_id=event.id, user_id=user.id, territory_id=user.territory_id, status=RegistrationStatus(status),
            created_at=when, updated_at=when, waitlisted_at=when if status == "waitlisted" else None,
            registered_by_id=registered_by.id if registered_by else None, checked_in_at=when if checked_in else None,
        )
        db.session.add(registration)
        db.session.commit()
        return registration.id


def add_questions(app, event):
    """Two questions and two workshops, as the organisers' form would make them."""
    with app.app_context():
        diet = RegistrationQuestion(event_id=event.id, kind=QuestionKind.TEXT, label="Régime alimentaire", position=2)
        mode = RegistrationQuestion(event_id=event.id, kind=QuestionKind.MULTIPLE, label="Thèmes", options="Jeunes\nSortants de prison", position=1)
        attendance = RegistrationQuestion(event_id=event.id, kind=QuestionKind.ATTENDANCE, label="Participation", position=3)
        first = EventSession(event_id=event.id, title="Atelier prévention des expulsions", position=1)
        second = EventSession(event_id=event.id, title="Atelier logement des jeunes", position=2, capacity=1)
        db.session.add_all([diet, mode, attendance, first, second])
        db.session.commit()
        return {"diet": diet.id, "themes": mode.id, "attendance": attendance.id, "first": first.id, "second": second.id}


def answer(app, registration_id, ids, *, diet="", themes="", attendance="", workshops=()):
    with app.app_context():
        if attendance:
            db.session.add(RegistrationAnswer(registration_id=registration_id, question_id=ids["attendance"], value=attendance))
        if diet:
            db.session.add(RegistrationAnswer(registration_id=registration_id, question_id=ids["diet"], value=diet))
        if themes:
            db.session.add(RegistrationAnswer(registration_id=registration_id, question_id=ids["themes"], value=themes))
        for key, status in workshops:
            db.session.add(SessionRegistration(session_id=ids[key], registration_id=registration_id, status=RegistrationStatus(status)))
        db.session.commit()


def event_row(app, event_id) -> Event:
    with app.app_context():
        event = db.session.get(Event, event_id)
        db.session.expunge(event)
        return event


# --- Rights ---------------------------------------------------------------------------------

URLS = ["/agenda/{id}/registrants", "/agenda/{id}/registrants?status=waitlisted", "/agenda/{id}/registrants.csv",
        "/agenda/{id}/registrants.xlsx", "/agenda/{id}/message", "/agenda/{id}/cancel"]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(
    "who, status",
    [("admin", 200), ("animator", 200), ("group animator", 200), ("other group animator", 403), ("coordinator", 403), ("member", 403)],
)
def test_who_may_open_the_organisers_pages(client, as_, make_user, make_group, make_event, who, status, url):
    if who.endswith("group animator"):
        user = as_("member")
        group = make_group("Groupe du réseau", animators=[user] if who == "group animator" else [])
        if who == "other group animator":
            make_group("Autre groupe", animators=[user])
    else:
        group = make_group("Groupe du réseau")
        as_(who)
    event = make_event("Réunion du groupe", group=group, kind=EventKind.GROUP_MEETING)
    assert client.get(url.format(id=event.id)).status_code == status


@pytest.mark.parametrize("role", ["coordinator", "member"])
def test_others_change_nothing(client, app, as_, make_user, make_event, mailbox, role):
    event = make_event(starts_in=timedelta(hours=-1))
    registration = add_registration(app, event, make_user("member"))
    as_(role)
    mailbox.clear()
    assert client.post(f"/agenda/{event.id}/registrants/{registration}/check-in", data={"present": "1"}).status_code == 403
    assert client.post(f"/agenda/{event.id}/message", data={"subject": "Hop", "body": "Spam"}).status_code == 403
    assert client.post(f"/agenda/{event.id}/cancel", data={"reason": "Parce que"}).status_code == 403
    with app.app_context():
        assert db.session.get(Registration, registration).checked_in_at is None
        assert db.session.get(Event, event.id).status == EventStatus.SCHEDULED
        assert db.session.scalar(select(EventMessage)) is None
    assert mailbox.messages == []


def test_unknown_event_or_registration_is_a_404(client, app, as_, make_user, make_event):
    as_("admin")
    assert client.get("/agenda/999999/registrants").status_code == 404
    assert client.get("/agenda/999999/registrants.csv").status_code == 404
    event = make_event(starts_in=timedelta(hours=-1))
    other = make_event("Un autre")
    registration = add_registration(app, other, make_user("member"))
    # A registration of another event is not found through this one.
    assert client.post(f"/agenda/{event.id}/registrants/{registration}/check-in", data={"present": "1"}).status_code == 404


def test_the_event_page_links_organisers_to_their_tools(client, app, as_, person, login, make_event):
    event = make_event()
    as_("member")
    html = client.get(f"/agenda/{event.id}").get_data(as_text=True)
    assert f"/agenda/{event.id}/registrants" not in html and f"/agenda/{event.id}/cancel\"" not in html
    organiser = app.test_client()
    login(person("admin"), client=organiser)
    html = organiser.get(f"/agenda/{event.id}").get_data(as_text=True)
    for link in ("/edit", "/registrants", "/registrants.csv", "/registrants.xlsx", "/message", "/cancel"):
        assert f'href="/agenda/{event.id}{link}"' in html, link


# --- The list ---------------------------------------------------------------------------------


def test_registered_people_and_the_waiting_list_with_answers_and_workshops(client, app, as_, make_user, make_event):
    event = make_event("Club d'automne", kind=EventKind.CLUB, capacity=2)
    ids = add_questions(app, event)
    coordinator = make_user("coordinator", territory="lyon", name="Coralie Coordinatrice")
    alice = make_user("member", territory="lyon", name="Alice Martin", organisation="CCAS de Lyon", email="alice@example.org")
    bruno = make_user("member", territory="nantes", name="Bruno Petit", organisation="SIAO 44")
    chloe = make_user("member", territory="lyon", name="Chloé Durand")
    david = make_user("member", territory="lyon", name="David Roux")
    gone = make_user("member", name="Ernest Parti")
    a = add_registration(app, event, alice, minutes_ago=50, registered_by=coordinator)
    add_registration(app, event, bruno, minutes_ago=40)
    c = add_registration(app, event, chloe, "waitlisted", minutes_ago=20)
    add_registration(app, event, david, "waitlisted", minutes_ago=30)
    add_registration(app, event, gone, "cancelled")
    answer(app, a, ids, diet="Sans gluten", themes="Jeunes\nSortants de prison", attendance="in_person",
           workshops=[("first", "registered"), ("second", "waitlisted")])
    answer(app, c, ids, diet="Végétarien")
    as_("admin")
    html = text_of(client.get(f"/agenda/{event.id}/registrants"))
    assert "2 people registered" in html and "2 people waiting" in html
    assert "0 present out of 2" in html
    assert html.index("Alice Martin") < html.index("Bruno Petit")
    assert "CCAS de Lyon" in html and "alice@example.org" in html and "Lyon" in html
    assert "Coralie Coordinatrice" in html and "Self" in html
    assert "Sans gluten" in html and "Jeunes, Sortants de prison" in html and "In person" in html and "in_person" not in html
    assert "Atelier prévention des expulsions" in html and "Atelier logement des jeunes (waiting list)" in html
    assert "Chloé Durand" not in html and "Ernest Parti" not in html
    waiting = text_of(client.get(f"/agenda/{event.id}/registrants?status=waitlisted"))
    # The waiting list in its order: David waits since before Chloé.
    assert waiting.index("David Roux") < waiting.index("Chloé Durand")
    assert "Végétarien" in waiting and "Alice Martin" not in waiting and "Ernest Parti" not in waiting


def test_an_empty_list_says_so(client, as_, make_event):
    event = make_event()
    as_("admin")
    assert "Nobody is registered yet." in text_of(client.get(f"/agenda/{event.id}/registrants"))
    assert "Nobody is on the waiting list." in text_of(client.get(f"/agenda/{event.id}/registrants?status=waitlisted"))


def test_the_list_is_paginated(client, app, as_, make_user, make_event):
    from extranet.agenda.organiser import REGISTRANTS_PER_PAGE

    event = make_event()
    for n in range(REGISTRANTS_PER_PAGE + 2):
        add_registration(app, event, make_user("member", name=f"Personne {n:03d}"), minutes_ago=1000 - n)
    as_("admin")
    first = text_of(client.get(f"/agenda/{event.id}/registrants"))
    second = text_of(client.get(f"/agenda/{event.id}/registrants?page=2"))
    last = f"Personne {REGISTRANTS_PER_PAGE + 1:03d}"
    assert "Personne 000" in first and last not in first
    assert last in second and "Personne 000" not in second


def _fill(app, event, ids, make_user, count):
    for n in range(count):
        user = make_user("member", territory="lyon" if n % 2 else "nantes")
        registration = add_registration(app, event, user, "registered" if n % 3 else "waitlisted", minutes_ago=500 - n)
        answer(app, registration, ids, diet=f"Réponse {n}" if n % 4 else "", themes="Jeunes", workshops=[("first", "registered")])
    with app.app_context():  # some lack the required answer: marking them reads no more per row
        db.session.get(RegistrationQuestion, ids["diet"]).required = True
        db.session.commit()


def test_the_list_runs_a_bounded_number_of_queries(client, app, as_, make_user, make_event):
    small, large = make_event("Petit"), make_event("Grand")
    _fill(app, small, add_questions(app, small), make_user, 3)
    _fill(app, large, add_questions(app, large), make_user, 30)
    as_("admin")
    for suffix in ("", "?status=waitlisted"):
        assert queries_for(app, client, f"/agenda/{small.id}/registrants{suffix}") == queries_for(app, client, f"/agenda/{large.id}/registrants{suffix}")
    assert queries_for(app, client, f"/agenda/{small.id}/registrants.csv") == queries_for(app, client, f"/agenda/{large.id}/registrants.csv")
    assert "Answers to complete" in text_of(client.get(f"/agenda/{large.id}/registrants"))


# --- Exports ------------------------------------------------------------------------------------


@pytest.fixture
def exported_event(app, make_user, make_event):
    event = make_event("Club d'hiver", kind=EventKind.CLUB, starts_at=datetime(2031, 1, 20, 8, 0))
    ids = add_questions(app, event)
    coordinator = make_user("coordinator", territory="lyon", name="Coralie Coordinatrice")
    alice = make_user("member", territory="lyon", name="Alice Martin", organisation="CCAS de Lyon", email="alice@example.org")
    evil = make_user("member", territory="nantes", name="=HYPERLINK(\"http://evil.example\",\"clic\")", organisation="+33 1 23", email="evil@example.org")
    waiting = make_user("member", territory="nantes", name="Wanda Attente", organisation="@asso")
    a = add_registration(app, event, alice, registered_by=coordinator, minutes_ago=90, checked_in=True)
    e = add_registration(app, event, evil, minutes_ago=60)
    add_registration(app, event, waiting, "waitlisted", minutes_ago=30)
    answer(app, a, ids, diet="Sans gluten; sans lactose", themes="Jeunes\nSortants de prison", attendance="remote", workshops=[("first", "registered"), ("second", "waitlisted")])
    answer(app, e, ids, diet="-1")
    return event


DATE = "Registration date (Paris time)"
HEADER = ["Status", "Position on the waiting list", "Name", "Organisation", "Territory", "Email", "Registered by",
          DATE, "Present", "Answers to complete", "Thèmes", "Régime alimentaire", "Participation", "Workshops"]


def _check_export(rows, quote):
    assert rows[0] == HEADER
    by_email = {row[5]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert list(by_email) == ["alice@example.org", "evil@example.org", next(iter(k for k in by_email if k.startswith("member")))]
    alice = by_email["alice@example.org"]
    assert alice["Status"] == "Registered" and alice["Position on the waiting list"] == ""
    assert alice["Name"] == "Alice Martin" and alice["Organisation"] == "CCAS de Lyon" and alice["Territory"] == "Métropole de Lyon"
    assert alice["Registered by"] == "Coralie Coordinatrice"
    assert alice["Present"] != "" and alice[DATE][:2] == "20"
    # Nothing is required in this event: nobody has answers to complete.
    assert {row["Answers to complete"] for row in by_email.values()} == {""}
    assert alice["Thèmes"] == "Jeunes, Sortants de prison" and alice["Régime alimentaire"] == "Sans gluten; sans lactose"
    assert alice["Participation"] == "Remote" and by_email["evil@example.org"]["Participation"] == ""
    assert alice["Workshops"] == "Atelier prévention des expulsions, Atelier logement des jeunes (waiting list)"
    evil = by_email["evil@example.org"]
    assert evil["Registered by"] == "Self" and evil["Present"] == ""
    assert evil["Name"] == quote + '=HYPERLINK("http://evil.example","clic")'
    assert evil["Organisation"] == quote + "+33 1 23" and evil["Régime alimentaire"] == quote + "-1"
    waiting = rows[3]
    assert waiting[0] == "On the waiting list" and waiting[1] == "1" and waiting[3] == quote + "@asso"


def test_csv_export_for_french_excel_without_formulas(client, app, as_, exported_event):
    as_("admin", timezone="Indian/Reunion")
    response = client.get(f"/agenda/{exported_event.id}/registrants.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == f'attachment; filename="inscrits-evenement-{exported_event.id}.csv"'
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    _check_export(rows, "'")
    # In Paris time, as the header says, whatever the organiser's own zone.
    with app.app_context():
        created = db.session.scalar(select(Registration.created_at).join(User, User.id == Registration.user_id)
                                    .where(User.email == "alice@example.org"))
    paris = created.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M")
    assert rows[1][HEADER.index(DATE)] == paris


def test_xlsx_export_has_the_same_columns_and_no_formula(client, as_, exported_event):
    as_("admin")
    response = client.get(f"/agenda/{exported_event.id}/registrants.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == f'attachment; filename="inscrits-evenement-{exported_event.id}.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row if cell.value is not None)
    rows = [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    _check_export(rows, "")


def test_exports_in_french(client, logged_in, exported_event):
    logged_in("admin")
    rows = list(csv.reader(io.StringIO(client.get(f"/agenda/{exported_event.id}/registrants.csv").get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Statut" and rows[0][2] == "Nom" and "Ateliers" in rows[0]
    assert rows[1][0] == "Inscrit"
    html = text_of(client.get(f"/agenda/{exported_event.id}/registrants"))
    assert "1 présent sur 2" in html and "Ateliers" in html


# --- Check-in ----------------------------------------------------------------------------------


def test_check_in_on_the_day(client, app, as_, make_user, make_event):
    event = make_event("Amicall en cours", starts_in=timedelta(hours=-1))
    present = add_registration(app, event, make_user("member", name="Paula Présente"))
    add_registration(app, event, make_user("member", name="Albert Absent"))
    waiting = add_registration(app, event, make_user("member", name="Wanda Attente"), "waitlisted")
    as_("admin")
    html = text_of(client.get(f"/agenda/{event.id}/registrants"))
    assert "0 present out of 2" in html and "Mark present" in html
    response = client.post(f"/agenda/{event.id}/registrants/{present}/check-in", data={"present": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#registration-{present}")
    html = text_of(client.get(response.headers["Location"]))
    assert "Paula Présente is marked present." in html and "1 present out of 2" in html
    # Clicking twice keeps the first time.
    with app.app_context():
        first = db.session.get(Registration, present).checked_in_at
    client.post(f"/agenda/{event.id}/registrants/{present}/check-in", data={"present": "1"})
    with app.app_context():
        assert db.session.get(Registration, present).checked_in_at == first
    # A waiting person cannot be marked present.
    response = client.post(f"/agenda/{event.id}/registrants/{waiting}/check-in", data={"present": "1"}, follow_redirects=True)
    assert "Only registered people can be marked present." in text_of(response)
    # Undo.
    response = client.post(f"/agenda/{event.id}/registrants/{present}/check-in", data={"present": "0"}, follow_redirects=True)
    assert "Paula Présente is no longer marked present." in text_of(response) and "0 present out of 2" in text_of(response)
    assert client.post(f"/agenda/{event.id}/registrants/{present}/check-in", data={"present": "maybe"}).status_code == 400
    with app.app_context():
        rows = {r.id: r.checked_in_at for r in db.session.scalars(select(Registration))}
    assert rows[present] is None and rows[waiting] is None


def test_no_check_in_before_the_day_of_the_event(client, app, as_, make_user, make_event):
    event = make_event(starts_in=timedelta(days=3))
    registration = add_registration(app, event, make_user("member"))
    as_("admin")
    html = text_of(client.get(f"/agenda/{event.id}/registrants"))
    assert "People can be marked present from" in html and "Mark present" not in html
    assert client.post(f"/agenda/{event.id}/registrants/{registration}/check-in", data={"present": "1"}).status_code == 403
    with app.app_context():
        assert db.session.get(Registration, registration).checked_in_at is None


def test_check_in_opens_at_midnight_paris_time():
    from extranet.permissions import check_in_opens_at

    class E:
        starts_at = datetime(2031, 7, 1, 21, 30)  # 23:30 in Paris (summer time)

    assert check_in_opens_at(E) == datetime(2031, 6, 30, 22, 0)


# --- Message to the registrants --------------------------------------------------------------------


def test_a_message_to_every_registered_person(client, app, as_, make_user, make_event, mailbox):
    event = make_event("Amicall logement des jeunes", capacity=2)
    reg_en = make_user("member", email="anna@example.org", name="Anna", language="en")
    reg_fr = make_user("member", email="bastien@example.org", name="Bastien", language="fr")
    waiting = make_user("member", email="wanda@example.org", name="Wanda", language="en")
    gone = make_user("member", email="gone@example.org")
    for user, status in ((reg_en, "registered"), (reg_fr, "registered"), (waiting, "waitlisted"), (gone, "cancelled")):
        add_registration(app, event, user, status)
    organiser = as_("admin", email="organisatrice@example.org", name="Odile Organisatrice")
    response = client.post(f"/agenda/{event.id}/message", data={"subject": "", "body": "x" * 10_001})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "subject") == ["Enter the subject of the message."]
    assert errors_beside(html, "body") == ["The message has at most 10000 characters."]
    mailbox.clear()
    response = client.post(f"/agenda/{event.id}/message", data={"subject": "Documents à lire", "body": "Bonjour,\nLisez la note avant l'Amicall."},
                           follow_redirects=True)
    assert "Your message was sent to 2 people." in text_of(response)
    messages = {m["To"]: m for m in mailbox.messages}
    assert set(messages) == {"anna@example.org", "bastien@example.org"}
    assert messages["anna@example.org"]["Subject"] == "Documents à lire — “Amicall logement des jeunes”"
    assert messages["anna@example.org"]["Reply-To"] == organiser.email
    body = mailbox.body(messages["anna@example.org"])
    assert "Hello Anna," in body and "Lisez la note avant l'Amicall." in body and f"/agenda/{event.id}" in body
    assert "Bonjour Bastien," in mailbox.body(messages["bastien@example.org"])
    # With the waiting list.
    mailbox.clear()
    client.post(f"/agenda/{event.id}/message", data={"subject": "Changement de salle", "body": "Salle B.", "include_waitlisted": "y"})
    assert sorted(m["To"] for m in mailbox.messages) == ["anna@example.org", "bastien@example.org", "wanda@example.org"]
    page = text_of(client.get(f"/agenda/{event.id}/message"))
    assert page.index("Changement de salle") < page.index("Documents à lire")
    assert "sent to 3 people" in page and "(waiting list included)" in page and "Odile Organisatrice" in page
    with app.app_context():
        kept = db.session.scalars(select(EventMessage).order_by(EventMessage.id)).all()
        assert [(m.subject, m.recipient_count, m.include_waitlisted) for m in kept] == [
            ("Documents à lire", 2, False), ("Changement de salle", 3, True)]


def test_a_double_click_sends_the_message_once(client, app, as_, make_user, make_event, mailbox):
    event = make_event()
    for email in ("anna@example.org", "bastien@example.org"):
        add_registration(app, event, make_user("member", email=email))
    as_("admin")
    mailbox.clear()
    data = {"subject": "Documents à lire", "body": "Lisez la note."}
    assert client.post(f"/agenda/{event.id}/message", data=data).status_code == 302
    response = client.post(f"/agenda/{event.id}/message", data=data, follow_redirects=True)
    assert "This message has just been sent: it was not sent a second time." in text_of(response)
    assert sorted(m["To"] for m in mailbox.messages) == ["anna@example.org", "bastien@example.org"]
    with app.app_context():
        assert len(db.session.scalars(select(EventMessage)).all()) == 1
    # Another message goes, even at once.
    mailbox.clear()
    client.post(f"/agenda/{event.id}/message", data={"subject": "Documents à lire", "body": "Et l'annexe."})
    assert len(mailbox.messages) == 2


def test_people_who_left_the_closed_group_hear_no_more_of_its_event(client, app, as_, make_user, make_group, make_event, mailbox):
    stays = make_user("member", email="reste@example.org", language="en")
    left = make_user("member", email="partie@example.org", language="en")
    group = make_group("Groupe fermé", is_open=False, members=[stays, left])
    event = make_event("Réunion du groupe fermé", group=group, kind=EventKind.GROUP_MEETING,
                       starts_at=datetime(2031, 5, 12, 12, 0), hours=2, joining_details="https://visio.example.org/a")
    add_registration(app, event, stays)
    add_registration(app, event, left)
    with app.app_context():
        group_services.leave(db.session.get(User, left.id), db.session.get(Group, group.id))
        db.session.commit()
    as_("admin", timezone="Europe/Paris")
    mailbox.clear()
    response = client.post(f"/agenda/{event.id}/message", data={"subject": "Ordre du jour", "body": "Voici."}, follow_redirects=True)
    assert "Your message was sent to 1 person." in text_of(response)
    assert [m["To"] for m in mailbox.messages] == ["reste@example.org"]
    # A new video link: not to the person who left.
    mailbox.clear()
    assert client.post(f"/agenda/{event.id}/edit", data=edit_form(
        "Réunion du groupe fermé", kind="group_meeting", group=str(group.id), joining_details="https://visio.example.org/b")).status_code == 302
    assert [m["To"] for m in mailbox.messages] == ["reste@example.org"]
    assert "https://visio.example.org/b" in mailbox.body(mailbox.messages[0])
    mailbox.clear()
    client.post(f"/agenda/{event.id}/cancel", data={"reason": "Reportée."})
    assert [m["To"] for m in mailbox.messages] == ["reste@example.org"]


def test_no_message_without_registrants(client, app, as_, make_event, mailbox):
    event = make_event()
    as_("admin")
    response = client.post(f"/agenda/{event.id}/message", data={"subject": "Bonjour", "body": "Personne ?"})
    assert response.status_code == 400
    assert form_alerts(response.get_data(as_text=True)) == ["Nobody is registered yet: there is no one to write to."]
    with app.app_context():
        assert db.session.scalar(select(EventMessage)) is None


# --- Cancelling ------------------------------------------------------------------------------------


def test_cancelling_tells_everyone_and_calendars(client, app, as_, make_user, login, make_event, mailbox):
    event = make_event("Club de printemps", kind=EventKind.CLUB, capacity=1)
    registered = make_user("member", email="reg@example.org", language="en", timezone="Indian/Reunion")
    waiting = make_user("member", email="wait@example.org", language="fr")
    gone = make_user("member", email="gone@example.org")
    add_registration(app, event, registered)
    add_registration(app, event, waiting, "waitlisted")
    add_registration(app, event, gone, "cancelled")
    as_("admin")
    page = text_of(client.get(f"/agenda/{event.id}/cancel"))
    assert "1 person registered — 1 person waiting" in page and "This cannot be undone." in page
    response = client.post(f"/agenda/{event.id}/cancel", data={"reason": "x" * 2001})
    assert errors_beside(response.get_data(as_text=True), "reason") == ["At most 2000 characters."]
    mailbox.clear()
    response = client.post(f"/agenda/{event.id}/cancel", data={"reason": "La salle n'est plus disponible."}, follow_redirects=True)
    html = text_of(response)
    assert "The event is cancelled: 2 people were told by email." in html
    assert "This event is cancelled." in html and "Reason: La salle n'est plus disponible." in html
    cancelled = event_row(app, event.id)
    assert cancelled.status == EventStatus.CANCELLED and cancelled.sequence == event.sequence + 1
    assert cancelled.cancelled_at is not None and cancelled.cancellation_reason == "La salle n'est plus disponible."
    mails = {m["To"]: m for m in mailbox.messages}
    assert set(mails) == {"reg@example.org", "wait@example.org"}
    assert mails["reg@example.org"]["Subject"] == "Cancelled: “Club de printemps”"
    assert "La salle n'est plus disponible." in mailbox.body(mails["reg@example.org"]) and "Indian/Reunion" in mailbox.body(mails["reg@example.org"])
    assert mails["wait@example.org"]["Subject"] == "Annulé\u00a0: «\u00a0Club de printemps\u00a0»"
    # Once cancelled: no second cancellation, no registration, and calendars get STATUS:CANCELLED.
    response = client.post(f"/agenda/{event.id}/cancel", data={}, follow_redirects=True)
    assert "This event is already cancelled." in text_of(response)
    assert f'href="/agenda/{event.id}/cancel"' not in client.get(f"/agenda/{event.id}").get_data(as_text=True)
    other = app.test_client()
    login(registered, client=other)
    ics = other.get(f"/agenda/{event.id}.ics")
    vevent = icalendar.Calendar.from_ical(ics.get_data()).walk("VEVENT")[0]
    assert str(vevent["STATUS"]) == "CANCELLED" and int(vevent["SEQUENCE"]) == cancelled.sequence
    newcomer = app.test_client()
    login(make_user("member"), client=newcomer)
    assert "La salle n'est plus disponible." in text_of(newcomer.get(f"/agenda/{event.id}"))
    assert newcomer.post(f"/agenda/{event.id}/register").status_code == 403


def test_a_finished_event_cannot_be_cancelled(client, as_, make_event):
    event = make_event(starts_in=timedelta(days=-2))
    as_("admin")
    assert client.get(f"/agenda/{event.id}/cancel").status_code == 403
    assert client.post(f"/agenda/{event.id}/cancel", data={"reason": ""}).status_code == 403


# --- Rescheduling -----------------------------------------------------------------------------------


def edit_form(event_id_title="Amicall accompagnement", **overrides):
    data = {"kind": "amicall", "title": event_id_title, "description": "", "starts_at": "2031-05-12T14:00", "ends_at": "2031-05-12T16:00",
            "group": "", "speakers": "", "place": "", "joining_details": "https://visio.example.org/a", "capacity": "",
            "seats_per_territory": "", "registration_opens_at": "", "registration_deadline": ""}
    data.update(overrides)
    return data


def test_moving_an_event_emails_the_new_time_in_each_persons_zone(client, app, as_, make_user, make_event, mailbox):
    # 14:00–16:00 in Paris (summer time) = 12:00–14:00 UTC.
    event = make_event("Amicall accompagnement", starts_at=datetime(2031, 5, 12, 12, 0), hours=2, joining_details="https://visio.example.org/a")
    reunion = make_user("coordinator", territory="la-reunion", email="reunion@example.org", language="fr", timezone="Indian/Reunion")
    waiting = make_user("member", email="wait@example.org", language="en")
    add_registration(app, event, reunion)
    add_registration(app, event, waiting, "waitlisted")
    as_("admin", timezone="Europe/Paris")
    mailbox.clear()
    # Only the title changes: nobody is emailed.
    assert client.post(f"/agenda/{event.id}/edit", data=edit_form("Amicall accompagnement social")).status_code == 302
    assert mailbox.messages == []
    # Two hours later, and a new video link.
    response = client.post(f"/agenda/{event.id}/edit", data=edit_form(
        "Amicall accompagnement social", starts_at="2031-05-12T16:00", ends_at="2031-05-12T18:00", joining_details="https://visio.example.org/b"))
    assert response.status_code == 302
    mails = {m["To"]: m for m in mailbox.messages}
    assert set(mails) == {"reunion@example.org", "wait@example.org"}
    body = mailbox.body(mails["reunion@example.org"])
    assert mails["reunion@example.org"]["Subject"] == "Modifié\u00a0: «\u00a0Amicall accompagnement social\u00a0»"
    # 14:00 UTC is 18:00 in La Réunion (UTC+4); it was 16:00 there.
    assert "12 mai 2031, 18:00" in body and "12 mai 2031, 20:00" in body and "Indian/Reunion" in body
    assert "12 mai 2031, 16:00" in body
    assert "https://visio.example.org/b" in body
    # A waiting person does not get the joining details, as on the page, nor hears they changed.
    assert "https://visio.example.org/b" not in mailbox.body(mails["wait@example.org"])
    assert "joining details" not in mailbox.body(mails["wait@example.org"])
    assert event_row(app, event.id).sequence == 2
    # Only the joining details change: nothing for the waiting person, who may not see them.
    mailbox.clear()
    client.post(f"/agenda/{event.id}/edit", data=edit_form(
        "Amicall accompagnement social", starts_at="2031-05-12T16:00", ends_at="2031-05-12T18:00", joining_details="https://visio.example.org/c"))
    assert [m["To"] for m in mailbox.messages] == ["reunion@example.org"]


def test_no_email_for_a_cancelled_event_moved(client, app, as_, make_user, make_event, mailbox):
    event = make_event("Amicall accompagnement", starts_at=datetime(2031, 5, 12, 12, 0), hours=2)
    add_registration(app, event, make_user("member"))
    with app.app_context():
        db.session.get(Event, event.id).status = EventStatus.CANCELLED
        db.session.commit()
    as_("admin", timezone="Europe/Paris")
    mailbox.clear()
    client.post(f"/agenda/{event.id}/edit", data=edit_form(starts_at="2031-05-13T14:00", ends_at="2031-05-13T16:00"))
    assert mailbox.messages == []
