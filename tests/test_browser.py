"""End-to-end in a real headless Chromium against a real server."""

import pytest

from .conftest import PASSWORD
from .helpers import browser_login

pytestmark = pytest.mark.browser


def test_log_in_and_see_the_home_page(live_server, page, make_user):
    user = make_user("coordinator", territory="la-reunion", name="Nadia Payet")
    page.goto(live_server.url + "/")
    assert "/auth/login" in page.url  # anonymous visitors are sent to the login form

    # Keyboard only: the skip link comes first, then the form is reachable.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#content"
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Mot de passe").press("Enter")

    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Bienvenue, Nadia Payet"
    assert page.get_by_role("navigation", name="Menu principal").is_visible()
    # The DSFR stylesheet and script are served and allowed by the CSP.
    assert page.evaluate("getComputedStyle(document.querySelector('.fr-header')).position") != ""
    assert page.evaluate("typeof window.dsfr") == "function"
    assert page.csp_violations == []


def test_wrong_password_shows_the_error(live_server, page, make_user):
    user = make_user("member")
    page.goto(live_server.url + "/auth/login")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill("pas le bon mot de passe")
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("alert").is_visible()
    assert "/auth/login" in page.url


def test_upload_a_pdf_find_it_by_a_word_inside_and_download_it(live_server, page, make_user):
    """The toolbox and search together, in French, as a coordinator would do it."""
    from . import files as make

    user = make_user("coordinator", territory="centre-littoral-guyane")
    browser_login(page, live_server, user)

    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Boîte à outils").click()
    page.get_by_role("link", name="Partager un document").first.click()
    page.get_by_label("Titre").fill("Bilan de la maraude de Cayenne")
    page.get_by_label("Résumé").fill("Ce que l'équipe a appris pendant l'année.")
    page.get_by_label("Type de document").select_option("minutes")
    page.locator("label", has_text="Axe 5 —").click()
    # The word is only inside the file, not in the title or the summary.
    page.set_input_files(
        "#file",
        files=[{"name": "Bilan maraude.pdf", "mimeType": "application/pdf", "buffer": make.pdf("Les maraudes rencontrent des personnes hébergées en bidonville.")}],
    )
    page.get_by_role("button", name="Publier").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Bilan de la maraude de Cayenne"

    # Found by a word inside the PDF, typed without its accent and in the singular.
    page.get_by_label("Rechercher dans l'extranet").fill("hebergee")
    page.get_by_label("Rechercher dans l'extranet").press("Enter")
    page.wait_for_url("**/search*q=hebergee*")
    hit = page.get_by_role("link", name="Bilan de la maraude de Cayenne")
    assert hit.is_visible()
    assert "hébergées" in page.locator("mark").first.inner_text()
    hit.click()

    with page.expect_download() as download:
        page.locator("#download-current").click()
    assert download.value.suggested_filename == "Bilan maraude.pdf"
    assert open(download.value.path(), "rb").read().startswith(b"%PDF-")
    assert page.csp_violations == []
