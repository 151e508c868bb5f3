"""The organisers' pages of an event: registrants and waiting list, exports,
check-in, a message to everyone, cancelling the event.

Registered on the agenda blueprint (``extranet/agenda/views.py`` imports this
module last). Every page here shows personal data: organisers only, and
never cached.
"""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from extranet import exports
from extranet.agenda import organiser
from extranet.agenda.models import Registration, RegistrationStatus
from extranet.agenda.organiser_forms import CancelEventForm, CheckInForm, MessageForm
from extranet.agenda.views import _actor, _event, bp
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.http import page_arg
from extranet.permissions import (
    can_cancel_event,
    can_check_in_registrants,
    can_message_registrants,
    can_view_registrants,
    check_in_opens_at,
    require,
)
from extranet.timeutil import utcnow


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _status_arg() -> RegistrationStatus:
    return RegistrationStatus.WAITLISTED if request.args.get("status") == "waitlisted" else RegistrationStatus.REGISTERED


@bp.route("/<int:event_id>/registrants")
def registrants(event_id):
    event = _event(event_id)
    user = _actor()
    require(can_view_registrants(user, event))
    status = _status_arg()
    now = utcnow()
    pagination, rows = organiser.registrants_page(event, status, page_arg())
    html = render_template(
        "agenda/registrants.html",
        event=event,
        status=status,
        page=pagination,
        rows=rows,
        questions=organiser.questions(event),
        counts=organiser.counts(event),
        can_check_in=can_check_in_registrants(user, event, now),
        check_in_opens_at=check_in_opens_at(event),
        form=CheckInForm(),
    )
    return _private(Response(html))


def _export(event_id, kind: str) -> Response:
    event = _event(event_id)
    user = _actor()
    require(can_view_registrants(user, event))
    header, rows = organiser.export_table(event)
    if kind == "csv":
        body, mimetype = exports.to_csv(header, rows), exports.CSV_MIMETYPE
    else:
        body, mimetype = exports.to_xlsx(header, rows, _("Registrants")), exports.XLSX_MIMETYPE
    return exports.download(body, mimetype, f"inscrits-evenement-{event.id}.{kind}")


@bp.route("/<int:event_id>/registrants.csv")
def registrants_csv(event_id):
    return _export(event_id, "csv")


@bp.route("/<int:event_id>/registrants.xlsx")
def registrants_xlsx(event_id):
    return _export(event_id, "xlsx")


@bp.post("/<int:event_id>/registrants/<int:registration_id>/check-in")
def check_in(event_id, registration_id):
    event = _event(event_id)
    user = _actor()
    require(can_view_registrants(user, event))
    registration = db.session.scalar(select(Registration).filter_by(id=registration_id, event_id=event.id))
    if registration is None:
        abort(404)
    form = CheckInForm()
    if not form.validate_on_submit():
        abort(400)
    require(can_check_in_registrants(user, event, utcnow()))
    name = registration.user.name
    try:
        organiser.set_present(user, registration, form.present.data == "1")
    except ServiceError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        if registration.checked_in_at is not None:
            flash(_("%(name)s is marked present.", name=name), "success")
        else:
            flash(_("%(name)s is no longer marked present.", name=name), "success")
    back = url_for("agenda.registrants", event_id=event.id, page=request.args.get("page", type=int) or None)
    return redirect(f"{back}#registration-{registration_id}")


@bp.route("/<int:event_id>/message", methods=["GET", "POST"])
def message(event_id):
    event = _event(event_id)
    user = _actor()
    require(can_message_registrants(user, event))
    form = MessageForm()
    if form.validate_on_submit():
        try:
            sent = organiser.send_message(user, event, subject=form.subject.data, body=form.body.data,
                                          include_waitlisted=form.include_waitlisted.data)
        except organiser.MessageAlreadySent as error:
            # A double click: the first one sent it, say so rather than an error.
            db.session.rollback()
            flash(str(error.message), "info")
            return redirect(url_for("agenda.message", event_id=event.id))
        except ServiceError as error:
            db.session.rollback()
            form.form_errors.append(str(error.message))
        else:
            db.session.commit()
            flash(ngettext("Your message was sent to %(num)s person.", "Your message was sent to %(num)s people.",
                           sent.recipient_count), "success")
            return redirect(url_for("agenda.message", event_id=event.id))
    html = render_template(
        "agenda/message.html",
        event=event,
        form=form,
        counts=organiser.counts(event),
        messages=organiser.messages(event),
    )
    return _private(Response(html, status=400 if form.is_submitted() else 200))


@bp.route("/<int:event_id>/cancel", methods=["GET", "POST"])
def cancel_event(event_id):
    """A page of its own rather than a dialog: the organiser may give a reason, which people will read."""
    event = _event(event_id)
    user = _actor()
    require(can_view_registrants(user, event))
    if event.is_cancelled:
        flash(_("This event is already cancelled."), "info")
        return redirect(url_for("agenda.detail", event_id=event.id))
    require(can_cancel_event(user, event, utcnow()))
    form = CancelEventForm()
    if form.validate_on_submit():
        try:
            emailed = organiser.cancel_event(user, event, form.reason.data or "")
        except ServiceError:
            db.session.rollback()
            if event.is_cancelled:  # a double click: the first one cancelled it
                flash(_("This event is already cancelled."), "info")
                return redirect(url_for("agenda.detail", event_id=event.id))
            abort(403)
        db.session.commit()
        flash(ngettext("The event is cancelled: %(num)s person was told by email.",
                       "The event is cancelled: %(num)s people were told by email.", emailed), "success")
        return redirect(url_for("agenda.detail", event_id=event.id))
    html = render_template("agenda/cancel.html", event=event, form=form, counts=organiser.counts(event))
    return Response(html, status=400 if form.is_submitted() else 200)
