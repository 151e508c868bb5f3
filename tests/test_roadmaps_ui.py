"""The roadmap's pages as a reader meets them (issue 6, UI round): one French
way to name a roadmap and show its status, a budget whose figures stay in
view, comment boxes and buttons that say what they are about to a screen
reader, a print button on the print page, and the members allowed to edit a
territory's roadmap carried over to its next period."""

import html as html_lib
import re
from pathlib import Path

import pytest

from extranet.auth.models import User
from extranet.roadmaps.models import Roadmap

from .helpers import database, parse

pytest_plugins = ["tests.roadmap_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Feuille de route — Métropole de Lyon, 2023–2024"


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def by_id(response, element_id):
    return next(n for n in parse(response.get_data(as_text=True)).iter() if n.attrs.get("id") == element_id)


def roadmap_id_of(app, start_year) -> int:
    with database(app) as session:
        return session.query(Roadmap.id).filter_by(start_year=start_year).scalar()


@pytest.fixture
def people(make_user):
    return {
        "coordinator": make_user("coordinator", territory="lyon", name="Claire Coordinatrice"),
        "national": make_user("animator", name="Nina Nationale"),
    }


# --- One name and one status badge ------------------------------------------------------------

BADGES = {
    "draft": ("Brouillon", "fr-badge--beige-gris-galet", "fr-icon-draft-line"),
    "submitted": ("Soumise", "fr-badge--blue-cumulus", "fr-icon-send-plane-line"),
    "validated": ("Validée", "fr-badge--green-emeraude", "fr-icon-checkbox-circle-line"),
    "returned": ("Renvoyée", "fr-badge--orange-terre-battue", "fr-icon-arrow-go-back-line"),
}


@pytest.mark.parametrize("status", list(BADGES))
def test_the_roadmap_is_named_in_french_with_its_status_badge(app, client, login, people, make_roadmap, status):
    roadmap = make_roadmap(status=status)
    login(people["coordinator"])
    response = client.get(f"/roadmaps/{roadmap.id}")
    assert response.status_code == 200
    page = text(response)
    assert f"<title>{TITLE} — " in page
    assert f"<h1>{TITLE}</h1>" in page
    assert TITLE in by_id(response, "breadcrumb").text()
    assert "de Métropole" not in page.split("</h1>")[0]
    label, colour, icon = BADGES[status]
    badge = by_id(response, "roadmap-status")
    assert label.lower() in badge.text().strip().lower()
    html = response.get_data(as_text=True)
    [badge_html] = re.findall(r'<p class="fr-badge[^"]*roadmap-status-badge[^"]*"[^>]*>.*?</p>', html)
    assert colour in badge_html and icon in badge_html
    # Unlike the actions' status badges (system colours with their own icons).
    assert not any(kind in badge_html for kind in ("fr-badge--info", "fr-badge--new", "fr-badge--success", "fr-badge--warning"))
    # Each status its own colour.
    assert len({colour for _label, colour, _icon in BADGES.values()}) == 4

    print_page = text(client.get(f"/roadmaps/{roadmap.id}/print"))
    assert f"<title>{TITLE} — " in print_page and TITLE in print_page.split("<h1", 1)[1].split("</h1>")[0]


def test_the_territory_page_names_the_territory_without_an_article(app, client, login, people, make_roadmap):
    make_roadmap(status="validated")
    login(people["coordinator"])
    page = text(client.get("/roadmaps/territory/lyon"))
    assert "<h1>Feuilles de route — Métropole de Lyon</h1>" in page
    assert "roadmap-status-badge--validated" in page
    lyon = page.split('href="/roadmaps/new?territory=')[1].split('"')[0]
    assert "<h1>Nouvelle feuille de route — Métropole de Lyon</h1>" in text(client.get(f"/roadmaps/new?territory={lyon}"))


# --- Budget -------------------------------------------------------------------------------------


def test_the_budget_table_keeps_its_figures_in_view_and_hides_empty_lines(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    response = client.get(f"/roadmaps/{roadmap.id}")
    table = by_id(response, "budget-table")
    assert "fr-table--no-scroll" in table.classes
    cells = [n for n in table.iter() if n.tag in ("td", "th") and "fr-cell--multiline" in n.classes]
    assert any("Étude de préfiguration" in c.text() for c in cells)
    ids = {n.attrs.get("id") for n in table.iter()}
    # The fixture fills four lines of six: the two left empty are not shown as "0,00 €".
    assert {"budget-line-coordinator", "budget-line-engineering", "budget-line-social_observation",
            "budget-line-communication"} <= ids
    assert not ids & {"budget-line-social_intervention", "budget-line-monitoring_evaluation"}
    assert by_id(response, "budget-line-communication").text().count("—") == 1  # no planned action typed
    total = by_id(response, "budget-total").text().replace("\u202f", " ").replace("\xa0", " ")
    assert "105 345,67 €" in total and "66 345,67 €" in total  # the State's share, in view with the rest


# --- Accessibility --------------------------------------------------------------------------------


def test_comment_boxes_name_their_section_and_leave_errors_to_the_server(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(status="submitted")
    login(people["national"])
    response = client.get(f"/roadmaps/{roadmap.id}")
    tree = parse(response.get_data(as_text=True))
    forms = [n for n in tree.iter() if n.tag == "form" and (n.attrs.get("id") or "").startswith("comment-form-")]
    assert len(forms) >= 6
    assert all("novalidate" in form.attrs for form in forms)
    labels = [n.text().split("Les coordinateurs")[0].strip() for n in tree.iter()
              if n.tag == "label" and (n.attrs.get("for") or "").startswith("comment-body-")]
    assert len(set(labels)) == len(labels) == len(forms)
    for section in ("Contexte et stratégie", "Actions", "Objectifs et indicateurs", "Budget", "Gouvernance et partenaires"):
        assert any(label.endswith(section) for label in labels), (section, labels)

    # An empty comment: the server's French message, and nothing saved.
    sent = client.post(f"/roadmaps/{roadmap.id}/comments", data={"section": "budget", "body": "  "})
    assert sent.status_code == 302 and sent.headers["Location"].endswith("#section-budget")
    assert "Rédigez votre commentaire." in text(client.get(sent.headers["Location"]))
    with database(app) as session:
        assert session.get(Roadmap, roadmap.id).comments == []


def test_the_comment_error_sits_beside_the_field_when_the_section_is_named(app, client, login, people, make_roadmap):
    """What the comment view needs to show its error beside the box: the section in ``?comment_section=``."""
    roadmap = make_roadmap(status="submitted")
    login(people["national"])
    client.post(f"/roadmaps/{roadmap.id}/comments", data={"section": "budget", "body": ""})
    response = client.get(f"/roadmaps/{roadmap.id}?comment_section=budget")
    error = by_id(response, "comment-body-budget-error")
    assert error.text() == "Rédigez votre commentaire."
    assert 'aria-describedby="comment-body-budget-error"' in response.get_data(as_text=True)


def test_buttons_name_the_action_or_indicator_they_act_on(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    response = client.get(f"/roadmaps/{roadmap.id}")
    tree = parse(response.get_data(as_text=True))
    buttons = [n.text() for n in tree.iter() if n.tag in ("button", "a") and "fr-btn" in n.classes]
    action = "Commission de prévention des expulsions"
    assert any(b.startswith("Supprimer l'action") and action in b for b in buttons), buttons
    assert any(b.startswith("Modifier") and action in b for b in buttons)
    for indicator in ("Ménages accédant au logement depuis la rue", "Taux de sortie vers le logement"):
        assert any(b.startswith("Modifier") and indicator in b for b in buttons), indicator
        assert any(b.startswith("Supprimer") and indicator in b for b in buttons), indicator
    # The named part is for screen readers only: the buttons stay short on screen.
    assert "<span class=\"fr-sr-only\"> «\xa0Commission de prévention des expulsions\xa0»</span>" in text(response)


def test_focus_follows_the_anchor_and_confirmations_are_read_out(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    assert '<script src="/static/js/roadmap.js" defer></script>' in html
    script = (ROOT / "static/js/roadmap.js").read_text()
    assert 'setAttribute("tabindex", "-1")' in script and ".focus(" in script
    base = (ROOT / "templates/base.html").read_text()
    assert "role=\"{{ 'alert' if category == 'error' else 'status' }}\"" in base
    assert client.get("/static/js/roadmap.js").status_code == 200


@pytest.mark.browser
def test_after_adding_an_action_keyboard_focus_is_on_it(live_server, page, make_user, make_roadmap):
    from .helpers import browser_login

    roadmap = make_roadmap("nantes")
    coordinator = make_user("coordinator", name="Coralie Nantaise", territory="nantes")
    browser_login(page, live_server, coordinator)
    page.goto(f"{live_server.url}/roadmaps/{roadmap.id}")
    href = page.locator("[id^=edit-action-]").first.get_attribute("href")
    page.goto(f"{live_server.url}{href}")
    page.get_by_role("button", name=re.compile("Enregistrer")).first.click()
    page.wait_for_url(re.compile(r".*#action-\d+$"))
    target = page.url.rsplit("#", 1)[1]
    page.wait_for_function(f"document.activeElement && document.activeElement.id === '{target}'")
    assert page.locator(".fr-alert[role=status]").count() >= 1


# --- Print page ----------------------------------------------------------------------------------


def test_the_print_page_has_a_print_button_hidden_on_paper(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(status="validated")
    login(people["coordinator"])
    response = client.get(f"/roadmaps/{roadmap.id}/print")
    html = response.get_data(as_text=True)
    button = by_id(response, "print-button")
    assert button.tag == "button" and button.text() == "Imprimer" and "no-print" in button.classes
    assert '<script src="/static/js/print.js" defer></script>' in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "window.print()" in (ROOT / "static/js/print.js").read_text()
    css = (ROOT / "static/css/print.css").read_text()
    printed = css[css.index("@media print"):]
    assert re.search(r"\.no-print,[^{]*\{\s*display: none !important", printed)


# --- Editors carried over -----------------------------------------------------------------------


def test_a_new_period_keeps_the_editors_who_still_may_edit(app, client, login, people, make_user, make_roadmap):
    kept = make_user("member", territory="lyon", name="Alice Autorisée")
    left = make_user("member", territory="lyon", name="Paul Parti")
    make_user("member", territory="lyon", name="Oscar Other")
    previous = make_roadmap(start_year=2021, end_year=2022, filled=False)
    with database(app) as session:
        roadmap = session.get(Roadmap, previous.id)
        roadmap.editors = [session.get(User, kept.id), session.get(User, left.id)]
        # Paul has moved to another territory since.
        session.get(User, left.id).territory_id = None
        session.commit()

    login(people["coordinator"])
    lyon = text(client.get("/roadmaps/territory/lyon")).split('href="/roadmaps/new?territory=')[1].split('"')[0]
    form = text(client.get(f"/roadmaps/new?territory={lyon}"))
    assert "peuvent aussi modifier la nouvelle" in form
    response = client.post(f"/roadmaps/new?territory={lyon}", data={"start_year": "2023", "end_year": "2024"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "peuvent aussi modifier celle-ci (1)" in page
    with database(app) as session:
        new = session.get(Roadmap, roadmap_id_of(app, 2023))
        assert [u.name for u in new.editors] == ["Alice Autorisée"]
        assert [u.name for u in session.get(Roadmap, previous.id).editors] == ["Alice Autorisée", "Paul Parti"]


def test_a_first_roadmap_starts_with_no_editor(app, client, login, people):
    login(people["coordinator"])
    lyon = text(client.get("/roadmaps/territory/lyon")).split('href="/roadmaps/new?territory=')[1].split('"')[0]
    response = client.post(f"/roadmaps/new?territory={lyon}", data={"start_year": "2023", "end_year": "2024"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "peuvent aussi modifier celle-ci" not in page
    with database(app) as session:
        assert session.get(Roadmap, roadmap_id_of(app, 2023)).editors == []


# --- UI fix round 2: the roadmap's name on every page, errors where the person is ----------------


def first_indicator_id(app, roadmap_id) -> int:
    with database(app) as session:
        return session.get(Roadmap, roadmap_id).indicators[0].id


def assert_named_in_french(response):
    """The page's title, breadcrumb and lead name the roadmap one way, never « de Métropole »."""
    assert response.status_code == 200
    page = text(response)
    title = page.split("<title>", 1)[1].split("</title>")[0]
    assert f" — {TITLE} — " in title, title  # the page, the roadmap, the site
    assert TITLE in by_id(response, "breadcrumb").text()
    assert by_id(response, "roadmap-title").text().strip() == TITLE
    assert "de Métropole" not in page and "Feuille de route Métropole" not in page


@pytest.mark.parametrize("path", [
    "summary", "partners", "attachments", "editors", "budget", "indicators/new", "actions/new",
    "indicators/{indicator}/edit", "indicators/{indicator}/values",
])
def test_every_edit_page_names_the_roadmap_in_french(app, client, login, people, make_roadmap, path):
    roadmap = make_roadmap()
    login(people["coordinator"])
    url = f"/roadmaps/{roadmap.id}/" + path.format(indicator=first_indicator_id(app, roadmap.id))
    assert_named_in_french(client.get(url))


@pytest.mark.parametrize("path", ["versions", "send-back", "versions/compare?a=1&b=current"])
def test_the_review_pages_name_the_roadmap_in_french(app, client, login, people, make_roadmap, path):
    roadmap = make_roadmap(status="submitted")
    login(people["national"])
    response = client.get(f"/roadmaps/{roadmap.id}/{path}")
    assert_named_in_french(response)
    if path == "versions":
        assert "roadmap-status-badge--submitted" in response.get_data(as_text=True)
        # Long send-back messages wrap inside their cell instead of running off the page.
        assert "fr-table--multiline" in by_id(response, "versions").classes


def test_a_refused_comment_keeps_its_text_beside_the_box(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(status="submitted")
    login(people["national"])
    typed = "Le budget de l'observation sociale est à préciser. " * 400  # beyond the 20 000 characters
    response = client.post(f"/roadmaps/{roadmap.id}/comments", data={"section": "budget", "body": typed})
    assert response.status_code == 400
    box = by_id(response, "comment-body-budget")
    assert html_lib.unescape(box.text()).strip() == typed.strip()
    assert "autofocus" in box.attrs  # the page opens on the box, not at its top
    assert by_id(response, "comment-body-budget-error").text() == "20000 caractères au maximum."
    # Only that section's box: the others stay empty and quiet.
    assert by_id(response, "comment-body-actions").text().strip() == ""
    assert not any(n.attrs.get("id") == "comment-body-actions-error" for n in parse(response.get_data(as_text=True)).iter())
    with database(app) as session:
        assert session.get(Roadmap, roadmap.id).comments == []


def test_an_empty_comment_goes_back_to_its_box_with_the_error_beside_it(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(status="submitted")
    login(people["national"])
    sent = client.post(f"/roadmaps/{roadmap.id}/comments", data={"section": "indicators", "body": " "})
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/roadmaps/{roadmap.id}?comment_section=indicators#section-indicators")
    response = client.get(sent.headers["Location"])
    assert by_id(response, "comment-body-indicators-error").text() == "Rédigez votre commentaire."


def test_the_budget_error_summary_links_to_the_fields_in_error(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    with database(app) as session:
        version = session.get(Roadmap, roadmap.id).version
    data = {"version": version, "coordinator_actions": "Un poste", "coordinator_total": "60 000", "coordinator_share": "20 000",
            "engineering_total": "mille", "engineering_share": ""}
    response = client.post(f"/roadmaps/{roadmap.id}/budget", data=data)
    assert response.status_code == 400
    tree = parse(response.get_data(as_text=True))
    summary = next(n for n in tree.iter() if n.tag == "div" and "fr-alert--error" in n.classes)
    links = {n.attrs["href"]: " ".join(n.text().split()) for n in summary.iter() if n.tag == "a"}
    assert set(links) == {"#coordinator_share", "#engineering_total"}
    assert links["#coordinator_share"].startswith("Poste de coordinateur / animateur — Part de la collectivité")
    assert "Part de la collectivité" in links["#coordinator_share"] and "50/50" in links["#coordinator_share"]
    ids = {n.attrs.get("id") for n in tree.iter()}
    assert {"coordinator_share", "engineering_total"} <= ids  # every link lands on its field


def test_each_partner_category_is_named_once_on_screen(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    response = client.get(f"/roadmaps/{roadmap.id}/partners")
    tree = parse(response.get_data(as_text=True))
    label = next(n for n in tree.iter() if n.tag == "label" and n.attrs.get("for") == "names_caf")
    hidden = next(n for n in label.iter() if n.tag == "span" and "fr-sr-only" in n.classes)
    assert " ".join(label.text().split()).startswith("Noms (un par ligne) — CAF")
    assert hidden.text().strip() == "— CAF"
    assert "Noms — " not in text(response)


def test_the_other_period_fields_say_when_they_count(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    response = client.get(f"/roadmaps/{roadmap.id}/indicators/{first_indicator_id(app, roadmap.id)}/values")
    fieldset = by_id(response, "custom-period")
    assert fieldset.tag == "fieldset"
    assert by_id(response, "custom-period-hint").text().startswith("Seulement pour une autre période")
    assert {n.attrs.get("id") for n in fieldset.iter()} >= {"label", "period_start", "period_end"}
