import secrets
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from extranet.extensions import db, enum_type
from extranet.roles import OrganisationType, Role
from extranet.timeutil import utcnow


def _session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Always stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    function: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    organisation_type: Mapped[OrganisationType | None] = mapped_column(enum_type(OrganisationType))
    phone: Mapped[str] = mapped_column(String(40), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    language: Mapped[str] = mapped_column(String(5), default="fr")
    role: Mapped[Role] = mapped_column(enum_type(Role), index=True)
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territory.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Flask-Login's identifier: replacing it ends every session and
    # "remember me" cookie issued before (password change, deactivation).
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=_session_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    territory: Mapped["Territory | None"] = relationship(back_populates="users")  # noqa: F821
    # Working groups: loaded once per instance, when a permission first asks.
    memberships: Mapped[list["GroupMembership"]] = relationship(back_populates="user", passive_deletes=True)  # noqa: F821

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def group_ids(self) -> frozenset[int]:
        """The working groups this account belongs to (``permissions.access_tokens`` reads them)."""
        return frozenset(m.group_id for m in self.memberships)

    @property
    def animated_group_ids(self) -> frozenset[int]:
        return frozenset(m.group_id for m in self.memberships if m.is_animator)

    def get_id(self) -> str:
        return self.session_token

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        self.session_token = _session_token()

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Invitation(db.Model):
    """A pending account: the invitee chooses a password through the emailed link."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territory.id"), index=True)
    organisation_type: Mapped[OrganisationType | None] = mapped_column(enum_type(OrganisationType))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    territory: Mapped["Territory | None"] = relationship()  # noqa: F821
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    @property
    def is_usable(self) -> bool:
        return self.is_pending and not self.is_expired


class PasswordReset(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > utcnow() and self.user.active
