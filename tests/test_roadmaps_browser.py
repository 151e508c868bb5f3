"""Roadmaps in a real headless Chromium against a real server: a coordinator
adds an action on axis 12 to their draft through the form (keyboard where
natural) and submits it; the national team validates it; a member of another
territory finds the action, under the territory's name, in the axis view."""

import pytest
from playwright.sync_api import expect

from .helpers import browser_login

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.roadmap_fixtures"]

TITLE = "Permanences d'accès au droit avant l'audience d'expulsion"


def test_an_action_on_axis_12_submitted_validated_then_found_by_another_territory(live_server, page, make_user, make_roadmap):
    roadmap = make_roadmap("nantes", status="draft")
    coordinator = make_user("coordinator", name="Coralie Nantaise", territory="nantes")
    admin = make_user("admin", name="Claire Nationale")
    reader = make_user("member", name="Léon Lyonnais", territory="lyon")

    # The coordinator opens their draft from the library.
    browser_login(page, live_server, coordinator)
    page.goto(f"{live_server.url}/roadmaps/")
    page.get_by_role("link", name="Ma feuille de route").click()
    page.get_by_role("link", name="Feuille de route 2023–2024").click()
    page.wait_for_url(f"**/roadmaps/{roadmap.id}")
    assert page.locator("#roadmap-status").text_content().strip() == "Brouillon"

    # Adds an action on axis 12 through the form.
    page.locator("#add-action").click()
    page.wait_for_url(f"**/roadmaps/{roadmap.id}/actions/new")
    axis = page.get_by_label("Axe du plan")
    axis.focus()
    axis.select_option(label="Axe 12 — Renforcer la prévention des expulsions locatives de façon à limiter le recours au "
                             "jugement d'expulsion et le nombre d'expulsions effectives")
    page.keyboard.press("Tab")
    page.keyboard.type(TITLE)
    assert page.get_by_label("Titre de l'action").input_value() == TITLE
    page.get_by_label("Description").fill("Une permanence de l'ADIL au tribunal, **deux fois par mois**.")
    existing = page.get_by_label("Action existante à renforcer")
    existing.focus()
    page.keyboard.press("Space")
    assert existing.is_checked()
    page.get_by_label("Structure pilote").fill("ADIL de Loire-Atlantique")
    page.get_by_role("button", name="Ajouter l'action").press("Enter")
    page.wait_for_url(f"**/roadmaps/{roadmap.id}**")
    expect(page.get_by_text("L'action est ajoutée.").first).to_be_visible()
    axis_12 = page.locator("#actions-axis-12")
    assert TITLE in axis_12.inner_text() and "ADIL de Loire-Atlantique" in axis_12.inner_text()

    # Submits it, after the confirmation dialog.
    page.get_by_role("button", name="Soumettre à l'équipe nationale").click()
    dialog = page.locator("dialog#submit-roadmap")
    dialog.wait_for(state="visible")
    dialog.get_by_role("button", name="Soumettre", exact=True).click()
    page.wait_for_url(f"**/roadmaps/{roadmap.id}**")
    expect(page.get_by_text("La feuille de route est soumise à l'équipe nationale").first).to_be_visible()
    expect(page.locator("#add-action")).to_have_count(0)  # frozen while reviewed
    assert page.csp_violations == []

    # The national team validates it.
    page.get_by_role("button", name="Se déconnecter").click()
    browser_login(page, live_server, admin)
    page.goto(f"{live_server.url}/roadmaps/{roadmap.id}")
    assert TITLE in page.locator("#actions-axis-12").inner_text()
    page.get_by_role("button", name="Valider", exact=True).click()
    dialog = page.locator("dialog#validate-roadmap")
    dialog.wait_for(state="visible")
    dialog.get_by_role("button", name="Valider la feuille de route").click()
    page.wait_for_url(f"**/roadmaps/{roadmap.id}**")
    expect(page.get_by_text("La feuille de route est validée").first).to_be_visible()

    # A member of another territory finds the action in the axis 12 view, under Nantes.
    page.get_by_role("button", name="Se déconnecter").click()
    browser_login(page, live_server, reader)
    page.goto(f"{live_server.url}/roadmaps/axes/12")
    card = page.locator("#territory-nantes")
    assert "Nantes Métropole" in card.locator("h2").inner_text()
    assert TITLE in card.inner_text()
    card.get_by_role("link", name="Feuille de route — Nantes Métropole, 2023–2024").click()
    page.wait_for_url(f"**/roadmaps/{roadmap.id}**")
    assert TITLE in page.locator("#actions-axis-12").inner_text()
    assert page.csp_violations == []
