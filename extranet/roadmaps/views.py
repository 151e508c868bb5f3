"""The roadmap pages: a territory's roadmap and its editing.

The blueprint ``roadmaps`` (``/roadmaps``) is shared by several modules, each
imported at the bottom of this one: ``content_views`` (actions),
``indicator_views`` (indicators and budget), ``review_views`` (submission,
review, comments, versions), ``library_views`` (library, axis view,
comparison of territories), ``network_views`` (the national team's indicator
view and the national list), ``export_views`` (print, PDF, CSV/XLSX).

Views load (404), check (403), validate, call one service, commit once and
redirect. Every edit form carries the roadmap's version it was read at; a
change made meanwhile by someone else gives :func:`edit_conflict` instead of
an overwrite.
"""

import re
from types import SimpleNamespace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.http import int_arg
from extranet.permissions import (
    can_create_roadmap,
    can_edit_roadmap,
    can_manage_roadmap_editors,
    can_view_document,
    can_view_roadmap,
    require,
)
from extranet.roadmaps import editing, services
from extranet.roadmaps.forms import AttachForm, AttachmentUploadForm, EditorForm, PartnersForm, RoadmapForm, SummaryForm, VersionForm
from extranet.roadmaps.models import Roadmap, RoadmapStatus
from extranet.territories.models import Territory
from extranet.toolbox import views as toolbox_views
from extranet.toolbox.models import Document, DocumentType, Visibility

bp = Blueprint("roadmaps", __name__)


def _actor():
    return current_user._get_current_object()


def _roadmap(roadmap_id: int) -> Roadmap:
    """The roadmap, or 404; 403 for someone who may not read it."""
    roadmap = db.session.get(Roadmap, roadmap_id)
    if roadmap is None:
        abort(404)
    require(can_view_roadmap(_actor(), roadmap))
    return roadmap


def edit_conflict(form, roadmap: Roadmap) -> None:
    """After ``EditConflict``/``StaleDataError`` (and the rollback): keep what
    the person typed in ``form``, tell them, and let them post it again knowingly.

    The form is re-rendered with their text; its ``version`` field now holds the
    current version, so a second submission applies their text over the other
    person's change, which they have been shown the roadmap page link to read."""
    db.session.rollback()
    db.session.refresh(roadmap)
    if roadmap.updated_by_id is not None and roadmap.updated_by_id == _actor().id:
        # The same person in another tab or window: "someone else" would puzzle them.
        message = _(
            "You changed this roadmap in another tab or window while this form was open. "
            "Your text here is kept below: open the roadmap in another tab to compare, then save again to apply it."
        )
    else:
        message = _(
            "Someone else changed this roadmap while you were editing it (by %(name)s). "
            "Your text is kept below: open the roadmap in another tab to compare, then save again to apply it.",
            name=roadmap.updated_by.name if roadmap.updated_by else _("another person"),
        )
    flash(message, "warning")
    if hasattr(form, "version"):
        form.version.data = roadmap.version
        form.version.raw_data = [str(roadmap.version)]


def _frozen_message(roadmap: Roadmap, kept: bool) -> str:
    if roadmap.status == RoadmapStatus.VALIDATED:
        if kept:
            return _("This roadmap has been validated meanwhile: it can no longer be changed. "
                     "Your text is kept below so that you can copy it.")
        return _("This roadmap is validated: it can no longer be changed.")
    if kept:
        return _("This roadmap has been submitted meanwhile: it can no longer be changed while the national team "
                 "reviews it. Your text is kept below so that you can copy it.")
    return _("This roadmap has been submitted: it can no longer be changed while the national team reviews it.")


def editable_or_kept(roadmap: Roadmap, may=can_edit_roadmap, *, typed: bool = True) -> bool:
    """Whether the reader may change ``roadmap`` now (``may``: ``can_edit_roadmap``,
    or ``can_report_roadmap_values`` for the values reached).

    Someone who could if it were still a draft has been overtaken: it was
    submitted (or validated) after they opened the form. They get no bare 403
    and lose nothing: on GET, or a post with nothing typed (``typed=False``, a
    deletion), they land on the roadmap page, told why; on a post with their
    text this flashes why and returns False, and the view shows the form again
    as posted with status 409, saving nothing and offering no save button
    (``locked=True``), so that they can copy their text. Anyone else: 403."""
    user = _actor()
    if may(user, roadmap):
        return True
    # Like services._with_status(), with the allowed editors: "not now" rather than "never".
    as_draft = SimpleNamespace(territory_id=roadmap.territory_id, status=RoadmapStatus.DRAFT,
                               editor_ids=roadmap.editor_ids)
    require(may(user, as_draft))
    if request.method != "POST" or not typed:
        flash(_frozen_message(roadmap, kept=False), "warning")
        abort(redirect(url_for("roadmaps.show", roadmap_id=roadmap.id)))
    flash(_frozen_message(roadmap, kept=True), "warning")
    return False


# --- The roadmap's page and its general parts (context, partners, attached files, editors) ---------

_SLUG = re.compile(r"[a-z0-9-]{1,80}")


def _form_roadmap(roadmap_id: int) -> Roadmap:
    """The roadmap for one of its edit pages: 404, 403 unless the reader may edit it now."""
    roadmap = _roadmap(roadmap_id)
    require(can_edit_roadmap(_actor(), roadmap))
    return roadmap


def _error_beside(form, field: str, message) -> None:
    form[field].errors = list(form[field].errors or ()) + [message]


# The section partials are included by other pages too (the print page):
# what they need beyond ``roadmap`` they ask for themselves.


@bp.app_template_global()
def roadmap_partner_groups(roadmap: Roadmap):
    return editing.partners_by_kind(roadmap)


@bp.app_template_global()
def roadmap_visible_documents(roadmap: Roadmap):
    return editing.visible_documents(_actor(), roadmap)


@bp.route("/<int:roadmap_id>")
def show(roadmap_id):
    roadmap = db.session.scalar(
        select(Roadmap).where(Roadmap.id == roadmap_id).options(
            selectinload(Roadmap.territory), selectinload(Roadmap.updated_by),
            selectinload(Roadmap.partners), selectinload(Roadmap.documents), selectinload(Roadmap.editors),
        )
    )
    if roadmap is None:
        abort(404)
    user = _actor()
    require(can_view_roadmap(user, roadmap))
    return render_template(
        "roadmaps/roadmap.html",
        roadmap=roadmap,
        editable=can_edit_roadmap(user, roadmap),
        printing=False,
        manages_editors=can_manage_roadmap_editors(user, roadmap),
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """A coordinator starts the roadmap of a new period: ``?territory=<id>``."""
    territory_id = int_arg("territory")
    territory = db.session.get(Territory, territory_id) if territory_id is not None else None
    if territory is None:
        abort(404)
    user = _actor()
    require(can_create_roadmap(user, territory))
    form = RoadmapForm()
    if request.method == "GET":
        start, end = editing.default_period(territory)
        form.start_year.data, form.end_year.data = str(start), str(end)
    elif form.validate_on_submit():
        try:
            roadmap = services.create_roadmap(user, territory, form.start_year.data, form.end_year.data)
        except ServiceError as error:
            db.session.rollback()
            if error.message == "forbidden":
                abort(403)
            _error_beside(form, error.field if error.field in form else "start_year", error.message)
        except IntegrityError:
            # Someone made the same period at the same moment.
            db.session.rollback()
            _error_beside(form, "start_year", _("This territory already has a roadmap for a period starting that year."))
        else:
            db.session.commit()
            flash(_("The roadmap %(period)s is created: fill in its parts, then submit it.", period=roadmap.period_label) + (" " + _("The members allowed to edit the previous roadmap may edit this one too (%(num)s).", num=len(roadmap.editors)) if roadmap.editors else ""), "success")
            return redirect(url_for("roadmaps.show", roadmap_id=roadmap.id))
    status = 400 if form.is_submitted() else 200
    return render_template("roadmaps/new.html", form=form, territory=territory), status


@bp.route("/<int:roadmap_id>/summary", methods=["GET", "POST"])
def edit_summary(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    editable = editable_or_kept(roadmap)
    if request.method == "GET":
        form = SummaryForm(data={"context": roadmap.context, "strategy": roadmap.strategy,
                                 "budget_note": roadmap.budget_note, "version": roadmap.version})
        return render_template("roadmaps/summary.html", form=form, roadmap=roadmap)
    form = SummaryForm()
    if not editable:
        return render_template("roadmaps/summary.html", form=form, roadmap=roadmap, locked=True), 409
    if form.validate_on_submit():
        try:
            services.update_summary(_actor(), roadmap, form.version.data, context=form.context.data,
                                    strategy=form.strategy.data, budget_note=form.budget_note.data)
            db.session.commit()
        except (services.EditConflict, StaleDataError):
            edit_conflict(form, roadmap)
        except ServiceError:
            db.session.rollback()
            abort(403)
        else:
            flash(_("The context and strategy are saved."), "success")
            return redirect(url_for("roadmaps.show", roadmap_id=roadmap.id) + "#section-context")
    return render_template("roadmaps/summary.html", form=form, roadmap=roadmap), 400 if form.errors else 409


@bp.route("/<int:roadmap_id>/partners", methods=["GET", "POST"])
def edit_partners(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    editable = editable_or_kept(roadmap)
    if request.method == "GET":
        data = {"version": roadmap.version}
        for kind, names in editing.partners_by_kind(roadmap):
            data[f"kind_{kind.value}"] = True
            data[f"names_{kind.value}"] = "\n".join(names)
        form = PartnersForm(data=data)
        return render_template("roadmaps/partners.html", form=form, roadmap=roadmap)
    form = PartnersForm()
    if not editable:
        return render_template("roadmaps/partners.html", form=form, roadmap=roadmap, locked=True), 409
    if form.validate_on_submit():
        try:
            changed = editing.set_partners(_actor(), roadmap, form.version.data, form.entries())
            db.session.commit()
        except (services.EditConflict, StaleDataError):
            edit_conflict(form, roadmap)
        except ServiceError as error:
            db.session.rollback()
            if error.message == "forbidden":
                abort(403)
            _error_beside(form, error.field if error.field in form else "version", _("Check the partners."))
        else:
            flash(_("The partners are saved.") if changed else _("Nothing to save: the partners are unchanged."),
                  "success" if changed else "info")
            return redirect(url_for("roadmaps.show", roadmap_id=roadmap.id) + "#section-governance")
    return render_template("roadmaps/partners.html", form=form, roadmap=roadmap), 400 if form.errors else 409


# Attached files: attach a toolbox document, publish a new one into the toolbox
# and attach it, detach. The upload goes through the toolbox's own form,
# checks and service (size, real type, text extraction).


def _upload_form(roadmap: Roadmap, form=None):
    form = form or AttachmentUploadForm()
    toolbox_views._set_choices(form)
    if request.method == "GET" or form.version.data is None:
        form.version.data = roadmap.version
    return form


def _attach_form(roadmap: Roadmap, query: str, form=None):
    form = form or AttachForm()
    choices = editing.attachable_documents(_actor(), roadmap, query)
    form.document_id.choices = [SelectChoice("", _("— Choose a document —"))] + [
        SelectChoice(str(d.id), d.title + (f" — {d.territory.name}" if d.territory else "")) for d in choices
    ]
    if request.method == "GET" or form.version.data is None:
        form.version.data = roadmap.version
    return form


def _attachments_page(roadmap: Roadmap, attach_form=None, upload_form=None, status=200):
    query = " ".join(request.args.get("q", "").split())[:200]
    if upload_form is None:
        upload_form = _upload_form(roadmap)
        upload_form.territory_id.data = roadmap.territory_id
        upload_form.type.data = DocumentType.AGREEMENT
        # Annexes of a draft are the territory's until the roadmap is validated
        # (services.validate then opens them to the network, with the roadmap).
        validated = roadmap.status == RoadmapStatus.VALIDATED
        upload_form.visibility.data = Visibility.NETWORK if validated else Visibility.TERRITORY
        # The axes the roadmap's actions serve, to start from.
        upload_form.axes.data = sorted({a.axis_id for a in roadmap.actions})
    documents = editing.visible_documents(_actor(), roadmap)
    return render_template(
        "roadmaps/attachments.html",
        roadmap=roadmap,
        documents=documents,
        hidden_count=len(roadmap.documents) - len(documents),
        attach_form=_attach_form(roadmap, query, attach_form),
        upload_form=upload_form,
        detach_form=VersionForm(data={"version": roadmap.version}),
        query=query,
    ), status


@bp.route("/<int:roadmap_id>/attachments")
def attachments(roadmap_id):
    return _attachments_page(_form_roadmap(roadmap_id))


def _attached_document(document_id: int):
    document = db.session.get(Document, document_id)
    if document is None or not can_view_document(_actor(), document):
        abort(404)
    return document


@bp.post("/<int:roadmap_id>/attachments/attach")
def attach_document(roadmap_id):
    roadmap = _form_roadmap(roadmap_id)
    form = AttachForm()
    _attach_form(roadmap, request.args.get("q", ""), form)
    if form.validate_on_submit():
        document = _attached_document(form.document_id.data)
        try:
            editing.attach_document(_actor(), roadmap, form.version.data, document)
            db.session.commit()
        except (services.EditConflict, StaleDataError):
            edit_conflict(form, roadmap)
        except ServiceError as error:
            db.session.rollback()
            if error.message == "forbidden":
                abort(403)
            _error_beside(form, "document_id", _("This document is already attached."))
        else:
            flash(_("The document “%(title)s” is attached to the roadmap.", title=document.title), "success")
            return redirect(url_for("roadmaps.attachments", roadmap_id=roadmap.id))
    return _attachments_page(roadmap, attach_form=form, status=400 if form.errors else 409)


@bp.post("/<int:roadmap_id>/attachments/upload")
def upload_attachment(roadmap_id):
    roadmap = _form_roadmap(roadmap_id)
    form = _upload_form(roadmap, AttachmentUploadForm())
    valid = form.validate_on_submit()
    upload = toolbox_views._upload(form)
    if valid and upload is not None:
        try:
            document = editing.publish_and_attach(_actor(), roadmap, form.version.data, upload=upload,
                                                  **toolbox_views._metadata(form))
            db.session.commit()
        except (services.EditConflict, StaleDataError):
            edit_conflict(form, roadmap)
        except ServiceError as error:
            toolbox_views._service_error(form, error)
        else:
            flash(_("The document “%(title)s” is published in the toolbox and attached to the roadmap.",
                    title=document.title), "success")
            return redirect(url_for("roadmaps.attachments", roadmap_id=roadmap.id))
    if upload is not None:
        toolbox_views._keep_aside(form, upload)
    return _attachments_page(roadmap, upload_form=form, status=400 if form.errors else 409)


@bp.post("/<int:roadmap_id>/attachments/<int:document_id>/detach")
def detach_document(roadmap_id, document_id):
    roadmap = _form_roadmap(roadmap_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    document = _attached_document(document_id)
    try:
        editing.detach_document(_actor(), roadmap, form.version.data, document)
        db.session.commit()
    except (services.EditConflict, StaleDataError):
        edit_conflict(form, roadmap)
    except ServiceError as error:
        db.session.rollback()
        if error.message == "forbidden":
            abort(403)
        abort(404)
    else:
        flash(_("The document “%(title)s” is no longer attached to the roadmap; it stays in the toolbox.",
                title=document.title), "success")
    return redirect(url_for("roadmaps.attachments", roadmap_id=roadmap.id))


# Editors: the members of the territory its coordinators allow to edit the draft.


def _editors_page(roadmap: Roadmap, form=None, status=200):
    form = form or EditorForm()
    form.user_id.choices = [SelectChoice("", _("— Choose a member —"))] + [
        SelectChoice(str(u.id), u.name + (f" — {u.organisation}" if u.organisation else ""))
        for u in editing.editor_candidates(roadmap)
    ]
    return render_template("roadmaps/editors.html", roadmap=roadmap, form=form), status


@bp.route("/<int:roadmap_id>/editors", methods=["GET", "POST"])
def editors(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    require(can_manage_roadmap_editors(_actor(), roadmap))
    if request.method == "GET":
        return _editors_page(roadmap)
    form = EditorForm()
    _editors_page(roadmap, form)
    if form.validate_on_submit():
        member = db.session.get(User, form.user_id.data)
        try:
            added = editing.add_editor(_actor(), roadmap, member)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            if error.message == "forbidden":
                abort(403)
            _error_beside(form, "user_id", _("Choose a member from the list."))
            return _editors_page(roadmap, form, 400)
        except IntegrityError:
            # A double click: the other request added the same member a moment earlier.
            db.session.rollback()
            if member.id not in roadmap.editor_ids:
                raise
            added = False
        if added:
            flash(_("%(name)s may now edit this roadmap; they are told by email.", name=member.name), "success")
        else:
            flash(_("%(name)s is already allowed to edit this roadmap.", name=member.name), "info")
        return redirect(url_for("roadmaps.editors", roadmap_id=roadmap.id))
    if "csrf_token" not in form.errors and form.user_id.data in roadmap.editor_ids:
        # The second click of a double click, once the first one is saved: nothing to do.
        flash(_("%(name)s is already allowed to edit this roadmap.", name=db.session.get(User, form.user_id.data).name), "info")
        return redirect(url_for("roadmaps.editors", roadmap_id=roadmap.id))
    return _editors_page(roadmap, form, 400)


@bp.post("/<int:roadmap_id>/editors/<int:user_id>/remove")
def remove_editor(roadmap_id, user_id):
    roadmap = _roadmap(roadmap_id)
    require(can_manage_roadmap_editors(_actor(), roadmap))
    if not VersionForm().validate_on_submit():
        abort(400)
    member = db.session.get(User, user_id)
    if member is None or member.id not in roadmap.editor_ids:
        abort(404)
    editing.remove_editor(_actor(), roadmap, member)
    db.session.commit()
    flash(_("%(name)s may no longer edit this roadmap.", name=member.name), "success")
    return redirect(url_for("roadmaps.editors", roadmap_id=roadmap.id))


@bp.route("/territory/<slug>")
def territory(slug):
    """A territory's roadmaps, every period, those the reader may open."""
    found = db.session.scalar(select(Territory).where(Territory.slug == slug)) if _SLUG.fullmatch(slug) else None
    if found is None:
        abort(404)
    user = _actor()
    roadmaps = [
        r for r in db.session.scalars(
            select(Roadmap).where(Roadmap.territory_id == found.id).options(selectinload(Roadmap.updated_by))
            .order_by(Roadmap.start_year.desc())
        )
        if can_view_roadmap(user, r)
    ]
    return render_template("roadmaps/territory.html", territory=found, roadmaps=roadmaps,
                           can_create=can_create_roadmap(user, found))


# The other pages of the blueprint (each module registers its routes on ``bp``).
from extranet.roadmaps import content_views  # noqa: E402,F401
from extranet.roadmaps import indicator_views  # noqa: E402,F401
from extranet.roadmaps import review_views  # noqa: E402,F401
from extranet.roadmaps import library_views  # noqa: E402,F401
from extranet.roadmaps import network_views  # noqa: E402,F401
from extranet.roadmaps import export_views  # noqa: E402,F401
