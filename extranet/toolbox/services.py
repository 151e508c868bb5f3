"""Toolbox services: publish, edit, version, delete and list documents.

Like every service, they take the acting user explicitly, change models and
flush; the view commits and talks to the user. The listing helpers only ever
return documents the viewer may read (:func:`~extranet.toolbox.models.visible_to`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, distinct, extract, func, select, update
from sqlalchemy.orm import selectinload

from extranet import files, storage
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.files import FileFormat
from extranet.groups.models import Group
from extranet.permissions import can_choose_visibility, can_create_document, can_delete_document, can_edit_document, can_share_with_group
from extranet.plan.models import Axis
from extranet.territories.models import Territory
from extranet.timeutil import utcnow
from extranet.toolbox.models import Document, DocumentType, DocumentVersion, Visibility, document_axis, split_keywords, visible_to

log = logging.getLogger(__name__)

PER_PAGE = 20
RELATED_LIMIT = 5
PREVIEW_CHARS = 1500
MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 60


# --- Uploads ------------------------------------------------------------------------


class UploadRefused(Exception):
    """``reason``: "empty", "too_large" or "type"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class StagedUpload:
    """A received file, checked, waiting in temporary storage for a service to keep it."""

    staged: storage.StagedFile
    format: FileFormat
    filename: str  # the name to offer for download

    @property
    def size(self) -> int:
        return self.staged.size

    @property
    def path(self) -> Path:
        return self.staged.path

    def discard(self) -> None:
        self.staged.discard()


def receive_upload(stream, filename: str, max_bytes: int) -> StagedUpload:
    """Write the upload to temporary storage and check it: not empty, not over
    ``max_bytes``, of an accepted type judged on its content. A refused file
    leaves nothing behind."""
    try:
        staged = storage.stage(stream, max_bytes=max_bytes)
    except storage.TooLarge:
        raise UploadRefused("too_large") from None
    return check_staged(staged, filename)


def check_staged(staged: storage.StagedFile, filename: str) -> StagedUpload:
    if staged.size == 0:
        staged.discard()
        raise UploadRefused("empty")
    fmt = files.detect(staged.path, filename)
    if fmt is None:
        staged.discard()
        raise UploadRefused("type")
    return StagedUpload(staged=staged, format=fmt, filename=files.safe_filename(filename, fmt))


# --- Documents ------------------------------------------------------------------------


def normalise_keywords(text: str) -> str:
    return ", ".join(split_keywords(text))


def _axes(axis_ids) -> list[Axis]:
    ids = {int(i) for i in axis_ids or ()}
    axes = list(db.session.scalars(select(Axis).where(Axis.id.in_(ids)).order_by(Axis.number))) if ids else []
    if not axes or len(axes) != len(ids):
        raise ServiceError("axes", field="axes")
    return axes


def _check_metadata(actor, *, type, territory_id, visibility, group_id=None, document=None) -> int | None:
    """Refuse what ``actor`` may not choose; the group the document goes to (None unless shared with a group)."""
    # Keeping a visibility one could no longer choose is not choosing it.
    previous_visibility = document.visibility if document is not None else None
    # A territory's document moved to another territory changes who reads it: chosen again.
    chosen = visibility != previous_visibility or (
        visibility == Visibility.TERRITORY and territory_id != document.territory_id
    )
    if chosen and not can_choose_visibility(actor, visibility, document):
        raise ServiceError("visibility", field="visibility")
    if visibility == Visibility.TERRITORY and territory_id is None:
        raise ServiceError("territory_missing", field="territory_id")
    if chosen and not can_choose_visibility(actor, visibility, document, territory_id=territory_id):
        raise ServiceError("territory_not_own", field="territory_id")
    DocumentType(type)
    if territory_id is not None and db.session.get(Territory, territory_id) is None:
        raise ServiceError("territory", field="territory_id")
    if visibility != Visibility.GROUP:
        return None
    if group_id is None:
        raise ServiceError("group_missing", field="group_id")
    # Likewise a group one has left, or that was archived since.
    kept = document is not None and previous_visibility == Visibility.GROUP and document.group_id == group_id
    group = db.session.get(Group, group_id)
    if group is None or not (kept or can_share_with_group(actor, group)):
        raise ServiceError("group", field="group_id")
    return group.id


def shareable_groups(actor, document: Document | None = None) -> list[Group]:
    """The groups ``actor`` may share a document with, by name; with the
    document's own group, which an edit may keep."""
    query = select(Group).where(Group.archived_at.is_(None)).order_by(func.lower(Group.name), Group.id)
    groups = [g for g in db.session.scalars(query) if can_share_with_group(actor, g)]
    if document is not None and document.visibility == Visibility.GROUP and document.group is not None and document.group not in groups:
        groups.append(document.group)
    return groups


def _metadata(*, title, summary, type, keywords, territory_id, visibility, group_id) -> dict:
    """The document's columns as the forms give them, normalised the same way on publish and on edit."""
    return dict(
        title=title.strip(),
        summary=(summary or "").strip(),
        type=DocumentType(type),
        keywords=normalise_keywords(keywords),
        territory_id=territory_id,
        visibility=Visibility(visibility),
        group_id=group_id,
    )


def publish(
    actor,
    *,
    title: str,
    summary: str,
    type: DocumentType,
    axis_ids,
    keywords: str = "",
    territory_id: int | None = None,
    visibility: Visibility = Visibility.NETWORK,
    group_id: int | None = None,
    upload: StagedUpload,
    note: str = "",
) -> Document:
    """``group_id``: the working group, for a document shared with a group."""
    if not can_create_document(actor):
        raise ServiceError("forbidden")
    visibility = Visibility(visibility)
    group_id = _check_metadata(actor, type=type, territory_id=territory_id, visibility=visibility, group_id=group_id)
    now = utcnow()
    document = Document(
        **_metadata(title=title, summary=summary, type=type, keywords=keywords, territory_id=territory_id, visibility=visibility,
                    group_id=group_id),
        author_id=actor.id,
        created_at=now,
        updated_at=now,
        download_count=0,
    )
    document.axes = _axes(axis_ids)
    db.session.add(document)
    _add_version(actor, document, upload, note=note, number=1, now=now)
    db.session.flush()
    return document


def update_metadata(
    actor,
    document: Document,
    *,
    title: str,
    summary: str,
    type: DocumentType,
    axis_ids,
    keywords: str = "",
    territory_id: int | None = None,
    visibility: Visibility,
    group_id: int | None = None,
) -> bool:
    """False when nothing changed."""
    if not can_edit_document(actor, document):
        raise ServiceError("forbidden")
    visibility = Visibility(visibility)
    group_id = _check_metadata(actor, type=type, territory_id=territory_id, visibility=visibility, group_id=group_id, document=document)
    axes = _axes(axis_ids)
    values = _metadata(title=title, summary=summary, type=type, keywords=keywords, territory_id=territory_id, visibility=visibility,
                       group_id=group_id)
    changed = any(getattr(document, name) != value for name, value in values.items())
    changed = changed or [a.id for a in axes] != [a.id for a in document.axes]
    if not changed:
        return False
    for name, value in values.items():
        setattr(document, name, value)
    document.axes = axes
    document.updated_at = utcnow()
    db.session.flush()
    return True


def add_version(actor, document: Document, upload: StagedUpload, *, note: str) -> DocumentVersion:
    if not can_edit_document(actor, document):
        raise ServiceError("forbidden")
    # One new version at a time per document, so numbers never collide
    # (a row lock on PostgreSQL; SQLite serialises writers anyway).
    db.session.execute(select(Document.id).where(Document.id == document.id).with_for_update())
    number = (db.session.scalar(select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == document.id)) or 0) + 1
    version = _add_version(actor, document, upload, note=note, number=number, now=utcnow())
    db.session.flush()
    return version


def _add_version(actor, document: Document, upload: StagedUpload, *, note: str, number: int, now: datetime) -> DocumentVersion:
    extraction = files.extract_text_bounded(upload.path, upload.format)
    upload.staged.keep()
    version = DocumentVersion(
        number=number,
        sha256=upload.staged.sha256,
        size=upload.size,
        format=upload.format,
        filename=upload.filename,
        note=(note or "").strip(),
        author_id=actor.id,
        created_at=now,
        text=extraction.text,
        extraction_error=extraction.error,
    )
    document.versions.append(version)
    document.current_version = version
    document.updated_at = now
    return version


def delete_document(actor, document: Document) -> None:
    """Delete the document and its versions; their files go after the commit,
    unless another version (of any document) has the same content."""
    if not can_delete_document(actor, document):
        raise ServiceError("forbidden")
    _refuse_if_in_validated_roadmap(document)
    hashes = set(db.session.scalars(select(DocumentVersion.sha256).where(DocumentVersion.document_id == document.id)))
    db.session.delete(document)
    db.session.flush()
    # Another version, or a message attachment, may have the same content.
    storage.remove_unreferenced_after_commit(hashes)


def _refuse_if_in_validated_roadmap(document: Document) -> None:
    """A validated roadmap is the State's commitment: deleting its signed PDF
    or an action's document would silently take it out of the roadmap."""
    from flask_babel import gettext
    from flask_babel.speaklater import LazyString

    from extranet.roadmaps.models import Roadmap, RoadmapAction, RoadmapStatus, roadmap_action_document, roadmap_document

    attached = select(roadmap_document.c.roadmap_id).where(roadmap_document.c.document_id == document.id).union(
        select(RoadmapAction.roadmap_id).join(roadmap_action_document, roadmap_action_document.c.action_id == RoadmapAction.id)
        .where(roadmap_action_document.c.document_id == document.id)
    )
    roadmap = db.session.scalar(
        select(Roadmap).where(Roadmap.status == RoadmapStatus.VALIDATED, Roadmap.id.in_(attached))
        .order_by(Roadmap.start_year, Roadmap.id).limit(1)
    )
    if roadmap is not None:
        territory, period = roadmap.territory.name, roadmap.period_label  # read before the view rolls back
        raise ServiceError(LazyString(lambda: gettext(
            "This document is attached to the validated roadmap of %(territory)s, %(period)s: take it off the "
            "roadmap first or ask the national team.",
            territory=territory, period=period,
        )))


def record_download(document: Document) -> None:
    """Bookkeeping, done in SQL so that simultaneous downloads all count and
    the document is not seen as edited."""
    db.session.execute(
        update(Document)
        .where(Document.id == document.id)
        .values(download_count=Document.download_count + 1)
        .execution_options(synchronize_session=False)
    )


# --- Reading ------------------------------------------------------------------------


@dataclass
class Filters:
    type: DocumentType | None = None
    axis: int | None = None  # the axis number, 1 to 16
    territory_id: int | None = None
    format: FileFormat | None = None
    year: int | None = None
    visibility: Visibility | None = None

    NAMES = ("type", "axis", "territory_id", "format", "year", "visibility")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name in self.NAMES)


SORTS = ("newest", "title", "downloads")

_ORDER = {
    "newest": (Document.created_at.desc(), Document.id.desc()),
    "title": (func.lower(Document.title), Document.id),
    "downloads": (Document.download_count.desc(), Document.created_at.desc(), Document.id.desc()),
}


def _condition(name: str, value):
    if name == "type":
        return Document.type == value
    if name == "axis":
        return Document.id.in_(select(document_axis.c.document_id).join(Axis, Axis.id == document_axis.c.axis_id).where(Axis.number == value))
    if name == "territory_id":
        return Document.territory_id == value
    if name == "format":
        return Document.current_version_id.in_(select(DocumentVersion.id).where(DocumentVersion.format == value))
    if name == "year":
        return and_(Document.created_at >= datetime(value, 1, 1), Document.created_at < datetime(value + 1, 1, 1))
    if name == "visibility":
        return Document.visibility == value
    raise ValueError(name)


def _conditions(viewer, filters: Filters, *, skip: str | None = None) -> list:
    conditions = [visible_to(viewer)]
    for name in Filters.NAMES:
        value = getattr(filters, name)
        if value is not None and name != skip:
            conditions.append(_condition(name, value))
    return conditions


def _list_options():
    return (
        selectinload(Document.axes),
        selectinload(Document.territory),
        selectinload(Document.author),
        selectinload(Document.current_version),
        selectinload(Document.group),
    )


def documents_query(viewer, filters: Filters | None = None, sort: str = "newest"):
    """The documents ``viewer`` may read that match every filter given."""
    filters = filters or Filters()
    return select(Document).where(*_conditions(viewer, filters)).options(*_list_options()).order_by(*_ORDER.get(sort, _ORDER["newest"]))


def facet_counts(viewer, filters: Filters) -> dict[str, dict]:
    """For each filter, how many documents each of its values would give,
    the other filters applied: one grouped query per filter."""
    year = extract("year", Document.created_at)
    groupings = {
        "type": (Document.type, None),
        "territory_id": (Document.territory_id, None),
        "visibility": (Document.visibility, None),
        "year": (year, None),
        "axis": (Axis.number, lambda q: q.join(document_axis, document_axis.c.document_id == Document.id).join(Axis, Axis.id == document_axis.c.axis_id)),
        "format": (DocumentVersion.format, lambda q: q.join(DocumentVersion, DocumentVersion.id == Document.current_version_id)),
    }
    counts = {}
    for name, (column, joins) in groupings.items():
        query = select(column, func.count(distinct(Document.id))).select_from(Document)
        if joins is not None:
            query = joins(query)
        query = query.where(*_conditions(viewer, filters, skip=name)).group_by(column)
        counts[name] = {(int(value) if name == "year" else value): count for value, count in db.session.execute(query) if value is not None}
    return counts


def latest_documents(viewer, limit: int = 5) -> list[Document]:
    return list(db.session.scalars(documents_query(viewer).limit(limit)))


def load_document(document_id: int) -> Document | None:
    """A document with what its page shows, loaded in a fixed number of queries."""
    return db.session.scalar(
        select(Document)
        .where(Document.id == document_id)
        .options(
            selectinload(Document.axes),
            selectinload(Document.territory),
            selectinload(Document.author),
            selectinload(Document.current_version),
            selectinload(Document.group),
            selectinload(Document.versions).selectinload(DocumentVersion.author),
        )
    )


def preview(document: Document, length: int = PREVIEW_CHARS) -> str:
    """The start of the current version's text, without loading all of it."""
    if document.current_version_id is None:
        return ""
    text = db.session.scalar(select(func.substr(DocumentVersion.text, 1, length)).where(DocumentVersion.id == document.current_version_id))
    return text or ""


def related_documents(viewer, document: Document, limit: int = RELATED_LIMIT) -> list[Document]:
    """Documents sharing an axis with ``document`` that ``viewer`` may read:
    those sharing the most axes first, then the newest."""
    axis_ids = [axis.id for axis in document.axes]
    if not axis_ids:
        return []
    shared = (
        select(document_axis.c.document_id, func.count().label("shared"))
        .where(document_axis.c.axis_id.in_(axis_ids), document_axis.c.document_id != document.id)
        .group_by(document_axis.c.document_id)
        .subquery()
    )
    query = (
        select(Document)
        .join(shared, shared.c.document_id == Document.id)
        .where(visible_to(viewer))
        .options(selectinload(Document.current_version), selectinload(Document.territory))
        .order_by(shared.c.shared.desc(), Document.created_at.desc(), Document.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def all_axes() -> list[Axis]:
    return list(db.session.scalars(select(Axis).options(selectinload(Axis.priority)).order_by(Axis.number)))


def all_territories() -> list[Territory]:
    return list(db.session.scalars(select(Territory).order_by(Territory.name)))


# --- Housekeeping ------------------------------------------------------------------


def unreferenced_files(min_age_seconds: int = 3600) -> list:
    """Stored files nothing refers to (no version, no attachment): left by an upload whose transaction
    failed after the file was kept. Recent files are left alone, since an
    upload in progress keeps its file just before it commits."""
    import time

    root = storage.root()
    if not root.exists():
        return []
    used = storage.referenced()
    limit = time.time() - min_age_seconds
    return [
        path
        for path in root.glob("??/*")
        if path.is_file() and path.name not in used and path.stat().st_mtime < limit
    ]
