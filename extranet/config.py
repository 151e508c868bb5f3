"""Configuration: built-in defaults, then ``EXTRANET_*`` environment variables,
then the dict given to ``create_app`` (tests)."""

import json
import os
from urllib.parse import urlsplit
import secrets
from pathlib import Path

ENVIRONMENTS = ("development", "testing", "production")

# name -> (default, parser). Each one is read from EXTRANET_<name>.
_BOOL = lambda value: str(value).lower() in ("1", "true", "yes", "on")  # noqa: E731

# Agenda reminders, in minutes before the start, per kind of event; an event
# may choose its own (Event.reminder_offsets).
DEFAULT_AGENDA_REMINDERS = {"amicall": [1440, 60], "club": [1440], "group_meeting": [1440], "webinar": [1440]}


def _reminders(value) -> dict[str, list[int]]:
    """JSON such as ``{"amicall": [1440, 60], "club": []}``; kinds left out keep their default."""
    try:
        given = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        given = None
    if not isinstance(given, dict) or not all(
        isinstance(minutes, list) and all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in minutes)
        for minutes in given.values()
    ):
        raise ConfigurationError("EXTRANET_AGENDA_REMINDERS: a JSON object of kind -> list of minutes, e.g. {\"amicall\": [1440, 60]}")
    return {**DEFAULT_AGENDA_REMINDERS, **{str(kind): sorted(set(minutes), reverse=True) for kind, minutes in given.items()}}


SETTINGS = {
    "ENV": ("development", str),
    "SECRET_KEY": (None, str),
    "DATABASE_URL": (None, str),
    "DATA_DIR": (None, str),
    "MAIL_HOST": ("", str),
    "MAIL_PORT": (25, int),
    "MAIL_USERNAME": ("", str),
    "MAIL_PASSWORD": ("", str),
    "MAIL_USE_TLS": (False, _BOOL),
    "MAIL_USE_SSL": (False, _BOOL),
    "MAIL_TIMEOUT": (10, int),
    "MAIL_SENDER": ("Extranet Logement d'abord <ne-pas-repondre@logement-dabord.example>", str),
    # Outbox: tries before a mail is marked failed (with the backoff below, about two hours).
    "MAIL_MAX_ATTEMPTS": (8, int),
    "MAIL_RETRY_BASE_SECONDS": (60, int),
    "MAIL_RETRY_MAX_SECONDS": (3600, int),
    # A claimed mail not recorded as sent or failed within this time (worker
    # killed mid-send) is due again: far above a batch's worst case.
    "MAIL_CLAIM_SECONDS": (900, int),
    # Sent mails are kept (without their body) this long for the record.
    "MAIL_KEEP_SENT_DAYS": (30, int),
    # The send-mail worker queues the working groups' daily digests from this hour (Europe/Paris).
    "DIGEST_HOUR": (7, int),
    "AGENDA_REMINDERS": (DEFAULT_AGENDA_REMINDERS, _reminders),
    "MAX_UPLOAD_MB": (50, int),
    # Public address of the site, for links in mail sent outside a request (workers, CLI).
    "BASE_URL": ("", str),
    # Number of reverse proxies in front of gunicorn whose X-Forwarded-* headers we trust.
    "PROXY_COUNT": (0, int),
    # scrypt with N=2^15, r=8, p=1 (Werkzeug's default, about 70 ms here). The
    # tests lower N to keep the suite fast; the algorithm stays the same.
    "PASSWORD_HASH_METHOD": ("scrypt:32768:8:1", str),
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": (5, int),
    "LOGIN_MAX_FAILURES_PER_IP": (20, int),
    "LOGIN_THROTTLE_MINUTES": (15, int),
    # Roadmaps: days after the end of a quarter before a territory's missing figures for it count as late.
    "ROADMAP_REPORTING_GRACE_DAYS": (30, int),
    # Roadmaps: email territories late in reporting (send-mail, send-reporting-reminders); "0" to switch it off.
    "ROADMAP_REPORTING_REMINDERS": (True, _BOOL),
}


class ConfigurationError(RuntimeError):
    pass


def load(app, overrides: dict | None) -> None:
    values = {name: default for name, (default, _) in SETTINGS.items()}
    for name, (_, parse) in SETTINGS.items():
        raw = os.environ.get(f"EXTRANET_{name}")
        if raw is not None and raw != "":
            values[name] = parse(raw)
    values.update(overrides or {})
    values["AGENDA_REMINDERS"] = _reminders(values["AGENDA_REMINDERS"])

    env = values["ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigurationError(f"EXTRANET_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}.")

    data_dir = Path(values["DATA_DIR"] or app.instance_path).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    values["DATA_DIR"] = str(data_dir)

    if not values["SECRET_KEY"]:
        if env == "production":
            raise ConfigurationError(
                "EXTRANET_SECRET_KEY is required in production: set it to a long random value, "
                'for example the output of: python -c "import secrets; print(secrets.token_hex(32))"'
            )
        values["SECRET_KEY"] = _development_secret(data_dir)

    if env == "production":
        if not values["BASE_URL"]:
            raise ConfigurationError(
                "EXTRANET_BASE_URL is required in production (for example https://extranet.logement-dabord.gouv.fr): "
                "links in mails are built on it, never on the Host header of a request."
            )
        # Requests for any other host name are refused (400), so no page is built for a forged Host.
        values.setdefault("TRUSTED_HOSTS", [urlsplit(values["BASE_URL"]).hostname])

    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{data_dir / 'extranet.sqlite3'}"

    app.config.update(values)
    app.config.update(
        TESTING=env == "testing" or bool(values.get("TESTING")),
        SQLALCHEMY_DATABASE_URI=values["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True} if not values["DATABASE_URL"].startswith("sqlite") else {},
        MAX_CONTENT_LENGTH=values["MAX_UPLOAD_MB"] * 1024 * 1024 + 1024 * 1024,
        SESSION_COOKIE_SECURE=env == "production",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="extranet_session",
        REMEMBER_COOKIE_SECURE=env == "production",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_NAME="extranet_remember",
        REMEMBER_COOKIE_DURATION=60 * 60 * 24 * 30,
        PREFERRED_URL_SCHEME="https" if env == "production" else "http",
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_DEFAULT_TIMEZONE="Europe/Paris",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_I18N_ENABLED=True,
    )


def _development_secret(data_dir: Path) -> str:
    """Keep one random key per instance, so sessions survive a restart of `make run`."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
