"""After the event: the organisers' materials page, telling the registrants,
and the archive of past Amicalls (routes on the agenda blueprint)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from extranet.agenda import materials
from extranet.agenda.forms import EmptyForm
from extranet.agenda.materials_forms import MaterialsForm
from extranet.agenda.views import _actor, _event, bp
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.http import int_arg, page_arg
from extranet.permissions import can_organise_event, require
from extranet.timeutil import utcnow


@bp.app_template_global()
def event_materials(event) -> dict:
    """What the event page shows after the event, for the person reading it."""
    user = current_user._get_current_object()
    return {
        "documents": materials.visible_documents(user, event),
        "recording_url": event.recording_url,
        "can_manage": materials.can_manage_materials(user, event),
    }


def _choices(form: MaterialsForm, user, event, search: str) -> None:
    ticked = form.documents.data if form.is_submitted() else []
    documents = materials.document_choices(user, event, search, also_ids=ticked or ())
    form.documents.choices = [SelectChoice(d.id, d.title) for d in documents]
    form.document_list = documents


@bp.route("/<int:event_id>/materials", methods=["GET", "POST"])
def event_materials_page(event_id):
    event = _event(event_id)
    user = _actor()
    require(can_organise_event(user, event))
    now = utcnow()
    if not materials.materials_open(event, now):
        flash(_("Materials can be added once the event has started."), "info")
        return redirect(url_for("agenda.detail", event_id=event.id))
    form = MaterialsForm()
    search = (request.args.get("q") or "").strip()[:100]
    if not form.is_submitted():
        form.documents.data = [d.id for d in materials.visible_documents(user, event)]
        form.recording_url.data = event.recording_url
    _choices(form, user, event, search)
    if form.validate_on_submit():
        try:
            materials.save_materials(user, event, document_ids=form.documents.data, recording_url=form.recording_url.data or "", now=now)
        except ServiceError as error:
            db.session.rollback()
            if error.field is None:
                abort(403)
            getattr(form, error.field).errors.append(error.message)
        else:
            db.session.commit()
            flash(_("The materials are saved."), "success")
            return redirect(url_for("agenda.event_materials_page", event_id=event.id))
    return render_template(
        "agenda/materials.html",
        event=event,
        form=form,
        search=search,
        notify_form=EmptyForm(),
        has_materials=materials.has_materials(event),
    ), 400 if form.is_submitted() else 200


@bp.post("/<int:event_id>/materials/notify")
def notify_materials(event_id):
    event = _event(event_id)
    user = _actor()
    if not EmptyForm().validate_on_submit():
        abort(400)
    require(materials.can_manage_materials(user, event))
    try:
        count = materials.notify_registrants(user, event)
    except ServiceError as error:
        db.session.rollback()
        if error.message == "forbidden":
            abort(403)
        flash(str(error.message), "info")
        return redirect(url_for("agenda.event_materials_page", event_id=event.id))
    db.session.commit()
    flash(ngettext("One email is on its way to %(num)s registered person.", "Emails are on their way to %(num)s registered people.", count), "success")
    return redirect(url_for("agenda.event_materials_page", event_id=event.id))


@bp.route("/archive")
def archive():
    user = _actor()
    axes = materials.archive_axes()
    axis_id = int_arg("axis")
    axis = next((a for a in axes if a.id == axis_id), None)
    query = materials.archive_query(user, axis_id=axis.id if axis else None)
    page = db.paginate(query, page=page_arg(), per_page=materials.ARCHIVE_PER_PAGE, error_out=False)
    rows = [(event, materials.visible_documents(user, event)) for event in page.items]
    return render_template("agenda/archive.html", page=page, rows=rows, axes=axes, axis=axis)
