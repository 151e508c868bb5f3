"""The agenda in a real headless Chromium against a real server: registering
to a club workshop through the form, with the keyboard, and the waiting
person promoted when the place comes free."""

import pytest
from extranet.agenda import services
from extranet.agenda.models import Event, EventKind, QuestionKind
from extranet.auth.models import User
from extranet.extensions import db

from .helpers import browser_login

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def test_register_to_a_club_workshop_cancel_and_the_waiting_person_is_promoted(live_server, page, app, make_user, make_event, make_session,
                                                                               make_question, mailbox):
    club = make_event("Club des territoires de printemps", kind=EventKind.CLUB, capacity=50)
    workshop = make_session(club, "Atelier prévention des expulsions", capacity=1)
    make_session(club, "Atelier logement des jeunes", capacity=20)
    attendance = make_question(club, "Comment participerez-vous ?", kind=QuestionKind.ATTENDANCE, required=True)
    person = make_user("member", name="Paul Participant", territory="lyon")
    waiting = make_user("member", name="Wassila Attente", email="wassila@example.org", territory="nantes")

    browser_login(page, live_server, person)
    page.goto(f"{live_server.url}/agenda/{club.id}")
    programme = page.locator("#programme")
    assert "Atelier prévention des expulsions" in programme.inner_text() and "0 place prise sur 1" in programme.inner_text()
    page.get_by_role("link", name="S'inscrire").click()
    page.wait_for_url(f"**/agenda/{club.id}/register")

    # Keyboard only: the checkbox and the radio button are found by their labels.
    choice = page.get_by_label("Atelier prévention des expulsions")
    choice.focus()
    page.keyboard.press("Space")
    assert choice.is_checked()
    remote = page.get_by_label("À distance")
    remote.focus()
    page.keyboard.press("Space")
    assert remote.is_checked()
    page.get_by_role("button", name="S'inscrire").press("Enter")
    page.wait_for_url(f"**/agenda/{club.id}")
    assert page.get_by_text("Vous êtes inscrit.").first.is_visible()
    assert "Atelier prévention des expulsions — place réservée" in page.locator("#my-workshops").inner_text()
    assert "1 place prise sur 1" in programme.inner_text()

    # Meanwhile another person asks for the same workshop: it is full, they wait.
    with app.app_context(), app.test_request_context():
        registration = services.register(db.session.get(User, waiting.id), db.session.get(Event, club.id), session_ids=[workshop.id],
                                         answers={attendance.id: "in_person"})
        db.session.commit()
        assert str(registration.status) == "registered"
    mailbox.clear()

    # “Mes inscriptions” shows the event with its workshop.
    page.goto(f"{live_server.url}/agenda/?mine=1")
    card = page.locator("#events li", has_text="Club des territoires de printemps")
    assert "Atelier prévention des expulsions — place réservée" in card.locator(".my-workshops").inner_text()
    card.get_by_role("link", name="Club des territoires de printemps").click()
    page.wait_for_url(f"**/agenda/{club.id}")

    # Cancel, after the confirmation dialog.
    page.locator("#registration").get_by_role("button", name="Annuler mon inscription").click()
    dialog = page.locator("dialog#cancel-registration")
    dialog.wait_for(state="visible")
    dialog.get_by_role("button", name="Annuler mon inscription").click()
    page.wait_for_url(f"**/agenda/{club.id}")
    assert page.get_by_text("Votre inscription est annulée.").first.is_visible()
    assert page.csp_violations == []

    # The waiting person holds the place now, and was told by email.
    page.get_by_role("button", name="Se déconnecter").click()
    browser_login(page, live_server, waiting)
    page.goto(f"{live_server.url}/agenda/{club.id}")
    assert "Atelier prévention des expulsions — place réservée" in page.locator("#my-workshops").inner_text()
    subjects = [m["Subject"] for m in mailbox.to("wassila@example.org")]
    assert subjects == ["Une place s'est libérée\u00a0: vous participez à l'atelier «\u00a0Atelier prévention des expulsions\u00a0»"]
