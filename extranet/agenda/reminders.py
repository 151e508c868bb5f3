"""Reminders: an email to the people registered, some time before the event.

When
----
An event's offsets (minutes before the start) are its own
(``Event.reminder_offsets``: "1440,60"; "" for none) or, when it has none
(None), those of its kind in ``EXTRANET_AGENDA_REMINDERS``. A reminder is due
from ``starts_at - offset`` until the start. Of the reminders due at once,
only the nearest to the start is sent: a worker that was down through the
24 h reminder and comes back 50 minutes before the start sends the 1 h one,
not both. After the start nothing is sent.

Once
----
``EventReminder`` has one row per (event, offset, start time). The row is
inserted first, with ``INSERT … ON CONFLICT DO NOTHING``, and the mails are
queued in the same transaction only when that insert made the row: a second
worker running at the same moment waits on the first one's uncommitted row
(PostgreSQL's unique index; SQLite lets one writer at a time), then finds it
and queues nothing. A rolled-back run leaves neither row nor mails.

Not again
---------
A reminder due now is skipped when one already sent still tells people what
it would (``already_reminded``): one sent at least as near its start, for a
start less than ``offset`` away from the current one. So moving the event by
a few minutes or hours, or choosing "2 days before" once the 24 h reminder
went out, sends nothing stale; moving it to another week makes its reminders
due again for the new date (new rows: the start is part of the key).
"""

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from extranet import mail
from extranet.agenda.models import Event, EventReminder, EventStatus, Registration, RegistrationStatus
from extranet.agenda.services import PARIS, differs_from_paris, format_time
from extranet.auth.models import User
from extranet.extensions import db
from extranet.auth.services import ServiceError
from extranet.permissions import can_edit_event, can_view_event
from extranet.timeutil import utcnow

# What the event form offers, in minutes before the start.
CHOICES = (10080, 2880, 1440, 60, 15)


@dataclass
class ReminderReport:
    reminders: int = 0  # (event, offset) pairs sent
    messages: int = 0

    def __bool__(self) -> bool:
        return self.reminders > 0

    def __str__(self) -> str:
        return f"{self.reminders} reminder(s), {self.messages} email(s) queued"


def parse_offsets(text: str | None) -> list[int] | None:
    """"1440,60" -> [1440, 60] (largest first); "" -> []; None -> None (the kind's default)."""
    if text is None:
        return None
    offsets = set()
    for part in text.split(","):
        part = part.strip()
        if part.isdigit() and int(part) > 0:
            offsets.add(int(part))
    return sorted(offsets, reverse=True)


def format_offsets(offsets: list[int] | None) -> str | None:
    if offsets is None:
        return None
    return ",".join(str(m) for m in sorted(set(offsets), reverse=True))


def offsets_from_choices(choices) -> str | None:
    """The event form's ticks as stored: "default" -> None, none -> "", else "1440,60"."""
    choices = list(choices or [])
    if "default" in choices:
        return None
    return format_offsets([int(c) for c in choices if str(c).isdigit()])


def choices_from_offsets(text: str | None) -> list[str]:
    offsets = parse_offsets(text)
    return ["default"] if offsets is None else [str(m) for m in offsets]


def set_offsets(actor, event: Event, offsets: str | None) -> None:
    """An event's own reminders (None: those of its kind; "": none)."""
    if not can_edit_event(actor, event):
        raise ServiceError("forbidden")
    parsed = parse_offsets(offsets)
    event.reminder_offsets = format_offsets(parsed)
    db.session.flush()


def offsets_for(event: Event, config=None) -> list[int]:
    own = parse_offsets(event.reminder_offsets)
    if own is not None:
        return own
    config = config if config is not None else current_app.config
    return sorted(config["AGENDA_REMINDERS"].get(str(event.kind), []), reverse=True)


def due_offset(event: Event, now: datetime, config=None) -> int | None:
    """The nearest reminder due for the event now, or None."""
    if event.status != EventStatus.SCHEDULED or event.starts_at <= now:
        return None
    due = [m for m in offsets_for(event, config) if event.starts_at - timedelta(minutes=m) <= now]
    return min(due) if due else None


def _horizon(config) -> int:
    """The furthest reminder any event may have: bounds the query for candidates."""
    configured = [m for minutes in config["AGENDA_REMINDERS"].values() for m in minutes]
    return max([*CHOICES, *configured])


def due_reminders(now: datetime, config=None) -> list[tuple[Event, int]]:
    """(event, offset) for every reminder due now and not sent yet: one query
    for the candidate events, one for the reminders already sent."""
    config = config if config is not None else current_app.config
    candidates = db.session.scalars(
        select(Event)
        .where(
            Event.status == EventStatus.SCHEDULED,
            Event.starts_at > now,
            Event.starts_at <= now + timedelta(minutes=_horizon(config)),
        )
        .options(selectinload(Event.group))
        .order_by(Event.starts_at, Event.id)
    ).all()
    due = [(event, offset) for event in candidates if (offset := due_offset(event, now, config)) is not None]
    if not due:
        return []
    sent: dict[int, list[tuple[int, datetime]]] = {}
    for event_id, offset, starts_at in db.session.execute(
        select(EventReminder.event_id, EventReminder.offset_minutes, EventReminder.starts_at).where(
            EventReminder.event_id.in_([e.id for e, _ in due])
        )
    ):
        sent.setdefault(event_id, []).append((offset, starts_at))
    return [(event, offset) for event, offset in due if not already_reminded(event, offset, sent.get(event.id, ()))]


def already_reminded(event: Event, offset: int, sent) -> bool:
    """Whether a reminder sent, ``(offset_minutes, starts_at)``, still stands
    for this one: sent no earlier before its start, for about the same start
    (less than ``offset`` apart: a 1 h reminder for an event moved by 3 h is
    sent again, a 24 h one is not)."""
    window = timedelta(minutes=offset)
    return any(minutes <= offset and abs(event.starts_at - starts_at) < window for minutes, starts_at in sent)


def _sent_for(event: Event) -> list[tuple[int, datetime]]:
    return [tuple(row) for row in db.session.execute(
        select(EventReminder.offset_minutes, EventReminder.starts_at).where(EventReminder.event_id == event.id)
    )]


def _claim(event: Event, offset: int, now: datetime) -> bool:
    """Insert the reminder's row; False when another run already has it."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = EventReminder.__table__
    inserted = db.session.execute(
        insert(table)
        .values(event_id=event.id, offset_minutes=offset, starts_at=event.starts_at, sent_at=now, recipient_count=0)
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    ).first()
    return inserted is not None


def recipients(event: Event) -> list[User]:
    """Registered (not waiting, not cancelled) active people who may still see the event."""
    users = db.session.scalars(
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.REGISTERED, User.active.is_(True))
        .options(selectinload(User.memberships))
        .order_by(User.id)
    ).all()
    # A person who left the closed group of the event no longer hears of it.
    return [user for user in users if can_view_event(user, event)]


def queue_reminder(event: Event, offset: int, now: datetime) -> int | None:
    """Claim the reminder and queue its emails (flushes); None when it was already claimed."""
    if not _claim(event, offset, now):
        return None
    people = recipients(event)
    link = mail.external_url("agenda.detail", event_id=event.id)
    for user in people:
        language = user.language or "fr"
        mail.queue(
            user.email,
            "agenda_reminder",
            language=language,
            recipient=user,
            event=event,
            when=format_time(event.starts_at, user.timezone, locale=language),
            timezone=user.timezone,
            paris_time=format_time(event.starts_at, PARIS, "HH:mm", locale=language)
            if differs_from_paris(event.starts_at, user.timezone) else None,
            link=link,
        )
    db.session.execute(
        EventReminder.__table__.update()
        .where(
            EventReminder.event_id == event.id,
            EventReminder.offset_minutes == offset,
            EventReminder.starts_at == event.starts_at,
        )
        .values(recipient_count=len(people))
    )
    db.session.flush()
    return len(people)


def queue_due_reminders(app=None, now: datetime | None = None) -> ReminderReport:
    """Queue every reminder due now, one transaction per reminder. Safe to run
    again, and in several processes at once: each is sent once."""
    from extranet.groups.notifications import DEVELOPMENT_BASE_URL

    app = app or current_app._get_current_object()
    report = ReminderReport()
    # A context of its own, hence a database session of its own, closed at the
    # end: the worker's loop never keeps a transaction open between rounds.
    # Outside a request, mail links need EXTRANET_BASE_URL (required in production).
    request = nullcontext() if app.config["BASE_URL"] else app.test_request_context("/", base_url=DEVELOPMENT_BASE_URL)
    with app.app_context(), request:
        now = now or utcnow()
        due = due_reminders(now, app.config)
        # Plain values: each commit below expires the loaded events.
        for event_id, offset in [(e.id, m) for e, m in due]:
            event = db.session.scalar(
                select(Event).where(Event.id == event_id).options(selectinload(Event.group)).execution_options(populate_existing=True)
            )
            # Changed since the first look (moved, cancelled)? Judged again on fresh values.
            if event is None or due_offset(event, now, app.config) != offset or already_reminded(event, offset, _sent_for(event)):
                db.session.rollback()
                continue
            count = queue_reminder(event, offset, now)
            db.session.commit()
            if count is not None:
                report.reminders += 1
                report.messages += count
    return report
