"""Extranet of the Logement d'abord network."""

import logging

from datetime import datetime

from flask import Flask, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from extranet import config as config_module
from extranet.extensions import babel, csrf, db, login_manager, migrate

LANGUAGES = {"fr": "Français", "en": "English"}

# Endpoints reachable without an account; everything else asks to log in.
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "auth.forgot_password",
    "auth.reset_password",
    "auth.accept_invitation",
    "home.set_language",
    "home.health",
    # The links of the emails about discussions: signed, they stand for the person.
    "groups.unsubscribe",
    "groups.unsubscribe_one_click",
    # The calendar subscription: its secret link stands for the person.
    "agenda.feed",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static", instance_relative_config=True)
    config_module.load(app, config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from extranet.http import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    _init_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_template_helpers(app)

    from extranet.errors import register_error_handlers

    register_error_handlers(app)

    from extranet.cli import extranet_cli

    app.cli.add_command(extranet_cli)
    return app


def _init_extensions(app: Flask) -> None:
    # Import every model so that metadata (and Alembic autogenerate) sees them all.
    from extranet import models  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)

    from extranet import search

    search.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_token: str):
        from extranet.auth.models import User

        user = db.session.scalar(db.select(User).filter_by(session_token=session_token))
        return user if user is not None and user.active else None


def _select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    if session.get("language") in LANGUAGES:
        return session["language"]
    return "fr"


def _select_timezone() -> str:
    if current_user and current_user.is_authenticated:
        return current_user.timezone
    return "Europe/Paris"


def _register_blueprints(app: Flask) -> None:
    from extranet.admin.views import bp as admin_bp
    from extranet.agenda.views import bp as agenda_bp
    from extranet.auth.views import bp as auth_bp
    from extranet.groups.views import bp as groups_bp
    from extranet.home.views import bp as home_bp
    from extranet.roadmaps.views import bp as roadmaps_bp
    from extranet.search.views import bp as search_bp
    from extranet.territories.views import bp as territories_bp
    from extranet.toolbox.views import bp as toolbox_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(territories_bp, url_prefix="/territories")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(search_bp, url_prefix="/search")
    app.register_blueprint(toolbox_bp, url_prefix="/toolbox")
    app.register_blueprint(groups_bp, url_prefix="/groups")
    app.register_blueprint(agenda_bp, url_prefix="/agenda")
    app.register_blueprint(roadmaps_bp, url_prefix="/roadmaps")


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes():
        from flask import abort

        from extranet.http import has_nul_byte

        if has_nul_byte():
            abort(400)

    @app.before_request
    def require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["ENV"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint != "static":
            # Pages behind the login, and the ones whose address holds a secret
            # token, must not stay in a shared computer's cache.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _register_template_helpers(app: Flask) -> None:
    from extranet import permissions

    app.jinja_env.globals.update(permissions.template_globals())
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    from extranet.http import page_url

    app.jinja_env.globals["page_url"] = page_url
    from extranet.markdown import render as render_markdown

    app.jinja_env.filters["markdown"] = render_markdown
    _register_date_filters(app)

    @app.context_processor
    def inject_locale():
        from flask_babel import get_locale

        return {"current_locale": str(get_locale() or "fr")}


def _register_date_filters(app: Flask) -> None:
    """Flask-Babel's ``dateformat``, writing « 1er avril » in French (see
    ``timeutil.first_of_month_pattern``); named formats are resolved to their
    pattern in the reader's language first."""
    from babel.dates import get_date_format
    from flask_babel import format_date, get_locale, to_user_timezone

    from extranet.timeutil import first_of_month_pattern

    def dateformat(value, format="medium"):
        if value is None:
            return ""
        locale = get_locale() or "fr"
        pattern = format if format not in ("short", "medium", "long", "full") else get_date_format(format, locale=locale).pattern
        day = to_user_timezone(value).day if isinstance(value, datetime) else value.day
        return format_date(value, first_of_month_pattern(pattern, day, locale))

    app.jinja_env.filters["dateformat"] = dateformat
