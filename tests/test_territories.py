"""The directory: the 46 territories, their filters and their pages."""

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from extranet.auth.models import User
from extranet.territories.models import Territory, TerritoryKind

from .helpers import database, in_site_layout, parse, path_of


def tiles(html: str) -> list[dict]:
    """The territories listed, in page order, with the wave heading (h2) and
    region heading (h3) they appear under."""
    found, wave_heading, region_heading = [], None, None
    for node in parse(html).iter():
        if node.tag == "h2":
            wave_heading = node.text()
        elif node.tag == "h3":
            region_heading = node.text()
        elif "fr-tile" in node.classes:
            link = next(n for n in node.iter() if n.tag == "a")
            details = [n.text() for n in node.iter() if "fr-tile__detail" in n.classes]
            found.append(
                dict(slug=path_of(link.attrs["href"]).rsplit("/", 1)[-1], name=link.text(), wave=wave_heading, region=region_heading, details=details)
            )
    return found


def slugs(html: str) -> list[str]:
    return [t["slug"] for t in tiles(html)]


def empty_state(html: str) -> bool:
    return any("fr-callout" in n.classes for n in parse(html).iter())


def label(app, lazy) -> str:
    with app.test_request_context(), force_locale("fr"):
        return str(lazy)


# --- List -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/territories/", "/territories/lyon", "/territories/?q=lyon"])
def test_anonymous_visitor_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert path_of(response.location) == "/auth/login"


def test_directory_lists_the_46_territories_by_wave(client, logged_in):
    logged_in()
    response = client.get("/territories/")
    assert response.status_code == 200
    listed = tiles(response.get_data(as_text=True))
    assert len(listed) == 46
    assert len({t["slug"] for t in listed}) == 46

    headings = list(dict.fromkeys(t["wave"] for t in listed))
    assert len(headings) == 2
    assert "2018" in headings[0] and "2021" in headings[1]
    first = [t for t in listed if t["wave"] == headings[0]]
    second = [t for t in listed if t["wave"] == headings[1]]
    assert len(first) == 24 and len(second) == 22
    assert {"lyon", "dembeni-mamoudzou", "pas-de-calais", "toulouse"} <= {t["slug"] for t in first}
    assert {"grand-chambery", "la-reunion", "centre-littoral-guyane", "paris"} <= {t["slug"] for t in second}


def test_territories_are_grouped_by_region_within_a_wave(client, logged_in):
    logged_in()
    listed = tiles(client.get("/territories/").get_data(as_text=True))
    by_slug = {t["slug"]: t for t in listed}
    assert by_slug["lorient"]["region"] == "Bretagne"
    assert by_slug["la-reunion"]["region"] == "La Réunion"
    # A region heading appears once per wave: its territories are together.
    seen = []
    for t in listed:
        key = (t["wave"], t["region"])
        if not seen or seen[-1] != key:
            assert key not in seen, f"{key} split in two"
            seen.append(key)


def test_pas_de_calais_appears_once_marked_as_extended_in_2021(client, logged_in):
    logged_in()
    listed = tiles(client.get("/territories/").get_data(as_text=True))
    pas_de_calais = [t for t in listed if t["slug"] == "pas-de-calais"]
    assert len(pas_de_calais) == 1
    assert "2018" in pas_de_calais[0]["wave"]
    assert any("2021" in d for d in pas_de_calais[0]["details"])
    # No other territory carries an extension mark.
    assert [t["slug"] for t in listed if t["details"]] == ["pas-de-calais"]


def test_wave_2_filter_includes_the_extended_pas_de_calais(client, logged_in):
    logged_in()
    second = tiles(client.get("/territories/?wave=2").get_data(as_text=True))
    assert len(second) == 23
    assert "pas-de-calais" in {t["slug"] for t in second}
    assert all("2021" in t["wave"] for t in second)
    first = slugs(client.get("/territories/?wave=1").get_data(as_text=True))
    assert len(first) == 24
    assert "pas-de-calais" in first and "paris" not in first


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("reunion", {"la-reunion"}),
        ("RÉUNION", {"la-reunion"}),
        ("  réunion ", {"la-reunion"}),
        ("chambery", {"grand-chambery"}),
        ("montlucon", {"montlucon"}),
        ("nimes", {"nimes"}),
        ("pas-de-calais", {"pas-de-calais"}),
        ("pas de calais", {"pas-de-calais"}),
        ("Nice Côte d’Azur", {"nice-cote-d-azur"}),
        ("d'Amiens", {"amiens"}),
        ("Guyane", {"centre-littoral-guyane"}),
    ],
)
def test_name_filter_ignores_case_accents_and_punctuation(client, logged_in, query, expected):
    logged_in()
    response = client.get("/territories/", query_string={"q": query})
    assert response.status_code == 200
    assert set(slugs(response.get_data(as_text=True))) == expected


def test_name_filter_keeps_what_was_typed(client, logged_in):
    logged_in()
    html = client.get("/territories/", query_string={"q": "métropole"}).get_data(as_text=True)
    field = next(n for n in parse(html).iter() if n.attrs.get("id") == "filter-q")
    assert field.attrs["value"] == "métropole"
    found = slugs(html)
    assert "lyon" in found and "bordeaux-gironde" in found and "amiens" not in found


def test_region_filter(client, logged_in):
    logged_in()
    html = client.get("/territories/", query_string={"region": "Bretagne"}).get_data(as_text=True)
    assert set(slugs(html)) == {"lorient", "rennes", "quimper", "loudeac"}
    selected = [n.attrs["value"] for n in parse(html).iter() if n.tag == "option" and "selected" in n.attrs]
    assert "Bretagne" in selected


def test_region_list_offers_every_region_once(client, logged_in):
    logged_in()
    html = client.get("/territories/").get_data(as_text=True)
    select_node = next(n for n in parse(html).iter() if n.attrs.get("id") == "filter-region")
    values = [n.attrs["value"] for n in select_node.iter() if n.tag == "option" and n.attrs["value"]]
    assert len(values) == len(set(values))
    assert {"Bretagne", "Mayotte", "Guyane", "Martinique", "La Réunion", "Île-de-France", "Corse"} <= set(values)


def test_filters_combine(client, logged_in):
    logged_in()
    get = lambda **args: set(slugs(client.get("/territories/", query_string=args).get_data(as_text=True)))  # noqa: E731
    assert get(region="Bretagne", wave="2") == {"rennes", "quimper", "loudeac"}
    assert get(region="Hauts-de-France", wave="2") == {"dunkerque", "pas-de-calais"}
    assert get(q="métropole", region="Grand Est") == {"metz", "grand-nancy", "strasbourg"}
    assert get(q="metropole", region="Grand Est", wave="1") == {"metz", "strasbourg"}
    assert get(q="ville", wave="2") == {"paris", "porto-vecchio", "tours"}


@pytest.mark.parametrize(
    "args",
    [{"q": "Atlantis"}, {"region": "Atlantide"}, {"q": "lyon", "region": "Bretagne"}, {"q": "paris", "wave": "1"}],
)
def test_no_match_shows_an_empty_state(client, logged_in, args):
    logged_in()
    response = client.get("/territories/", query_string=args)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert slugs(html) == []
    assert empty_state(html)
    assert 'href="/territories/"' in html, "a way back to the whole list"


def test_full_list_has_no_empty_state(client, logged_in):
    logged_in()
    assert not empty_state(client.get("/territories/").get_data(as_text=True))


@pytest.mark.parametrize("wave", ["abc", "3", "-1", "", "1.5"])
def test_odd_wave_values_do_not_break_the_page(client, logged_in, wave):
    logged_in()
    response = client.get("/territories/", query_string={"wave": wave})
    assert response.status_code == 200
    assert len(slugs(response.get_data(as_text=True))) in (0, 46)


# --- Territory page ---------------------------------------------------------------


def test_territory_page_shows_kind_wave_and_people(app, client, make_user, logged_in):
    coordinator = make_user("coordinator", territory="la-reunion", name="Nadia Payet", phone="+262 262 90 30 30", function="Coordinatrice")
    member = make_user(
        "member", territory="la-reunion", name="Jean Hoarau", phone="0262 11 22 33", organisation="SIAO 974", email="jean.hoarau@example.org"
    )
    gone = make_user("member", territory="la-reunion", name="Parti Ailleurs")
    elsewhere = make_user("member", territory="lyon", name="Sophie Bernard")
    with database(app) as session:
        session.get(User, gone.id).active = False
        session.commit()
    logged_in()

    response = client.get("/territories/la-reunion")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Département de La Réunion" in html
    assert label(app, TerritoryKind.DEPARTMENT.label) in html
    badges = [n.text() for n in parse(html).iter() if "fr-badge" in n.classes]
    assert any("2021" in b for b in badges)
    assert "Indian/Reunion" in html

    for person in (coordinator, member):
        assert person.name in html
        assert f'href="mailto:{person.email}"' in html
    assert 'href="tel:+262262903030"' in html and "+262 262 90 30 30" in html
    assert 'href="tel:0262112233"' in html
    assert "SIAO 974" in html and "Coordinatrice" in html
    assert gone.name not in html and gone.email not in html
    assert elsewhere.name not in html

    # Coordinators first, under their own heading; members under the next one.
    sections = html.split("<h2")
    coordination = next(i for i, s in enumerate(sections) if "Nadia Payet" in s)
    members = next(i for i, s in enumerate(sections) if "Jean Hoarau" in s)
    assert coordination < members
    assert "Jean Hoarau" not in sections[coordination]


def test_territory_page_without_accounts_says_so(app, client, logged_in):
    logged_in(territory="lyon")
    html = client.get("/territories/cher").get_data(as_text=True)
    paragraphs = [n.text() for n in parse(html).iter() if n.tag == "p"]
    assert label(app, _l("No coordinator has an account yet.")) in paragraphs
    assert label(app, _l("No partner of this territory has an account yet.")) in paragraphs


def test_pas_de_calais_page_shows_its_extension(client, logged_in):
    logged_in()
    html = client.get("/territories/pas-de-calais").get_data(as_text=True)
    badges = [n.text() for n in parse(html).iter() if "fr-badge" in n.classes]
    assert any("2018" in b for b in badges)
    assert any("2021" in b for b in badges)
    assert "nouveaux EPCI" in html


def test_national_accounts_are_not_listed_as_territory_people(client, make_user, logged_in):
    admin = make_user("admin", name="Claire Martin")
    logged_in()
    html = client.get("/territories/lyon").get_data(as_text=True)
    assert admin.email not in html


def test_unknown_territory_gives_a_404_in_the_site_style(client, logged_in):
    logged_in()
    response = client.get("/territories/atlantis")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert in_site_layout(html)
    assert 'href="/"' in html


@pytest.mark.parametrize("slug", ["ly%00on", "%C3%A9", "lyon%20", "x" * 300])
def test_odd_territory_addresses_give_a_404(client, logged_in, slug):
    logged_in()
    response = client.get(f"/territories/{slug}")
    assert response.status_code == 404
    assert in_site_layout(response.get_data(as_text=True))


def test_a_website_that_is_not_a_web_address_is_not_a_link(app, client, logged_in):
    with database(app) as session:
        territory = session.query(Territory).filter_by(slug="lyon").one()
        territory.website = "javascript:alert(document.cookie)"
        territory.contact_email = "contact@grandlyon.example"
        session.commit()
    logged_in()
    html = client.get("/territories/lyon").get_data(as_text=True)
    assert 'href="javascript:' not in html
    assert 'href="mailto:contact@grandlyon.example"' in html

    with database(app) as session:
        session.query(Territory).filter_by(slug="lyon").one().website = "https://www.grandlyon.com"
        session.commit()
    assert 'href="https://www.grandlyon.com"' in client.get("/territories/lyon").get_data(as_text=True)


def test_each_listed_territory_has_a_page(client, logged_in):
    logged_in()
    for slug in slugs(client.get("/territories/").get_data(as_text=True)):
        assert client.get(f"/territories/{slug}").status_code == 200, slug
