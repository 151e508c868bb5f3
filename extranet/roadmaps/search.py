"""How roadmaps appear in the platform's search (kind "roadmap", shown as
"Feuille de route"): the roadmap itself (context, strategy, partners) and each
of its actions, so that "prévention des expulsions" finds the actions of every
territory working on it.

Who may find them is said by the rule of who may open the roadmap
(``permissions.roadmap_tokens`` beside ``can_view_roadmap``): a validated
roadmap by every account, a draft, submitted or returned one by its territory
and the national team. A change of status therefore re-indexes the roadmap's
actions too; any other edit of the roadmap goes through ``services.touch``,
which re-indexes the roadmap's own entry (its axes follow its actions).
"""

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import object_session, selectinload

from extranet import permissions
from extranet.markdown import excerpt
from extranet.roadmaps.models import Roadmap, RoadmapAction
from extranet.territories.models import Territory
from extranet.search import SearchEntry, register, register_dependent, register_kind

MAX_CONTENT_CHARS = 100_000


def roadmap_url(roadmap_id: int) -> str:
    # A plain path rather than url_for: entries are also built outside requests.
    return f"/roadmaps/{roadmap_id}"


def _title(roadmap: Roadmap) -> str:
    return f"{roadmap.territory.name} — {roadmap.period_label}"


def roadmap_entry(roadmap: Roadmap) -> SearchEntry:
    # Entries are built outside requests too; the platform's language is French.
    with force_locale("fr"):
        partners = tuple(f"{p.kind.label} {p.name or ''}".strip() for p in roadmap.partners)
    content = "\n".join(
        part for part in (
            excerpt(roadmap.context, MAX_CONTENT_CHARS),
            excerpt(roadmap.strategy, MAX_CONTENT_CHARS),
            "\n".join(partners),
        ) if part
    )
    return SearchEntry(
        key=f"roadmap:{roadmap.id}",
        kind="roadmap",
        type="roadmap",
        title=_title(roadmap),
        url=roadmap_url(roadmap.id),
        summary=excerpt(roadmap.strategy or roadmap.context, 300),
        content=content,
        keywords=(roadmap.territory.name,),
        axes=tuple(sorted({a.axis.number for a in roadmap.actions if a.axis is not None})),
        territory_id=roadmap.territory_id,
        year=roadmap.start_year,
        date=roadmap.updated_at,
        access=permissions.roadmap_tokens(roadmap),
    )


def action_entry(action: RoadmapAction) -> SearchEntry:
    roadmap = action.roadmap
    content = "\n".join(
        part for part in (excerpt(action.description, MAX_CONTENT_CHARS), action.lead_organisation or "", action.partners or "")
        if part
    )
    return SearchEntry(
        key=f"roadmap_action:{action.id}",
        kind="roadmap",
        type="action",
        title=action.title,
        url=f"{roadmap_url(roadmap.id)}#action-{action.id}",
        summary=_title(roadmap),
        content=content,
        keywords=tuple(k for k in (action.lead_organisation,) if k),
        axes=(action.axis.number,) if action.axis is not None else (),
        territory_id=roadmap.territory_id,
        year=roadmap.start_year,
        date=action.updated_at,
        access=permissions.roadmap_tokens(roadmap),
    )


def _actions_when_status_changes(roadmap: Roadmap):
    """Its actions open like the roadmap: a new status changes who finds them."""
    state = inspect(roadmap)
    if state.pending or state.deleted or not state.attrs.status.history.has_changes():
        return []
    return list(object_session(roadmap).scalars(select(RoadmapAction).where(RoadmapAction.roadmap_id == roadmap.id)))


def _territory_roadmaps(territory):
    """Entries carry their territory's name: a renamed territory's roadmaps and actions follow."""
    state = inspect(territory)
    if state.pending or state.deleted or not state.attrs.name.history.has_changes():
        return []
    session = object_session(territory)
    roadmaps = list(session.scalars(select(Roadmap).where(Roadmap.territory_id == territory.id)))
    actions = list(session.scalars(
        select(RoadmapAction).join(Roadmap).where(Roadmap.territory_id == territory.id)
    ))
    return roadmaps + actions


def _all_roadmaps():
    return select(Roadmap).options(
        selectinload(Roadmap.territory), selectinload(Roadmap.partners),
        selectinload(Roadmap.actions).selectinload(RoadmapAction.axis),
    )


def _all_actions():
    return select(RoadmapAction).options(
        selectinload(RoadmapAction.axis), selectinload(RoadmapAction.roadmap).selectinload(Roadmap.territory),
    )


register_kind("roadmap", _l("Roadmap"), {"roadmap": _l("Roadmap"), "action": _l("Roadmap action")})
register(Roadmap, key=lambda r: f"roadmap:{r.id}", to_entry=roadmap_entry, query=_all_roadmaps)
register(RoadmapAction, key=lambda a: f"roadmap_action:{a.id}", to_entry=action_entry, query=_all_actions)
register_dependent(Roadmap, _actions_when_status_changes)
register_dependent(Territory, _territory_roadmaps)
