"""The actions of a roadmap: adding, changing and removing them, and the
order the roadmap page shows them in (the plan's priorities, then its axes).

Every change goes through the roadmap's optimistic lock like the rest of the
roadmap (``services.expect_version`` then ``services.touch``), so two people
editing actions at once conflict instead of overwriting each other.

Toolbox documents linked to an action keep their own rights, as the agenda's
materials do (``extranet.agenda.materials``, whose choice helpers are reused
here): a person chooses among the documents they may open, and documents
linked by someone else that they may not open stay linked when they save.
"""

from datetime import date
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from extranet.agenda.materials import _storable_ids, document_choices
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.http import MAX_INT
from extranet.permissions import can_edit_roadmap, can_view_document
from extranet.plan.models import Axis, Priority
from extranet.roadmaps import services
from extranet.roadmaps.models import NAME_MAX, TITLE_MAX, ActionOrigin, ActionStatus, Roadmap, RoadmapAction
from extranet.timeutil import utcnow
from extranet.toolbox.models import Document

DESCRIPTION_MAX = 20_000
PARTNERS_MAX = 2_000


def plan_axes() -> list[tuple[Priority, list[Axis]]]:
    """The plan's 16 axes under their 5 priorities, in the plan's order."""
    axes = db.session.scalars(select(Axis).join(Axis.priority).options(selectinload(Axis.priority)).order_by(Priority.number, Axis.number))
    groups: list[tuple[Priority, list[Axis]]] = []
    for axis in axes:
        if not groups or groups[-1][0].id != axis.priority_id:
            groups.append((axis.priority, []))
        groups[-1][1].append(axis)
    return groups


def actions_by_axis(roadmap: Roadmap) -> list[tuple[Priority, list[tuple[Axis, list[RoadmapAction]]]]]:
    """The roadmap's actions under their priority then axis (only those that
    have actions), each axis's actions in the roadmap's order. Axes and
    documents are read in a few queries whatever the number of actions."""
    actions = db.session.scalars(
        select(RoadmapAction)
        .where(RoadmapAction.roadmap_id == roadmap.id)
        .options(selectinload(RoadmapAction.documents), selectinload(RoadmapAction.axis).selectinload(Axis.priority))
        .order_by(RoadmapAction.position, RoadmapAction.id)
    ).all()
    by_axis: dict[int, list[RoadmapAction]] = {}
    for action in actions:
        by_axis.setdefault(action.axis_id, []).append(action)
    axes = sorted({a.axis for a in actions}, key=lambda axis: (axis.priority.number, axis.number))
    groups: list = []
    for axis in axes:
        if not groups or groups[-1][0].id != axis.priority_id:
            groups.append((axis.priority, []))
        groups[-1][1].append((axis, by_axis[axis.id]))
    return groups


def action_document_choices(actor, action: RoadmapAction | None, search: str = "", also_ids=()) -> list[Document]:
    """What this person may link to the action: those linked already that they
    may open, the ticked ones, then the latest documents they may open."""
    holder = action if action is not None else SimpleNamespace(documents=[])
    return document_choices(actor, holder, search, also_ids=also_ids)


def _chosen_documents(actor, document_ids) -> list[Document]:
    wanted = set(document_ids or ())
    storable = set(_storable_ids(wanted))
    chosen = list(db.session.scalars(select(Document).where(Document.id.in_(storable)))) if storable else []
    if len(chosen) != len(wanted) or not all(can_view_document(actor, d) for d in chosen):
        raise ServiceError(_l("Choose documents from the list."), field="documents")
    return chosen


def _clean(actor, *, axis_id, title, description="", origin=ActionOrigin.NEW, lead_organisation="", partners="",
           starts_on=None, ends_on=None, status=ActionStatus.TO_START, document_ids=()) -> dict:
    """The values to store, or the first ServiceError (with its field)."""
    axis = db.session.get(Axis, axis_id) if isinstance(axis_id, int) and 0 < axis_id <= MAX_INT else None
    if axis is None:
        raise ServiceError(_l("Choose an axis of the plan from the list."), field="axis")
    title = " ".join((title or "").split())
    if not title:
        raise ServiceError(_l("Enter the title of the action."), field="title")
    if len(title) > TITLE_MAX:
        raise ServiceError(_l("The title has at most %(max)s characters.", max=TITLE_MAX), field="title")
    try:
        origin = ActionOrigin(origin)
    except ValueError:
        raise ServiceError(_l("Say whether the action is new or an existing one to strengthen."), field="origin") from None
    try:
        status = ActionStatus(status)
    except ValueError:
        raise ServiceError(_l("Choose the status of the action."), field="status") from None
    for name, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        if value is not None and not isinstance(value, date):
            raise ServiceError(_l("Enter a date, for example 2024-03-31."), field=name)
    if starts_on and ends_on and ends_on < starts_on:
        raise ServiceError(_l("The action cannot end before it starts."), field="ends_on")
    lead_organisation = (lead_organisation or "").strip()
    if len(lead_organisation) > NAME_MAX:
        raise ServiceError(_l("At most %(max)s characters.", max=NAME_MAX), field="lead_organisation")
    return {
        "axis": axis,
        "title": title,
        "description": (description or "").strip(),
        "origin": origin,
        "lead_organisation": lead_organisation,
        "partners": (partners or "").strip(),
        "starts_on": starts_on,
        "ends_on": ends_on,
        "status": status,
        "documents": _chosen_documents(actor, document_ids),
    }


def create_action(actor, roadmap: Roadmap, expected_version, **values) -> RoadmapAction:
    """A new action, last of the roadmap."""
    if not can_edit_roadmap(actor, roadmap):
        raise ServiceError("forbidden")
    cleaned = _clean(actor, **values)
    services.expect_version(roadmap, expected_version)
    last = db.session.scalar(select(func.max(RoadmapAction.position)).where(RoadmapAction.roadmap_id == roadmap.id))
    action = RoadmapAction(roadmap=roadmap, position=(last or 0) + 1, **cleaned)
    db.session.add(action)
    services.touch(roadmap, actor)
    db.session.flush()
    return action


def update_action(actor, action: RoadmapAction, expected_version, **values) -> RoadmapAction:
    roadmap = action.roadmap
    if not can_edit_roadmap(actor, roadmap):
        raise ServiceError("forbidden")
    cleaned = _clean(actor, **values)
    services.expect_version(roadmap, expected_version)
    # What this person cannot open, they could not have unticked: it stays.
    kept = [d for d in action.documents if not can_view_document(actor, d)]
    cleaned["documents"] = kept + [d for d in cleaned["documents"] if d not in kept]
    for name, value in cleaned.items():
        setattr(action, name, value)
    action.updated_at = utcnow()
    services.touch(roadmap, actor)
    db.session.flush()
    return action


def delete_action(actor, action: RoadmapAction, expected_version) -> None:
    roadmap = action.roadmap
    if not can_edit_roadmap(actor, roadmap):
        raise ServiceError("forbidden")
    services.expect_version(roadmap, expected_version)
    roadmap.actions.remove(action)
    db.session.delete(action)
    services.touch(roadmap, actor)
    db.session.flush()
