"""Administration services.

Like the account services, they take the acting user and the client address
explicitly, change models and flush; the view commits and talks to the user.
The ``*_query`` helpers build the lists of the administration pages, limited to
what the viewer may see (everything for an admin, their territory for a
coordinator).
"""

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.orm import selectinload

from extranet import audit, mail
from extranet.audit import AuditEvent, AuditEventKind
from extranet.auth.models import Invitation, PasswordReset, User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.permissions import can_manage_outgoing_mail, is_admin
from extranet.roles import OrganisationType, Role
from extranet.territories.models import Territory
from extranet.timeutil import utcnow

USERS_PER_PAGE = 25
INVITATIONS_PER_PAGE = 25
AUDIT_EVENTS_PER_PAGE = 50
MAILS_PER_PAGE = 50

ACTIVE = "active"
INACTIVE = "inactive"


# --- Scope of the lists ---------------------------------------------------------


def _territory_scope(viewer, column):
    """No condition for an admin; their own territory for anyone else (nothing without one)."""
    if is_admin(viewer):
        return None
    if viewer.territory_id is None:
        return false()
    return column == viewer.territory_id


def _scoped(query, viewer, column):
    condition = _territory_scope(viewer, column)
    return query if condition is None else query.where(condition)


def _contains(column, text: str):
    return func.lower(column).contains(text.lower(), autoescape=True)


def users_query(viewer, *, text: str = "", role: Role | None = None, territory_id: int | None = None, status: str = ""):
    """Accounts the viewer administers, filtered; every filter given narrows the list."""
    query = _scoped(select(User), viewer, User.territory_id).options(selectinload(User.territory))
    if text:
        query = query.where(or_(_contains(User.name, text), _contains(User.email, text)))
    if role is not None:
        query = query.where(User.role == role)
    if territory_id is not None:
        query = query.where(User.territory_id == territory_id)
    if status == ACTIVE:
        query = query.where(User.active.is_(True))
    elif status == INACTIVE:
        query = query.where(User.active.is_(False))
    return query.order_by(func.lower(User.name), User.id)


def _pending():
    return (Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))


def pending_invitations_query(viewer):
    """Invitations neither accepted nor revoked (expired ones included), newest first."""
    return (
        _scoped(select(Invitation).where(*_pending()), viewer, Invitation.territory_id)
        .options(selectinload(Invitation.territory), selectinload(Invitation.invited_by))
        .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
    )


def territories_query(viewer):
    return _scoped(select(Territory), viewer, Territory.id).order_by(Territory.name)


def audit_query(*, kind: AuditEventKind | None = None, text: str = ""):
    query = select(AuditEvent).options(selectinload(AuditEvent.actor), selectinload(AuditEvent.target_user))
    if kind is not None:
        query = query.where(AuditEvent.kind == kind)
    if text:
        query = query.where(or_(_contains(AuditEvent.email, text), _contains(AuditEvent.ip, text)))
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def dashboard_counts(viewer) -> dict:
    users = _scoped(select(User.id), viewer, User.territory_id)
    invitations = _scoped(select(Invitation.id).where(*_pending()), viewer, Invitation.territory_id)
    return {
        "users_active": _count(users.where(User.active.is_(True))),
        "users_inactive": _count(users.where(User.active.is_(False))),
        "invitations_pending": _count(invitations.where(Invitation.expires_at > utcnow())),
        "invitations_expired": _count(invitations.where(Invitation.expires_at <= utcnow())),
        "territories": _count(_scoped(select(Territory.id), viewer, Territory.id)),
        **(_mail_counts() if can_manage_outgoing_mail(viewer) else {}),
    }


def _mail_counts() -> dict:
    counts = mail.count_by_status()
    return {
        "mails_failed": counts[mail.MailStatus.FAILED],
        "mails_waiting": counts[mail.MailStatus.PENDING] + counts[mail.MailStatus.SENDING],
    }


# --- Accounts -----------------------------------------------------------------


def deactivate_user(actor: User, user: User, ip: str = "") -> None:
    """Close the account: it can no longer log in, and its open sessions and
    "remember me" cookies stop working at their next request."""
    if not user.active:
        raise ServiceError("already inactive")
    user.active = False
    user.end_sessions()
    # A reset link mailed before must not reopen the account once reactivated.
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    audit.record(AuditEventKind.USER_DEACTIVATED, actor=actor, target=user, ip=ip)


def reactivate_user(actor: User, user: User, ip: str = "") -> None:
    if user.active:
        raise ServiceError("already active")
    user.active = True
    db.session.flush()
    audit.record(AuditEventKind.USER_REACTIVATED, actor=actor, target=user, ip=ip)


def _describe_role(role: Role, territory_id: int | None, organisation_type: OrganisationType | None) -> str:
    parts = [role.value]
    if territory_id is not None:
        territory = db.session.get(Territory, territory_id)
        parts.append(territory.slug if territory is not None else f"territory {territory_id}")
    if organisation_type is not None:
        parts.append(organisation_type.value)
    return " / ".join(parts)


def change_role(
    actor: User,
    user: User,
    *,
    role: Role,
    territory_id: int | None,
    organisation_type: OrganisationType | None = None,
    ip: str = "",
) -> bool:
    """Set role, territory and organisation type together; False when nothing changed.

    National roles have no territory and territory roles need one; only members
    have an organisation type."""
    role = Role(role)
    if role.is_national:
        territory_id = None
    elif territory_id is None:
        raise ServiceError("territory required", field="territory_id")
    elif db.session.get(Territory, territory_id) is None:
        raise ServiceError("unknown territory", field="territory_id")
    if role != Role.MEMBER:
        organisation_type = None
    elif organisation_type is None:
        raise ServiceError("organisation type required", field="organisation_type")

    old = _describe_role(user.role, user.territory_id, user.organisation_type)
    new = _describe_role(role, territory_id, organisation_type)
    if old == new:
        return False
    user.role = role
    user.territory_id = territory_id
    user.organisation_type = organisation_type
    db.session.flush()
    audit.record(AuditEventKind.ROLE_CHANGED, actor=actor, target=user, ip=ip, details=f"{old} -> {new}")
    return True
