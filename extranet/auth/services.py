"""Account services. They take the acting user and the client address
explicitly, change models and flush; the view commits."""

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from extranet import audit, mail
from extranet.audit import AuditEvent, AuditEventKind
from extranet.auth.models import Invitation, PasswordReset, User
from extranet.extensions import db
from extranet.roles import OrganisationType, Role
from extranet.timeutil import utcnow
from extranet.tokens import hash_token, new_token

INVITATION_VALIDITY = timedelta(days=7)
PASSWORD_RESET_VALIDITY = timedelta(hours=1)
PASSWORD_RESET_MAX_PER_HOUR = 3


class ServiceError(Exception):
    """A refusal the user can act on; ``field`` names the form field it belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def email_in_use(email: str, *, except_invitation: Invitation | None = None) -> bool:
    """An address belongs to one account or one usable invitation at most."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        return True
    usable = select(Invitation.id).where(
        Invitation.email == email,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    if except_invitation is not None:
        usable = usable.where(Invitation.id != except_invitation.id)
    return db.session.scalar(usable.limit(1)) is not None


# --- Login ----------------------------------------------------------------


def login_throttled(email: str, ip: str) -> bool:
    """Too many recent failures for this account (since its last success) or from this address."""
    config = current_app.config
    window_start = utcnow() - timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"])
    email = normalise_email(email)
    last_success = db.session.scalar(
        select(func.max(AuditEvent.created_at)).where(
            AuditEvent.kind == AuditEventKind.LOGIN_SUCCEEDED, AuditEvent.email == email
        )
    )
    account_since = max(window_start, last_success) if last_success else window_start
    if audit.count_since(AuditEventKind.LOGIN_FAILED, account_since, email=email) >= config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]:
        return True
    return audit.count_since(AuditEventKind.LOGIN_FAILED, window_start, ip=ip) >= config["LOGIN_MAX_FAILURES_PER_IP"]


def authenticate(email: str, password: str, ip: str) -> User | None:
    """The active account matching these credentials, or None. Raises
    ServiceError when throttled, without checking the password at all."""
    email = normalise_email(email)
    if login_throttled(email, ip):
        audit.record(AuditEventKind.LOGIN_THROTTLED, email=email, ip=ip)
        raise ServiceError("throttled")
    user = find_user_by_email(email)
    # Always hash, first: the time taken must not tell which addresses have an
    # account, nor which accounts are deactivated.
    if user is None:
        _check_dummy_password(password)
        password_ok = False
    else:
        password_ok = user.check_password(password)
    if user is None or not user.active or not password_ok:
        audit.record(
            AuditEventKind.LOGIN_FAILED,
            target=user,
            email=email,
            ip=ip,
            details="inactive account" if user is not None and not user.active else "",
        )
        return None
    user.last_login_at = utcnow()
    audit.record(AuditEventKind.LOGIN_SUCCEEDED, actor=user, target=user, ip=ip)
    return user


_dummy_hashes: dict[str, str] = {}


def _check_dummy_password(password: str) -> None:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    check_password_hash(_dummy_hashes[method], password or "")


def log_out(user: User, ip: str) -> None:
    audit.record(AuditEventKind.LOGOUT, actor=user, target=user, ip=ip)


# --- Invitations ------------------------------------------------------------


def invite(
    actor: User,
    *,
    email: str,
    name: str,
    role: Role,
    territory_id: int | None,
    organisation_type: OrganisationType | None = None,
    organisation: str = "",
    ip: str = "",
) -> Invitation:
    email = normalise_email(email)
    if email_in_use(email):
        raise ServiceError("email in use", field="email")
    token, token_hash = new_token()
    now = utcnow()
    invitation = Invitation(
        email=email,
        name=name.strip(),
        role=role,
        territory_id=None if role.is_national else territory_id,
        organisation_type=organisation_type if role == Role.MEMBER else None,
        organisation=organisation.strip(),
        invited_by_id=actor.id if actor else None,
        token_hash=token_hash,
        created_at=now,
        sent_at=now,
        expires_at=now + INVITATION_VALIDITY,
    )
    db.session.add(invitation)
    db.session.flush()
    _mail_invitation(actor, invitation, token)
    audit.record(AuditEventKind.INVITATION_SENT, actor=actor, email=email, ip=ip, details=role.value)
    return invitation


def resend_invitation(actor: User, invitation: Invitation, ip: str = "") -> None:
    """A new link valid 7 more days; the previous link stops working. Refused
    when the address has meanwhile got an account or another invitation
    (possible once this one expired)."""
    if not invitation.is_pending:
        raise ServiceError("not pending")
    if email_in_use(invitation.email, except_invitation=invitation):
        raise ServiceError("email in use", field="email")
    token, invitation.token_hash = new_token()
    invitation.sent_at = utcnow()
    invitation.expires_at = invitation.sent_at + INVITATION_VALIDITY
    db.session.flush()
    _mail_invitation(actor, invitation, token)
    audit.record(AuditEventKind.INVITATION_RESENT, actor=actor, email=invitation.email, ip=ip)


def revoke_invitation(actor: User, invitation: Invitation, ip: str = "") -> None:
    if not invitation.is_pending:
        raise ServiceError("not pending")
    invitation.revoked_at = utcnow()
    db.session.flush()
    audit.record(AuditEventKind.INVITATION_REVOKED, actor=actor, email=invitation.email, ip=ip)


def _mail_invitation(actor: User, invitation: Invitation, token: str) -> None:
    mail.queue(
        invitation.email,
        "invitation",
        invitation=invitation,
        inviter=actor,
        link=mail.external_url("auth.accept_invitation", token=token),
        validity_days=INVITATION_VALIDITY.days,
    )


def find_invitation(token: str) -> Invitation | None:
    """The invitation of a link, if it can still be accepted."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token or "")))
    return invitation if invitation is not None and invitation.is_usable else None


def accept_invitation(invitation: Invitation, *, name: str, password: str, ip: str = "", language: str = "fr") -> User:
    """``language``: the one the invitee was reading the page in, kept for the account."""
    now = utcnow()
    # Claimed by a conditional UPDATE: of two simultaneous submissions, the
    # second waits for the first and then finds nothing left to claim.
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1 or find_user_by_email(invitation.email) is not None:
        raise ServiceError("already used")
    user = User(
        email=invitation.email,
        name=name.strip(),
        language=language,
        role=invitation.role,
        territory_id=invitation.territory_id,
        organisation_type=invitation.organisation_type,
        organisation=invitation.organisation,
        timezone=invitation.territory.timezone if invitation.territory else "Europe/Paris",
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    invitation.accepted_at = now
    invitation.user_id = user.id
    user.last_login_at = invitation.accepted_at
    audit.record(AuditEventKind.INVITATION_ACCEPTED, actor=user, target=user, ip=ip)
    db.session.flush()
    return user


# --- Passwords --------------------------------------------------------------


def request_password_reset(email: str, ip: str = "") -> None:
    """Mail a reset link if an active account has this address; say nothing either way.
    A few links an hour at most, so nobody can flood someone's mailbox."""
    user = find_user_by_email(email)
    event = audit.record(AuditEventKind.PASSWORD_RESET_REQUESTED, target=user, email=normalise_email(email), ip=ip)
    if user is None or not user.active:
        return
    now = utcnow()
    recent = db.session.scalar(
        select(func.count(PasswordReset.id)).where(
            PasswordReset.user_id == user.id, PasswordReset.created_at > now - PASSWORD_RESET_VALIDITY
        )
    )
    if recent >= PASSWORD_RESET_MAX_PER_HOUR:
        event.details = "not sent: too many requests"
        return
    token, token_hash = new_token()
    db.session.add(PasswordReset(user=user, token_hash=token_hash, created_at=now, expires_at=now + PASSWORD_RESET_VALIDITY))
    db.session.flush()
    mail.queue(
        user.email,
        "password_reset",
        language=user.language,
        user=user,
        link=mail.external_url("auth.reset_password", token=token),
        validity_minutes=int(PASSWORD_RESET_VALIDITY.total_seconds() // 60),
    )


def find_password_reset(token: str) -> PasswordReset | None:
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token or "")))
    return reset if reset is not None and reset.is_usable else None


def reset_password(reset: PasswordReset, password: str, ip: str = "") -> User:
    now = utcnow()
    # Single use even under concurrent submissions (see accept_invitation).
    claimed = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ServiceError("already used")
    reset.used_at = now
    user = reset.user
    user.set_password(password)
    # Every other link of this account dies with the one used.
    for other in db.session.scalars(select(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))):
        other.used_at = now
    user.last_login_at = now
    audit.record(AuditEventKind.PASSWORD_RESET, actor=user, target=user, ip=ip)
    db.session.flush()
    return user


def verify_current_password(user: User, password: str, ip: str) -> bool:
    """Re-check the password of a logged-in user. Wrong guesses count as failed
    logins, so a forgotten open session cannot be used to guess it."""
    if login_throttled(user.email, ip):
        audit.record(AuditEventKind.LOGIN_THROTTLED, target=user, ip=ip, details="password change")
        raise ServiceError("throttled", field="current_password")
    if user.check_password(password):
        return True
    audit.record(AuditEventKind.LOGIN_FAILED, actor=user, target=user, ip=ip, details="password change")
    return False


def change_password(user: User, password: str, ip: str = "") -> None:
    user.set_password(password)
    audit.record(AuditEventKind.PASSWORD_CHANGED, actor=user, target=user, ip=ip)
    db.session.flush()


def update_profile(user: User, **fields) -> None:
    for name in ("name", "function", "organisation", "phone", "timezone", "language"):
        if name in fields:
            setattr(user, name, (fields[name] or "").strip())
    db.session.flush()


def create_user(*, email: str, password: str, name: str, role: Role, territory_id: int | None = None, **extra) -> User:
    """An account created directly (command line, demo data), without invitation."""
    email = normalise_email(email)
    if email_in_use(email):
        raise ServiceError("email in use", field="email")
    user = User(email=email, name=name.strip(), role=role, territory_id=territory_id, **extra)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(AuditEventKind.USER_CREATED, target=user, details="command line")
    return user
