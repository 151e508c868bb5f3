"""Editing the "general" parts of a roadmap: its governance partners (fiche 3),
the toolbox documents attached to it, and the members its coordinators allow
to edit it.

Like every service, these take the acting user, check the same predicates as
the views, change the models and flush; the view commits. Changes of the
roadmap's content go through ``expect_version`` / ``touch`` (see
:mod:`extranet.roadmaps.services`); the list of editors is not content (no
snapshot holds it) and does not conflict with people editing the text.
"""

from sqlalchemy import func, or_, select

from extranet import mail
from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.permissions import (
    can_be_roadmap_editor,
    can_edit_roadmap,
    can_manage_roadmap_editors,
    can_view_document,
)
from extranet.roadmaps.models import NAME_MAX, PartnerKind, Roadmap, RoadmapPartner
from extranet.roadmaps.services import expect_version, touch
from extranet.timeutil import utcnow
from extranet.toolbox import services as toolbox
from extranet.toolbox.models import Document, visible_to

MAX_NAMES_PER_KIND = 50
ATTACHABLE_LIMIT = 50


def default_period(territory) -> tuple[int, int]:
    """The period a new roadmap most likely covers: the one after the
    territory's latest roadmap, as long as it; else this year and the next
    (the calls' roadmaps run over two years)."""
    latest = db.session.execute(
        select(Roadmap.start_year, Roadmap.end_year)
        .where(Roadmap.territory_id == territory.id)
        .order_by(Roadmap.end_year.desc())
        .limit(1)
    ).first()
    if latest is None:
        year = utcnow().year
        return year, year + 1
    start, end = latest
    return end + 1, end + 1 + (end - start)


# --- Governance partners (fiche 3) ---------------------------------------------------


def _clean_entries(entries) -> set[tuple[PartnerKind, str]]:
    wanted = set()
    for kind, name in entries:
        try:
            kind = PartnerKind(kind)
        except ValueError:
            raise ServiceError("kind", field="kinds") from None
        name = " ".join((name or "").split())
        if len(name) > NAME_MAX:
            raise ServiceError("name_too_long", field=f"names_{kind.value}")
        wanted.add((kind, name))
    return wanted


def set_partners(actor, roadmap: Roadmap, expected_version, entries) -> bool:
    """The roadmap's partners become ``entries``: ``(kind, name)`` pairs, the
    name empty for a kind given without names. False when nothing changed."""
    if not can_edit_roadmap(actor, roadmap):
        raise ServiceError("forbidden")
    expect_version(roadmap, expected_version)
    wanted = _clean_entries(entries)
    current = {(PartnerKind(p.kind), p.name or ""): p for p in roadmap.partners}
    # Rows that stay are kept as they are: deleting and inserting the same
    # (kind, name) in one flush would hit the unique constraint (inserts go first).
    removed = [row for key, row in current.items() if key not in wanted]
    added = [key for key in wanted if key not in current]
    if not removed and not added:
        return False
    for row in removed:
        roadmap.partners.remove(row)
    order = list(PartnerKind)
    for kind, name in sorted(added, key=lambda k: (order.index(k[0]), k[1].lower())):
        roadmap.partners.append(RoadmapPartner(kind=kind, name=name))
    touch(roadmap, actor)
    db.session.flush()
    return True


def partners_by_kind(roadmap: Roadmap) -> list[tuple[PartnerKind, list[str]]]:
    """The partners grouped by kind, in fiche 3's order; each kind's names (none for a kind alone)."""
    grouped: dict[PartnerKind, list[str]] = {}
    for partner in roadmap.partners:
        names = grouped.setdefault(PartnerKind(partner.kind), [])
        if partner.name:
            names.append(partner.name)
    return [(kind, sorted(grouped[kind], key=str.lower)) for kind in PartnerKind if kind in grouped]


# --- Attached documents --------------------------------------------------------------


def visible_documents(viewer, roadmap: Roadmap) -> list[Document]:
    """The attached documents ``viewer`` may open: the others are not even named."""
    return [d for d in roadmap.documents if can_view_document(viewer, d)]


def attachable_documents(actor, roadmap: Roadmap, query: str = "", limit: int = ATTACHABLE_LIMIT) -> list[Document]:
    """Toolbox documents ``actor`` may read and could attach: those whose
    title holds ``query``; without one, the territory's documents and the
    actor's own, newest first. At most ``limit``."""
    attached = [d.id for d in roadmap.documents]
    conditions = [visible_to(actor)]
    if attached:
        conditions.append(Document.id.not_in(attached))
    words = " ".join((query or "").split())[:200]
    if words:
        escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(func.lower(Document.title).like(f"%{escaped}%", escape="\\"))
    else:
        conditions.append(or_(Document.territory_id == roadmap.territory_id, Document.author_id == actor.id))
    return list(db.session.scalars(
        select(Document).where(*conditions).order_by(Document.created_at.desc(), Document.id.desc()).limit(limit)
    ))


def attach_document(actor, roadmap: Roadmap, expected_version, document: Document) -> None:
    if not can_edit_roadmap(actor, roadmap) or not can_view_document(actor, document):
        raise ServiceError("forbidden")
    expect_version(roadmap, expected_version)
    if document in roadmap.documents:
        raise ServiceError("already_attached", field="document_id")
    roadmap.documents.append(document)
    touch(roadmap, actor)
    db.session.flush()


def detach_document(actor, roadmap: Roadmap, expected_version, document: Document) -> None:
    """The document leaves the roadmap; it stays in the toolbox."""
    if not can_edit_roadmap(actor, roadmap):
        raise ServiceError("forbidden")
    expect_version(roadmap, expected_version)
    if document not in roadmap.documents:
        raise ServiceError("not_attached")
    roadmap.documents.remove(document)
    touch(roadmap, actor)
    db.session.flush()


def publish_and_attach(actor, roadmap: Roadmap, expected_version, *, upload, **metadata) -> Document:
    """A new toolbox document (checked and published by the toolbox's own
    service), attached to the roadmap: the signed PDF, an annex."""
    if not can_edit_roadmap(actor, roadmap):
        raise ServiceError("forbidden")
    # Before publishing: a refused attachment must not leave a new document behind.
    expect_version(roadmap, expected_version)
    document = toolbox.publish(actor, upload=upload, **metadata)
    attach_document(actor, roadmap, roadmap.version, document)
    return document


# --- Editors -------------------------------------------------------------------------


def editor_candidates(roadmap: Roadmap) -> list[User]:
    """Members of the territory a coordinator may allow, not yet allowed."""
    current = roadmap.editor_ids
    people = db.session.scalars(
        select(User).where(User.territory_id == roadmap.territory_id, User.active.is_(True)).order_by(func.lower(User.name), User.id)
    )
    return [u for u in people if u.id not in current and can_be_roadmap_editor(u, roadmap)]


def add_editor(actor, roadmap: Roadmap, user: User) -> bool:
    """Allow ``user`` to edit the roadmap; they are told by email (they must
    not miss it: the draft waits for them). False if they already were."""
    if not can_manage_roadmap_editors(actor, roadmap):
        raise ServiceError("forbidden")
    if not can_be_roadmap_editor(user, roadmap):
        raise ServiceError("not_a_member", field="user_id")
    if user.id in roadmap.editor_ids:
        return False
    roadmap.editors.append(user)
    db.session.flush()
    mail.queue(
        user.email,
        "roadmap_editor_added",
        language=user.language,
        recipient=user,
        coordinator=actor,
        roadmap=roadmap,
        territory=roadmap.territory.name,
        link=mail.external_url("roadmaps.show", roadmap_id=roadmap.id),
    )
    return True


def remove_editor(actor, roadmap: Roadmap, user: User) -> bool:
    """False if they were not an editor."""
    if not can_manage_roadmap_editors(actor, roadmap):
        raise ServiceError("forbidden")
    if user.id not in roadmap.editor_ids:
        return False
    roadmap.editors.remove(user)
    db.session.flush()
    return True


def set_editors(actor, roadmap: Roadmap, users) -> tuple[list[User], list[User]]:
    """The editors become ``users``: (added, removed)."""
    wanted = {u.id: u for u in users}
    removed = [u for u in list(roadmap.editors) if u.id not in wanted]
    for user in removed:
        remove_editor(actor, roadmap, user)
    added = [u for u in wanted.values() if add_editor(actor, roadmap, u)]
    return added, removed
