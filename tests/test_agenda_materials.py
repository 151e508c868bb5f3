"""After the event: organisers attach toolbox documents and a recording link,
registrants are told once, the event page shows each document only to those
who may open it, and past Amicalls form an archive."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from extranet.agenda.models import Event, EventKind, Registration, RegistrationStatus
from extranet.auth.models import User
from extranet.extensions import db
from extranet.plan.models import Axis
from extranet.timeutil import utcnow
from extranet.toolbox import services as toolbox
from extranet.toolbox.models import DocumentType, Visibility

from .group_helpers import text_of
from .helpers import errors_beside

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]

PAST = timedelta(hours=-3)


@pytest.fixture
def make_document(app):
    """make_document(author, title, visibility="network", group=None) -> id, through the toolbox service."""

    def factory(author, title, visibility="network", group=None):
        with app.app_context(), app.test_request_context():
            upload = toolbox.receive_upload(io.BytesIO(f"Compte rendu : {title}".encode()), "compte-rendu.txt", 10**6)
            document = toolbox.publish(
                db.session.get(User, author.id), title=title, summary="", type=DocumentType.MINUTES,
                axis_ids=[db.session.scalar(select(Axis.id).where(Axis.number == 3))],
                visibility=Visibility.NETWORK, upload=upload,
            )
            document.visibility = Visibility(visibility)
            document.group_id = group.id if group else None
            db.session.commit()
            return document.id

    return factory


def add_registrations(app, event, *users, status=RegistrationStatus.REGISTERED):
    """Registrations of an event that has already started (the service refuses those)."""
    with app.app_context():
        for user in users:
            db.session.add(Registration(event_id=event.id, user_id=user.id, territory_id=user.territory_id, status=status))
        db.session.commit()


def save(client, event, documents=(), recording_url=""):
    return client.post(f"/agenda/{event.id}/materials", data={"documents": [str(d) for d in documents], "recording_url": recording_url})


def stored(app, event):
    with app.app_context():
        event = db.session.get(Event, event.id)
        return sorted(d.title for d in event.documents), event.recording_url, event.materials_notified_at


# --- Rights -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("admin", 200), ("animator", 200), ("coordinator", 403), ("member", 403)])
def test_who_may_manage_the_materials(client, as_, make_event, role, status):
    event = make_event("Amicall passé", starts_in=PAST)
    as_(role)
    assert client.get(f"/agenda/{event.id}/materials").status_code == status
    assert save(client, event, recording_url="https://video.example.org/1").status_code == (302 if status == 200 else 403)
    assert client.post(f"/agenda/{event.id}/materials/notify").status_code in ((302,) if status == 200 else (403,))


def test_a_group_animator_manages_their_groups_events_only(app, client, login, make_user, make_group, make_event):
    animator = make_user("member")
    group = make_group("Groupe logement des jeunes", animators=[animator])
    own = make_event("Réunion du groupe", starts_in=PAST, group=group, kind=EventKind.GROUP_MEETING)
    other = make_event("Amicall national", starts_in=PAST)
    login(animator)
    assert client.get(f"/agenda/{own.id}/materials").status_code == 200
    assert client.get(f"/agenda/{other.id}/materials").status_code == 403


def test_materials_wait_for_the_start_of_the_event(client, as_, make_event):
    event = make_event("Amicall à venir")
    as_("admin")
    response = client.get(f"/agenda/{event.id}/materials")
    assert response.status_code == 302 and response.location.endswith(f"/agenda/{event.id}")
    assert save(client, event, recording_url="https://video.example.org/1").status_code == 302
    assert "Materials can be added once the event has started." in text_of(client.get(f"/agenda/{event.id}"))
    assert "Manage the materials" not in text_of(client.get(f"/agenda/{event.id}"))


def test_an_unknown_event_is_a_404(client, as_):
    as_("admin")
    assert client.get("/agenda/999/materials").status_code == 404


# --- Documents and their rights -------------------------------------------------------------------


@pytest.fixture
def materials_case(app, client, make_user, make_group, make_event, make_document, login):
    admin = make_user("admin", language="en")
    insider = make_user("member", email="insider@example.org", language="en")
    outsider = make_user("member", email="outsider@example.org", language="en", territory="nantes")
    waiting = make_user("member", email="waiting@example.org", language="en")
    closed = make_group("Groupe fermé", is_open=False, members=[insider])
    event = make_event("Amicall sur l'accompagnement", starts_in=PAST)
    docs = {
        "network": make_document(admin, "Compte rendu pour tous"),
        "national": make_document(admin, "Notes de l'équipe nationale", visibility="national"),
        "group": make_document(admin, "Diaporama du groupe fermé", visibility="group", group=closed),
    }
    add_registrations(app, event, insider, outsider)
    add_registrations(app, event, waiting, status=RegistrationStatus.WAITLISTED)
    login(admin)
    return {"admin": admin, "insider": insider, "outsider": outsider, "event": event, "docs": docs, "group": closed}


def test_the_event_page_shows_each_document_to_those_who_may_open_it(app, client, login, materials_case):
    c = materials_case
    event = c["event"]
    page = client.get(f"/agenda/{event.id}/materials")
    assert page.status_code == 200
    assert all(title in text_of(page) for title in ("Compte rendu pour tous", "Notes de l'équipe nationale", "Diaporama du groupe fermé"))
    response = save(client, event, c["docs"].values(), "https://video.example.org/amicall-3")
    assert response.status_code == 302
    assert stored(app, event)[:2] == (
        ["Compte rendu pour tous", "Diaporama du groupe fermé", "Notes de l'équipe nationale"], "https://video.example.org/amicall-3",
    )

    admin_page = text_of(client.get(f"/agenda/{event.id}"))
    assert "Notes de l'équipe nationale" in admin_page and "Diaporama du groupe fermé" in admin_page
    assert f'href="/toolbox/{c["docs"]["network"]}"' in admin_page

    outsider = app.test_client()
    login(c["outsider"], client=outsider)
    page = text_of(outsider.get(f"/agenda/{event.id}"))
    assert "Compte rendu pour tous" in page and "https://video.example.org/amicall-3" in page
    assert "Notes de l'équipe nationale" not in page and "Diaporama du groupe fermé" not in page
    assert "Manage the materials" not in page

    insider = app.test_client()
    login(c["insider"], client=insider)
    page = text_of(insider.get(f"/agenda/{event.id}"))
    assert "Diaporama du groupe fermé" in page and "Notes de l'équipe nationale" not in page


def test_an_organiser_chooses_only_among_documents_they_may_open_and_keeps_the_others(app, client, login, make_user, add_member, materials_case):
    c = materials_case
    event = c["event"]
    assert save(client, event, [c["docs"]["national"]]).status_code == 302  # the national team attaches its notes
    organiser = make_user("member", email="orga@example.org", language="en")
    add_member(c["group"], organiser, animator=True)
    with app.app_context():
        db.session.get(Event, event.id).group_id = c["group"].id
        db.session.commit()

    other = app.test_client()
    login(organiser, client=other)
    page = other.get(f"/agenda/{event.id}/materials")
    assert page.status_code == 200
    assert "Diaporama du groupe fermé" in text_of(page) and "Notes de l'équipe nationale" not in text_of(page)
    refused = save(other, event, [c["docs"]["national"]])
    assert refused.status_code == 400
    assert "Choose documents from the list." in text_of(refused)
    assert save(other, event, [c["docs"]["group"]], "https://video.example.org/2").status_code == 302
    # What they could not see stays attached.
    assert stored(app, event)[0] == ["Diaporama du groupe fermé", "Notes de l'équipe nationale"]


def test_a_search_finds_older_documents_to_attach(app, client, materials_case, make_document):
    c = materials_case
    found = make_document(c["admin"], "Synthèse des échanges de printemps")
    page = text_of(client.get(f"/agenda/{c['event'].id}/materials?q=printemps"))
    assert "Synthèse des échanges de printemps" in page and "Compte rendu pour tous" not in page
    assert save(client, c["event"], [found]).status_code == 302
    assert stored(app, c["event"])[0] == ["Synthèse des échanges de printemps"]


@pytest.mark.parametrize(
    "url, accepted",
    [
        ("https://video.example.org/amicall?t=3", True),
        ("http://intranet.example.org/rec/1", True),
        ("javascript:alert(1)", False),
        ("ftp://files.example.org/rec.mp4", False),
        ("https://", False),
        ("video.example.org/amicall", False),
        ("https://video.example.org/a b", False),
        ("https://video.example.org/" + "a" * 1000, False),
    ],
)
def test_the_recording_link_must_be_a_web_address(app, client, as_, make_event, url, accepted):
    event = make_event("Amicall enregistré", starts_in=PAST)
    as_("admin")
    response = save(client, event, recording_url=url)
    if accepted:
        assert response.status_code == 302
        assert stored(app, event)[1] == url
        assert f'href="{url.replace("&", "&amp;")}"' in client.get(f"/agenda/{event.id}").get_data(as_text=True)
    else:
        assert response.status_code == 400
        assert errors_beside(response.get_data(as_text=True), "recording_url")
        assert stored(app, event)[1] == ""


# --- Telling the registrants -----------------------------------------------------------------------


def test_registrants_are_told_once_with_what_each_may_open(app, client, materials_case, mailbox):
    c = materials_case
    event = c["event"]
    mailbox.clear()
    nothing = client.post(f"/agenda/{event.id}/materials/notify", follow_redirects=True)
    assert "Add a document or the recording link before telling the registrants." in text_of(nothing)
    assert mailbox.messages == [] and stored(app, event)[2] is None

    save(client, event, [c["docs"]["network"], c["docs"]["group"]], "https://video.example.org/amicall-3")
    page = text_of(client.get(f"/agenda/{event.id}/materials"))
    assert "Notify registrants" in page
    done = client.post(f"/agenda/{event.id}/materials/notify", follow_redirects=True)
    assert "Emails are on their way to 2 registered people." in text_of(done)
    assert stored(app, event)[2] is not None

    messages = mailbox.messages
    assert sorted(m["To"] for m in messages) == ["insider@example.org", "outsider@example.org"]  # not the waiting person
    insider = mailbox.body(mailbox.to("insider@example.org")[0])
    outsider = mailbox.body(mailbox.to("outsider@example.org")[0])
    assert "Diaporama du groupe fermé" in insider and "Diaporama du groupe fermé" not in outsider
    assert "Compte rendu pour tous" in outsider and f"/toolbox/{c['docs']['network']}" in outsider
    assert "https://video.example.org/amicall-3" in outsider and f"/agenda/{event.id}" in outsider
    assert "The materials of “Amicall sur l'accompagnement” are online" == messages[0]["Subject"]

    again = client.post(f"/agenda/{event.id}/materials/notify", follow_redirects=True)
    assert "The registrants were already told." in text_of(again)
    assert "The registrants were told on" in text_of(client.get(f"/agenda/{event.id}/materials"))
    assert len(mailbox.messages) == 2


# --- Archive ----------------------------------------------------------------------------------------


def _axis_id(app, number):
    with app.app_context():
        return db.session.scalar(select(Axis.id).where(Axis.number == number))


def test_the_archive_lists_past_amicalls_latest_first_with_their_materials(app, client, as_, login, make_user, make_group, make_event):
    axis_3, axis_12 = _axis_id(app, 3), _axis_id(app, 12)
    make_event("Amicall de janvier", starts_in=timedelta(days=-60), axis_ids=[axis_12])
    newer = make_event("Amicall de mars", starts_in=timedelta(days=-10), axis_ids=[axis_3])
    make_event("Amicall à venir", starts_in=timedelta(days=5))
    make_event("Webinaire passé", starts_in=timedelta(days=-5), kind=EventKind.WEBINAR)
    closed = make_group("Groupe fermé", is_open=False)
    make_event("Amicall du groupe fermé", starts_in=timedelta(days=-3), group=closed)
    with app.app_context():
        db.session.get(Event, newer.id).recording_url = "https://video.example.org/mars"
        db.session.commit()

    as_("member")
    index = client.get("/agenda/").get_data(as_text=True)
    assert 'href="/agenda/archive"' in index
    page = text_of(client.get("/agenda/archive"))
    assert page.index("Amicall de mars") < page.index("Amicall de janvier")
    assert "Amicall à venir" not in page and "Webinaire passé" not in page and "Amicall du groupe fermé" not in page
    assert "Recording" in page and "No materials" in page

    filtered = text_of(client.get(f"/agenda/archive?axis={axis_12}"))
    assert "Amicall de janvier" in filtered and "Amicall de mars" not in filtered
    assert "No past Amicall on this axis." in text_of(client.get(f"/agenda/archive?axis={_axis_id(app, 1)}"))
    assert client.get("/agenda/archive?axis=abc&page=-3").status_code == 200

    national = app.test_client()
    login(make_user("admin"), client=national)
    assert "Amicall du groupe fermé" in text_of(national.get("/agenda/archive"))


def test_the_archive_is_paginated(app, client, as_, make_event):
    now = utcnow()
    for n in range(21):
        make_event(f"Amicall numéro {n:02d}", starts_at=(now - timedelta(days=30 + n)).replace(microsecond=0))
    as_("member")
    first = text_of(client.get("/agenda/archive"))
    assert "Amicall numéro 00" in first and "Amicall numéro 20" not in first
    second = text_of(client.get("/agenda/archive?page=2"))
    assert "Amicall numéro 20" in second and "Amicall numéro 00" not in second


@pytest.mark.parametrize("document_id", ["3000000000", "99999999999999999999999", "0", "-4"])
def test_a_document_number_no_database_holds_is_refused_not_a_crash(app, client, as_, make_event, document_id):
    event = make_event("Amicall passé", starts_in=PAST)
    as_("admin")
    response = save(client, event, [document_id], "https://video.example.org/1")
    assert response.status_code == 400
    assert "Choose documents from the list." in text_of(response)
    assert stored(app, event)[:2] == ([], "")
