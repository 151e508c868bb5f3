"""End-to-end in a real headless Chromium against a real server."""

import pytest

from .conftest import PASSWORD

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
