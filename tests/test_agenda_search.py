"""Agenda events in the platform's search (kind "agenda"): found by their French
words, hidden with their closed group, never by their joining details, and
following edits, cancellations and deletions."""

from datetime import datetime

from sqlalchemy import select

from extranet import permissions
from extranet.agenda.models import Event, EventKind, EventStatus
from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups.models import Group
from extranet.plan.models import Axis
from extranet.search import KINDS, all_entries, get_engine

from .group_helpers import search_keys, settled
from .group_helpers import text_of
from .helpers import parse

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def facets(app, user, text) -> dict:
    settled(app)
    with app.app_context():
        reader = db.session.get(User, user.id)
        results = get_engine(app).query(text, access=permissions.access_tokens(reader), per_page=100)
        return {name: dict(values) for name, values in results.facets.items()}


def update(app, event, **values):
    """An edit committed like any page does: the index follows the session's events."""
    with app.app_context():
        row = db.session.get(Event, event.id)
        axes = values.pop("axes", None)
        for name, value in values.items():
            setattr(row, name, value)
        if axes is not None:
            row.axes = list(db.session.scalars(select(Axis).where(Axis.number.in_(axes))))
        db.session.commit()


def test_an_event_is_found_by_its_french_words(app, client, as_, make_event):
    event = make_event(
        "Amicall sur la prévention des expulsions",
        description="Un **échange** sur l'hébergement d'urgence et les _commissions_ de coordination.",
        speakers="Sœur Marie-Thérèse Dupré\nDélégation interministérielle",
        place="Préfecture du Rhône, salle Bellecour",
        starts_at=datetime(2031, 3, 12, 13, 0),
    )
    me = as_("member")
    key = f"event:{event.id}"
    for words in ("expulsion", "hebergement", "Hébergement d'urgence", "commissions", "therese", "Dupré", "préfecture", "Bellecour"):
        assert search_keys(app, me, words) == [key], words
    # Markdown does not reach the index.
    assert search_keys(app, me, "échange") == [key] and search_keys(app, me, "**") == []
    # The results page names the kind and the type, and leads to the event.
    response = client.get("/search", query_string={"q": "expulsions"})
    assert response.status_code == 200
    root = parse(response.get_data(as_text=True))
    assert f"/agenda/{event.id}" in [n.attrs.get("href") for n in root.iter() if n.tag == "a"]
    html = text_of(response)
    assert "Agenda" in html and "Amicall" in html
    assert facets(app, me, "expulsions")["kind"] == {"agenda": 1}
    assert facets(app, me, "expulsions")["type"] == {"amicall": 1}
    assert facets(app, me, "expulsions")["year"] == {2031: 1}


def test_kind_and_types_have_labels():
    assert str(KINDS["agenda"]["label"]) == "Agenda"
    assert set(KINDS["agenda"]["type_labels"]) == {k.value for k in EventKind}


def test_the_entry_of_an_event(app, make_event, make_group):
    group = make_group("Groupe fermé", is_open=False)
    event = make_event("Réunion du groupe", kind=EventKind.GROUP_MEETING, group=group, starts_at=datetime(2030, 11, 5, 9, 0),
                       speakers="Alice\nBob", place="Lyon", joining_details="Code secret 4242")
    update(app, event, axes=[3, 12])
    with app.app_context():
        entry = next(e for e in all_entries(db.session) if e.key == f"event:{event.id}")
    assert entry.kind == "agenda" and entry.type == "group_meeting" and entry.url == f"/agenda/{event.id}"
    assert entry.axes == (3, 12) and entry.year == 2030 and entry.date == datetime(2030, 11, 5, 9, 0)
    assert entry.keywords == ("Alice", "Bob") and "Lyon" in entry.content
    assert entry.access == frozenset({permissions.group_token(group.id), permissions.NATIONAL})
    assert "4242" not in f"{entry.title} {entry.summary} {entry.content} {entry.keywords}"


def test_joining_details_are_never_searchable(app, as_, make_event):
    event = make_event("Amicall en visio", joining_details="https://visio.example.org/salle-zebrure — code 987654")
    organiser = as_("admin")
    assert search_keys(app, organiser, "zebrure") == []
    assert search_keys(app, organiser, "987654") == []
    assert search_keys(app, organiser, "visio") == [f"event:{event.id}"]  # the title
    update(app, event, joining_details="Téléphone : 01 23 45 67 89, code ornithorynque")
    assert search_keys(app, organiser, "ornithorynque") == []


def test_a_closed_groups_event_is_hidden_from_outsiders_hits_and_counts(app, client, person, login, make_group, make_event):
    member, outsider, national = person("member"), person("member"), person("admin")
    closed = make_group("Groupe fermé", is_open=False, members=[member])
    private = make_event("Réunion confidentielle sur le logement accompagné", group=closed, kind=EventKind.GROUP_MEETING)
    public = make_event("Webinaire ouvert sur le logement accompagné", kind=EventKind.WEBINAR)
    assert search_keys(app, outsider, "logement accompagné") == [f"event:{public.id}"]
    assert facets(app, outsider, "logement accompagné")["type"] == {"webinar": 1}
    assert facets(app, outsider, "logement accompagné")["kind"] == {"agenda": 1}
    assert sorted(search_keys(app, member, "logement accompagné")) == sorted([f"event:{private.id}", f"event:{public.id}"])
    assert facets(app, member, "logement accompagné")["kind"] == {"agenda": 2}
    assert len(search_keys(app, national, "logement accompagné")) == 2
    # The page shows the outsider neither the hit nor a count of it.
    login(outsider)
    html = client.get("/search", query_string={"q": "confidentielle"}).get_data(as_text=True)
    assert f"/agenda/{private.id}" not in html and "Réunion confidentielle" not in html
    assert not any(facets(app, outsider, "confidentielle").values())
    root = parse(client.get("/search", query_string={"q": "logement accompagné"}).get_data(as_text=True))
    counts = next(n for n in root.iter() if "extranet-search-facets" in n.classes).text()
    assert "Agenda (1)" in counts and "Webinar (1)" in counts and "Working group meeting" not in counts


def test_a_group_opening_or_closing_changes_who_finds_its_events(app, person, make_group, make_event):
    outsider = person("member")
    group = make_group("Groupe mobile")
    event = make_event("Réunion du groupe mobile", group=group, kind=EventKind.GROUP_MEETING)
    assert search_keys(app, outsider, "mobile") == [f"event:{event.id}"]
    with app.app_context():
        db.session.get(Group, group.id).is_open = False
        db.session.commit()
    assert search_keys(app, outsider, "mobile") == []
    with app.app_context():
        db.session.get(Group, group.id).is_open = True
        db.session.commit()
    assert search_keys(app, outsider, "mobile") == [f"event:{event.id}"]


def test_edits_and_cancellation_are_reindexed_and_deletion_removes(app, person, make_event):
    reader = person("member")
    event = make_event("Amicall des dromadaires", description="Sur les chameaux.")
    key = f"event:{event.id}"
    update(app, event, title="Amicall des lamas", description="Sur les alpagas.", axes=[7])
    assert search_keys(app, reader, "dromadaires") == [] and search_keys(app, reader, "chameaux") == []
    assert search_keys(app, reader, "lamas") == [key] and search_keys(app, reader, "alpagas") == [key]
    assert facets(app, reader, "lamas")["axes"] == {7: 1}
    update(app, event, kind=EventKind.WEBINAR, status=EventStatus.CANCELLED, cancellation_reason="Intervenant malade")
    # Still found (its page says it is cancelled), now as a webinar.
    assert search_keys(app, reader, "lamas") == [key]
    assert facets(app, reader, "lamas")["type"] == {"webinar": 1}
    with app.app_context():
        db.session.delete(db.session.get(Event, event.id))
        db.session.commit()
    assert search_keys(app, reader, "lamas") == []
