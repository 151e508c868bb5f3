"""Login, logout, throttling, password reset and invitation acceptance, through
the pages a person uses (no service shortcuts except to create invitations,
whose administration pages are built elsewhere)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from extranet.audit import AuditEventKind
from extranet.auth import services
from extranet.auth.models import Invitation, PasswordReset, User
from extranet.extensions import db
from extranet.roles import OrganisationType, Role
from extranet.territories.models import Territory

from .conftest import PASSWORD, csrf_token_from
from .helpers import (
    NEW_PASSWORD,
    age_events,
    database,
    errors_beside,
    events,
    form_alerts,
    french,
    get_user,
    h1,
    in_site_layout,
    is_logged_in,
    page_text,
    path_of,
    post_login,
    set_cookie_headers,
)

# --- Login --------------------------------------------------------------------


def test_login_page_shows_the_form(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert errors_beside(html, "email") == []
    assert errors_beside(html, "password") == []
    assert errors_beside(html, "remember") == []
    assert 'href="/auth/password/forgot"' in html


def test_login_success_redirects_home_and_is_audited(app, client, make_user):
    user = make_user("coordinator", territory="la-reunion")
    response = post_login(client, user.email, PASSWORD, ip="10.1.2.3")
    assert response.status_code == 302
    assert path_of(response.location) == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert user.name in home.get_data(as_text=True)

    succeeded = events(app, AuditEventKind.LOGIN_SUCCEEDED)
    assert len(succeeded) == 1
    assert succeeded[0]["ip"] == "10.1.2.3"
    assert succeeded[0]["email"] == user.email
    assert succeeded[0]["target_id"] == user.id
    assert get_user(app, user.email).last_login_at is not None


def test_wrong_password_is_refused_with_an_error_and_audited(app, client, make_user):
    user = make_user()
    response = post_login(client, user.email, "not the password at all", ip="10.9.8.7")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert form_alerts(html), "an error explains the refusal"
    # The address stays typed in; the password is not sent back.
    assert f'value="{user.email}"' in html
    assert "not the password at all" not in html
    assert not is_logged_in(client)

    failed = events(app, AuditEventKind.LOGIN_FAILED)
    assert [(e["email"], e["ip"], e["target_id"]) for e in failed] == [(user.email, "10.9.8.7", user.id)]
    assert events(app, AuditEventKind.LOGIN_SUCCEEDED) == []


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(app, client, make_user):
    user = make_user(email="known@example.org")
    wrong = post_login(client, "known@example.org", "wrong password here")
    unknown = post_login(client, "nobody@example.org", "wrong password here")
    assert wrong.status_code == unknown.status_code == 401
    assert page_text(wrong, ("known@", "X@")) == page_text(unknown, ("nobody@", "X@"))
    failed = events(app, AuditEventKind.LOGIN_FAILED)
    assert [(e["email"], e["target_id"]) for e in failed] == [("known@example.org", user.id), ("nobody@example.org", None)]


def test_inactive_account_gets_the_same_answer_as_a_wrong_password(app, client, make_user):
    inactive = make_user(email="inactive@example.org")
    make_user(email="active@example.org")
    with database(app) as session:
        session.get(User, inactive.id).active = False
        session.commit()
    refused = post_login(client, "inactive@example.org", PASSWORD)
    wrong = post_login(client, "active@example.org", "wrong password here")
    assert refused.status_code == wrong.status_code == 401
    assert page_text(refused, ("inactive@", "X@")) == page_text(wrong, ("active@", "X@"))


def test_email_is_case_insensitive(client, make_user):
    user = make_user(email="camille.durand@example.org")
    response = post_login(client, "  Camille.DURAND@Example.ORG ", PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)
    assert user.name in client.get("/").get_data(as_text=True)


def test_inactive_account_cannot_log_in(app, client, make_user):
    user = make_user()
    with database(app) as session:
        session.get(User, user.id).active = False
        session.commit()
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 401
    assert form_alerts(response.get_data(as_text=True))
    assert not is_logged_in(client)
    assert len(events(app, AuditEventKind.LOGIN_FAILED)) == 1


def test_deactivation_ends_an_open_session(app, client, logged_in):
    user = logged_in()
    assert is_logged_in(client)
    with database(app) as session:
        session.get(User, user.id).active = False
        session.commit()
    assert not is_logged_in(client)


def test_remember_me_sets_a_protected_long_lived_cookie(app, client, make_user):
    user = make_user()
    response = post_login(client, user.email, PASSWORD, remember="y")
    assert response.status_code == 302
    cookies = set_cookie_headers(response, "extranet_remember")
    assert len(cookies) == 1
    attributes = [a.strip().lower() for a in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert any(a.startswith("expires=") for a in attributes)

    # A browser restarted (session cookie gone) is still logged in.
    remember = client.get_cookie("extranet_remember")
    browser = app.test_client()
    browser.set_cookie("extranet_remember", remember.value)
    assert is_logged_in(browser)


def test_without_remember_me_no_remember_cookie(client, make_user):
    user = make_user()
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert set_cookie_headers(response, "extranet_remember") == []
    session_cookie = set_cookie_headers(response, "extranet_session")
    assert session_cookie and "httponly" in session_cookie[0].lower()


def test_anonymous_visitor_is_sent_to_login_then_back(client, make_user):
    user = make_user()
    response = client.get("/territories/?q=lyon")
    assert response.status_code == 302
    login_url = response.location
    assert path_of(login_url) == "/auth/login"
    response = client.post(login_url, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/territories/?q=lyon"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/auth/login",
        "https://evil.example",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_only_follows_local_paths(client, make_user, target):
    user = make_user()
    response = client.post("/auth/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/"
    # Already logged in: the login page redirects, and just as carefully.
    again = client.get("/auth/login", query_string={"next": target})
    assert again.status_code == 302
    assert again.location == "/"


def test_logout_needs_a_post(app, client, logged_in):
    user = logged_in()
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert is_logged_in(client)

    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert path_of(response.location) == "/auth/login"
    assert not is_logged_in(client)
    assert client.get("/").status_code == 302
    logouts = events(app, AuditEventKind.LOGOUT)
    assert [(e["actor_id"], e["target_id"]) for e in logouts] == [(user.id, user.id)]


def test_logout_when_not_logged_in(client):
    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert path_of(response.location) == "/auth/login"


def test_logout_forgets_the_remember_cookie(app, client, make_user):
    user = make_user()
    post_login(client, user.email, PASSWORD, remember="y")
    assert client.get_cookie("extranet_remember") is not None
    client.post("/auth/logout")
    assert client.get_cookie("extranet_remember") is None
    assert not is_logged_in(client)


def test_empty_login_form_shows_errors_beside_the_fields(client):
    response = client.post("/auth/login", data={})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "email")
    assert errors_beside(html, "password")


def test_malformed_email_at_login(client):
    response = client.post("/auth/login", data={"email": "not-an-address", "password": "whatever it is"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "email")
    assert errors_beside(html, "password") == []


# --- Throttling -----------------------------------------------------------------


def test_five_failures_lock_the_account_even_with_the_right_password(app, client, make_user):
    user = make_user()
    for _ in range(5):
        assert post_login(client, user.email, "wrong password guess").status_code == 401
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert form_alerts(html) == [
        french(
            app,
            "Too many unsuccessful login attempts. For your security, wait %(minutes)s minutes "
            "before trying again, or reset your password.",
            minutes=15,
        )
    ]
    assert 'href="/auth/password/forgot"' in html
    assert not is_logged_in(client)
    assert len(events(app, AuditEventKind.LOGIN_THROTTLED)) == 1
    assert events(app, AuditEventKind.LOGIN_SUCCEEDED) == []

    # The lock is on the account, whatever the address the attempt comes from.
    assert post_login(client, user.email.upper(), PASSWORD, ip="192.0.2.44").status_code == 429


def test_unknown_addresses_are_locked_the_same_way(client, make_user):
    """Otherwise the lock would tell which addresses have an account."""
    for _ in range(5):
        post_login(client, "nobody@example.org", "wrong password guess")
    assert post_login(client, "nobody@example.org", "wrong password guess").status_code == 429


def test_a_locked_account_does_not_affect_others(app, client, make_user):
    victim = make_user()
    other = make_user()
    for _ in range(6):
        post_login(client, victim.email, "wrong password guess", ip="10.0.0.1")
    other_client = app.test_client()
    response = post_login(other_client, other.email, PASSWORD, ip="10.0.0.2")
    assert response.status_code == 302
    assert is_logged_in(other_client)


def test_twenty_failures_from_one_address_block_that_address(app, client, make_user):
    user = make_user()
    for n in range(20):
        response = post_login(client, f"guess{n}@example.org", "wrong password guess", ip="10.0.0.7")
        assert response.status_code == 401
    response = post_login(client, user.email, PASSWORD, ip="10.0.0.7")
    assert response.status_code == 429
    assert form_alerts(response.get_data(as_text=True))

    # The same account from elsewhere is not blocked.
    elsewhere = app.test_client()
    assert post_login(elsewhere, user.email, PASSWORD, ip="10.0.0.8").status_code == 302


def test_the_lock_ends_after_the_window(app, client, make_user):
    user = make_user()
    for _ in range(5):
        post_login(client, user.email, "wrong password guess")
    assert post_login(client, user.email, PASSWORD).status_code == 429
    age_events(app, 16)
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert is_logged_in(client)


def test_the_lock_is_still_on_within_the_window(app, client, make_user):
    user = make_user()
    for _ in range(5):
        post_login(client, user.email, "wrong password guess")
    age_events(app, 14)
    assert post_login(client, user.email, PASSWORD).status_code == 429


def test_a_successful_login_resets_the_account_count(app, client, make_user):
    user = make_user()
    for _ in range(4):
        post_login(client, user.email, "wrong password guess")
    assert post_login(client, user.email, PASSWORD).status_code == 302
    client.post("/auth/logout")
    for _ in range(4):
        post_login(client, user.email, "wrong password guess")
    assert post_login(client, user.email, PASSWORD).status_code == 302


# --- CSRF -----------------------------------------------------------------------


@pytest.fixture
def csrf_app(app_config, request):
    """The application with CSRF protection on, as in production."""
    app_config["WTF_CSRF_ENABLED"] = True
    return request.getfixturevalue("app")


def test_login_needs_the_form_token(csrf_app, make_user):
    user = make_user()
    client = csrf_app.test_client()
    refused = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400
    assert in_site_layout(refused.get_data(as_text=True))
    assert not is_logged_in(client)

    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert is_logged_in(client)


def test_logout_needs_the_form_token(csrf_app, make_user):
    user = make_user()
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    # A page of another site cannot log people out.
    assert client.post("/auth/logout").status_code == 400
    assert is_logged_in(client)
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert not is_logged_in(client)


def test_password_forms_need_the_form_token(csrf_app, make_user, mailbox):
    user = make_user()
    client = csrf_app.test_client()
    assert client.post("/auth/password/forgot", data={"email": user.email}).status_code == 400
    assert mailbox.messages == []

    token = csrf_token_from(client.get("/auth/password/forgot").get_data(as_text=True))
    assert client.post("/auth/password/forgot", data={"email": user.email, "csrf_token": token}).status_code == 200
    link = reset_link(mailbox, user.email)
    new = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(link, data=new).status_code == 400
    assert not is_logged_in(client)
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    assert client.post(link, data=dict(new, csrf_token=token)).status_code == 302
    assert is_logged_in(client)


def test_invitation_form_needs_the_form_token(csrf_app, make_user, mailbox):
    admin = make_user("admin")
    with csrf_app.test_request_context(base_url=BASE_URL):
        services.invite(db.session.get(User, admin.id), email="csrf@example.org", name="Csrf", role=Role.MEMBER, territory_id=None)
        db.session.commit()
    link = path_of(mailbox.link(mailbox.to("csrf@example.org")[0]))
    client = csrf_app.test_client()
    data = {"name": "Csrf Person", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(link, data=data).status_code == 400
    assert get_user(csrf_app, "csrf@example.org") is None
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    assert client.post(link, data=dict(data, csrf_token=token)).status_code == 302
    assert get_user(csrf_app, "csrf@example.org") is not None


# --- Password reset -------------------------------------------------------------


def ask_reset(client, email):
    return client.post("/auth/password/forgot", data={"email": email})


def reset_link(mailbox, email) -> str:
    messages = mailbox.to(email)
    assert len(messages) == 1
    return path_of(mailbox.link(messages[0]))


def test_forgot_password_page(client):
    response = client.get("/auth/password/forgot")
    assert response.status_code == 200
    assert errors_beside(response.get_data(as_text=True), "email") == []


def test_reset_request_for_an_account_sends_one_mail_with_a_link(app, client, make_user, mailbox):
    user = make_user(email="lea.martin@example.org", name="Léa Martin")
    response = ask_reset(client, "Lea.Martin@example.org")
    assert response.status_code == 200
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "lea.martin@example.org"
    assert message["X-Envelope-To"] == "lea.martin@example.org"
    assert message["Subject"]
    body = mailbox.body(message)
    assert "Léa Martin" in body
    link = mailbox.link(message)
    assert link.startswith("http://localhost/auth/password/reset/")
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert errors_beside(page.get_data(as_text=True), "password") == []
    requested = events(app, AuditEventKind.PASSWORD_RESET_REQUESTED)
    assert [(e["email"], e["target_id"]) for e in requested] == [(user.email, user.id)]


def test_reset_request_for_an_unknown_address_looks_the_same_and_sends_nothing(client, make_user, mailbox):
    make_user(email="known@example.org")
    known = ask_reset(client, "known@example.org")
    mailbox.clear()
    unknown = ask_reset(client, "nobody@example.org")
    assert unknown.status_code == known.status_code == 200
    assert page_text(unknown, ("nobody@", "X@")) == page_text(known, ("known@", "X@"))
    assert mailbox.messages == []


def test_reset_request_for_a_deactivated_account_sends_nothing(app, client, make_user, mailbox):
    user = make_user()
    with database(app) as session:
        session.get(User, user.id).active = False
        session.commit()
    assert ask_reset(client, user.email).status_code == 200
    assert mailbox.messages == []


def test_reset_link_sets_the_password_logs_in_and_works_once(app, client, make_user, mailbox):
    user = make_user()
    ask_reset(client, user.email)
    link = reset_link(mailbox, user.email)

    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert path_of(response.location) == "/"
    assert is_logged_in(client)
    assert user.name in client.get("/").get_data(as_text=True)
    assert [e["target_id"] for e in events(app, AuditEventKind.PASSWORD_RESET)] == [user.id]

    again = client.get(link)
    assert again.status_code == 404
    html = again.get_data(as_text=True)
    assert in_site_layout(html)
    assert h1(html) == french(app, "This link is no longer valid")
    assert 'href="/auth/password/forgot"' in html, "the page offers to ask for a new link"
    assert client.post(link, data={"password": "yet another long password", "confirm": "yet another long password"}).status_code == 404

    client.post("/auth/logout")
    other = app.test_client()
    assert post_login(other, user.email, PASSWORD).status_code == 401
    assert post_login(other, user.email, NEW_PASSWORD).status_code == 302


def test_reset_link_expires_after_an_hour(app, client, make_user, mailbox):
    user = make_user()
    ask_reset(client, user.email)
    link = reset_link(mailbox, user.email)
    with database(app) as session:
        reset = session.scalar(select(PasswordReset))
        assert timedelta(minutes=59) < reset.expires_at - reset.created_at <= timedelta(hours=1)
        reset.expires_at = reset.expires_at - timedelta(hours=1)
        session.commit()
    assert client.get(link).status_code == 404
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 404
    assert not is_logged_in(client)
    assert post_login(app.test_client(), user.email, PASSWORD).status_code == 302


def test_using_one_reset_link_kills_the_older_ones(client, make_user, mailbox):
    user = make_user()
    ask_reset(client, user.email)
    first = reset_link(mailbox, user.email)
    mailbox.clear()
    ask_reset(client, user.email)
    second = reset_link(mailbox, user.email)
    assert first != second
    assert client.post(second, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert client.get(first).status_code == 404


def test_reset_mails_are_limited_to_three_an_hour(app, client, make_user, mailbox):
    """Nobody can flood a member's mailbox through the public form."""
    user = make_user()
    pages = [ask_reset(client, user.email) for _ in range(5)]
    assert [p.status_code for p in pages] == [200] * 5
    assert len({page_text(p) for p in pages}) == 1, "the page does not tell"
    assert len(mailbox.to(user.email)) == 3
    with database(app) as session:
        for reset in session.scalars(select(PasswordReset)):
            reset.created_at -= timedelta(minutes=61)
        session.commit()
    ask_reset(client, user.email)
    assert len(mailbox.to(user.email)) == 4
    # The latest link works.
    assert client.get(path_of(mailbox.link(mailbox.to(user.email)[-1]))).status_code == 200


def test_reset_mail_is_in_the_account_language(app, client, make_user, mailbox):
    from flask_babel import force_locale, gettext

    french = make_user(language="fr")
    english = make_user(language="en")
    for user in (french, english):
        ask_reset(client, user.email)
    for user in (french, english):
        with app.test_request_context(), force_locale(user.language):
            subject = gettext("Choose a new password for the Logement d'abord extranet")
        (message,) = mailbox.to(user.email)
        assert message["Subject"] == subject
        assert "60" in mailbox.body(message), "the mail says how long the link lasts"


@pytest.mark.parametrize(
    ("password", "confirm", "field"),
    [
        ("", "", "password"),
        ("short pass1", "short pass1", "password"),  # 11 characters
        (" " * 14, " " * 14, "password"),
        ("x" * 129, "x" * 129, "password"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "confirm"),
        (NEW_PASSWORD, "", "confirm"),
    ],
)
def test_reset_password_rules(app, client, make_user, mailbox, password, confirm, field):
    user = make_user()
    ask_reset(client, user.email)
    link = reset_link(mailbox, user.email)
    response = client.post(link, data={"password": password, "confirm": confirm})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, field)
    if field == "confirm":
        assert errors_beside(html, "password") == []
    assert password not in html or not password.strip()
    assert not is_logged_in(client)
    # Nothing changed and the link still works.
    assert post_login(app.test_client(), user.email, PASSWORD).status_code == 302
    assert client.get(link).status_code == 200


def test_a_twelve_character_password_is_enough(client, make_user, mailbox):
    user = make_user()
    ask_reset(client, user.email)
    link = reset_link(mailbox, user.email)
    assert client.post(link, data={"password": "douze caract", "confirm": "douze caract"}).status_code == 302


def test_reset_logs_in_in_the_account_language(client, make_user, mailbox):
    user = make_user(language="en")
    ask_reset(client, user.email)
    client.post(reset_link(mailbox, user.email), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert '<html lang="en"' in client.get("/").get_data(as_text=True)
    client.post("/auth/logout")
    assert '<html lang="en"' in client.get("/auth/login").get_data(as_text=True)


def test_reset_ends_the_other_sessions(app, client, make_user, mailbox, login):
    user = make_user()
    elsewhere = app.test_client()
    login(user, client=elsewhere)
    assert is_logged_in(elsewhere)

    ask_reset(client, user.email)
    link = reset_link(mailbox, user.email)
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)


def test_reset_while_logged_in_as_someone_else(client, make_user, mailbox, logged_in):
    someone = logged_in()
    user = make_user()
    ask_reset(client, user.email)
    link = reset_link(mailbox, user.email)
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert user.name in home and someone.name not in home


def test_reset_link_of_a_deactivated_account_is_dead(app, client, make_user, mailbox):
    user = make_user()
    ask_reset(client, user.email)
    link = reset_link(mailbox, user.email)
    with database(app) as session:
        session.get(User, user.id).active = False
        session.commit()
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert not is_logged_in(client)


@pytest.mark.parametrize("token", ["garbage", "x" * 300, "%00%ff", "..", "%C3%A9t%C3%A9"])
def test_garbage_reset_token_gives_the_invalid_link_page(client, token):
    response = client.get(f"/auth/password/reset/{token}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert in_site_layout(html)
    assert 'href="/auth/password/forgot"' in html
    assert client.post(f"/auth/password/reset/{token}", data={}).status_code == 404


def test_empty_forgot_password_form(client, mailbox):
    response = client.post("/auth/password/forgot", data={})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "email")
    response = client.post("/auth/password/forgot", data={"email": "not an address"})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "email")
    assert mailbox.messages == []


# --- Invitations ----------------------------------------------------------------

BASE_URL = "https://extranet.example"


@pytest.fixture
def invite(app, mailbox, make_user):
    """invite(email, role="member", territory="lyon", **fields) -> link path of the mailed invitation."""
    admin = make_user("admin")

    def do_invite(email, role="member", territory="lyon", name="Invited Person", **fields):
        # As the administration pages do it: inside a request, whose address makes the link.
        with app.test_request_context(base_url=BASE_URL):
            session = db.session
            territory_id = session.scalar(select(Territory.id).where(Territory.slug == territory)) if territory else None
            actor = session.get(User, admin.id)
            services.invite(actor, email=email, name=name, role=Role(role), territory_id=territory_id, ip="10.0.0.1", **fields)
            session.commit()
        messages = mailbox.to(email)
        assert messages, "the invitation was mailed"
        link = mailbox.link(messages[-1])
        assert link.startswith(BASE_URL + "/auth/invitation/")
        return path_of(link)

    do_invite.admin = admin
    return do_invite


def test_invitation_sent_outside_a_request_uses_base_url(app, mailbox, make_user):
    """A worker or a command has no request: the link comes from EXTRANET_BASE_URL."""
    admin = make_user("admin")
    app.config["BASE_URL"] = BASE_URL
    with database(app) as session:
        services.invite(session.get(User, admin.id), email="batch@example.org", name="Batch", role=Role.ANIMATOR, territory_id=None)
        session.commit()
    assert mailbox.link(mailbox.to("batch@example.org")[0]).startswith(BASE_URL + "/auth/invitation/")


def accept(client, link, name="Aurélie Hoarau", password=NEW_PASSWORD, confirm=None):
    return client.post(link, data={"name": name, "password": password, "confirm": password if confirm is None else confirm})


def invitation_of(app, email) -> Invitation:
    with database(app) as session:
        invitation = session.scalar(select(Invitation).where(Invitation.email == email))
        session.expunge(invitation)
        return invitation


def count_users(app, email) -> int:
    with database(app) as session:
        return session.scalar(select(func.count(User.id)).where(User.email == email))


def test_invitation_mail(invite, mailbox):
    invite("new.member@example.org", role="coordinator", territory="la-reunion", name="Aurélie Hoarau")
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "new.member@example.org"
    assert message["Subject"]
    body = mailbox.body(message)
    assert "Aurélie Hoarau" in body
    assert "Département de La Réunion" in body
    assert invite.admin.name in body


def test_accepting_an_invitation_creates_the_account_and_logs_in(app, client, invite):
    link = invite(
        "Aurelie.Hoarau@Example.org",
        role="coordinator",
        territory="la-reunion",
        name="Aurélie H.",
        organisation="Département de La Réunion",
    )
    page = client.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Aurélie H."' in html, "the name is filled in from the invitation"
    assert "aurelie.hoarau@example.org" in html

    response = accept(client, link, name="Aurélie Hoarau")
    assert response.status_code == 302
    assert path_of(response.location) == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Aurélie Hoarau" in home.get_data(as_text=True)

    user = get_user(app, "aurelie.hoarau@example.org")
    assert user.role == Role.COORDINATOR
    assert user.name == "Aurélie Hoarau"
    assert user.organisation == "Département de La Réunion"
    assert user.timezone == "Indian/Reunion"
    with database(app) as session:
        assert session.get(Territory, user.territory_id).slug == "la-reunion"
    invitation = invitation_of(app, "aurelie.hoarau@example.org")
    assert invitation.accepted_at is not None and invitation.user_id == user.id
    assert [e["target_id"] for e in events(app, AuditEventKind.INVITATION_ACCEPTED)] == [user.id]

    # The password chosen is the one that works from now on.
    client.post("/auth/logout")
    assert post_login(client, "aurelie.hoarau@example.org", NEW_PASSWORD).status_code == 302


def test_member_invitation_keeps_the_organisation_type(app, client, invite):
    link = invite("partner@example.org", role="member", territory="pas-de-calais", organisation_type=OrganisationType.SIAO)
    assert accept(client, link).status_code == 302
    user = get_user(app, "partner@example.org")
    assert user.role == Role.MEMBER
    assert user.organisation_type == OrganisationType.SIAO
    assert user.timezone == "Europe/Paris"


def test_national_invitation_has_no_territory(app, client, invite):
    link = invite("animation@example.org", role="animator", territory="lyon")
    assert accept(client, link).status_code == 302
    user = get_user(app, "animation@example.org")
    assert user.role == Role.ANIMATOR
    assert user.territory_id is None


def test_invitation_link_works_once(app, client, invite):
    link = invite("once@example.org")
    assert accept(client, link).status_code == 302
    client.post("/auth/logout")
    second = client.get(link)
    assert second.status_code == 404
    assert in_site_layout(second.get_data(as_text=True))
    assert accept(client, link, password="another long password").status_code == 404
    assert count_users(app, "once@example.org") == 1
    assert not is_logged_in(client)


def test_invitation_expires_after_seven_days(app, client, invite):
    link = invite("late@example.org")
    with database(app) as session:
        invitation = session.scalar(select(Invitation))
        assert invitation.expires_at - invitation.sent_at == timedelta(days=7)
        invitation.expires_at = invitation.expires_at - timedelta(days=7)
        session.commit()
    assert client.get(link).status_code == 404
    assert accept(client, link).status_code == 404
    assert count_users(app, "late@example.org") == 0


def test_revoked_invitation_is_invalid(app, client, invite):
    link = invite("revoked@example.org")
    with database(app) as session:
        services.revoke_invitation(session.get(User, invite.admin.id), session.scalar(select(Invitation)))
        session.commit()
    assert client.get(link).status_code == 404
    assert accept(client, link).status_code == 404
    assert count_users(app, "revoked@example.org") == 0


def test_resent_invitation_replaces_the_old_link(app, client, invite, mailbox):
    old = invite("resent@example.org")
    with app.test_request_context(base_url=BASE_URL):
        services.resend_invitation(db.session.get(User, invite.admin.id), db.session.scalar(select(Invitation)))
        db.session.commit()
    new = path_of(mailbox.link(mailbox.to("resent@example.org")[-1]))
    assert new != old
    assert client.get(old).status_code == 404
    assert accept(client, new).status_code == 302


def test_invitation_for_an_address_that_got_an_account_is_refused(app, client, invite):
    link = invite("taken@example.org")
    # The services refuse an account for an invited address; a concurrent
    # request could still create one, so insert it behind their back.
    with database(app) as session:
        user = User(email="taken@example.org", name="Already There", role=Role.MEMBER)
        user.set_password(NEW_PASSWORD)
        session.add(user)
        session.commit()
    response = accept(client, link)
    assert response.status_code in (404, 409)
    assert in_site_layout(response.get_data(as_text=True))
    assert count_users(app, "taken@example.org") == 1
    assert invitation_of(app, "taken@example.org").accepted_at is None
    assert not is_logged_in(client)


def test_unknown_invitation_token(app, client):
    response = client.get("/auth/invitation/no-such-token")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert in_site_layout(html)
    assert h1(html) == french(app, "This link is no longer valid")
    assert 'href="/auth/login"' in html
    assert client.post("/auth/invitation/no-such-token", data={}).status_code == 404


def test_invitee_reading_in_english_gets_an_english_account(app, client, invite):
    link = invite("english@example.org")
    client.post("/language", data={"language": "en", "next": link})
    assert 'lang="en"' in client.get(link).get_data(as_text=True)
    assert accept(client, link).status_code == 302
    assert get_user(app, "english@example.org").language == "en"
    assert '<html lang="en"' in client.get("/").get_data(as_text=True)


def test_control_characters_are_dropped_from_the_name(app, client, invite):
    link = invite("nul@example.org")
    # A NUL byte is never typed: the request is refused as a whole, in the site's layout.
    response = accept(client, link, name="Aurélie\x00 Hoarau")
    assert response.status_code == 400 and in_site_layout(response.get_data(as_text=True))
    assert get_user(app, "nul@example.org") is None
    assert accept(client, link, name="Aurélie Hoarau\x07\x1b").status_code == 302
    assert get_user(app, "nul@example.org").name == "Aurélie Hoarau"


def test_invitation_mail_is_plain_text_not_html_escaped(invite, mailbox):
    invite("gironde@example.org", role="coordinator", territory="bordeaux-gironde", name="Anne-Sophie O'Neil")
    body = mailbox.body(mailbox.to("gironde@example.org")[0])
    assert "Bordeaux Métropole & Département de la Gironde" in body
    assert "O'Neil" in body
    assert "&amp;" not in body and "&#39;" not in body


def test_invitation_mail_says_how_long_the_link_lasts(invite, mailbox):
    invite("days@example.org")
    assert "7" in mailbox.body(mailbox.to("days@example.org")[0])


def test_empty_invitation_form_shows_errors_and_keeps_the_link(app, client, invite):
    link = invite("empty@example.org")
    response = client.post(link, data={"name": "  ", "password": "", "confirm": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "name")
    assert errors_beside(html, "password")
    assert errors_beside(html, "confirm")
    assert count_users(app, "empty@example.org") == 0
    assert client.get(link).status_code == 200


@pytest.mark.parametrize(
    ("password", "confirm", "field"),
    [("too short", "too short", "password"), (NEW_PASSWORD, "something else entirely", "confirm")],
)
def test_invitation_password_rules(app, client, invite, password, confirm, field):
    link = invite("rules@example.org")
    response = accept(client, link, password=password, confirm=confirm)
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), field)
    assert count_users(app, "rules@example.org") == 0


def test_accepting_while_logged_in_as_someone_else_switches_account(client, invite, logged_in):
    someone = logged_in()
    link = invite("switch@example.org")
    assert accept(client, link, name="New Person").status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "New Person" in home and someone.name not in home
