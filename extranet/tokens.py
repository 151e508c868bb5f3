"""Secret links.

Single-use links (invitations, password resets): the link carries a random
token, the database keeps only its SHA-256, so a leaked database dump opens no
account.

Signed links (unsubscribing from emails): the link carries its own data,
signed with the secret key and dated, so that it needs no table and works
without logging in; anyone holding it can do what it says, and nothing else.
"""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvalidToken(Exception):
    """A signed link that was altered, made for another purpose, or is too old (``expired``)."""

    def __init__(self, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a link signed for one use is worthless for another.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"extranet-{purpose}")


def sign(purpose: str, data) -> str:
    """A URL-safe token holding ``data`` (JSON-serialisable), signed and dated."""
    return _serializer(purpose).dumps(data)


def unsign(purpose: str, token: str, max_age: timedelta):
    """The data of a token made by :func:`sign` for ``purpose`` at most ``max_age`` ago; raises :class:`InvalidToken`."""
    try:
        return _serializer(purpose).loads(token or "", max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise InvalidToken(expired=True) from None
    except (BadSignature, UnicodeError, ValueError):
        raise InvalidToken() from None
