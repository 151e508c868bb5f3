"""Single-use secret links (invitations, password resets): the link carries a
random token, the database keeps only its SHA-256, so a leaked database dump
opens no account."""

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
