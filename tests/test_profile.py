"""The profile page and the password change, as the account holder uses them."""

import pytest
from sqlalchemy import select

from extranet.audit import AuditEventKind
from extranet.auth.models import User

from .conftest import PASSWORD, csrf_token_from
from .helpers import NEW_PASSWORD, database, errors_beside, events, form_alerts, get_user, is_logged_in, parse, path_of, post_login

PROFILE = {
    "name": "Nadia Payet",
    "function": "Coordinatrice Logement d'abord",
    "organisation": "Département de La Réunion",
    "phone": "+262 262 90 30 30",
    "timezone": "Indian/Reunion",
    "language": "fr",
}


def html_lang(html: str) -> str:
    return next(n.attrs.get("lang") for n in parse(html).iter() if n.tag == "html")


def select_options(html: str, field_id: str) -> dict:
    """value -> selected, for the options of a <select>."""
    root = parse(html)
    select_node = next(n for n in root.iter() if n.tag == "select" and n.attrs.get("id") == field_id)
    return {n.attrs.get("value"): "selected" in n.attrs for n in select_node.iter() if n.tag == "option"}


def input_value(html: str, field_id: str) -> str | None:
    return next((n.attrs.get("value") for n in parse(html).iter() if n.tag == "input" and n.attrs.get("id") == field_id), None)


# --- Profile ----------------------------------------------------------------------


def test_anonymous_visitor_cannot_see_a_profile(client):
    for url in ("/auth/profile", "/auth/password"):
        response = client.get(url)
        assert response.status_code == 302
        assert path_of(response.location) == "/auth/login"
        assert client.post(url, data=PROFILE).status_code == 302


def test_profile_page_shows_the_current_values(client, logged_in):
    user = logged_in("coordinator", territory="la-reunion", function="Cheffe de projet", phone="0262 00 00 00")
    response = client.get("/auth/profile")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert input_value(html, "name") == user.name
    assert input_value(html, "function") == "Cheffe de projet"
    assert input_value(html, "phone") == "0262 00 00 00"
    assert user.email in html
    assert select_options(html, "timezone")["Europe/Paris"] is True
    assert select_options(html, "language")["fr"] is True
    assert 'href="/auth/password"' in html


def test_edit_the_profile(app, client, logged_in):
    user = logged_in("coordinator", territory="la-reunion")
    response = client.post("/auth/profile", data=dict(PROFILE, name="  Nadia Payet  "))
    assert response.status_code == 302
    assert path_of(response.location) == "/auth/profile"

    saved = get_user(app, user.email)
    assert saved.name == "Nadia Payet"
    assert saved.function == "Coordinatrice Logement d'abord"
    assert saved.organisation == "Département de La Réunion"
    assert saved.phone == "+262 262 90 30 30"
    assert saved.timezone == "Indian/Reunion"

    html = client.get("/auth/profile").get_data(as_text=True)
    assert input_value(html, "name") == "Nadia Payet"
    assert select_options(html, "timezone")["Indian/Reunion"] is True
    # The new details are what the rest of the network sees in the directory.
    directory = client.get("/territories/la-reunion").get_data(as_text=True)
    assert "Nadia Payet" in directory and "+262 262 90 30 30" in directory


def test_optional_fields_can_be_emptied(app, client, logged_in):
    user = logged_in(function="Chargée de mission", organisation="CCAS", phone="01 23 45 67 89")
    response = client.post("/auth/profile", data=dict(PROFILE, function="", organisation="", phone=""))
    assert response.status_code == 302
    saved = get_user(app, user.email)
    assert (saved.function, saved.organisation, saved.phone) == ("", "", "")


@pytest.mark.parametrize("phone", ["abc", "12345", "01 23 45 67 89 <script>", "+33 6 12 34 56 78 ext. 12", "0" * 41])
def test_bad_phone_is_refused_beside_the_field(app, client, logged_in, phone):
    user = logged_in(phone="01 23 45 67 89")
    response = client.post("/auth/profile", data=dict(PROFILE, phone=phone))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "phone")
    assert errors_beside(html, "name") == []
    assert form_alerts(html)
    # Nothing is saved, and what was typed is kept for correction.
    saved = get_user(app, user.email)
    assert saved.phone == "01 23 45 67 89" and saved.name == user.name
    assert input_value(html, "function") == PROFILE["function"]


@pytest.mark.parametrize("phone", ["01 23 45 67 89", "+262 262 12 34 56", "01.23.45.67.89", "(0)1-23-45-67-89", "0590123456"])
def test_usual_phone_formats_are_accepted(app, client, logged_in, phone):
    user = logged_in()
    assert client.post("/auth/profile", data=dict(PROFILE, phone=phone)).status_code == 302
    assert get_user(app, user.email).phone == phone


def test_time_zone_choices_cover_overseas_territories(client, logged_in):
    logged_in()
    options = select_options(client.get("/auth/profile").get_data(as_text=True), "timezone")
    for zone in ("Europe/Paris", "Indian/Reunion", "Indian/Mayotte", "America/Martinique", "America/Guadeloupe", "America/Cayenne"):
        assert zone in options


@pytest.mark.parametrize("zone", ["America/Cayenne", "Indian/Reunion"])
def test_choose_an_overseas_time_zone(app, client, logged_in, zone):
    user = logged_in()
    assert client.post("/auth/profile", data=dict(PROFILE, timezone=zone)).status_code == 302
    assert get_user(app, user.email).timezone == zone


@pytest.mark.parametrize(("field", "value"), [("timezone", "Mars/Olympus_Mons"), ("language", "de"), ("timezone", ""), ("language", "")])
def test_unknown_choices_are_refused(app, client, logged_in, field, value):
    user = logged_in()
    response = client.post("/auth/profile", data=dict(PROFILE, **{field: value}))
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), field)
    saved = get_user(app, user.email)
    assert (saved.timezone, saved.language) == ("Europe/Paris", "fr")


def test_language_switch_changes_the_page_language(app, client, logged_in):
    user = logged_in()
    assert html_lang(client.get("/").get_data(as_text=True)) == "fr"
    assert client.post("/auth/profile", data=dict(PROFILE, language="en")).status_code == 302
    assert get_user(app, user.email).language == "en"
    assert html_lang(client.get("/").get_data(as_text=True)) == "en"
    assert html_lang(client.get("/territories/").get_data(as_text=True)) == "en"

    # The choice belongs to the account: it follows the person to another browser.
    other = app.test_client()
    post_login(other, user.email, PASSWORD)
    assert html_lang(other.get("/").get_data(as_text=True)) == "en"

    assert client.post("/auth/profile", data=dict(PROFILE, language="fr")).status_code == 302
    assert html_lang(client.get("/").get_data(as_text=True)) == "fr"


def test_the_chosen_language_stays_after_logging_out(client, logged_in):
    logged_in()
    client.post("/auth/profile", data=dict(PROFILE, language="en"))
    client.post("/auth/logout")
    assert html_lang(client.get("/auth/login").get_data(as_text=True)) == "en"


def test_an_english_speaker_logging_in_keeps_english_after_logout(app, client, make_user):
    user = make_user(language="en")
    post_login(client, user.email, PASSWORD)
    assert html_lang(client.get("/").get_data(as_text=True)) == "en"
    client.post("/auth/logout")
    assert html_lang(client.get("/auth/login").get_data(as_text=True)) == "en"


def test_control_characters_are_dropped_not_crashing(app, client, logged_in):
    """Invisible control characters are dropped; a NUL byte (which PostgreSQL
    refuses, and nobody types) gets the request refused, not a crash."""
    user = logged_in()
    data = dict(PROFILE, name="Nadia\x07 Payet", function="Coordinatrice\x1b", organisation="\x01\x02", phone="0262\x08 12 34 56")
    response = client.post("/auth/profile", data=data)
    assert response.status_code == 302
    saved = get_user(app, user.email)
    assert (saved.name, saved.function, saved.organisation, saved.phone) == ("Nadia Payet", "Coordinatrice", "", "0262 12 34 56")
    response = client.post("/auth/profile", data=dict(PROFILE, name="\x01\x02"))
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "name")
    response = client.post("/auth/profile", data=dict(PROFILE, name="Nadia\x00 Payet", function="autre"))
    assert response.status_code == 400
    assert get_user(app, user.email).function == "Coordinatrice"
    assert client.get("/admin/users?q=a%00b").status_code in (400, 403)


def test_empty_profile_form_shows_errors_beside_the_fields(app, client, logged_in):
    user = logged_in(function="Chargée de mission")
    blank = {name: "" for name in PROFILE}
    response = client.post("/auth/profile", data=blank)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "name")
    assert errors_beside(html, "timezone")
    assert errors_beside(html, "language")
    assert errors_beside(html, "function") == []
    saved = get_user(app, user.email)
    assert (saved.name, saved.function) == (user.name, "Chargée de mission")


def test_a_post_without_any_field_changes_nothing(app, client, logged_in):
    user = logged_in(function="Chargée de mission", phone="01 23 45 67 89")
    assert client.post("/auth/profile", data={}).status_code in (302, 400)
    saved = get_user(app, user.email)
    assert (saved.name, saved.function, saved.phone, saved.timezone) == (user.name, "Chargée de mission", "01 23 45 67 89", "Europe/Paris")


@pytest.mark.parametrize(("field", "limit"), [("name", 200), ("function", 200), ("organisation", 200)])
def test_overlong_values_are_refused_beside_the_field(app, client, logged_in, field, limit):
    user = logged_in()
    response = client.post("/auth/profile", data=dict(PROFILE, **{field: "a" * (limit + 1)}))
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), field)
    assert get_user(app, user.email).name == user.name


def test_blank_name_is_refused(client, logged_in):
    logged_in()
    response = client.post("/auth/profile", data=dict(PROFILE, name="    "))
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "name")


def test_the_email_address_cannot_be_changed_here(app, client, logged_in):
    user = logged_in()
    client.post("/auth/profile", data=dict(PROFILE, email="someone.else@example.org", role="admin"))
    saved = get_user(app, user.email)
    assert saved is not None and saved.role == user.role


# --- Password change ------------------------------------------------------------------


def change(client, current=PASSWORD, password=NEW_PASSWORD, confirm=None):
    return client.post(
        "/auth/password",
        data={"current_password": current, "password": password, "confirm": password if confirm is None else confirm},
    )


def test_change_password_page(client, logged_in):
    logged_in()
    response = client.get("/auth/password")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for field in ("current_password", "password", "confirm"):
        assert errors_beside(html, field) == []


def test_wrong_current_password_is_refused_beside_the_field(app, client, logged_in):
    user = logged_in()
    response = change(client, current="this is not my password")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "current_password")
    assert errors_beside(html, "password") == []
    assert is_logged_in(client)
    assert post_login(app.test_client(), user.email, PASSWORD).status_code == 302
    assert events(app, AuditEventKind.PASSWORD_CHANGED) == []


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, logged_in, login):
    user = logged_in()
    elsewhere = app.test_client()
    login(user, client=elsewhere)
    remembered = app.test_client()
    login(user, client=remembered, remember=True)
    remember_cookie = remembered.get_cookie("extranet_remember").value
    assert is_logged_in(elsewhere) and is_logged_in(remembered)

    response = change(client)
    assert response.status_code == 302
    assert path_of(response.location) == "/auth/profile"
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)
    assert not is_logged_in(remembered)
    # A "remember me" cookie issued before opens nothing any more.
    browser = app.test_client()
    browser.set_cookie("extranet_remember", remember_cookie)
    assert not is_logged_in(browser)

    assert post_login(app.test_client(), user.email, PASSWORD).status_code == 401
    assert post_login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    assert [e["actor_id"] for e in events(app, AuditEventKind.PASSWORD_CHANGED)] == [user.id]


def test_remember_me_on_this_device_survives_its_own_password_change(app, client, make_user, login):
    user = make_user()
    login(user, remember=True)
    assert change(client).status_code == 302
    # The browser is closed and opened again: only the long-lived cookie is left.
    browser = app.test_client()
    browser.set_cookie("extranet_remember", client.get_cookie("extranet_remember").value)
    assert is_logged_in(browser)


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, ("current_password", "password", "confirm")),
        ({"current_password": PASSWORD, "password": "too short", "confirm": "too short"}, ("password",)),
        ({"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": "not the same thing"}, ("confirm",)),
        ({"current_password": PASSWORD, "password": " " * 20, "confirm": " " * 20}, ("password", "confirm")),
    ],
)
def test_change_password_form_errors(app, client, logged_in, data, fields):
    user = logged_in()
    response = client.post("/auth/password", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("current_password", "password", "confirm"):
        assert bool(errors_beside(html, field)) == (field in fields), field
    assert is_logged_in(client)
    assert post_login(app.test_client(), user.email, PASSWORD).status_code == 302


def test_deactivated_account_cannot_change_anything(app, client, logged_in):
    user = logged_in()
    with database(app) as session:
        session.get(User, user.id).active = False
        session.commit()
    assert path_of(change(client).location) == "/auth/login"
    assert client.post("/auth/profile", data=PROFILE).status_code == 302
    with database(app) as session:
        assert session.scalar(select(User.name).where(User.id == user.id)) == user.name


# --- CSRF -------------------------------------------------------------------------


@pytest.fixture
def csrf_app(app_config, request):
    app_config["WTF_CSRF_ENABLED"] = True
    return request.getfixturevalue("app")


def test_profile_forms_need_the_form_token(csrf_app, make_user):
    user = make_user()
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})

    assert client.post("/auth/profile", data=PROFILE).status_code == 400
    assert change(client).status_code == 400
    assert get_user(csrf_app, user.email).name == user.name
    assert post_login(csrf_app.test_client(), user.email, PASSWORD).status_code == 400  # no token there either

    token = csrf_token_from(client.get("/auth/profile").get_data(as_text=True))
    assert client.post("/auth/profile", data=dict(PROFILE, csrf_token=token)).status_code == 302
    assert get_user(csrf_app, user.email).name == PROFILE["name"]


def test_guessing_the_current_password_is_throttled(app, client, logged_in):
    user = logged_in("member")
    for _ in range(5):
        response = client.post(
            "/auth/password", data={"current_password": "une mauvaise supposition", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert response.status_code == 400
    # Even the right current password is now refused, and nothing changed.
    response = client.post("/auth/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "current_password")
    assert get_user(app, user.email).check_password(PASSWORD)
