"""What the UI review of the agenda asked for: a month that scrolls on a phone, the current view and
period marked, workshop lines one under the other, counts agreeing with their number, a cancelled
event saying so, no empty programme, short item buttons, and a registrants table that scrolls."""

from datetime import timedelta

from sqlalchemy import update

from extranet.agenda.models import Event, EventKind, EventStatus, Registration, RegistrationStatus
from extranet.extensions import db
from extranet.timeutil import utcnow

from .group_helpers import text_of
from .helpers import parse

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def node(html, element_id):
    found = next((n for n in parse(html).iter() if n.attrs.get("id") == element_id), None)
    assert found is not None, f"no element {element_id!r}"
    return found


def scroll_region(container):
    """The focusable region that scrolls a table sideways, and its table."""
    region = next(n for n in container.iter() if n.attrs.get("role") == "region")
    assert region.attrs.get("tabindex") == "0" and region.attrs.get("aria-label")
    assert "extranet-scroll" in region.classes
    return region, next(n for n in region.iter() if n.tag == "table")


def register_directly(app, event, user, status="registered"):
    with app.app_context():
        now = utcnow().replace(microsecond=0)
        db.session.add(Registration(event_id=event.id, user_id=user.id, territory_id=user.territory_id,
                                    status=RegistrationStatus(status), created_at=now, updated_at=now))
        db.session.commit()


def cancel(app, event):
    with app.app_context():
        db.session.execute(update(Event).where(Event.id == event.id)
                           .values(status=EventStatus.CANCELLED, cancelled_at=utcnow()))
        db.session.commit()


def test_the_month_scrolls_sideways_in_a_focusable_region(client, as_, make_event):
    make_event("Amicall du mois")
    as_("member")
    html = client.get("/agenda/month").get_data(as_text=True)
    _, table = scroll_region(node(html, "month"))
    assert "extranet-month-table" in table.classes
    assert "style=" not in html.split('id="month"')[1].split("</table>")[0]


def test_the_current_view_and_period_are_marked(client, as_):
    as_("member")
    html = client.get("/agenda/").get_data(as_text=True)
    switches = [node(html, "agenda-views"), node(html, "agenda-period")]
    links = [n for switch in switches for n in switch.iter() if n.tag == "a"]
    current = [n for n in links if n.attrs.get("aria-current") == "page"]
    assert sorted(n.text().strip() for n in current) == ["List", "Upcoming"]
    assert all("fr-btn--secondary" not in n.classes for n in current)
    others = [n for n in links if n.text().strip() in ("Month", "Past")]
    assert len(others) == 2 and all("fr-btn--secondary" in n.classes and "aria-current" not in n.attrs for n in others)
    month = node(client.get("/agenda/month").get_data(as_text=True), "agenda-views")
    assert [n.text().strip() for n in month.iter() if n.tag == "a" and n.attrs.get("aria-current") == "page"] == ["Month"]


def test_my_workshops_in_the_list_are_one_item_each(client, app, as_, make_event, make_session):
    event = make_event("Club d'hiver", kind=EventKind.CLUB)
    first = make_session(event, "Atelier 1 — accès au logement")
    second = make_session(event, "Atelier 2 — santé mentale")
    user = as_("member")
    from extranet.agenda import services
    from extranet.auth.models import User
    with app.app_context(), app.test_request_context():
        services.register(db.session.get(User, user.id), db.session.get(Event, event.id), session_ids=[first.id, second.id])
        db.session.commit()
    page = parse(client.get("/agenda/").get_data(as_text=True))
    workshops = next(n for n in page.iter() if "my-workshops" in n.classes)
    assert workshops.tag == "ul" and "fr-card__detail" not in workshops.classes
    items = [n.text().strip() for n in workshops.iter() if n.tag == "li"]
    assert items == ["Atelier 1 — accès au logement — place held", "Atelier 2 — santé mentale — place held"]


def test_seat_counts_agree_with_their_number(client, app, as_, make_user, make_event):
    event = make_event("Amicall de printemps", capacity=120)
    as_("member", language="fr")
    assert "0 place prise sur 120" in text_of(client.get(f"/agenda/{event.id}"))
    register_directly(app, event, make_user("member", territory="lyon"))
    assert "1 place prise sur 120" in text_of(client.get(f"/agenda/{event.id}"))
    register_directly(app, event, make_user("member", territory="lyon"))
    assert "2 places prises sur 120" in text_of(client.get(f"/agenda/{event.id}"))


def test_a_cancelled_event_says_so_in_its_registration_panel(client, app, as_, make_event):
    event = make_event("Webinaire annulé", capacity=10)
    cancel(app, event)
    as_("member", language="fr")
    html = client.get(f"/agenda/{event.id}").get_data(as_text=True)
    assert "Événement annulé" in node(html, "registration").text()
    # Calendars need the CANCELLED status: the .ics stays.
    assert 'id="event-ics"' in html


def test_no_empty_programme_but_organisers_keep_its_link(client, as_, make_event, make_session):
    amicall = make_event("Amicall sans atelier")
    club = make_event("Club avec ateliers", kind=EventKind.CLUB)
    make_session(club, "Atelier logement")
    as_("admin")
    html = client.get(f"/agenda/{amicall.id}").get_data(as_text=True)
    assert 'id="programme"' not in html and "No workshop in the programme yet." not in html
    assert any(n.attrs.get("href") == f"/agenda/{amicall.id}/programme" for n in node(html, "organiser-links").iter())
    club_html = client.get(f"/agenda/{club.id}").get_data(as_text=True)
    assert "Atelier logement" in node(club_html, "programme").text()


def test_programme_and_questions_buttons_have_short_labels(client, as_, make_event, make_session):
    club = make_event("Club des boutons", kind=EventKind.CLUB)
    workshop = make_session(club, "Atelier au titre très long pour tester les boutons")
    as_("admin")
    item = node(client.get(f"/agenda/{club.id}/programme").get_data(as_text=True), f"workshop-{workshop.id}")
    buttons = [n for n in item.iter() if n.tag in ("a", "button") and "fr-btn" in n.classes]
    edit, delete = buttons[0], buttons[1]
    for button, short in ((edit, "Edit"), (delete, "Delete")):
        hidden = next(n for n in button.iter() if "extranet-label-detail" in n.classes)
        assert "Atelier au titre très long" in hidden.text()
        assert button.text().strip().startswith(short)
    html = client.get(f"/agenda/{club.id}/questions").get_data(as_text=True)
    # The "required" checkbox keeps a margin from the "Options" label under it.
    group = next(n for n in parse(html).iter() if "fr-checkbox-group" in n.classes
                 and any(c.attrs.get("name") == "required" for c in n.iter()))
    assert "fr-mb-3w" in group.parent.classes


def test_registrants_table_scrolls_and_names_the_territory_once(client, app, as_, make_user, make_event):
    event = make_event("Club des inscrits", kind=EventKind.CLUB, starts_in=timedelta(days=3))
    same = make_user("member", territory="lyon", name="Alice Martin", organisation="Métropole de Lyon")
    other = make_user("member", territory="lyon", name="Bruno Petit", organisation="CCAS de Lyon")
    register_directly(app, event, same)
    register_directly(app, event, other)
    as_("admin")
    html = client.get(f"/agenda/{event.id}/registrants").get_data(as_text=True)
    _, table = scroll_region(node(html, "registrants"))
    assert "extranet-registrants-table" in table.classes
    rows = [n for n in table.iter() if n.tag == "tr" and n.attrs.get("id", "").startswith("registration-")]
    alice = next(r for r in rows if "Alice Martin" in r.text())
    bruno = next(r for r in rows if "Bruno Petit" in r.text())
    assert alice.text().count("Métropole de Lyon") == 1
    assert "CCAS de Lyon" in bruno.text() and "Métropole de Lyon" in bruno.text()
