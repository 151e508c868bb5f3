"""The actions of a roadmap: add, change, remove (routes on the roadmaps blueprint)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from extranet.agenda.materials import CHOICES_LIMIT
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.roadmaps import content
from extranet.roadmaps.content_forms import ActionForm
from extranet.roadmaps.models import RoadmapAction
from extranet.roadmaps.views import _actor, _roadmap, bp, edit_conflict, editable_or_kept

SEARCH_MAX = 100


@bp.app_template_global()
def roadmap_actions_by_axis(roadmap):
    """For ``_section_actions.html``: [(priority, [(axis, [action, …]), …]), …]."""
    return content.actions_by_axis(roadmap)


def _roadmap_page(roadmap_id: int, action_id: int | None = None) -> str:
    anchor = f"action-{action_id}" if action_id is not None else "section-actions"
    return url_for("roadmaps.show", roadmap_id=roadmap_id, _anchor=anchor)


def _action(roadmap, action_id: int) -> RoadmapAction:
    action = db.session.get(RoadmapAction, action_id)
    if action is None or action.roadmap_id != roadmap.id:
        abort(404)
    return action


def _set_choices(form: ActionForm, user, action, search: str) -> None:
    groups = content.plan_axes()
    form.axis_groups = groups
    form.axis.choices = [SelectChoice("", _("Choose an axis"))] + [
        SelectChoice(axis.id, _("Axis %(n)s — %(title)s", n=axis.number, title=axis.title)) for _p, axes in groups for axis in axes
    ]
    ticked = form.documents.data if form.is_submitted() else None
    if ticked is None and action is not None:
        ticked = [d.id for d in action.documents]
    documents = content.action_document_choices(user, action, search, also_ids=ticked or ())
    form.documents.choices = [SelectChoice(d.id, d.title) for d in documents]
    form.document_list = documents
    form.document_limit = CHOICES_LIMIT


def _values(form: ActionForm) -> dict:
    return {
        "axis_id": form.axis.data,
        "title": form.title.data,
        "description": form.description.data or "",
        "origin": form.origin.data,
        "lead_organisation": form.lead_organisation.data or "",
        "partners": form.partners.data or "",
        "starts_on": form.starts_on.data,
        "ends_on": form.ends_on.data,
        "status": form.status.data,
        "document_ids": form.documents.data or [],
    }


def _save(roadmap, action: RoadmapAction | None):
    user = _actor()
    editable = editable_or_kept(roadmap)
    form = ActionForm()
    if not form.is_submitted():
        form.version.data = roadmap.version
        if action is not None:
            form.axis.data = action.axis_id
            for name in ("title", "description", "lead_organisation", "partners", "starts_on", "ends_on"):
                getattr(form, name).data = getattr(action, name)
            form.origin.data = action.origin
            form.status.data = action.status
            form.documents.data = [d.id for d in action.documents]
    # "Find" shows the form again with other documents to choose from, keeping what was typed.
    search = " ".join((request.form.get("q") or "").split())[:SEARCH_MAX]
    searching = form.is_submitted() and "find" in request.form
    status = None
    _set_choices(form, user, action, search)
    if not editable:
        return render_template("roadmaps/action_form.html", roadmap=roadmap, action=action, form=form, search=search,
                               locked=True), 409
    if not searching and form.validate_on_submit():
        try:
            version = int(form.version.data)
        except (TypeError, ValueError):
            version = None
        action_id = action.id if action is not None else None
        try:
            if action is None:
                saved = content.create_action(user, roadmap, version, **_values(form))
                message = _("The action is added.")
            else:
                saved = content.update_action(user, action, version, **_values(form))
                message = _("The action is saved.")
            saved_id = saved.id
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            if error.field is None:
                abort(403)
            getattr(form, error.field).errors.append(error.message)
        except StaleDataError:
            edit_conflict(form, roadmap)
            status = 409
            if action_id is not None:
                action = db.session.get(RoadmapAction, action_id)
                if action is None:
                    flash(_("This action was removed meanwhile: saving will add it again."), "warning")
            _set_choices(form, user, action, search)
        else:
            flash(message, "success")
            return redirect(_roadmap_page(roadmap.id, saved_id))
    if status is None:
        status = 400 if form.is_submitted() and not searching else 200
    return render_template("roadmaps/action_form.html", roadmap=roadmap, action=action, form=form, search=search), status


@bp.route("/<int:roadmap_id>/actions/new", methods=["GET", "POST"])
def new_action(roadmap_id):
    return _save(_roadmap(roadmap_id), None)


@bp.route("/<int:roadmap_id>/actions/<int:action_id>/edit", methods=["GET", "POST"])
def edit_action(roadmap_id, action_id):
    roadmap = _roadmap(roadmap_id)
    return _save(roadmap, _action(roadmap, action_id))


@bp.post("/<int:roadmap_id>/actions/<int:action_id>/delete")
def delete_action(roadmap_id, action_id):
    roadmap = _roadmap(roadmap_id)
    user = _actor()
    editable_or_kept(roadmap, typed=False)
    action = _action(roadmap, action_id)
    version = request.form.get("version", type=int)
    try:
        content.delete_action(user, action, version)
        db.session.commit()
    except ServiceError:
        db.session.rollback()
        abort(403)
    except StaleDataError:
        # Not edit_conflict(): there is no typed text to keep, only a choice to confirm again.
        db.session.rollback()
        flash(_("Someone else changed this roadmap meanwhile: the action is not deleted. Check it, then delete it again if need be."), "warning")
        return redirect(_roadmap_page(roadmap_id, action_id))
    flash(_("The action is deleted."), "success")
    return redirect(_roadmap_page(roadmap_id))
