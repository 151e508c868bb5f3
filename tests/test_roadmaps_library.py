"""The library of roadmaps (issue 6, point 3): the list and its filters, one
axis across the territories, the comparison of two to four territories. Each
shows only what the reader may open (another territory's draft never appears,
not even its action titles), the SQL rule agrees with can_view_roadmap, and
every page runs as many queries for 8 roadmaps as for 2."""

import pytest
from sqlalchemy import select

from extranet import permissions
from extranet.extensions import db
from extranet.roadmaps.library import visible_roadmaps_clause
from extranet.roadmaps.models import Roadmap, RoadmapAction, RoadmapStatus
from extranet.territories.models import Territory
from tests.roadmap_fixtures import build_roadmap

from .helpers import french, parse, queries_for

pytest_plugins = ["tests.roadmap_fixtures"]

STATUSES = ("draft", "submitted", "validated", "returned")
YEARS = {"draft": 2019, "submitted": 2021, "validated": 2023, "returned": 2025}
ROLES = {
    # name: (role, territory)
    "coordinator": ("coordinator", "lyon"),
    "member": ("member", "lyon"),
    "other_coordinator": ("coordinator", "nantes"),
    "other_member": ("member", "nantes"),
    "animator": ("animator", None),
    "admin": ("admin", None),
}
READS_DRAFTS = {"coordinator", "member", "animator", "admin"}


def retitle(app, roadmap_id, prefix):
    """Actions whose titles say which roadmap they belong to."""
    with app.app_context():
        for action in db.session.scalars(select(RoadmapAction).filter_by(roadmap_id=roadmap_id)):
            action.title = f"{prefix} — {action.title}"
        db.session.commit()


def add_roadmaps(app, slugs, status="validated", start_year=2023, filled=True):
    """Roadmaps straight in the database (the workflow is not what these tests look at)."""
    with app.app_context(), app.test_request_context():
        for slug in slugs:
            if filled:
                roadmap = build_roadmap(slug, start_year, start_year + 1)
            else:
                territory = db.session.scalar(select(Territory).filter_by(slug=slug))
                roadmap = Roadmap(territory=territory, start_year=start_year, end_year=start_year + 1)
                db.session.add(roadmap)
            roadmap.status = RoadmapStatus(status)
            db.session.flush()
            retitle_rows(roadmap, f"{slug} {start_year}")
        db.session.commit()


def retitle_rows(roadmap, prefix):
    for action in roadmap.actions:
        action.title = f"{prefix} — {action.title}"


@pytest.fixture
def lyon_in_every_status(app, make_roadmap):
    """Lyon's roadmaps, one per status (each its period), their actions titled by status."""
    for status in STATUSES:
        roadmap = make_roadmap("lyon", status=status, start_year=YEARS[status], end_year=YEARS[status] + 1)
        retitle(app, roadmap.id, f"Lyon {status}")


# --- Who reads what ----------------------------------------------------------------------


def test_the_sql_rule_agrees_with_can_view_roadmap_for_every_role_and_status(app, make_user):
    people = {name: make_user(role, territory=territory) for name, (role, territory) in ROLES.items()}
    people["deactivated"] = make_user("coordinator", territory="lyon", active=False)
    people["nobody"] = None
    with app.app_context(), app.test_request_context():
        roadmaps = []
        for slug in ("lyon", "nantes"):
            for status in STATUSES:
                roadmap = build_roadmap(slug, YEARS[status], YEARS[status] + 1)
                roadmap.status = RoadmapStatus(status)
                roadmaps.append(roadmap)
        db.session.flush()
        for name, user in people.items():
            by_sql = set(db.session.scalars(select(Roadmap.id).where(visible_roadmaps_clause(user))))
            by_rule = {r.id for r in roadmaps if permissions.can_view_roadmap(user, r)}
            assert by_sql == by_rule, name
        assert len({r.id for r in roadmaps if permissions.can_view_roadmap(people["admin"], r)}) == 8


@pytest.fixture
def readers(app, login, make_user):
    """name -> a test client logged in as that person (see ROLES)."""
    clients = {}
    for name, (role, territory) in ROLES.items():
        clients[name] = app.test_client()
        login(make_user(role, territory=territory), client=clients[name])
    return clients


def test_each_reader_finds_in_the_library_the_roadmaps_they_may_open(readers, lyon_in_every_status):
    for name, client in readers.items():
        html = client.get("/roadmaps/").get_data(as_text=True)
        periods = {status for status in STATUSES if f"{YEARS[status]}–{YEARS[status] + 1}" in html}
        expected = set(STATUSES) if name in READS_DRAFTS else {"validated"}
        assert periods == expected, name
        rows = [n for n in parse(html).iter() if n.tag == "tr"]
        assert len(rows) == len(expected) + 1, name  # and the header
        offered = [n.attrs["value"] for n in parse(html).iter() if n.tag == "option" and n.parent.attrs.get("name") == "status"]
        assert offered == ["", *(STATUSES if name in READS_DRAFTS else ["validated"])], name
        # Filtering on a status one may not see shows nothing of it.
        drafts = client.get("/roadmaps/?status=draft").get_data(as_text=True)
        assert ("2019–2020" in drafts) == (name in READS_DRAFTS), name


def test_the_axis_view_never_shows_another_territorys_draft(app, readers, lyon_in_every_status):
    add_roadmaps(app, ["nantes"], status="validated")
    for name, client in readers.items():
        page = client.get("/roadmaps/axes/12").get_data(as_text=True)
        shown = {status for status in STATUSES if f"Lyon {status} — Commission" in page}
        assert shown == (set(STATUSES) if name in READS_DRAFTS else {"validated"}), name
        assert "nantes 2023 — Commission de prévention des expulsions" in page, name
        hidden = set(STATUSES) - shown
        assert not any(f"Lyon {status}" in page or f"{YEARS[status]}–" in page for status in hidden), name


def test_the_comparison_never_shows_another_territorys_draft(app, readers, lyon_in_every_status):
    add_roadmaps(app, ["nantes"], status="validated")
    for name, client in readers.items():
        for status in STATUSES:
            # Lyon's roadmap of that period beside Nantes's validated one.
            response = client.get(f"/roadmaps/compare?territory=lyon&territory=nantes&period={YEARS[status]}")
            page = response.get_data(as_text=True)
            assert response.status_code == 200
            readable = name in READS_DRAFTS or status == "validated"
            assert (f"Lyon {status} — Commission de prévention des expulsions" in page) == readable, (name, status)
            assert (f"Lyon {status} — Captation" in page) == readable, (name, status)
        latest = client.get("/roadmaps/compare?territory=lyon&territory=nantes").get_data(as_text=True)
        # By default, each territory's latest validated roadmap, even for those who read the newer one sent back.
        assert "Lyon validated" in latest, name
        assert not any(f"Lyon {status}" in latest for status in ("draft", "submitted", "returned")), name


def test_a_fresh_draft_of_the_next_period_does_not_replace_the_validated_roadmap_in_the_comparison(
        app, readers, make_roadmap):
    retitle(app, make_roadmap("lyon", status="validated", start_year=2023, end_year=2025).id, "Lyon in force")
    make_roadmap("lyon", status="draft", start_year=2026, end_year=2028, filled=False)
    retitle(app, make_roadmap("nantes", status="draft", start_year=2023, end_year=2025).id, "Nantes draft")
    draft_label = french(app, "Draft")
    for name, client in readers.items():
        html = client.get("/roadmaps/compare?territory=lyon&territory=nantes").get_data(as_text=True)
        columns = {n.attrs["id"]: n.text() for n in parse(html).iter() if "compare-territory" in n.classes}
        assert "2023–2025" in columns["column-lyon"] and "2026" not in columns["column-lyon"], name
        assert "Lyon in force — Commission de prévention des expulsions" in html, name
        assert draft_label not in columns["column-lyon"], name
        # No validated roadmap in Nantes: its latest readable one, its status in the header.
        if name in {"other_coordinator", "other_member", "animator", "admin"}:
            assert "Nantes draft — Commission" in html and draft_label in columns["column-nantes"], name
        else:
            assert "Nantes draft" not in html, name
            assert french(app, "No validated roadmap") in columns["column-nantes"], name
        # An explicit period still wins: the empty draft of 2026, for those who may open it.
        chosen = client.get("/roadmaps/compare?territory=lyon&territory=nantes&period=2026").get_data(as_text=True)
        columns = {n.attrs["id"]: n.text() for n in parse(chosen).iter() if "compare-territory" in n.classes}
        if name in READS_DRAFTS:
            assert "2026" in columns["column-lyon"] and draft_label in columns["column-lyon"], name
            assert "Lyon in force" not in chosen, name
        else:  # a period they may open no roadmap of is no choice: the default stands
            assert "2023–2025" in columns["column-lyon"] and "Lyon in force" in chosen, name


def test_a_territory_without_a_readable_roadmap_says_so_in_its_column(app, client, logged_in, make_roadmap):
    make_roadmap("lyon", status="validated")
    retitle(app, make_roadmap("rennes", status="submitted").id, "Rennes secret")
    logged_in("member", territory="nantes")
    response = client.get("/roadmaps/compare?territory=lyon&territory=rennes")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    column = next(n for n in parse(html).iter() if n.attrs.get("id") == "column-rennes")
    assert french(app, "No validated roadmap") in column.text()
    assert "Rennes secret" not in html


# --- The library's filters and pages ---------------------------------------------------------


def listed(client, query="") -> list[str]:
    """The territories of the library's table, in order."""
    response = client.get(f"/roadmaps/{query}")
    assert response.status_code == 200
    rows = [n for n in parse(response.get_data(as_text=True)).iter() if n.tag == "tr"][1:]
    return [[c for c in row.children if not isinstance(c, str) and c.tag == "td"][1].text() for row in rows]


def territory_names(app, *slugs):
    with app.app_context():
        return {slug: db.session.scalar(select(Territory.name).filter_by(slug=slug)) for slug in slugs}


def test_each_filter_of_the_library(app, client, logged_in):
    names = territory_names(app, "lyon", "rennes", "pas-de-calais", "nantes")
    add_roadmaps(app, ["lyon"], start_year=2023)  # wave 1, actions on axes 12 and 3
    add_roadmaps(app, ["rennes"], start_year=2021, filled=False)  # wave 2
    add_roadmaps(app, ["pas-de-calais"], start_year=2023, filled=False)  # wave 1, extended by the second call
    add_roadmaps(app, ["nantes"], status="draft", start_year=2025, filled=False)
    logged_in("coordinator", territory="nantes")
    everything = listed(client)
    # Newest period first, then by name ("Département du Pas-de-Calais" before "Métropole de Lyon").
    assert everything == [names["nantes"], names["pas-de-calais"], names["lyon"], names["rennes"]]
    assert listed(client, "?territory=lyon") == [names["lyon"]]
    assert listed(client, "?wave=1") == [names["nantes"], names["pas-de-calais"], names["lyon"]]
    assert listed(client, "?wave=2") == [names["pas-de-calais"], names["rennes"]]
    assert listed(client, "?axis=12") == [names["lyon"]]
    assert listed(client, "?axis=16") == []
    assert listed(client, "?status=draft") == [names["nantes"]]
    assert listed(client, "?status=validated") == [names["pas-de-calais"], names["lyon"], names["rennes"]]
    assert listed(client, "?period=2021") == [names["rennes"]]
    assert listed(client, "?wave=1&period=2023&axis=3") == [names["lyon"]]
    # Odd values filter nothing, and never fail.
    assert listed(client, "?territory=atlantide&wave=7&axis=99999999999&status=lost&period=abc") == everything
    html = client.get("/roadmaps/?axis=16").get_data(as_text=True)
    assert french(app, "No roadmap matches these filters.") in html
    statuses = [n.attrs["value"] for n in parse(html).iter() if n.tag == "option" and n.parent.attrs.get("name") == "status"]
    assert statuses == ["", "draft", "validated"]  # no other status among the roadmaps Nantes's coordinator may open


def test_the_library_is_paginated_and_keeps_its_filters(app, client, logged_in):
    with app.app_context():
        wave_one = list(db.session.scalars(select(Territory.slug).where(Territory.wave == 1).order_by(Territory.name)))
    add_roadmaps(app, wave_one[:23], filled=False)
    add_roadmaps(app, ["rennes"], filled=False)
    logged_in("member", territory="lyon")
    first = client.get("/roadmaps/?wave=1").get_data(as_text=True)
    assert len(listed(client, "?wave=1")) == 20
    assert len(listed(client, "?wave=1&page=2")) == 3
    links = [n.attrs["href"] for n in parse(first).iter() if n.tag == "a" and "fr-pagination__link" in n.classes and "href" in n.attrs]
    assert "/roadmaps/?page=2&wave=1" in links
    assert listed(client, "?wave=1&page=99") == []
    assert listed(client, "?page=99999999999") == listed(client)


def test_the_librarys_links_depend_on_the_reader(app, client, logged_in, login, make_user):
    logged_in("animator")
    national = client.get("/roadmaps/").get_data(as_text=True)
    assert 'id="library-empty"' in national  # nothing to read yet
    assert 'id="network-link"' in national and 'id="my-roadmap-link"' not in national
    other = app.test_client()
    login(make_user("member", territory="lyon"), client=other)
    member = other.get("/roadmaps/").get_data(as_text=True)
    assert 'id="network-link"' not in member and 'href="/roadmaps/territory/lyon"' in member
    assert 'href="/roadmaps/compare"' in member


def test_a_coordinator_whose_territory_has_no_roadmap_is_shown_how_to_start_it(app, login, make_user, make_roadmap):
    with app.app_context():
        nantes_id = db.session.scalar(select(Territory.id).filter_by(slug="nantes"))
    make_roadmap("lyon", status="validated")
    people = {
        "coordinator_nantes": make_user("coordinator", territory="nantes"),
        "member_nantes": make_user("member", territory="nantes"),
        "coordinator_lyon": make_user("coordinator", territory="lyon"),
        "animator": make_user("animator"),
    }
    clients = {}
    for name, user in people.items():
        clients[name] = app.test_client()
        login(user, client=clients[name])
    create_url = f"/roadmaps/new?territory={nantes_id}"
    for name, client in clients.items():
        html = client.get("/roadmaps/").get_data(as_text=True)
        link = next((n for n in parse(html).iter() if n.attrs.get("id") == "create-my-roadmap-link"), None)
        if name == "coordinator_nantes":
            assert link is not None and link.attrs["href"] == create_url
            assert french(app, "Create my territory's roadmap") in link.text()
            assert client.get(create_url).status_code == 200
        else:
            assert link is None, name
    # Once Nantes has a roadmap (a draft), the library leads to it instead.
    make_roadmap("nantes", status="draft", filled=False)
    html = clients["coordinator_nantes"].get("/roadmaps/").get_data(as_text=True)
    assert 'id="create-my-roadmap-link"' not in html and 'href="/roadmaps/territory/nantes"' in html


# --- One axis across territories ---------------------------------------------------------------


def test_axis_12_shows_two_validated_territories_side_by_side(app, client, logged_in):
    add_roadmaps(app, ["lyon", "nantes"])
    add_roadmaps(app, ["rennes"], status="draft")
    logged_in("member", territory="amiens")
    html = client.get("/roadmaps/axes/12").get_data(as_text=True)
    sections = {n.attrs["id"]: n.text() for n in parse(html).iter() if "axis-territory" in n.classes}
    assert set(sections) == {"territory-lyon", "territory-nantes"}
    assert "lyon 2023 — Commission de prévention des expulsions" in sections["territory-lyon"]
    assert "nantes 2023 — Commission de prévention des expulsions" in sections["territory-nantes"]
    assert "Captation" not in html  # an action on axis 3
    assert "rennes 2023" not in html
    assert "Métropole" in sections["territory-lyon"]  # the lead organisation
    assert "/roadmaps/axes/11" in html and "/roadmaps/axes/13" in html


def test_the_axis_view_shows_an_excerpt_of_long_descriptions_with_a_link_to_read_more(app, client, logged_in, make_roadmap):
    roadmap = make_roadmap("lyon", status="validated")
    with app.app_context():
        actions = list(db.session.scalars(
            select(RoadmapAction).filter_by(roadmap_id=roadmap.id).order_by(RoadmapAction.position, RoadmapAction.id)))
        long_one = next(a for a in actions if a.axis.number == 12)
        long_one.description = "**Commission** mensuelle " + "avec les bailleurs et la CAF " * 40 + "FIN-DU-TEXTE"
        db.session.commit()
        long_id = long_one.id
    nantes = make_roadmap("nantes", status="validated")
    with app.app_context():
        for action in db.session.scalars(select(RoadmapAction).filter_by(roadmap_id=nantes.id)):
            action.description = "Court et *entier*."
        db.session.commit()
    logged_in("member", territory="nantes")
    html = client.get("/roadmaps/axes/12").get_data(as_text=True)
    article = next(n for n in parse(html).iter() if n.attrs.get("id") == f"action-{long_id}")
    excerpt = next(n for n in article.iter() if "roadmap-action__excerpt" in n.classes)
    link = next(n for n in excerpt.iter() if n.tag == "a")
    assert link.attrs["href"] == f"/roadmaps/{roadmap.id}#action-{long_id}"
    assert link.text().strip() == french(app, "Read more")
    text = excerpt.text().replace(link.text(), "").strip()
    assert text.startswith("Commission mensuelle") and text.endswith("…") and len(text) <= 300
    assert "FIN-DU-TEXTE" not in html and "<strong>Commission" not in html
    # A short description is shown whole, with nothing more to read.
    short = [n for n in parse(html).iter() if "roadmap-action__excerpt" in n.classes and "Court et entier." in n.text()]
    assert short and all(not any(c.tag == "a" for c in n.iter()) for n in short)


PROSE_AND_MARKDOWN = [
    "Une commission mensuelle, avec la CAF et les bailleurs. " * 8,
    "Première ligne\r\n- une liste\r\n- deux",
    "Titre\n===\n\nTexte « cité » : oui ?",
    "1. premier\n2) second",
    "> une citation\n\nLa réponse",
    "Un **gras** et un [lien](https://example.org) &amp; du `code`",
    "    du code indenté\n\npuis du texte",
    "\xa0espaces\u3000 insécables\t et tabulations\x0b",
    "",
]


def test_the_axis_views_excerpt_is_the_markdown_excerpt_even_without_parsing_plain_prose(app):
    from extranet.markdown import excerpt
    from extranet.roadmaps.library_views import markdown_excerpt

    with app.app_context():
        for text in PROSE_AND_MARKDOWN:
            for length in (300, 40):
                assert markdown_excerpt(text, length) == excerpt(text, length), (text, length)


def test_the_axis_view_filters_by_wave_and_period_and_pages_by_territory(app, client, logged_in):
    with app.app_context():
        wave_two = list(db.session.scalars(select(Territory.slug).where(Territory.wave == 2).order_by(Territory.name)))
    add_roadmaps(app, wave_two[:11], start_year=2021)
    add_roadmaps(app, ["lyon"], start_year=2023)
    logged_in("member", territory="lyon")

    def territories(query):
        html = client.get(f"/roadmaps/axes/12{query}").get_data(as_text=True)
        return [n.attrs["id"] for n in parse(html).iter() if "axis-territory" in n.classes]

    # Nine territories a page: 12 make two pages.
    assert len(territories("")) == 9
    assert len(territories("?page=2")) == 3
    assert territories("?page=3") == []
    assert territories("?wave=1") == ["territory-lyon"]
    assert territories("?period=2023") == ["territory-lyon"]
    assert len(territories("?wave=2&period=2021")) == 9
    assert len(territories("?wave=2&period=2021&page=2")) == 2
    assert territories("?wave=2&period=2023") == []
    html = client.get("/roadmaps/axes/12?wave=2").get_data(as_text=True)
    assert "/roadmaps/axes/12?page=2&amp;wave=2" in html
    assert "/roadmaps/axes/13?wave=2" in html  # the next axis keeps the filters


def test_unknown_axes_the_axis_choice_and_the_empty_state(client, logged_in):
    logged_in("member")
    for url in ("/roadmaps/axes/0", "/roadmaps/axes/17", "/roadmaps/axes/99999999999", "/roadmaps/axes/douze"):
        assert client.get(url).status_code == 404, url
    assert client.get("/roadmaps/axes/?number=12").headers["Location"].endswith("/roadmaps/axes/12")
    assert client.get("/roadmaps/axes/?number=").headers["Location"].endswith("/roadmaps/")
    assert client.get("/roadmaps/axes/?number=40", follow_redirects=True).status_code == 404
    assert 'id="axis-empty"' in client.get("/roadmaps/axes/7").get_data(as_text=True)


# --- Comparing territories ------------------------------------------------------------------


def test_two_territories_compare_axis_by_axis(app, client, logged_in):
    add_roadmaps(app, ["lyon"])
    add_roadmaps(app, ["nantes"], filled=False)
    logged_in("member", territory="amiens")
    response = client.get("/roadmaps/compare?territory=lyon&territory=nantes")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    rows = {n.attrs["id"]: n for n in parse(html).iter() if n.tag == "tr" and "id" in n.attrs}
    assert [f"axis-{n}" in rows for n in range(1, 17)] == [True] * 16
    cells = [c for c in rows["axis-12"].children if not isinstance(c, str) and c.tag == "td"]
    assert "lyon 2023 — Commission de prévention des expulsions" in cells[0].text()
    assert "Commission" not in cells[1].text()
    assert "lyon 2023 — Captation" in rows["axis-3"].text()
    totals = [c.text() for c in rows["row-actions"].children if not isinstance(c, str) and c.tag == "td"]
    assert totals == ["2", "0"]
    budget = rows["row-budget-total"].text().replace("\u202f", " ").replace("\xa0", " ")
    assert "105 345,67 €" in budget and "0,00 €" in budget
    indicator = next(n for n in parse(html).iter() if "compare-indicator" in n.classes)
    assert "Ménages accédant au logement depuis la rue" in indicator.text() and "200" in indicator.text()


def test_fewer_than_two_or_more_than_four_territories_are_refused_in_french(client, logged_in):
    logged_in("member")
    alone = client.get("/roadmaps/compare")
    assert alone.status_code == 200 and 'id="compare-form"' in alone.get_data(as_text=True)
    assert 'id="comparison"' not in alone.get_data(as_text=True)
    for query in (
        "territory=lyon",
        "territory=lyon&territory=lyon",
        "territory=lyon&territory=nantes&territory=rennes&territory=amiens&territory=metz",
        "territory=lyon&territory=atlantide",
        "territory=&territory=",
    ):
        response = client.get(f"/roadmaps/compare?{query}")
        assert response.status_code == 400, query
        html = response.get_data(as_text=True)
        alert = next(n for n in parse(html).iter() if n.attrs.get("id") == "compare-error")
        assert "territoire" in alert.text(), query
        assert 'id="comparison"' not in html


# --- A bounded number of queries -----------------------------------------------------------


def test_the_pages_run_as_many_queries_for_8_roadmaps_as_for_2(app, client, logged_in):
    logged_in("coordinator", territory="lyon")
    urls = [
        "/roadmaps/", "/roadmaps/?axis=12&wave=1", "/roadmaps/axes/12", "/roadmaps/axes/3?period=2021",
        "/roadmaps/compare?territory=lyon&territory=nantes",
    ]
    add_roadmaps(app, ["lyon", "nantes"], start_year=2021)
    small = [queries_for(app, client, url) for url in urls]
    add_roadmaps(app, ["metz", "amiens", "rennes", "nantes", "lyon"], start_year=2023)
    add_roadmaps(app, ["toulouse"], status="draft", start_year=2023)
    large = [queries_for(app, client, url) for url in urls]
    assert large == small
    four = queries_for(app, client, "/roadmaps/compare?territory=lyon&territory=nantes&territory=metz&territory=amiens")
    assert four == small[-1]


def test_library_rows_start_with_the_roadmap_title_and_its_status_badge(app, client, logged_in, make_roadmap):
    """On a phone the first column is what shows: the roadmap's shared title and status."""
    mine = make_roadmap("lyon", status="draft")
    make_roadmap("nantes", status="validated")
    logged_in("member", territory="lyon")
    html = client.get("/roadmaps/").get_data(as_text=True)
    rows = [n for n in parse(html).iter() if n.tag == "tr"][1:]
    firsts = {}
    for row in rows:
        first = next(c for c in row.children if not isinstance(c, str) and c.tag == "td")
        badge = next(n for n in first.iter() if "roadmap-status-badge" in n.classes)
        link = next(n for n in first.iter() if n.tag == "a")
        firsts[link.attrs["href"]] = (link.text().strip(), [c for c in badge.classes if c.startswith("roadmap-status-badge--")])
    assert firsts[f"/roadmaps/{mine.id}"][1] == ["roadmap-status-badge--draft"]
    assert firsts[f"/roadmaps/{mine.id}"][0].startswith("Feuille de route — Métropole de Lyon, ")
    assert sorted(v[1][0] for v in firsts.values()) == ["roadmap-status-badge--draft", "roadmap-status-badge--validated"]


@pytest.mark.parametrize("role", ["coordinator", "member", "animator"])
def test_library_links_to_the_national_indicators(client, logged_in, role):
    logged_in(role, territory=None if role == "animator" else "lyon")
    html = client.get("/roadmaps/").get_data(as_text=True)
    link = next(n for n in parse(html).iter() if n.attrs.get("id") == "national-indicators-link")
    assert link.attrs["href"] == "/roadmaps/indicators" and link.text().strip() == "Indicateurs nationaux"
    assert client.get(link.attrs["href"]).status_code == 200


@pytest.mark.parametrize(("territory", "notice"), [("nantes", True), ("lyon", False)])
def test_a_status_filter_the_reader_may_not_use_is_ignored_with_a_notice(app, client, logged_in, make_roadmap, territory, notice):
    make_roadmap("lyon", status="draft")
    make_roadmap("rennes", status="validated")
    logged_in("member", territory=territory)
    html = client.get("/roadmaps/?status=draft").get_data(as_text=True)
    assert ('id="library-status-refused"' in html) is notice
    if notice:
        assert "Le filtre de statut «\u00a0Brouillon\u00a0» ne vous est pas ouvert" in html
        assert listed(client, "?status=draft") == listed(client)  # still ignored
    # Nonsense is ignored without a word.
    assert 'id="library-status-refused"' not in client.get("/roadmaps/?status=lost").get_data(as_text=True)


def test_the_axis_view_links_each_action_to_its_own_anchor(app, client, logged_in, make_roadmap):
    roadmap = make_roadmap("lyon", status="validated")
    logged_in("member", territory="nantes")
    html = client.get("/roadmaps/axes/12").get_data(as_text=True)
    assert "#section-actions" not in html
    articles = [n for n in parse(html).iter() if "roadmap-action" in n.classes and n.tag == "article"]
    assert articles
    for article in articles:
        action_id = article.attrs["id"].removeprefix("action-")
        heading = next(n for n in article.iter() if n.attrs.get("id") == f"action-{action_id}-title")
        assert next(n for n in heading.iter() if n.tag == "a").attrs["href"] == f"/roadmaps/{roadmap.id}#action-{action_id}"
        assert article.attrs["tabindex"] == "-1"  # following the anchor moves keyboard focus, script or not
    # Axis names cut in the menus end with one ellipsis character.
    options = [n.text() for n in parse(html).iter() if n.tag == "option"]
    assert not any("..." in text for text in options) and any(text.endswith("…") for text in options)
