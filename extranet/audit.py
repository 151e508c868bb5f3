"""Audit log of security events: who did what, when, from which address.

Shared by auth and admin. Like services, :func:`record` takes the actor and the
address explicitly and only adds to the session; the caller commits.
"""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extranet.extensions import db, enum_type
from extranet.roles import ROLE_LABELS, Role
from extranet.timeutil import utcnow


class AuditEventKind(enum.StrEnum):
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"
    INVITATION_SENT = "invitation_sent"
    INVITATION_RESENT = "invitation_resent"
    INVITATION_ACCEPTED = "invitation_accepted"
    INVITATION_REVOKED = "invitation_revoked"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    ROLE_CHANGED = "role_changed"
    USER_DEACTIVATED = "user_deactivated"
    USER_REACTIVATED = "user_reactivated"
    USER_CREATED = "user_created"

    @property
    def label(self):
        return AUDIT_LABELS[self]


AUDIT_LABELS = {
    AuditEventKind.LOGIN_SUCCEEDED: _l("Login succeeded"),
    AuditEventKind.LOGIN_FAILED: _l("Login failed"),
    AuditEventKind.LOGIN_THROTTLED: _l("Login refused (too many attempts)"),
    AuditEventKind.LOGOUT: _l("Logout"),
    AuditEventKind.INVITATION_SENT: _l("Invitation sent"),
    AuditEventKind.INVITATION_RESENT: _l("Invitation resent"),
    AuditEventKind.INVITATION_ACCEPTED: _l("Invitation accepted"),
    AuditEventKind.INVITATION_REVOKED: _l("Invitation revoked"),
    AuditEventKind.PASSWORD_RESET_REQUESTED: _l("Password reset requested"),
    AuditEventKind.PASSWORD_RESET: _l("Password reset"),
    AuditEventKind.PASSWORD_CHANGED: _l("Password changed"),
    AuditEventKind.ROLE_CHANGED: _l("Role or territory changed"),
    AuditEventKind.USER_DEACTIVATED: _l("Account deactivated"),
    AuditEventKind.USER_REACTIVATED: _l("Account reactivated"),
    AuditEventKind.USER_CREATED: _l("Account created"),
}


# Details are stored as stable codes (the log outlives the interface language)
# and shown translated; a role change reads "old -> new" in role codes.
DETAIL_LABELS = {
    "inactive account": _l("account deactivated"),
    "password change": _l("while changing the password"),
    "command line": _l("from the command line"),
    "not sent: too many requests": _l("no mail sent: too many requests"),
}


class AuditEvent(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[AuditEventKind] = mapped_column(enum_type(AuditEventKind))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # The address typed at login, kept even when it matches no account.
    email: Mapped[str] = mapped_column(String(254), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    details: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped["User | None"] = relationship(foreign_keys=[actor_id])  # noqa: F821
    target_user: Mapped["User | None"] = relationship(foreign_keys=[target_user_id])  # noqa: F821

    @property
    def details_label(self) -> str:
        if self.details in DETAIL_LABELS:
            return str(DETAIL_LABELS[self.details])
        if self.details in Role._value2member_map_:
            return str(ROLE_LABELS[Role(self.details)])
        return self.details

    __table_args__ = (
        Index("ix_audit_event_kind_email_created_at", "kind", "email", "created_at"),
        Index("ix_audit_event_kind_ip_created_at", "kind", "ip", "created_at"),
    )


def record(kind: AuditEventKind, *, actor=None, target=None, email: str = "", ip: str = "", details: str = "") -> AuditEvent:
    event = AuditEvent(
        kind=kind,
        actor_id=actor.id if actor is not None else None,
        target_user_id=target.id if target is not None else None,
        email=(email or (target.email if target is not None else ""))[:254],
        ip=(ip or "")[:45],
        details=details,
    )
    db.session.add(event)
    return event


def count_since(kind: AuditEventKind, since, *, email: str | None = None, ip: str | None = None) -> int:
    query = select(func.count(AuditEvent.id)).where(AuditEvent.kind == kind, AuditEvent.created_at >= since)
    if email is not None:
        query = query.where(AuditEvent.email == email)
    if ip is not None:
        query = query.where(AuditEvent.ip == ip)
    return db.session.scalar(query)
