"""The toolbox pages: browse, publish, read, edit, version, download, delete.

Views load (404), check (403), validate, call one service, commit once and
redirect. A document the viewer may not read answers 404, like one that does
not exist, so that its title-less address does not even confirm it is there;
a document they may read but not change answers 403 to the change.
"""

import logging
import re

import click

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from extranet import storage
from extranet.admin.forms import territory_choices
from extranet.auth.services import ServiceError
from extranet.errors import render_error
from extranet.extensions import db
from extranet.files import FORMAT_LABELS, FileFormat
from extranet.http import int_arg, page_arg
from extranet.permissions import (
    can_choose_visibility,
    can_create_document,
    can_delete_document,
    can_edit_document,
    can_view_document,
    require,
)
from extranet.toolbox import services
from extranet.toolbox.forms import (
    GROUP_CHOICE_MESSAGE,
    TERRITORY_MISSING_MESSAGE,
    TERRITORY_NOT_OWN_MESSAGE,
    DocumentForm,
    PublishForm,
    VersionForm,
)
from extranet.toolbox.models import DOCUMENT_TYPE_LABELS, VISIBILITY_LABELS, Document, DocumentType, DocumentVersion, Visibility

log = logging.getLogger(__name__)

bp = Blueprint("toolbox", __name__)

VISIBILITY_HINTS = {
    Visibility.NETWORK: _l("Every account of the network: coordinators, partners and the national team."),
    Visibility.NATIONAL: _l("Only the national team (Dihal) — and you."),
    Visibility.GROUP: _l("The members of a working group and the national team."),
    Visibility.TERRITORY: _l("The people of the territory chosen above and the national team — and you."),
}


def _actor():
    return current_user._get_current_object()


def _max_bytes() -> int:
    return current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024


@bp.app_template_global()
def toolbox_format_size(size: int) -> str:
    from flask_babel import format_decimal

    if size < 1024:
        return _("%(n)s bytes", n=size)
    if size < 1024 * 1024:
        return _("%(n)s KB", n=format_decimal(round(size / 1024, 1)))
    return _("%(n)s MB", n=format_decimal(round(size / (1024 * 1024), 1)))


@bp.errorhandler(RequestEntityTooLarge)
def request_too_large(error):
    # The upload limit leaves room for the rest of the form, so only a file
    # well over the limit ends here, before the form can be shown again.
    return render_error(
        413,
        _("File too large"),
        _(
            "The file is larger than %(mb)s MB, the largest the toolbox accepts. Go back and choose a smaller file "
            "(a PDF can often be reduced by exporting it again with compressed images).",
            mb=current_app.config["MAX_UPLOAD_MB"],
        ),
    )


def _load_visible(document_id: int, loader=None) -> Document:
    document = (loader or (lambda i: db.session.get(Document, i)))(document_id)
    # 404 rather than 403: someone who may not read a document does not learn it exists.
    if document is None or not can_view_document(current_user, document):
        abort(404)
    return document


# --- Browsing --------------------------------------------------------------------------


def _enum_arg(name, enum_cls):
    try:
        return enum_cls(request.args.get(name, ""))
    except ValueError:
        return None


def _filters() -> services.Filters:
    axis = int_arg("axis")
    year = int_arg("year")
    return services.Filters(
        type=_enum_arg("type", DocumentType),
        axis=axis if axis is not None and axis <= 99 else None,
        territory_id=int_arg("territory"),
        format=_enum_arg("format", FileFormat),
        year=year if year is not None and 1900 <= year <= 9998 else None,
        visibility=_enum_arg("visibility", Visibility),
    )


@bp.route("/")
def index():
    filters = _filters()
    sort = request.args.get("sort", "")
    sort = sort if sort in services.SORTS else "newest"
    page = db.paginate(
        services.documents_query(current_user, filters, sort),
        page=page_arg(),
        per_page=services.PER_PAGE,
        error_out=False,
    )
    counts = services.facet_counts(current_user, filters)
    territories = [t for t in services.all_territories() if counts["territory_id"].get(t.id) or t.id == filters.territory_id]
    return render_template(
        "toolbox/index.html",
        page=page,
        filters=filters,
        sort=sort,
        counts=counts,
        axes=services.all_axes(),
        territories=territories,
        types=DOCUMENT_TYPE_LABELS,
        formats=[f for f in FileFormat if counts["format"].get(f) or f == filters.format],
        format_labels=FORMAT_LABELS,
        years=sorted(set(counts["year"]) | ({filters.year} if filters.year else set()), reverse=True),
        visibilities=[v for v in Visibility if counts["visibility"].get(v) or v == filters.visibility],
        visibility_labels=VISIBILITY_LABELS,
        sorts={"newest": _("Newest first"), "title": _("Title (A to Z)"), "downloads": _("Most downloaded")},
    )


@bp.route("/<int:document_id>")
def detail(document_id):
    document = _load_visible(document_id, services.load_document)
    return render_template(
        "toolbox/detail.html",
        document=document,
        preview=services.preview(document),
        related=services.related_documents(current_user, document),
        visibility_labels=VISIBILITY_LABELS,
    )


# --- Uploads kept aside -----------------------------------------------------------------
#
# A file cannot be put back into a file field, so when a form is refused for
# another field the accepted file waits in temporary storage, named by a
# signed token in the form: sending the form again uses it.

_TEMP_NAME = re.compile(r"upload-[A-Za-z0-9_]{1,64}")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="toolbox-upload")


def _keep_aside(form, upload: services.StagedUpload) -> None:
    form.upload_token.data = _serializer().dumps({"temp": upload.path.name, "user": current_user.id, "name": upload.filename})
    form.kept_upload = upload


def _restore(token: str) -> services.StagedUpload | None:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("user") != current_user.id or not _TEMP_NAME.fullmatch(str(data.get("temp"))):
        return None
    staged = storage.restage(data["temp"])
    if staged is None:
        return None
    try:
        return services.check_staged(staged, str(data.get("name", "")))
    except services.UploadRefused:
        return None


def _refusal(reason: str) -> str:
    if reason == "too_large":
        return _("This file is larger than %(mb)s MB, the limit. Choose a smaller file.", mb=current_app.config["MAX_UPLOAD_MB"])
    if reason == "empty":
        return _("This file is empty. Choose another file.")
    if reason == "type":
        return _(
            "This type of file is not accepted (its content was checked, not only its name). "
            "Accepted: PDF, DOCX, DOC, ODT, XLSX, ODS, PPTX, ODP, CSV, TXT, PNG, JPEG."
        )
    return _("Choose the file to share.")


def _add_error(field, message) -> None:
    field.errors = list(field.errors or ()) + [message]


def _upload(form) -> services.StagedUpload | None:
    """The file of the form: the one just sent, else one kept aside from a
    previous try. None, with an error beside the field, when there is none
    or it is refused (and then nothing is kept)."""
    sent = form.file.data
    if sent:
        try:
            return services.receive_upload(sent.stream, sent.filename, _max_bytes())
        except services.UploadRefused as refusal:
            form.upload_token.data = ""
            _add_error(form.file, _refusal(refusal.reason))
            return None
    if form.upload_token.data:
        upload = _restore(form.upload_token.data)
        if upload is not None:
            return upload
        form.upload_token.data = ""
    _add_error(form.file, _refusal("missing"))
    return None


# --- Publishing and editing ----------------------------------------------------------------


def _set_choices(form: DocumentForm, document: Document | None = None) -> None:
    axes = services.all_axes()
    form.axes.choices = [SelectChoice(a.id, f"{a.number}. {a.title}") for a in axes]
    form.axes_by_priority = _group_axes(axes)
    form.territory_id.choices = territory_choices(services.all_territories(), _("— No territory (national or several) —"))
    groups = services.shareable_groups(current_user, document)
    form.group_id.choices = [SelectChoice("", _("— Choose a group —"))] + [SelectChoice(str(g.id), g.name) for g in groups]
    visibilities = [
        v for v in Visibility
        if (can_choose_visibility(current_user, v, document) and (v != Visibility.GROUP or groups))
        or (document is not None and document.visibility == v)
    ]
    form.visibility.choices = [SelectChoice(v.value, VISIBILITY_LABELS[v]) for v in visibilities]
    form.visibility_hints = VISIBILITY_HINTS


def _group_axes(axes):
    groups = []
    for axis in axes:
        if not groups or groups[-1][0] != axis.priority:
            groups.append((axis.priority, []))
        groups[-1][1].append(axis)
    return groups


SERVICE_REFUSALS = {
    "axes": ("axes", _l("Choose axes from the list.")),
    "visibility": ("visibility", _l("Choose who can see the document.")),
    "territory": ("territory_id", _l("Choose a territory from the list.")),
    "territory_missing": ("territory_id", TERRITORY_MISSING_MESSAGE),
    "territory_not_own": ("territory_id", TERRITORY_NOT_OWN_MESSAGE),
    "group_missing": ("group_id", _l("Choose the working group to share the document with.")),
    "group": ("group_id", GROUP_CHOICE_MESSAGE),
}


def _service_error(form, error: ServiceError) -> None:
    db.session.rollback()
    if error.message == "forbidden":
        abort(403)
    field, message = SERVICE_REFUSALS.get(error.message, ("title", _l("This could not be saved.")))
    _add_error(getattr(form, field), message)


def _metadata(form: DocumentForm) -> dict:
    return dict(
        title=form.title.data,
        summary=form.summary.data,
        type=form.type.data,
        axis_ids=form.axes.data,
        keywords=form.keywords.data or "",
        territory_id=form.territory_id.data,
        visibility=form.visibility.data,
        group_id=form.group_id.data if form.visibility.data == Visibility.GROUP else None,
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    require(can_create_document(current_user))
    form = PublishForm()
    _set_choices(form)
    if request.method == "GET":
        form.territory_id.data = current_user.territory_id
        form.visibility.data = Visibility.NETWORK
        # "Share a document" from a group page: that group, when it is among the choices.
        group_id = int_arg("group")
        if group_id is not None and any(choice.value == str(group_id) for choice in form.group_id.choices):
            form.visibility.data, form.group_id.data = Visibility.GROUP, group_id
        return render_template("toolbox/form.html", form=form, document=None)

    valid = form.validate_on_submit()
    upload = _upload(form)
    if valid and upload is not None:
        try:
            document = services.publish(_actor(), upload=upload, **_metadata(form))
        except ServiceError as error:
            _service_error(form, error)
        else:
            db.session.commit()
            flash(_("The document “%(title)s” is published.", title=document.title), "success")
            return redirect(url_for("toolbox.detail", document_id=document.id))
    if upload is not None:
        _keep_aside(form, upload)
    return render_template("toolbox/form.html", form=form, document=None), 400


@bp.route("/<int:document_id>/edit", methods=["GET", "POST"])
def edit(document_id):
    document = _load_visible(document_id)
    require(can_edit_document(current_user, document))
    if request.method == "GET":
        form = DocumentForm(
            data=dict(
                title=document.title,
                summary=document.summary,
                type=document.type,
                axes=[a.id for a in document.axes],
                keywords=document.keywords,
                territory_id=document.territory_id,
                visibility=document.visibility,
                group_id=document.group_id,
            )
        )
        _set_choices(form, document)
        return render_template("toolbox/form.html", form=form, document=document)

    form = DocumentForm()
    _set_choices(form, document)
    if form.validate_on_submit():
        try:
            changed = services.update_metadata(_actor(), document, **_metadata(form))
        except ServiceError as error:
            _service_error(form, error)
        else:
            db.session.commit()
            if changed:
                flash(_("The document is saved."), "success")
            else:
                flash(_("Nothing to save: the description is unchanged."), "info")
            return redirect(url_for("toolbox.detail", document_id=document.id))
    return render_template("toolbox/form.html", form=form, document=document), 400


@bp.route("/<int:document_id>/versions/new", methods=["GET", "POST"])
def new_version(document_id):
    document = _load_visible(document_id, services.load_document)
    require(can_edit_document(current_user, document))
    form = VersionForm()
    if request.method == "GET":
        return render_template("toolbox/version_new.html", form=form, document=document)

    valid = form.validate_on_submit()
    upload = _upload(form)
    if valid and upload is not None:
        try:
            version = services.add_version(_actor(), document, upload, note=form.note.data)
            db.session.commit()
        except ServiceError as error:
            _service_error(form, error)
        except IntegrityError:
            # Someone else's version took this number at the same moment (SQLite
            # has no row lock). The file is stored; sending it again is enough.
            db.session.rollback()
            _add_error(form.file, _("Another version was added at the same moment. Send yours again."))
            upload = None
        else:
            flash(_("Version %(number)s of the document is online.", number=version.number), "success")
            return redirect(url_for("toolbox.detail", document_id=document.id))
    if upload is not None:
        _keep_aside(form, upload)
    return render_template("toolbox/version_new.html", form=form, document=document), 400


@bp.post("/<int:document_id>/delete")
def delete(document_id):
    document = _load_visible(document_id)
    require(can_delete_document(current_user, document))
    title = document.title
    try:
        services.delete_document(_actor(), document)
    except ServiceError as error:
        db.session.rollback()
        if error.message == "forbidden":
            abort(403)
        flash(str(error.message), "error")
        return redirect(url_for("toolbox.detail", document_id=document_id))
    db.session.commit()
    flash(_("The document “%(title)s” and its versions are deleted.", title=title), "success")
    return redirect(url_for("toolbox.index"))


# --- Command line ---------------------------------------------------------------------------------


@bp.cli.command("clean-files")
@click.option("--dry-run", is_flag=True, help="List the files without removing them.")
def clean_files(dry_run):
    """Remove stored files that no document version refers to any more."""
    paths = services.unreferenced_files()
    for path in paths:
        click.echo(f"{'Would remove' if dry_run else 'Removing'} {path}")
        if not dry_run:
            path.unlink(missing_ok=True)
    click.echo(f"{len(paths)} unreferenced file(s).")


# --- Downloads ---------------------------------------------------------------------------------


@bp.route("/<int:document_id>/download")
def download(document_id):
    document = _load_visible(document_id)
    if document.current_version is None:
        abort(404)
    return _send(document, document.current_version)


@bp.route("/<int:document_id>/versions/<int:version_id>/download")
def download_version(document_id, version_id):
    document = _load_visible(document_id)
    version = db.session.get(DocumentVersion, version_id)
    if version is None or version.document_id != document.id:
        abort(404)
    return _send(document, version)


def _send(document: Document, version: DocumentVersion):
    path = storage.path_for(version.sha256)
    if not path.is_file():
        log.error("Stored file %s of document %s, version %s, is missing", version.sha256, document.id, version.number)
        abort(404)
    options = dict(
        mimetype=version.mimetype,
        as_attachment=True,
        download_name=version.filename,
        conditional=True,
        etag=version.sha256,
        last_modified=version.created_at,
    )
    # Bookkeeping only: a download is a GET. A resumed download (a range that
    # does not start at the beginning) is the same download.
    if request.method == "GET" and (request.range is None or request.range.ranges[0][0] == 0):
        services.record_download(document)
        db.session.commit()
    response = send_file(path, **options)
    # Attachments only: never shown inline, never guessed from the content
    # (X-Content-Type-Options: nosniff is set on every response), never cached.
    response.headers["Cache-Control"] = "private, no-store"
    return response
