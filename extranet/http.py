"""Request helpers shared by every area: the client address, safe redirect
targets, bounded integer parameters, pagination links."""

from urllib.parse import urlsplit

from flask import request, url_for
from werkzeug.routing import IntegerConverter

# Largest identifier or page number accepted from a URL: a PostgreSQL INTEGER.
MAX_INT = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in routes: a number too large for the database is a 404, not a crash."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def client_ip() -> str:
    return request.remote_addr or ""


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``: a link can
    neither send people to another site nor smuggle a header."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default


def int_arg(name: str, default: int | None = None, minimum: int = 1) -> int | None:
    """An integer query parameter; ``default`` when absent, malformed or out of range."""
    value = request.args.get(name, type=int)
    if value is None or not minimum <= value <= MAX_INT:
        return default
    return value


def page_arg() -> int:
    return int_arg("page", 1)


def page_url(endpoint: str, page: int, **values) -> str:
    """The link to another page of a list, keeping its filters (and only them:
    parameters that would steer ``url_for`` are dropped)."""
    args = {k: v for k, v in request.args.items() if not k.startswith("_") and k not in ("endpoint", "page")}
    args.update(values)
    return url_for(endpoint, page=page, **args)


def has_nul_byte() -> bool:
    """NUL is never typed by a person, and PostgreSQL refuses it in text."""
    return any("\x00" in value for source in (request.args, request.form) for values in source.listvalues() for value in values)
