"""Club workshops and registration questions: the programme and questions
pages of organisers, the registration form, workshop places and their
waiting lists, promotion by email, changing one's registration until the
deadline, and no overbooked workshop under concurrency."""

import csv
import io
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from extranet.agenda import services
from extranet.agenda.models import (
    Event,
    EventKind,
    EventSession,
    QuestionKind,
    Registration,
    RegistrationAnswer,
    RegistrationQuestion,
    SessionRegistration,
)
from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups import services as group_services
from extranet.groups.models import Group
from extranet.timeutil import utcnow

from .group_helpers import text_of
from .helpers import errors_beside, parse

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def errors_in(html: str, element_id: str) -> list[str]:
    """The error messages inside the element with this id (a fieldset of radio buttons or checkboxes)."""
    node = next((n for n in parse(html).iter() if n.attrs.get("id") == element_id), None)
    assert node is not None, f"no element {element_id!r}"
    return [n.text() for n in node.iter() if n.tag == "p" and "fr-message--error" in n.classes]


def places(app, workshop_id) -> dict[int, str]:
    """user id → status of the places in a workshop."""
    with app.app_context():
        rows = db.session.execute(
            select(Registration.user_id, SessionRegistration.status)
            .join(Registration, SessionRegistration.registration_id == Registration.id)
            .where(SessionRegistration.session_id == workshop_id)
        )
        return {user_id: str(status) for user_id, status in rows}


def register(app, event, user, session_ids=None, answers=None):
    with app.app_context(), app.test_request_context():
        registration = services.register(db.session.get(User, user.id), db.session.get(Event, event.id),
                                         session_ids=session_ids, answers=answers)
        db.session.commit()
        return str(registration.status)


def registration_id(app, event, user) -> int:
    with app.app_context():
        return db.session.scalar(select(Registration.id).filter_by(event_id=event.id, user_id=user.id))


@pytest.fixture
def club(make_event, make_session):
    """A club with two workshops: “Atelier A” (2 places) and “Atelier B” (no limit)."""

    def factory(capacity=None, a_places=2, **fields):
        event = make_event("Club des territoires d'automne", kind=EventKind.CLUB, capacity=capacity, **fields)
        a = make_session(event, "Atelier A — prévention des expulsions", capacity=a_places)
        b = make_session(event, "Atelier B — logement des jeunes")
        return event, a, b

    return factory


# --- Registering to workshops -------------------------------------------------------------------


def test_register_through_the_form_to_a_workshop_and_see_it_everywhere(client, app, as_, club):
    event, a, b = club()
    user = as_("member")
    page = client.get(f"/agenda/{event.id}")
    assert f'href="/agenda/{event.id}/register"' in page.get_data(as_text=True)
    assert "0 of 2 places taken" in text_of(page)
    form = client.get(f"/agenda/{event.id}/register")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert 'for="sessions-%d"' % a.id in html and "2 places left" in text_of(form)
    response = client.post(f"/agenda/{event.id}/register", data={"sessions": [str(a.id)]}, follow_redirects=True)
    assert "You are registered." in text_of(response)
    assert "1 of 2 places taken" in text_of(response)
    my = parse(response.get_data(as_text=True))
    assert "Atelier A — prévention des expulsions — place held" in next(n for n in my.iter() if n.attrs.get("id") == "my-workshops").text()
    assert places(app, a.id) == {user.id: "registered"} and places(app, b.id) == {}
    # “Mes inscriptions” lists the workshop under the event.
    listing = text_of(client.get("/agenda/?mine=1"))
    assert "Club des territoires d'automne" in listing and "Atelier A — prévention des expulsions — place held" in listing and "Workshop “" not in listing
    # Registered already: the form is the one to change the registration.
    assert client.get(f"/agenda/{event.id}/register").headers["Location"].endswith(f"/agenda/{event.id}/registration")


def test_a_full_workshop_puts_people_on_its_own_waiting_list(client, app, as_, make_user, club):
    event, a, b = club(capacity=10, a_places=2)
    first, second = make_user("member"), make_user("member")
    assert register(app, event, first, [a.id]) == "registered"
    assert register(app, event, second, [a.id, b.id]) == "registered"
    user = as_("member")
    form = text_of(client.get(f"/agenda/{event.id}/register"))
    assert "Full: you would join its waiting list" in form
    response = client.post(f"/agenda/{event.id}/register", data={"sessions": [str(a.id), str(b.id)]}, follow_redirects=True)
    text = text_of(response)
    # A seat in the event, a place in B, the waiting list of A only.
    assert "You are registered." in text
    assert "The workshop “Atelier A — prévention des expulsions” is full: you are on its waiting list." in text
    assert "2 of 2 places taken — 1 person waiting" in text
    assert places(app, a.id) == {first.id: "registered", second.id: "registered", user.id: "waitlisted"}
    assert places(app, b.id) == {second.id: "registered", user.id: "registered"}


def test_cancelling_gives_the_workshop_place_to_the_first_waiting_with_an_email(client, app, make_user, login, club, mailbox):
    event, a, _b = club(a_places=1)
    holder = make_user("member", language="en")
    waiting = make_user("member", email="attente@example.org", name="Wanda Attente", language="en")
    later = make_user("member", email="ensuite@example.org", language="en")
    for user in (holder, waiting, later):
        register(app, event, user, [a.id])
    assert places(app, a.id) == {holder.id: "registered", waiting.id: "waitlisted", later.id: "waitlisted"}
    mailbox.clear()
    login(holder)
    assert "1 of 1 places taken — 2 people waiting" in text_of(client.get(f"/agenda/{event.id}"))
    client.post(f"/agenda/{event.id}/cancel-registration")
    assert places(app, a.id) == {waiting.id: "registered", later.id: "waitlisted"}
    messages = mailbox.messages
    assert [m["To"] for m in messages] == ["attente@example.org"]
    assert messages[0]["Subject"] == "A place is free: you are in the workshop “Atelier A — prévention des expulsions”"
    body = mailbox.body(messages[0])
    assert "Club des territoires d'automne" in body and f"/agenda/{event.id}" in body


def test_leaving_one_workshop_promotes_its_first_waiting_person(client, app, as_, make_user, club, mailbox):
    event, a, b = club(a_places=1)
    holder = as_("member")
    waiting = make_user("member", email="suivante@example.org", language="en")
    register(app, event, holder, [a.id, b.id])
    register(app, event, waiting, [a.id])
    mailbox.clear()
    response = client.post(f"/agenda/{event.id}/workshops/{a.id}/leave", follow_redirects=True)
    assert "You left the workshop “Atelier A — prévention des expulsions”." in text_of(response)
    assert places(app, a.id) == {waiting.id: "registered"}
    assert places(app, b.id) == {holder.id: "registered"}  # still in the event and in B
    assert [m["To"] for m in mailbox.messages] == ["suivante@example.org"]
    assert client.post(f"/agenda/{event.id}/workshops/999999/leave").status_code == 404


def test_leaving_a_workshop_one_holds_no_place_in_is_a_404(client, app, as_, make_user, club, mailbox):
    event, a, b = club()
    holder = as_("member")
    register(app, event, holder, [b.id])
    mailbox.clear()
    response = client.post(f"/agenda/{event.id}/workshops/{a.id}/leave", follow_redirects=True)
    assert response.status_code == 404
    assert "You left the workshop" not in text_of(response)
    assert places(app, b.id) == {holder.id: "registered"}
    assert mailbox.messages == []


def test_no_promotion_email_to_people_who_left_the_closed_group(app, make_user, make_group, make_event, make_session, mailbox):
    seated = make_user("member")
    in_event = make_user("member", email="atelier@example.org")
    waiting = make_user("member", email="attente@example.org")
    group = make_group("Groupe fermé", is_open=False, members=[seated, in_event, waiting])
    event = make_event("Réunion du groupe fermé", group=group, kind=EventKind.GROUP_MEETING, capacity=2)
    workshop = make_session(event, "Atelier A", capacity=1)
    assert register(app, event, seated, [workshop.id]) == "registered"
    assert register(app, event, in_event, [workshop.id]) == "registered"
    assert register(app, event, waiting) == "waitlisted"
    with app.app_context():
        for user in (in_event, waiting):
            group_services.leave(db.session.get(User, user.id), db.session.get(Group, group.id))
        db.session.commit()
    mailbox.clear()
    with app.app_context(), app.test_request_context():
        registration = db.session.get(Registration, registration_id(app, event, seated))
        promoted = services.cancel_registration(db.session.get(User, seated.id), registration)
        db.session.commit()
        assert [r.user_id for r in promoted] == [waiting.id]
    assert places(app, workshop.id) == {in_event.id: "registered"}
    # Neither the workshop place nor the seat in the event is announced to those who left.
    assert mailbox.messages == []


def test_waiting_for_the_event_keeps_workshop_choices_waiting_until_promoted(app, make_user, club, mailbox):
    event, a, b = club(capacity=1, a_places=5)
    seated, waiting = make_user("member"), make_user("member")
    assert register(app, event, seated, [a.id]) == "registered"
    assert register(app, event, waiting, [a.id, b.id]) == "waitlisted"
    # Room in A and B, but no seat in the event: no workshop place yet.
    assert places(app, a.id) == {seated.id: "registered", waiting.id: "waitlisted"}
    assert places(app, b.id) == {waiting.id: "waitlisted"}
    with app.app_context(), app.test_request_context():
        registration = db.session.get(Registration, registration_id(app, event, seated))
        promoted = services.cancel_registration(db.session.get(User, seated.id), registration)
        db.session.commit()
        assert [r.user_id for r in promoted] == [waiting.id]
    assert places(app, a.id) == {waiting.id: "registered"} and places(app, b.id) == {waiting.id: "registered"}


def test_the_form_says_when_the_event_is_full_and_choices_wait_with_the_person(client, app, as_, make_user, club):
    event, a, _b = club(capacity=1, a_places=5)
    register(app, event, make_user("member"), [])
    user = as_("member")
    form = text_of(client.get(f"/agenda/{event.id}/register"))
    assert "The event is full: you will join its waiting list" in form and "Join the waiting list" in form
    response = client.post(f"/agenda/{event.id}/register", data={"sessions": [str(a.id)]}, follow_redirects=True)
    assert "The event is full: you are on the waiting list." in text_of(response)
    assert "Atelier A — prévention des expulsions — on its waiting list" in text_of(response)
    assert places(app, a.id) == {user.id: "waitlisted"}


def test_at_most_the_number_of_workshops_allowed(client, app, as_, club, make_event):
    event, a, b = club()
    with app.app_context():
        db.session.get(Event, event.id).max_sessions_per_person = 1
        db.session.commit()
    as_("member")
    assert "Choose up to 1 workshop." in text_of(client.get(f"/agenda/{event.id}/register"))
    response = client.post(f"/agenda/{event.id}/register", data={"sessions": [str(a.id), str(b.id)]})
    assert response.status_code == 400
    assert errors_in(response.get_data(as_text=True), "sessions") == ["Choose at most 1 workshop."]
    # Kept as typed.
    assert 'value="%d" checked' % b.id in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Registration)) is None
    # A workshop of another event is refused too, by the service.
    other = make_event("Autre club", kind=EventKind.CLUB)
    with app.app_context(), app.test_request_context(), pytest.raises(services.ServiceError):
        services.register(db.session.scalar(select(User).filter_by(role="member")), db.session.get(Event, other.id), session_ids=[a.id])


# --- Questions -------------------------------------------------------------------------------------


@pytest.fixture
def asked(make_event, make_question):
    """An Amicall with a required attendance question, an optional choice and a required free text."""
    event = make_event("Amicall avec questions", registration_deadline=(utcnow() + timedelta(days=2)).replace(microsecond=0))
    attendance = make_question(event, "Comment participerez-vous ?", kind=QuestionKind.ATTENDANCE, required=True)
    meal = make_question(event, "Repas", kind=QuestionKind.CHOICE, options="Végétarien\nSans porc\nSans préférence")
    needs = make_question(event, "Besoins d'accessibilité", required=True, help_text="Écrivez « aucun » s'il n'y en a pas.")
    return event, attendance, meal, needs


def test_required_questions_are_enforced_beside_the_field_and_nothing_is_saved(client, app, as_, asked):
    event, attendance, meal, needs = asked
    as_("member")
    form = client.get(f"/agenda/{event.id}/register")
    text = text_of(form)
    assert "Comment participerez-vous ?" in text and "In person" in text and "Remote" in text
    assert "Écrivez « aucun » s'il n'y en a pas." in text
    response = client.post(f"/agenda/{event.id}/register", data={f"question_{meal.id}": "Sans porc"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_in(html, f"question_{attendance.id}") == ["Answer this question."]
    assert errors_beside(html, f"question_{needs.id}") == ["Answer this question."]
    assert errors_in(html, f"question_{meal.id}") == []
    assert 'value="Sans porc" checked' in html  # what was typed is kept
    # An option that was never offered.
    response = client.post(f"/agenda/{event.id}/register", data={f"question_{attendance.id}": "sur la lune", f"question_{needs.id}": "aucun"})
    assert errors_in(response.get_data(as_text=True), f"question_{attendance.id}") == ["Choose one of the options."]
    with app.app_context():
        assert db.session.scalar(select(Registration)) is None


def test_answers_are_saved_and_can_be_changed_until_the_deadline(client, app, as_, asked):
    event, attendance, meal, needs = asked
    user = as_("member")
    response = client.post(f"/agenda/{event.id}/register", data={
        f"question_{attendance.id}": "remote", f"question_{meal.id}": "Végétarien", f"question_{needs.id}": "Sous-titrage",
    })
    assert response.status_code == 302
    with app.app_context(), app.test_request_context():
        registration = db.session.scalar(select(Registration).filter_by(user_id=user.id))
        answers = services.answers_of(registration)
        assert answers == {attendance.id: "remote", meal.id: "Végétarien", needs.id: "Sous-titrage"}
        question = db.session.get(RegistrationQuestion, attendance.id)
        assert str(services.format_answer(question, "remote")) == "À distance"  # as the French pages and exports show it
    page = client.get(f"/agenda/{event.id}")
    assert f'href="/agenda/{event.id}/registration"' in page.get_data(as_text=True)
    # The form to change it shows the answers given.
    html = client.get(f"/agenda/{event.id}/registration").get_data(as_text=True)
    assert 'value="remote" checked' in html and 'value="Végétarien" checked' in html and "Sous-titrage</textarea>" in html
    response = client.post(f"/agenda/{event.id}/registration", data={f"question_{attendance.id}": "in_person", f"question_{needs.id}": "aucun"})
    assert response.status_code == 302
    with app.app_context():
        assert services.answers_of(db.session.get(Registration, registration.id)) == {attendance.id: "in_person", needs.id: "aucun"}
    # A required answer cannot be emptied.
    response = client.post(f"/agenda/{event.id}/registration", data={f"question_{attendance.id}": "in_person", f"question_{needs.id}": ""})
    assert errors_beside(response.get_data(as_text=True), f"question_{needs.id}") == ["Answer this question."]
    # The deadline passes: the answers stay as they are.
    with app.app_context():
        db.session.get(Event, event.id).registration_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get(f"/agenda/{event.id}/registration").status_code == 403
    assert client.post(f"/agenda/{event.id}/registration", data={f"question_{attendance.id}": "remote", f"question_{needs.id}": "x"}).status_code == 403
    assert f'href="/agenda/{event.id}/registration"' not in client.get(f"/agenda/{event.id}").get_data(as_text=True)
    with app.app_context():
        assert services.answers_of(db.session.get(Registration, registration.id))[attendance.id] == "in_person"


def test_changing_workshops_frees_the_place_left(client, app, as_, make_user, club, mailbox):
    event, a, b = club(a_places=1)
    user = as_("member")
    waiting = make_user("member", email="w@example.org", language="en")
    register(app, event, user, [a.id])
    register(app, event, waiting, [a.id])
    mailbox.clear()
    response = client.post(f"/agenda/{event.id}/registration", data={"sessions": [str(b.id)]})
    assert response.status_code == 302
    assert places(app, a.id) == {waiting.id: "registered"} and places(app, b.id) == {user.id: "registered"}
    assert [m["To"] for m in mailbox.messages] == ["w@example.org"]


def test_a_coordinator_registers_a_member_without_answering_for_them(client, app, as_, make_user, asked):
    # The questions are the member's to answer (they may change the registration afterwards).
    event, *_questions = asked
    member = make_user("member", territory="lyon")
    as_("coordinator", territory="lyon")
    response = client.post(f"/agenda/{event.id}/register-member", data={"member": str(member.id)})
    assert response.status_code == 302
    with app.app_context():
        assert str(db.session.scalar(select(Registration.status).filter_by(user_id=member.id))) == "registered"
        assert db.session.scalar(select(RegistrationAnswer)) is None


def test_an_event_without_workshops_or_questions_keeps_its_one_button(client, as_, make_event):
    event = make_event()
    as_("member")
    html = client.get(f"/agenda/{event.id}").get_data(as_text=True)
    assert f'action="/agenda/{event.id}/register"' in html
    assert client.get(f"/agenda/{event.id}/register").status_code == 302
    assert "You are registered." in text_of(client.post(f"/agenda/{event.id}/register", follow_redirects=True))


# --- Organisers: the programme and the questions --------------------------------------------------


def test_an_organiser_builds_the_programme_in_their_time_zone(client, app, as_, make_event):
    event = make_event("Club de La Réunion", kind=EventKind.CLUB, starts_at=datetime(2031, 6, 10, 6, 0), hours=10)
    as_("admin", timezone="Indian/Reunion")
    assert "No workshop in the programme yet." in text_of(client.get(f"/agenda/{event.id}/programme"))
    # Errors beside the fields, nothing saved.
    response = client.post(f"/agenda/{event.id}/programme", data={"title": "", "starts_at": "2031-06-10T15:00", "ends_at": "2031-06-10T14:00", "capacity": "0"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "title") == ["Enter the title of the workshop."]
    assert errors_beside(html, "capacity") == ["Enter a number from 1 to 100,000."]
    response = client.post(f"/agenda/{event.id}/programme", data={"title": "Atelier du soir", "starts_at": "2031-06-10T15:00", "ends_at": "2031-06-10T14:00"})
    assert errors_beside(response.get_data(as_text=True), "ends_at") == ["The end must come after the start."]
    response = client.post(f"/agenda/{event.id}/programme", data={"title": "Atelier hors du club", "starts_at": "2031-06-11T15:00"})
    assert errors_beside(response.get_data(as_text=True), "starts_at") == ["Choose a time during the event."]
    # 14:00 in La Réunion (UTC+4) is 10:00 UTC.
    response = client.post(f"/agenda/{event.id}/programme", data={"title": "Atelier logement d'abord", "starts_at": "2031-06-10T14:00",
                                                                  "ends_at": "2031-06-10T15:30", "capacity": "20"})
    assert response.status_code == 302
    client.post(f"/agenda/{event.id}/programme", data={"title": "Atelier accompagnement"})
    with app.app_context():
        first, second = db.session.scalars(select(EventSession).order_by(EventSession.position))
        assert (first.title, first.starts_at, first.capacity) == ("Atelier logement d'abord", datetime(2031, 6, 10, 10, 0), 20)
        assert second.title == "Atelier accompagnement" and second.position > first.position
    # Edit: times shown back in La Réunion time; reorder by position.
    html = client.get(f"/agenda/{event.id}/programme/{first.id}").get_data(as_text=True)
    assert 'value="2031-06-10T14:00"' in html
    response = client.post(f"/agenda/{event.id}/programme/{second.id}", data={"title": "Atelier accompagnement", "position": "0"})
    assert response.status_code == 302
    text = text_of(client.get(f"/agenda/{event.id}"))
    assert text.index("Atelier accompagnement") < text.index("Atelier logement d'abord")
    # How many workshops one person may choose.
    assert client.post(f"/agenda/{event.id}/programme/settings", data={"max_sessions_per_person": "0"}).status_code == 400
    client.post(f"/agenda/{event.id}/programme/settings", data={"max_sessions_per_person": "1"})
    assert "Each person may choose 1 workshop." in text_of(client.get(f"/agenda/{event.id}"))
    # Delete, after the confirmation dialog.
    assert f'id="delete-workshop-{first.id}"' in client.get(f"/agenda/{event.id}/programme").get_data(as_text=True)
    response = client.post(f"/agenda/{event.id}/programme/{first.id}/delete", follow_redirects=True)
    assert "The workshop “Atelier logement d'abord” is deleted." in text_of(response)
    with app.app_context():
        assert [s.title for s in db.session.scalars(select(EventSession))] == ["Atelier accompagnement"]


def test_more_places_in_a_workshop_let_its_waiting_people_in_and_fewer_than_taken_are_refused(client, app, as_, make_user, club, mailbox):
    event, a, _b = club(a_places=2)
    first, second = make_user("member"), make_user("member")
    third = make_user("member", email="third@example.org", language="en")
    for user in (first, second, third):
        register(app, event, user, [a.id])
    mailbox.clear()
    as_("admin")
    # Fewer places than people holding one: refused beside the field, nobody loses their place.
    response = client.post(f"/agenda/{event.id}/programme/{a.id}", data={"title": a.title, "capacity": "1", "position": str(a.position)})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "capacity") == ["2 people hold a place in this workshop: enter at least 2."]
    client.post(f"/agenda/{event.id}/programme/{a.id}", data={"title": a.title, "capacity": "3", "position": str(a.position)})
    assert places(app, a.id) == {first.id: "registered", second.id: "registered", third.id: "registered"}
    assert [m["To"] for m in mailbox.messages] == ["third@example.org"]


def test_an_organiser_manages_the_questions(client, app, as_, make_event):
    event = make_event()
    as_("animator")
    assert "No question yet" in text_of(client.get(f"/agenda/{event.id}/questions"))
    response = client.post(f"/agenda/{event.id}/questions", data={"kind": "choice", "label": "Repas", "options": "Végétarien\n  \nVégétarien"})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "options") == ["Give at least two options, one a line."]
    response = client.post(f"/agenda/{event.id}/questions", data={"kind": "", "label": ""})
    html = response.get_data(as_text=True)
    assert errors_beside(html, "kind") == ["Choose the kind of question."] and errors_beside(html, "label") == ["Enter the question."]
    assert client.post(f"/agenda/{event.id}/questions", data={"kind": "multiple", "label": "Thèmes", "options": "Jeunes\nExpulsions\n"}).status_code == 302
    assert client.post(f"/agenda/{event.id}/questions", data={"kind": "attendance", "label": "Présence", "required": "y", "options": "ignoré"}).status_code == 302
    with app.app_context():
        themes, attendance = db.session.scalars(select(RegistrationQuestion).order_by(RegistrationQuestion.position))
        assert themes.options == "Jeunes\nExpulsions" and attendance.options == "" and attendance.required
    # The registration form now asks them; the event page leads to it.
    assert f'href="/agenda/{event.id}/register"' in client.get(f"/agenda/{event.id}").get_data(as_text=True)
    text = text_of(client.get(f"/agenda/{event.id}/register"))
    assert "Thèmes" in text and "Expulsions" in text and "Présence" in text
    assert client.post(f"/agenda/{event.id}/questions/{themes.id}", data={"kind": "multiple", "label": "Thèmes choisis", "options": "A\nB", "position": "9"}).status_code == 302
    assert "Thèmes choisis" in text_of(client.get(f"/agenda/{event.id}/questions"))
    assert client.post(f"/agenda/{event.id}/questions/{themes.id}/delete").status_code == 302
    with app.app_context():
        assert [q.label for q in db.session.scalars(select(RegistrationQuestion))] == ["Présence"]


PAGES = [
    ("get", "/agenda/{event}/programme"),
    ("get", "/agenda/{event}/programme/{workshop}"),
    ("get", "/agenda/{event}/questions"),
    ("get", "/agenda/{event}/questions/{question}"),
    ("post", "/agenda/{event}/programme/{workshop}/delete"),
    ("post", "/agenda/{event}/questions/{question}/delete"),
]


@pytest.mark.parametrize(
    "role, allowed",
    [("admin", True), ("animator", True), ("group_animator", True), ("other_group_animator", False), ("coordinator", False), ("member", False)],
)
def test_who_manages_the_programme_and_questions(client, login, make_user, make_group, make_event, make_session, make_question, role, allowed):
    animator = make_user("member")
    group = make_group("Groupe des clubs", animators=[animator])
    event = make_event("Réunion du groupe", kind=EventKind.GROUP_MEETING, group=group)
    if role == "group_animator":
        user = animator
    else:
        user = make_user("member" if role == "other_group_animator" else role)
        if role == "other_group_animator":
            make_group("Autre groupe", animators=[user])
    login(user)
    for method, url in PAGES:  # the deletions last
        workshop = make_session(event, "Atelier")
        question = make_question(event, "Question")
        response = getattr(client, method)(url.format(event=event.id, workshop=workshop.id, question=question.id))
        assert response.status_code == ((302 if method == "post" else 200) if allowed else 403), (method, url)
    assert (f'href="/agenda/{event.id}/programme"' in client.get(f"/agenda/{event.id}").get_data(as_text=True)) == allowed


def test_unknown_workshops_and_questions_are_404(client, as_, make_event, make_session):
    event, other = make_event(), make_event("Autre")
    workshop = make_session(other, "Atelier d'un autre événement")
    as_("admin")
    assert client.get(f"/agenda/{event.id}/programme/{workshop.id}").status_code == 404
    assert client.get(f"/agenda/{event.id}/questions/999999").status_code == 404
    assert client.get("/agenda/999999/programme").status_code == 404


# --- Never overbooked ---------------------------------------------------------------------------


def test_concurrent_registrations_never_overbook_a_workshop(app, backend, make_user, club):
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer at a time: the race needs PostgreSQL's row locks")
    event, a, _b = club(a_places=3)
    users = [make_user("member", territory="lyon" if n % 2 else "nantes") for n in range(12)]
    start = threading.Barrier(len(users))
    errors = []

    def attempt(user):
        try:
            with app.app_context():
                start.wait()
                services.register(db.session.get(User, user.id), db.session.get(Event, event.id), session_ids=[a.id])
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
    statuses = list(places(app, a.id).values())
    assert statuses.count("registered") == 3 and statuses.count("waitlisted") == 9


# --- Deleted while someone registers ------------------------------------------------------------


def _delete_elsewhere(*statements):
    """An organiser's deletion, committed on another connection meanwhile."""
    with db.engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)


def test_a_workshop_deleted_while_someone_registers_is_refused_cleanly(app, make_user, club):
    event, a, b = club()
    user = make_user("member")
    with app.app_context(), app.test_request_context():
        loaded = db.session.get(Event, event.id)
        assert {s.id for s in loaded.sessions} == {a.id, b.id}  # the form was built with both
        _delete_elsewhere(delete(SessionRegistration).where(SessionRegistration.session_id == a.id),
                          delete(EventSession).where(EventSession.id == a.id))
        with pytest.raises(services.ServiceError) as refused:
            services.register(db.session.get(User, user.id), loaded, session_ids=[a.id, b.id])
        assert refused.value.field == "sessions"
        db.session.rollback()
    assert places(app, a.id) == {}


def test_a_question_deleted_while_someone_registers_is_ignored(app, make_user, make_event, make_question):
    event = make_event("Amicall avec une question")
    question = make_question(event, "Repas", kind=QuestionKind.CHOICE, options="Végétarien\nSans porc")
    user = make_user("member")
    with app.app_context(), app.test_request_context():
        loaded = db.session.get(Event, event.id)
        assert [q.id for q in loaded.questions] == [question.id]
        _delete_elsewhere(delete(RegistrationAnswer).where(RegistrationAnswer.question_id == question.id),
                          delete(RegistrationQuestion).where(RegistrationQuestion.id == question.id))
        services.register(db.session.get(User, user.id), loaded, answers={question.id: "Sans porc"})
        db.session.commit()
    assert register(app, event, user) == "registered"
    with app.app_context():
        assert db.session.scalar(select(RegistrationAnswer)) is None


def to_complete_in_csv(client, event) -> list[str]:
    rows = list(csv.reader(io.StringIO(client.get(f"/agenda/{event.id}/registrants.csv").get_data().decode("utf-8-sig")), delimiter=";"))
    column = rows[0].index("Answers to complete")
    return [row[column] for row in rows[1:]]


def test_a_member_registered_by_their_coordinator_completes_the_answers(client, app, as_, person, login, asked, mailbox):
    # Registered without answers: the member is told by email and on the page, organisers see it, until answered.
    event, attendance, meal, needs = asked
    member = person("member", territory="lyon", email="membre@example.org")
    as_("coordinator", territory="lyon")
    mailbox.clear()
    assert client.post(f"/agenda/{event.id}/register-member", data={"member": str(member.id)}).status_code == 302
    [message] = mailbox.messages
    body = " ".join(mailbox.body(message).split())
    assert "please complete your registration (answers to the questions, choice of workshops) before" in body
    assert f"/agenda/{event.id}/registration" in body

    organiser = app.test_client()
    login(person("admin"), client=organiser)
    assert "Answers to complete" in text_of(organiser.get(f"/agenda/{event.id}/registrants"))
    assert to_complete_in_csv(organiser, event) == ["Yes"]

    own = app.test_client()
    login(member, client=own)
    notice = "Your registration is to be completed: answer the required questions."
    page = own.get(f"/agenda/{event.id}")
    assert notice in text_of(page) and f'href="/agenda/{event.id}/registration"' in page.get_data(as_text=True)
    response = own.post(f"/agenda/{event.id}/registration", data={f"question_{attendance.id}": "remote", f"question_{needs.id}": "aucun"},
                        follow_redirects=True)
    assert "Your registration is saved." in text_of(response) and notice not in text_of(response)
    assert "Answers to complete" not in text_of(organiser.get(f"/agenda/{event.id}/registrants"))
    assert to_complete_in_csv(organiser, event) == [""]


def test_a_member_registered_to_an_event_without_questions_is_not_asked_to_complete(client, app, as_, person, make_event, mailbox):
    event = make_event()
    member = person("member", territory="lyon")
    as_("coordinator", territory="lyon")
    mailbox.clear()
    client.post(f"/agenda/{event.id}/register-member", data={"member": str(member.id)})
    [message] = mailbox.messages
    assert "complete your registration" not in mailbox.body(message) and "/registration" not in mailbox.body(message)
