"""Creating and editing events, registering and cancelling.

Registration holds capacity and per-territory seats under concurrency: each
change locks the event's row first (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite lets one writer at a time), then counts the seats taken, so that two
people can never both get the last seat. Services flush, never commit.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import selectinload

from extranet import mail
from extranet.agenda.models import Event, EventKind, EventStatus, Registration, RegistrationStatus
from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.groups.models import Group
from extranet.permissions import can_create_event_for, can_edit_event, is_national, is_registration_open
from extranet.plan.models import Axis
from extranet.timeutil import utcnow

EVENTS_PER_PAGE = 20
PARIS = "Europe/Paris"
EDITABLE_FIELDS = (
    "kind", "title", "description", "starts_at", "ends_at", "group_id", "speakers", "place", "joining_details",
    "capacity", "registration_opens_at", "registration_deadline", "seats_per_territory",
)
# A change of these makes calendars that imported the event update it.
CALENDAR_FIELDS = ("title", "description", "starts_at", "ends_at", "place", "joining_details")


# --- Times ---------------------------------------------------------------------------


def to_utc(local: datetime, timezone: str) -> datetime:
    """A wall-clock time typed in ``timezone`` as naive UTC."""
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def to_local(utc: datetime, timezone: str) -> datetime:
    return utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def format_time(utc: datetime, timezone: str, fmt: str = "EEEE d MMMM y, HH:mm", locale=None) -> str:
    aware = utc.replace(tzinfo=ZoneInfo("UTC"))
    return babel_format_datetime(aware, fmt, tzinfo=ZoneInfo(timezone), locale=locale or get_locale() or "fr")


def differs_from_paris(utc: datetime, timezone: str) -> bool:
    return to_local(utc, timezone) != to_local(utc, PARIS)


# --- Events ----------------------------------------------------------------------------


def validate_schedule(values: dict) -> list[tuple[str, str]]:
    """Errors as (field, message); the form shows each beside its field."""
    errors = []
    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if starts_at and ends_at and ends_at <= starts_at:
        errors.append(("ends_at", _l("The end must come after the start.")))
    deadline, opens_at = values.get("registration_deadline"), values.get("registration_opens_at")
    if deadline and starts_at and deadline > starts_at:
        errors.append(("registration_deadline", _l("The registration deadline must come before the start of the event.")))
    if opens_at and deadline and opens_at >= deadline:
        errors.append(("registration_opens_at", _l("Registration must open before its deadline.")))
    if opens_at and starts_at and opens_at >= starts_at:
        errors.append(("registration_opens_at", _l("Registration must open before the start of the event.")))
    return errors


def _check(values: dict) -> None:
    errors = validate_schedule(values)
    if errors:
        field, message = errors[0]
        raise ServiceError(message, field=field)


def _axes(axis_ids) -> list[Axis]:
    if not axis_ids:
        return []
    return list(db.session.scalars(select(Axis).where(Axis.id.in_(list(axis_ids))).order_by(Axis.number)))


def create_event(actor, *, axis_ids=(), group=None, **values) -> Event:
    if not can_create_event_for(actor, group):
        raise ServiceError("forbidden")
    _check(values)
    values["group_id"] = group.id if group is not None else None
    event = Event(created_by_id=actor.id, status=EventStatus.SCHEDULED, sequence=0,
                  **{k: values.get(k) for k in EDITABLE_FIELDS if k in values})
    event.axes = _axes(axis_ids)
    db.session.add(event)
    db.session.flush()
    return event


def update_event(actor, event: Event, *, axis_ids=(), group=None, **values) -> Event:
    values["group_id"] = group.id if group is not None else None
    if not can_edit_event(actor, event) or (values["group_id"] != event.group_id and not can_create_event_for(actor, group)):
        raise ServiceError("forbidden")
    _check(values)
    changed = any(getattr(event, name) != values.get(name) for name in CALENDAR_FIELDS if name in values)
    from extranet.agenda import organiser  # organiser imports this module

    before = organiser.reschedule_values(event)
    for name in EDITABLE_FIELDS:
        if name in values:
            setattr(event, name, values[name])
    event.axes = _axes(axis_ids)
    if changed:
        event.sequence += 1
    event.updated_at = utcnow()
    db.session.flush()
    organiser.announce_changes(actor, event, before)
    return event


def _visible_to(user):
    """The SQL twin of permissions.can_view_event: no group, an open group, or one of the user's."""
    if is_national(user):
        return true()
    open_groups = select(Group.id).where(Group.is_open.is_(True))
    return or_(Event.group_id.is_(None), Event.group_id.in_(open_groups), Event.group_id.in_(list(getattr(user, "group_ids", ()) or ())))


def events_query(user, *, past: bool = False, kind: EventKind | None = None, mine: bool = False, group_id: int | None = None,
                 now: datetime | None = None):
    """Upcoming events soonest first, or past ones latest first."""
    now = now or utcnow()
    query = select(Event).options(selectinload(Event.group)).where(_visible_to(user))
    if past:
        query = query.where(Event.ends_at <= now).order_by(Event.starts_at.desc(), Event.id.desc())
    else:
        query = query.where(Event.ends_at > now).order_by(Event.starts_at, Event.id)
    if kind is not None:
        query = query.where(Event.kind == kind)
    if group_id is not None:
        query = query.where(Event.group_id == group_id)
    if mine:
        query = query.where(
            Event.id.in_(
                select(Registration.event_id).where(
                    Registration.user_id == user.id, Registration.status != RegistrationStatus.CANCELLED
                )
            )
        )
    return query


def registrations_of(user, event_ids) -> dict[int, Registration]:
    if not event_ids:
        return {}
    rows = db.session.scalars(select(Registration).where(Registration.user_id == user.id, Registration.event_id.in_(list(event_ids))))
    return {r.event_id: r for r in rows}


def registration_of(user, event: Event) -> Registration | None:
    return db.session.scalar(select(Registration).filter_by(event_id=event.id, user_id=user.id))


def seat_counts(event: Event) -> dict[str, int]:
    rows = db.session.execute(
        select(Registration.status, func.count()).where(Registration.event_id == event.id).group_by(Registration.status)
    )
    counts = {str(status): n for status, n in rows}
    return {"registered": counts.get("registered", 0), "waitlisted": counts.get("waitlisted", 0)}


def registrants(event: Event, status: RegistrationStatus) -> list[Registration]:
    order = (Registration.waitlisted_at, Registration.id) if status == RegistrationStatus.WAITLISTED else (Registration.created_at, Registration.id)
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event.id, Registration.status == status)
            .options(selectinload(Registration.user).selectinload(User.territory))
            .order_by(*order)
        )
    )


# --- Registration ------------------------------------------------------------------------


def _lock(event: Event) -> Event:
    """The event's row, locked until the transaction ends; fresh values."""
    return db.session.scalars(
        select(Event).where(Event.id == event.id).with_for_update().execution_options(populate_existing=True)
    ).one()


def _has_seat(event: Event, territory_id) -> bool:
    taken = select(func.count()).select_from(Registration).where(
        Registration.event_id == event.id, Registration.status == RegistrationStatus.REGISTERED
    )
    if event.capacity is not None and db.session.scalar(taken) >= event.capacity:
        return False
    if event.seats_per_territory is not None and territory_id is not None:
        in_territory = db.session.scalar(taken.where(Registration.territory_id == territory_id))
        if in_territory >= event.seats_per_territory:
            return False
    return True


def register(actor, event: Event, user=None, now: datetime | None = None) -> Registration:
    """Register ``user`` (``actor`` themselves by default): a seat if one is
    free, else the waiting list. Registering again changes nothing."""
    user = user or actor
    now = now or utcnow()
    event = _lock(event)
    if not is_registration_open(event, now):
        raise ServiceError(_l("Registration for this event is closed."))
    registration = db.session.scalar(select(Registration).filter_by(event_id=event.id, user_id=user.id))
    if registration is not None and registration.status != RegistrationStatus.CANCELLED:
        return registration
    seat = _has_seat(event, user.territory_id)
    if registration is None:
        registration = Registration(event_id=event.id, user_id=user.id, created_at=now)
        db.session.add(registration)
    registration.territory_id = user.territory_id
    registration.registered_by_id = actor.id if actor.id != user.id else None
    registration.updated_at = now
    registration.checked_in_at = None
    if seat:
        registration.status = RegistrationStatus.REGISTERED
        registration.waitlisted_at = None
    else:
        registration.status = RegistrationStatus.WAITLISTED
        registration.waitlisted_at = now
    db.session.flush()
    if registration.registered_by_id is not None and user.active:
        mail.queue(
            user.email,
            "agenda_registered_by",
            language=user.language,
            recipient=user,
            coordinator=actor,
            event=event,
            waitlisted=registration.status == RegistrationStatus.WAITLISTED,
            when=format_time(event.starts_at, user.timezone, locale=user.language or "fr"),
            timezone=user.timezone,
            link=mail.external_url("agenda.detail", event_id=event.id),
        )
    return registration


def members_to_register(coordinator, event: Event) -> list[User]:
    """Active accounts of the coordinator's territory not registered nor waiting yet."""
    taken = select(Registration.user_id).where(
        Registration.event_id == event.id, Registration.status != RegistrationStatus.CANCELLED
    )
    return list(
        db.session.scalars(
            select(User)
            .where(User.territory_id == coordinator.territory_id, User.active.is_(True), User.id != coordinator.id, User.id.not_in(taken))
            .order_by(func.lower(User.name), User.id)
        )
    )


def territory_registrations(coordinator, event: Event) -> list[Registration]:
    """The registrations of the coordinator's territory (the coordinator excepted)."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.territory_id == coordinator.territory_id,
                Registration.user_id != coordinator.id,
                Registration.status != RegistrationStatus.CANCELLED,
            )
            .options(selectinload(Registration.user))
            .order_by(Registration.id)
        )
    )


def group_events(group_id: int, limit: int = 5, now: datetime | None = None) -> list[Event]:
    """The next events of a working group, for its page."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Event).where(Event.group_id == group_id, Event.ends_at > now).order_by(Event.starts_at, Event.id).limit(limit)
        )
    )


def cancel_registration(actor, registration: Registration, now: datetime | None = None) -> list[Registration]:
    """Cancel, then give the freed seat(s) to the first waiting people who fit; returns those promoted."""
    now = now or utcnow()
    event = _lock(registration.event)
    db.session.refresh(registration)
    if registration.status == RegistrationStatus.CANCELLED:
        return []
    was_registered = registration.status == RegistrationStatus.REGISTERED
    registration.status = RegistrationStatus.CANCELLED
    registration.waitlisted_at = None
    registration.updated_at = now
    db.session.flush()
    if not was_registered or event.is_cancelled or event.starts_at <= now:
        return []
    return promote_waiting(event, now)


def promote_waiting(event: Event, now: datetime) -> list[Registration]:
    """With the event locked: waiting people, in order, take the seats that are free for them."""
    promoted = []
    for waiting in registrants(event, RegistrationStatus.WAITLISTED):
        if event.capacity is not None and seat_counts(event)["registered"] >= event.capacity:
            break
        if not _has_seat(event, waiting.territory_id):
            continue  # their territory's seats are taken: the next person may fit
        waiting.status = RegistrationStatus.REGISTERED
        waiting.waitlisted_at = None
        waiting.updated_at = now
        db.session.flush()
        promoted.append(waiting)
        if waiting.user.active:
            mail.queue(
                waiting.user.email,
                "agenda_promoted",
                language=waiting.user.language,
                recipient=waiting.user,
                event=event,
                when=format_time(event.starts_at, waiting.user.timezone, locale=waiting.user.language or "fr"),
                timezone=waiting.user.timezone,
                link=mail.external_url("agenda.detail", event_id=event.id),
            )
    return promoted
