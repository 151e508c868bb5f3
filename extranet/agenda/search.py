"""How agenda events appear in the platform's search (kind "agenda").

An event is one entry: its title, description (plain text), speakers and
place, never its joining details (a dial-in number or video link is for the
people registered only). Who may find it is said by the same rule as who
may open it (``permissions.can_view_event``): every account for an event of
the whole network or of an open group, the members and the national team for
a closed group's. When a group opens or closes, its events' entries follow;
an edit or a cancellation re-indexes the event, a deletion removes it.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import load_only, object_session, selectinload

from extranet import permissions
from extranet.agenda.models import EVENT_KIND_LABELS, Event
from extranet.groups.models import Group
from extranet.markdown import excerpt
from extranet.search import SearchEntry, register, register_dependent, register_kind

MAX_CONTENT_CHARS = 100_000


def event_url(event_id: int) -> str:
    # A plain path rather than url_for: entries are also built outside requests.
    return f"/agenda/{event_id}"


def event_entry(event: Event) -> SearchEntry:
    speakers = tuple(line.strip() for line in (event.speakers or "").splitlines() if line.strip())
    content = "\n".join(part for part in (excerpt(event.description, MAX_CONTENT_CHARS), event.speakers or "", event.place or "") if part)
    return SearchEntry(
        key=f"event:{event.id}",
        kind="agenda",
        type=event.kind.value,
        title=event.title,
        url=event_url(event.id),
        summary=" — ".join(speakers),
        content=content,
        keywords=speakers,
        axes=tuple(axis.number for axis in event.axes),
        year=event.starts_at.year,
        date=event.starts_at,
        access=permissions.event_tokens(event),
    )


def _group_events(group: Group):
    """A group opened or closed changes who may find its events."""
    state = inspect(group)
    if state.pending or state.deleted or not state.attrs.is_open.history.has_changes():
        return []
    return list(object_session(group).scalars(select(Event).options(load_only(Event.id)).where(Event.group_id == group.id)))


def _all_events():
    return select(Event).options(selectinload(Event.axes), selectinload(Event.group))


register_kind("agenda", _l("Agenda"), {kind.value: label for kind, label in EVENT_KIND_LABELS.items()})
register(Event, key=lambda e: f"event:{e.id}", to_entry=event_entry, query=_all_events)
register_dependent(Group, _group_events)
