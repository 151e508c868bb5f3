"""Administration: accounts, invitations, territories, audit log, outgoing mail.

Admins see everything; a coordinator administers their own territory. Every
view checks its permission predicate, validates, calls one service, commits
once, flashes and redirects.
"""

from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from extranet import mail
from extranet.admin import services
from extranet.admin.forms import InvitationForm, RoleForm, TerritoryForm, role_choices, territory_choices
from extranet.audit import AUDIT_LABELS, AuditEventKind
from extranet.auth import services as auth_services
from extranet.auth.models import Invitation, User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.http import client_ip, int_arg, page_arg
from extranet.permissions import (
    can_access_admin,
    can_change_role_user,
    can_deactivate_user,
    can_edit_territory,
    can_invite_user,
    can_manage_outgoing_mail,
    can_manage_invitation,
    can_reactivate_user,
    can_send_invitations,
    can_view_audit_log,
    can_view_user,
    is_admin,
    require,
)
from extranet.roles import ROLE_LABELS, Role
from extranet.territories.models import Territory
from extranet.territories.services import update_territory

bp = Blueprint("admin", __name__)


@bp.before_request
def admin_area_only():
    """Animators and members have no business anywhere under /admin."""
    require(can_access_admin(current_user))


def _actor() -> User:
    return current_user._get_current_object()


def _status() -> int:
    """A form shown again after a POST is a form with errors."""
    return 400 if request.method == "POST" else 200


def _email_in_use_message() -> str:
    return _("This address already has an account or a pending invitation.")


def _all_territories():
    return list(db.session.scalars(select(Territory).order_by(Territory.name)))


# --- Dashboard ----------------------------------------------------------------


@bp.route("/")
def index():
    require(can_access_admin(current_user))
    return render_template("admin/index.html", counts=services.dashboard_counts(current_user))


# --- Accounts -----------------------------------------------------------------


def _enum_arg(name, enum_cls):
    try:
        return enum_cls(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/users")
def users():
    require(can_access_admin(current_user))
    status = request.args.get("status", "")
    filters = SimpleNamespace(
        q=request.args.get("q", "").strip(),
        role=_enum_arg("role", Role),
        # The territory filter is the admins'; a coordinator's list is their territory anyway.
        territory_id=int_arg("territory") if is_admin(current_user) else None,
        status=status if status in (services.ACTIVE, services.INACTIVE) else "",
    )
    page = db.paginate(
        services.users_query(
            current_user, text=filters.q, role=filters.role, territory_id=filters.territory_id, status=filters.status
        ),
        page=page_arg(),
        per_page=services.USERS_PER_PAGE,
        error_out=False,
    )
    return render_template(
        "admin/users.html",
        page=page,
        filters=filters,
        filtered=bool(filters.q or filters.role or filters.territory_id or filters.status),
        roles=ROLE_LABELS,
        territories=_all_territories() if is_admin(current_user) else [],
    )


ROLE_CHANGE_REFUSALS = {
    "territory required": ("territory_id", lambda: _("Choose the territory of this coordinator or member.")),
    "unknown territory": ("territory_id", lambda: _("Choose a territory from the list.")),
    "organisation type required": ("organisation_type", lambda: _("Choose the type of organisation of this member.")),
}


def _role_form(user) -> RoleForm:
    form = RoleForm(obj=user)  # on a POST, the posted values win
    form.role.choices = role_choices()
    form.territory_id.choices = territory_choices(_all_territories(), _("— No territory (national role) —"))
    return form


def _render_user(user, role_form=None, status=200):
    if role_form is None and can_change_role_user(current_user, user):
        role_form = _role_form(user)
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.user_id == user.id).order_by(Invitation.id.desc()).limit(1)
    )
    return render_template("admin/user.html", user=user, role_form=role_form, invitation=invitation), status


@bp.route("/users/<int:user_id>")
def user(user_id):
    target = db.get_or_404(User, user_id)
    require(can_view_user(current_user, target))
    return _render_user(target)


@bp.post("/users/<int:user_id>/role")
def change_role(user_id):
    target = db.get_or_404(User, user_id)
    require(can_change_role_user(current_user, target))
    form = _role_form(target)
    if form.validate_on_submit():
        try:
            changed = services.change_role(
                _actor(),
                target,
                role=form.role.data,
                territory_id=form.territory_id.data,
                organisation_type=form.organisation_type.data,
                ip=client_ip(),
            )
        except ServiceError as error:
            db.session.rollback()
            field, message = ROLE_CHANGE_REFUSALS.get(error.message, ("role", lambda: _("Choose a role from the list.")))
            getattr(form, field).errors.append(message())
        else:
            db.session.commit()
            if changed:
                flash(_("The role of %(name)s has been changed.", name=target.name), "success")
            else:
                flash(_("Nothing to change: the role, territory and organisation type are the same."), "info")
            return redirect(url_for("admin.user", user_id=target.id))
    return _render_user(target, role_form=form, status=400)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id):
    target = db.get_or_404(User, user_id)
    require(can_deactivate_user(current_user, target))
    try:
        services.deactivate_user(_actor(), target, ip=client_ip())
    except ServiceError:
        flash(_("This account is already deactivated."), "info")
    else:
        db.session.commit()
        flash(_("The account of %(name)s is deactivated: they are logged out and can no longer log in.", name=target.name), "success")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id):
    target = db.get_or_404(User, user_id)
    require(can_reactivate_user(current_user, target))
    try:
        services.reactivate_user(_actor(), target, ip=client_ip())
    except ServiceError:
        flash(_("This account is already active."), "info")
    else:
        db.session.commit()
        flash(_("The account of %(name)s is active again: they can log in with their password.", name=target.name), "success")
    return redirect(url_for("admin.user", user_id=target.id))


# --- Invitations ----------------------------------------------------------------


@bp.route("/invitations")
def invitations():
    require(can_access_admin(current_user))
    page = db.paginate(
        services.pending_invitations_query(current_user),
        page=page_arg(),
        per_page=services.INVITATIONS_PER_PAGE,
        error_out=False,
    )
    return render_template("admin/invitations.html", page=page)


def _invitation_form() -> InvitationForm:
    form = InvitationForm()
    if is_admin(current_user):
        form.role.choices = role_choices()
        form.territory_id.choices = territory_choices(_all_territories(), _("— No territory (national role) —"))
    else:
        # A coordinator invites members of their own territory, nothing else.
        form.role.choices = role_choices([Role.MEMBER])
        form.territory_id.choices = territory_choices([current_user.territory])
    if request.method == "GET":
        form.role.data = Role.MEMBER
        form.territory_id.data = current_user.territory_id
    return form


@bp.route("/invitations/new", methods=["GET", "POST"])
def new_invitation():
    require(can_send_invitations(current_user))
    form = _invitation_form()
    if request.method == "POST":
        # Checked on what was posted, before validation: a hand-made request
        # for another territory or role is refused, not merely "invalid".
        proposal = SimpleNamespace(role=form.role.data, territory_id=form.territory_id.data)
        require(can_invite_user(current_user, proposal))
    if form.validate_on_submit():
        try:
            invitation = auth_services.invite(
                _actor(),
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                territory_id=form.territory_id.data,
                organisation_type=form.organisation_type.data,
                organisation=form.organisation.data or "",
                ip=client_ip(),
            )
        except ServiceError as error:
            db.session.rollback()
            getattr(form, error.field or "email").errors.append(_email_in_use_message())
        else:
            db.session.commit()
            flash(_("An invitation has been sent to %(email)s. The link is valid for 7 days.", email=invitation.email), "success")
            return redirect(url_for("admin.invitations"))
    return render_template("admin/invitation_new.html", form=form), _status()


@bp.post("/invitations/<int:invitation_id>/resend")
def resend_invitation(invitation_id):
    invitation = db.get_or_404(Invitation, invitation_id)
    require(can_manage_invitation(current_user, invitation))
    try:
        auth_services.resend_invitation(_actor(), invitation, ip=client_ip())
    except ServiceError as error:
        db.session.rollback()
        if error.field == "email":
            flash(_("Not resent: %(message)s", message=_email_in_use_message()), "error")
        else:
            flash(_("This invitation has already been accepted or revoked."), "error")
    else:
        db.session.commit()
        flash(_("A new invitation has been sent to %(email)s. The previous link no longer works.", email=invitation.email), "success")
    return redirect(url_for("admin.invitations"))


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id):
    invitation = db.get_or_404(Invitation, invitation_id)
    require(can_manage_invitation(current_user, invitation))
    try:
        auth_services.revoke_invitation(_actor(), invitation, ip=client_ip())
    except ServiceError:
        db.session.rollback()
        flash(_("This invitation has already been accepted or revoked."), "error")
    else:
        db.session.commit()
        flash(_("The invitation of %(email)s is revoked: its link no longer works.", email=invitation.email), "success")
    return redirect(url_for("admin.invitations"))


# --- Territories ----------------------------------------------------------------


@bp.route("/territories")
def territories():
    require(can_access_admin(current_user))
    items = list(db.session.scalars(services.territories_query(current_user)))
    return render_template("admin/territories.html", territories=items)


@bp.route("/territories/<int:territory_id>/edit", methods=["GET", "POST"])
def edit_territory(territory_id):
    territory = db.get_or_404(Territory, territory_id)
    require(can_edit_territory(current_user, territory))
    form = TerritoryForm(obj=territory)
    if form.validate_on_submit():
        update_territory(
            _actor(),
            territory,
            name=form.name.data,
            description=form.description.data or "",
            contact_email=(form.contact_email.data or "").lower(),
            website=form.website.data or "",
        )
        db.session.commit()
        flash(_("The territory %(name)s has been saved.", name=territory.name), "success")
        return redirect(url_for("territories.detail", slug=territory.slug))
    return render_template("admin/territory_edit.html", form=form, territory=territory), _status()


# --- Audit log ------------------------------------------------------------------


@bp.route("/audit")
def audit_log():
    require(can_view_audit_log(current_user))
    kind = _enum_arg("kind", AuditEventKind)
    text = request.args.get("q", "").strip()
    page = db.paginate(
        services.audit_query(kind=kind, text=text),
        page=page_arg(),
        per_page=services.AUDIT_EVENTS_PER_PAGE,
        error_out=False,
    )
    return render_template("admin/audit.html", page=page, kind=kind, q=text, kinds=AUDIT_LABELS)


# --- Outgoing mail ----------------------------------------------------------------

MAIL_FILTERS = {"failed": mail.MailStatus.FAILED, "waiting": mail.MailStatus.PENDING}


@bp.route("/mail")
def outgoing_mail():
    require(can_manage_outgoing_mail(current_user))
    status = request.args.get("status", "")
    status = status if status in MAIL_FILTERS else ""
    page = db.paginate(
        mail.unsent_query(MAIL_FILTERS.get(status)),
        page=page_arg(),
        per_page=services.MAILS_PER_PAGE,
        error_out=False,
    )
    return render_template("admin/mail.html", page=page, status=status, counts=mail.count_by_status(), MailStatus=mail.MailStatus)


@bp.post("/mail/<int:mail_id>/retry")
def retry_mail(mail_id):
    require(can_manage_outgoing_mail(current_user))
    outgoing = db.get_or_404(mail.OutgoingMail, mail_id)
    if mail.retry_now([outgoing.id]):
        db.session.commit()
        flash(_("The mail to %(email)s will be sent again in a few seconds.", email=outgoing.recipient), "success")
    else:
        flash(_("The mail to %(email)s is being sent or has been sent: nothing to retry.", email=outgoing.recipient), "info")
    status = request.args.get("status")
    return redirect(url_for("admin.outgoing_mail", status=status if status in MAIL_FILTERS else None))


@bp.post("/mail/retry-failed")
def retry_failed_mail():
    require(can_manage_outgoing_mail(current_user))
    count = mail.retry_now()
    db.session.commit()
    if count:
        flash(ngettext("%(num)s failed mail will be sent again in a few seconds.", "%(num)s failed mails will be sent again in a few seconds.", count), "success")
    else:
        flash(_("No failed mail to send again."), "info")
    return redirect(url_for("admin.outgoing_mail"))
