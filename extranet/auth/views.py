from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from extranet.auth import services
from extranet.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
)
from extranet.extensions import db
from extranet.http import client_ip, safe_next
from extranet.permissions import can_edit_profile, require

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("home.index"))


def _new_session(language: str | None) -> None:
    """Start from an empty session at login and logout, so that nothing (a CSRF
    token, an identifier) planted before survives; only the language stays."""
    session.clear()
    if language:
        session["language"] = language


def _log_in(user, remember: bool = False) -> None:
    logout_user()
    _new_session(user.language)
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, client_ip())
        except services.ServiceError:
            user = None
            form.form_errors.append(
                _(
                    "Too many unsuccessful login attempts. For your security, wait %(minutes)s minutes "
                    "before trying again, or reset your password.",
                    minutes=current_app.config["LOGIN_THROTTLE_MINUTES"],
                )
            )
            status = 429
        else:
            if user is None:
                form.form_errors.append(_("Incorrect email address or password."))
                status = 401
        db.session.commit()
        if user is not None:
            _log_in(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    services.log_out(current_user, client_ip())
    db.session.commit()
    language = session.get("language")
    session.clear()
    logout_user()  # after the clear: it leaves the order to delete the "remember me" cookie
    if language:
        session["language"] = language
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, client_ip())
        db.session.commit()
        # The same answer whether or not the address has an account.
        return render_template("auth/forgot_password_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    reset = services.find_password_reset(token)
    if reset is None:
        return render_template("auth/invalid_link.html", kind="reset"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(reset, form.password.data, client_ip())
        except services.ServiceError:
            db.session.rollback()
            return render_template("auth/invalid_link.html", kind="reset"), 404
        db.session.commit()
        _log_in(user)
        flash(_("Your password has been changed. You are logged in."), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/reset_password.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    invitation = services.find_invitation(token)
    if invitation is None:
        return render_template("auth/invalid_link.html", kind="invitation"), 404
    form = AcceptInvitationForm(name=invitation.name)
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(
                invitation,
                name=form.name.data,
                password=form.password.data,
                ip=client_ip(),
                language=str(get_locale() or "fr"),
            )
        except services.ServiceError:
            db.session.rollback()
            return render_template("auth/invalid_link.html", kind="invitation"), 409
        db.session.commit()
        _log_in(user)
        flash(_("Welcome to the Logement d'abord extranet! Your account is ready."), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation), (
        400 if request.method == "POST" else 200
    )


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    require(can_edit_profile(current_user, current_user))
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        services.update_profile(
            current_user,
            name=form.name.data,
            function=form.function.data,
            organisation=form.organisation.data,
            phone=form.phone.data,
            timezone=form.timezone.data,
            language=form.language.data,
        )
        db.session.commit()
        session["language"] = current_user.language
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    require(can_edit_profile(current_user, current_user))
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            verified = services.verify_current_password(user, form.current_password.data, client_ip())
        except services.ServiceError:
            verified = False
            form.current_password.errors.append(
                _(
                    "Too many unsuccessful attempts. For your security, wait %(minutes)s minutes before trying again.",
                    minutes=current_app.config["LOGIN_THROTTLE_MINUTES"],
                )
            )
        else:
            if verified:
                services.change_password(user, form.password.data, client_ip())
            else:
                form.current_password.errors.append(_("This is not your current password."))
        db.session.commit()
        if verified:
            # The new session identifier ends the other sessions; keep this one,
            # and renew this browser's "remember me" cookie, which held the old identifier.
            login_user(user, remember=current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies)
            flash(_("Your password has been changed. Your other sessions have been closed."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/change_password.html", form=form), 400 if request.method == "POST" else 200
