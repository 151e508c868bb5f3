"""After the event: its materials (toolbox documents: minutes, slides), its
recording, telling the registrants, and the archive of past Amicalls.

Documents keep their own rights: an event page, an email or the archive shows
a document only to people who may open it in the toolbox
(``permissions.can_view_document``). An organiser chooses among the
documents they may open themselves; documents attached by someone else that
they may not open stay attached when they save.

The registrants are told once (``Event.materials_notified_at``): a second
"notify" says when they were told instead of mailing them again, so a double
click or two organisers at once never send two emails. Materials added later
are on the event page; telling people again is left to a message to the
registrants.
"""

from datetime import datetime
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from extranet import mail
from extranet.agenda.models import Event, EventKind, EventStatus, Registration, RegistrationStatus
from extranet.agenda.services import _visible_to
from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.http import MAX_INT
from extranet.permissions import can_organise_event, can_view_document, can_view_event
from extranet.plan.models import Axis
from extranet.timeutil import utcnow
from extranet.toolbox.models import Document, visible_to

RECORDING_URL_MAX = 1000
CHOICES_LIMIT = 100
ARCHIVE_PER_PAGE = 20


def materials_open(event: Event, now: datetime | None = None) -> bool:
    """Materials belong to an event that took place: started, not cancelled."""
    return event.status == EventStatus.SCHEDULED and event.starts_at <= (now or utcnow())


def can_manage_materials(user, event: Event, now: datetime | None = None) -> bool:
    return can_organise_event(user, event) and materials_open(event, now)


def recording_url_problem(url: str) -> str | None:
    """Why this address is refused as a recording link, or None."""
    if len(url) > RECORDING_URL_MAX:
        return _l("At most %(max)s characters.", max=RECORDING_URL_MAX)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return _l("Enter an address starting with https:// or http://, without spaces.")
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return _l("Enter an address starting with https:// or http://, without spaces.")
    return None


def visible_documents(user, event: Event) -> list[Document]:
    """The event's documents this person may open."""
    return [document for document in event.documents if can_view_document(user, document)]


def _storable_ids(ids) -> list[int]:
    """The ids a database column can hold: a larger number (typed into the
    form) would make the query itself fail instead of finding nothing."""
    return [i for i in ids if isinstance(i, int) and 0 < i <= MAX_INT]


def document_choices(actor, event: Event, search: str = "", also_ids=()) -> list[Document]:
    """What the organiser may attach: the documents attached already that they
    may open, those of ``also_ids`` (ticked after an earlier search) that they
    may open, then the latest documents they may open (matching ``search`` in
    the title), at most CHOICES_LIMIT of them."""
    attached = visible_documents(actor, event)
    also = _storable_ids(also_ids)[:CHOICES_LIMIT]
    if also:
        attached += db.session.scalars(
            select(Document).where(Document.id.in_(also), Document.id.not_in([d.id for d in attached]), visible_to(actor))
        ).all()
    query = select(Document).where(visible_to(actor)).order_by(Document.updated_at.desc(), Document.id.desc()).limit(CHOICES_LIMIT)
    words = " ".join((search or "").split())[:100]
    if words:
        escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Document.title).like(f"%{escaped}%", escape="\\"))
    seen = {d.id for d in attached}
    return attached + [d for d in db.session.scalars(query) if d.id not in seen]


def save_materials(actor, event: Event, *, document_ids, recording_url: str, now: datetime | None = None) -> Event:
    if not can_manage_materials(actor, event, now):
        raise ServiceError("forbidden")
    recording_url = (recording_url or "").strip()
    if recording_url:
        problem = recording_url_problem(recording_url)
        if problem:
            raise ServiceError(problem, field="recording_url")
    wanted = set(document_ids or ())
    storable = set(_storable_ids(wanted))
    chosen = list(db.session.scalars(select(Document).where(Document.id.in_(storable)))) if storable else []
    if len(chosen) != len(wanted) or not all(can_view_document(actor, d) for d in chosen):
        raise ServiceError(_l("Choose documents from the list."), field="documents")
    # What the organiser cannot see, they could not have unticked: it stays.
    kept = [d for d in event.documents if not can_view_document(actor, d)]
    event.documents = kept + chosen
    event.recording_url = recording_url
    event.updated_at = utcnow()
    db.session.flush()
    return event


def has_materials(event: Event) -> bool:
    return bool(event.documents or event.recording_url)


def notify_registrants(actor, event: Event, now: datetime | None = None) -> int:
    """Email every registered person that the materials are online, once.
    Returns how many were emailed; raises ServiceError when they already were
    or there is nothing to announce."""
    now = now or utcnow()
    if not can_manage_materials(actor, event, now):
        raise ServiceError("forbidden")
    if not has_materials(event):
        raise ServiceError(_l("Add a document or the recording link before telling the registrants."))
    # The conditional update is the guard: of two clicks at once, one changes the row.
    claimed = db.session.execute(
        update(Event)
        .where(Event.id == event.id, Event.materials_notified_at.is_(None))
        .values(materials_notified_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ServiceError(_l("The registrants were already told."))
    event.materials_notified_at = now
    people = db.session.scalars(
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.REGISTERED, User.active.is_(True))
        .options(selectinload(User.memberships))
        .order_by(User.id)
    ).all()
    link = mail.external_url("agenda.detail", event_id=event.id)
    count = 0
    for user in people:
        if not can_view_event(user, event):
            continue
        documents = [(d, mail.external_url("toolbox.detail", document_id=d.id)) for d in visible_documents(user, event)]
        if not documents and not event.recording_url:
            continue  # nothing they may open
        mail.queue(
            user.email,
            "agenda_materials",
            language=user.language or "fr",
            recipient=user,
            event=event,
            documents=documents,
            recording_url=event.recording_url,
            link=link,
        )
        count += 1
    db.session.flush()
    return count


# --- The archive of past Amicalls ---------------------------------------------------------


def archive_query(user, *, axis_id: int | None = None, now: datetime | None = None):
    """Past Amicalls the user may see, latest first; cancelled ones are left out."""
    now = now or utcnow()
    query = (
        select(Event)
        .where(
            _visible_to(user),
            Event.kind == EventKind.AMICALL,
            Event.status == EventStatus.SCHEDULED,
            Event.ends_at <= now,
        )
        .options(selectinload(Event.axes), selectinload(Event.documents), selectinload(Event.group))
        .order_by(Event.starts_at.desc(), Event.id.desc())
    )
    if axis_id is not None:
        query = query.where(Event.axes.any(Axis.id == axis_id))
    return query


def archive_axes() -> list[Axis]:
    """The plan's axes, for the filter."""
    return list(db.session.scalars(select(Axis).order_by(Axis.number)))

