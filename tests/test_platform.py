"""Cross-cutting behaviour: security headers, cookies, configuration, error
pages, CSRF, language, schema/migration agreement, command line."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from extranet import create_app
from extranet.config import ConfigurationError
from extranet.extensions import db
from extranet.mail import send_pending

from .conftest import PASSWORD, csrf_token_from


def test_security_headers_on_every_page(client, logged_in):
    for response in (client.get("/auth/login"), client.get("/does-not-exist")):
        csp = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'"  # no inline script, no eval
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert directives["frame-ancestors"] == "'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    logged_in("member")
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_pages_contain_no_inline_script(client, logged_in):
    logged_in("admin")
    for url in ("/", "/auth/profile", "/territories/", "/territories/lyon"):
        html = client.get(url).get_data(as_text=True)
        for tag in html.split("<script")[1:]:
            assert "src=" in tag.split(">")[0], f"inline script in {url}"
        assert " onclick=" not in html and " onload=" not in html


def test_session_cookie_is_httponly_and_lax(client, make_user, login):
    response = login(make_user("member"))
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("extranet_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in development and tests


def test_production_cookies_are_secure(app_config, make_user):
    production = create_app(dict(app_config, ENV="production", BASE_URL="https://extranet.example"))
    user = make_user("member")
    response = production.test_client().post(
        "/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}, base_url="https://extranet.example"
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    for name in ("extranet_session=", "extranet_remember="):
        cookie = next(c for c in cookies if c.startswith(name))
        assert "Secure" in cookie and "HttpOnly" in cookie
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_production_mail_links_never_come_from_the_host_header(app_config, make_user, mailbox):
    production = create_app(dict(app_config, ENV="production", BASE_URL="https://extranet.example"))
    user = make_user("member")
    client = production.test_client()
    # A forged Host is refused outright...
    forged = client.post("/auth/password/forgot", data={"email": user.email}, base_url="https://evil.example")
    assert forged.status_code == 400 and mailbox.messages == []
    # ...and links are built on EXTRANET_BASE_URL.
    client.post("/auth/password/forgot", data={"email": user.email}, base_url="https://extranet.example")
    assert mailbox.link(mailbox.to(user.email)[0]).startswith("https://extranet.example/auth/password/reset/")


def test_production_requires_a_base_url(app_config):
    with pytest.raises(ConfigurationError, match="EXTRANET_BASE_URL"):
        create_app(dict(app_config, ENV="production"))


def test_production_requires_a_secret_key(app_config, monkeypatch):
    monkeypatch.delenv("EXTRANET_SECRET_KEY", raising=False)
    config = dict(app_config, ENV="production", BASE_URL="https://extranet.example")
    del config["SECRET_KEY"]
    with pytest.raises(ConfigurationError, match="EXTRANET_SECRET_KEY"):
        create_app(config)


def test_development_needs_no_configuration(tmp_path, monkeypatch):
    for name in ("ENV", "SECRET_KEY", "DATABASE_URL"):
        monkeypatch.delenv(f"EXTRANET_{name}", raising=False)
    app = create_app({"DATA_DIR": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'extranet.sqlite3'}"
    # The generated key is kept, so sessions survive a restart.
    assert create_app({"DATA_DIR": str(tmp_path)}).config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_variables_configure_the_app(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTRANET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EXTRANET_MAIL_HOST", "smtp.example.org")
    monkeypatch.setenv("EXTRANET_MAIL_PORT", "2525")
    monkeypatch.setenv("EXTRANET_MAX_UPLOAD_MB", "5")
    app = create_app()
    assert (app.config["MAIL_HOST"], app.config["MAIL_PORT"], app.config["MAX_UPLOAD_MB"]) == ("smtp.example.org", 2525, 5)
    assert app.config["DATA_DIR"] == str(tmp_path)


def test_unknown_environment_is_refused(app_config):
    with pytest.raises(ConfigurationError):
        create_app(dict(app_config, ENV="staging"))


@pytest.mark.parametrize("url", ["/", "/territories/", "/auth/profile", "/admin/"])
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_error_pages_use_the_site_layout(client, logged_in):
    logged_in("member")
    for url, status in (("/nope", 404), ("/admin/", 403), ("/coming-soon/unknown", 404)):
        response = client.get(url)
        assert response.status_code == status
        html = response.get_data(as_text=True)
        assert 'class="fr-header"' in html and 'class="fr-footer"' in html
        assert f"{status}" in html
    assert client.get("/auth/logout").status_code == 405


def test_crash_shows_the_500_page_and_rolls_back(app_config):
    app = create_app(dict(app_config, PROPAGATE_TEST_ERRORS=False))

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    app.view_functions["boom"] = boom
    from extranet import PUBLIC_ENDPOINTS

    PUBLIC_ENDPOINTS.add("boom")
    try:
        response = app.test_client().get("/boom")
    finally:
        PUBLIC_ENDPOINTS.discard("boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert 'class="fr-header"' in html and "RuntimeError" not in html


@pytest.fixture
def csrf_client(app_config, request):
    app_config["WTF_CSRF_ENABLED"] = True
    return request.getfixturevalue("client")


def test_forms_refuse_posts_without_csrf_token(csrf_client, make_user):
    user = make_user("member")
    response = csrf_client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert 'class="fr-header"' in response.get_data(as_text=True)
    token = csrf_token_from(csrf_client.get("/auth/login").get_data(as_text=True))
    response = csrf_client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    # Logout is a form too.
    assert csrf_client.post("/auth/logout").status_code == 400


def test_french_by_default_english_on_request(client, logged_in):
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="fr"' in html and "Se connecter" in html
    response = client.post("/language", data={"language": "en", "next": "/auth/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="en"' in html and "Log in" in html
    assert client.post("/language", data={"language": "de"}).status_code == 400
    # A logged-in user's choice is kept on their account.
    user = logged_in("member")
    client.post("/language", data={"language": "en", "next": "https://evil.example/"})
    with client.application.app_context():
        from extranet.auth.models import User

        assert db.session.get(User, user.id).language == "en"


def test_coming_soon_sections_are_honest(client, logged_in):
    logged_in("member")
    html = client.get("/").get_data(as_text=True)
    # Roadmaps are built: the menu leads to their library.
    assert 'href="/roadmaps/"' in html
    assert client.get("/coming-soon/roadmaps").status_code == 404
    # The agenda is built: the menu and the home card lead to it.
    assert 'href="/agenda/"' in html
    assert client.get("/coming-soon/agenda").status_code == 404
    # Working groups are built: the menu and the home card lead to them.
    assert 'href="/groups/"' in html
    assert client.get("/coming-soon/groups").status_code == 404
    # The toolbox is built: the menu and the home card lead to it, and its "coming soon" page is gone.
    assert 'href="/toolbox/"' in html
    assert client.get("/coming-soon/toolbox").status_code == 404
    # Search is built: the menu leads to it, and its "coming soon" page is gone.
    assert 'href="/search"' in html
    assert client.get("/coming-soon/search").status_code == 404


def test_models_and_migrations_agree(app):
    """No pending autogenerate diff: the schema comes only from migrations."""
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
            assert compare_metadata(context, db.metadata) == []


def test_migrations_downgrade_and_upgrade_again(backend, request):
    import flask_migrate

    from .conftest import make_database

    url = make_database(backend, request, "extranet_migrations")
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "x", "DATA_DIR": str(request.getfixturevalue("tmp_path"))})
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert db.inspect(db.engine).get_table_names() in ([], ["alembic_version"])
        flask_migrate.upgrade()
        assert "user" in db.inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_create_admin_command(runner, client, login):
    result = runner.invoke(
        args=["extranet", "create-admin", "--email", "Chef@Dihal.example", "--password", "une phrase assez longue", "--name", "Chef"]
    )
    assert result.exit_code == 0, result.output
    from types import SimpleNamespace

    assert login(SimpleNamespace(email="chef@dihal.example"), password="une phrase assez longue").status_code == 302
    again = runner.invoke(args=["extranet", "create-admin", "--email", "chef@dihal.example", "--password", "une phrase assez longue", "--name", "X"])
    assert again.exit_code != 0 and "already" in again.output
    short = runner.invoke(args=["extranet", "create-admin", "--email", "b@dihal.example", "--password", "court", "--name", "B"])
    assert short.exit_code != 0


def test_demo_data_has_every_role_over_three_territories(runner, client, login):
    from extranet import demo

    result = runner.invoke(args=["extranet", "load-demo-data"])
    assert result.exit_code == 0, result.output
    assert demo.PASSWORD in result.output
    roles = {a["role"] for a in demo.ACCOUNTS}
    assert {r.value for r in roles} == {"admin", "animator", "coordinator", "member"}
    territories = {a.get("territory") for a in demo.ACCOUNTS} - {None}
    assert len(territories) >= 3 and "la-reunion" in territories
    from types import SimpleNamespace

    for account in demo.ACCOUNTS:
        assert login(SimpleNamespace(email=account["email"]), password=demo.PASSWORD).status_code == 302
        client.post("/auth/logout")
    # A few toolbox documents, found by the search.
    for account in demo.ACCOUNTS:
        if account["role"].value == "member":
            login(SimpleNamespace(email=account["email"]), password=demo.PASSWORD)
            break
    assert client.get("/toolbox/").get_data(as_text=True).count('href="/toolbox/') >= len(demo.DOCUMENTS)
    assert "Guide méthodologique : mobiliser le parc privé" in client.get("/search?q=intermediation").get_data(as_text=True)
    # Two working groups, one closed, with discussions.
    groups = client.get("/groups/").get_data(as_text=True)
    assert "Prévention des expulsions" in groups and "Observation sociale et données" in groups
    assert "Mobiliser la CCAPEX dès le premier impayé" in client.get("/groups/prevention-des-expulsions").get_data(as_text=True)
    # Roadmaps: the territories' actions on axis 12, Lyon's draft read by its member.
    axis = client.get("/roadmaps/axes/12").get_data(as_text=True)
    assert "Grenoble-Alpes Métropole" in axis and "Commission de prévention des expulsions par bassin de vie" in axis
    from extranet.timeutil import utcnow

    year = utcnow().year
    lyon = client.get("/roadmaps/territory/lyon").get_data(as_text=True)
    assert f"{year - 1}–{year}" in lyon and f"{year + 1}–{year + 2}" in lyon
    # A second run adds nothing.
    assert "already has users" in runner.invoke(args=["extranet", "load-demo-data"]).output


def test_create_admin_refuses_an_invited_address(app, runner, make_user, mailbox):
    from extranet.auth import services
    from extranet.auth.models import User
    from extranet.roles import Role

    admin = make_user("admin")
    with app.test_request_context():
        services.invite(db.session.get(User, admin.id), email="invited@example.org", name="Invited", role=Role.ANIMATOR, territory_id=None)
        db.session.commit()
    result = runner.invoke(args=["extranet", "create-admin", "--email", "invited@example.org", "--password", "une phrase assez longue", "--name", "X"])
    assert result.exit_code != 0 and "pending invitation" in result.output


def test_passwords_are_hashed_with_scrypt_at_full_strength_by_default(app_config, make_user):
    config = dict(app_config)
    del config["PASSWORD_HASH_METHOD"]  # the suite lowers the cost; production does not
    production_strength = create_app(config)
    with production_strength.app_context():
        from extranet.auth.models import User

        user = User(email="x@example.org", name="X", role="member")
        user.set_password("une phrase de passe solide")
        assert user.password_hash.startswith("scrypt:32768:8:1$")
        assert user.check_password("une phrase de passe solide") and not user.check_password("autre chose")


def test_development_mail_goes_to_the_log(app_config, make_user, caplog):
    development = create_app(dict(app_config, ENV="development", MAIL_HOST=""))
    user = make_user("member")
    response = development.test_client().post("/auth/password/forgot", data={"email": user.email})
    assert response.status_code == 200
    with caplog.at_level("INFO", logger="extranet.mail"):
        send_pending(development)  # what `flask extranet send-mail` does
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "extranet.mail")
    assert user.email in logged and "/auth/password/reset/" in logged
