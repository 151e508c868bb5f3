"""What the organisers of an event do with its registrants: the list with
their answers and workshops, exports, check-in on the day, a message to
everyone, cancelling the event and telling people it moved.

The list reads a bounded number of SQL statements whatever the number of
registrants: one for the registrations (with the person and who registered
them), one for the answers and one for the workshops of those registrations,
one for the questions. Exports use the same statements over the whole event.

Services take the acting user, flush and never commit.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, inspect, select
from sqlalchemy.orm import joinedload, selectinload

from extranet import mail
from extranet.agenda.models import (
    Event,
    EventMessage,
    EventSession,
    EventStatus,
    Registration,
    RegistrationAnswer,
    RegistrationQuestion,
    RegistrationStatus,
    SessionRegistration,
)
from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.permissions import (
    can_cancel_event,
    can_check_in_registrants,
    can_message_registrants,
    can_see_joining_details,
    can_view_event,
)
from extranet.territories.models import Territory
from extranet.timeutil import utcnow

REGISTRANTS_PER_PAGE = 50
PARIS = "Europe/Paris"
SUBJECT_MAX = 200
BODY_MAX = 10_000
REASON_MAX = 2000
# What a reschedule is about: a change of one of these is mailed to the registrants.
RESCHEDULE_FIELDS = ("starts_at", "ends_at", "place", "joining_details")
ACTIVE = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)
# A second click on "send" within this time, same author, subject and body: not sent again.
RESEND_GUARD = timedelta(minutes=2)


def _services():
    # services.update_event calls announce_changes here: imported late to break the cycle.
    from extranet.agenda import services

    return services


# --- The list ---------------------------------------------------------------------------


@dataclass
class Registrant:
    registration: Registration
    territory: str = ""
    # Position on the waiting list (1 is the next to get a seat); None for a registered person.
    position: int | None = None
    answers: dict[int, str] = field(default_factory=dict)
    # (workshop title, status) in the order of the programme.
    workshops: list[tuple[str, RegistrationStatus]] = field(default_factory=list)
    # A required question left unanswered (a coordinator registered them, or it came later).
    incomplete: bool = False

    @property
    def user(self):
        return self.registration.user

    def answer(self, question: RegistrationQuestion) -> str:
        return format_answer(question, self.answers.get(question.id))


def questions(event: Event) -> list[RegistrationQuestion]:
    return list(
        db.session.scalars(
            select(RegistrationQuestion)
            .where(RegistrationQuestion.event_id == event.id)
            .order_by(RegistrationQuestion.position, RegistrationQuestion.id)
        )
    )


def counts(event: Event) -> dict[str, int]:
    """Registered, waiting, and registered people marked present."""
    registered = Registration.status == RegistrationStatus.REGISTERED
    row = db.session.execute(
        select(
            func.count().filter(registered),
            func.count().filter(Registration.status == RegistrationStatus.WAITLISTED),
            func.count().filter(registered, Registration.checked_in_at.is_not(None)),
        ).where(Registration.event_id == event.id)
    ).one()
    return {"registered": row[0], "waitlisted": row[1], "present": row[2]}


def _registrations_query(event: Event, statuses):
    # A registered person in the order they registered, the waiting list in its order.
    rank = case((Registration.status == RegistrationStatus.REGISTERED, 0), else_=1)
    return (
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status.in_(list(statuses)))
        .options(joinedload(Registration.user), joinedload(Registration.registered_by))
        .order_by(rank, func.coalesce(Registration.waitlisted_at, Registration.created_at), Registration.id)
    )


def _territory_names() -> dict[int, str]:
    # Some fifty territories: one small read, instead of a join per row.
    return dict(db.session.execute(select(Territory.id, Territory.name)).all())


def _registrants(event: Event, registrations: list[Registration], registration_ids, first_position: int = 1) -> list[Registrant]:
    """Rows with their answers and workshops; ``registration_ids`` is a list or
    a subquery of the same registrations (a whole event: no long IN list)."""
    names = _territory_names()
    rows, by_id, waiting = [], {}, first_position
    for registration in registrations:
        row = Registrant(registration, territory=names.get(registration.territory_id, ""))
        if registration.status == RegistrationStatus.WAITLISTED:
            row.position = waiting
            waiting += 1
        rows.append(row)
        by_id[registration.id] = row
    if not rows:
        return rows
    for answer in db.session.scalars(select(RegistrationAnswer).where(RegistrationAnswer.registration_id.in_(registration_ids))):
        by_id[answer.registration_id].answers[answer.question_id] = answer.value
    workshops = db.session.execute(
        select(SessionRegistration.registration_id, EventSession.title, SessionRegistration.status)
        .join(EventSession, EventSession.id == SessionRegistration.session_id)
        .where(SessionRegistration.registration_id.in_(registration_ids))
        .order_by(EventSession.position, EventSession.id)
    )
    for registration_id, title, status in workshops:
        by_id[registration_id].workshops.append((title, status))
    for registration_id in _services().incomplete_registrations(event, registration_ids):
        by_id[registration_id].incomplete = True
    return rows


def registrants_page(event: Event, status: RegistrationStatus, page: int):
    """One page of the registered people or of the waiting list: (pagination, rows)."""
    pagination = db.paginate(_registrations_query(event, [status]), page=page, per_page=REGISTRANTS_PER_PAGE, error_out=False)
    first = (pagination.page - 1) * REGISTRANTS_PER_PAGE + 1
    rows = _registrants(event, list(pagination.items), [r.id for r in pagination.items], first_position=first)
    return pagination, rows


def all_registrants(event: Event) -> list[Registrant]:
    """Everyone registered, then the waiting list, for the exports."""
    registrations = list(db.session.scalars(_registrations_query(event, ACTIVE)).unique())
    ids = select(Registration.id).where(Registration.event_id == event.id, Registration.status.in_(list(ACTIVE)))
    return _registrants(event, registrations, ids)


def format_answer(question: RegistrationQuestion, value: str | None) -> str:
    """As the registration form shows it: the attendance mode's label, several choices on one line."""
    return _services().format_answer(question, value)


def workshops_text(row: Registrant) -> str:
    return ", ".join(title if status == RegistrationStatus.REGISTERED else _("%(title)s (waiting list)", title=title)
                     for title, status in row.workshops)


# --- Exports ------------------------------------------------------------------------------

def export_table(event: Event) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the CSV and XLSX exports (written by extranet.exports). Dates in Paris
    time, said in the header: a file is passed on, the reader's zone unknown."""
    services = _services()
    asked = questions(event)
    header = [
        _("Status"), _("Position on the waiting list"), _("Name"), _("Organisation"), _("Territory"), _("Email"),
        _("Registered by"), _("Registration date (Paris time)"), _("Present"), _("Answers to complete"),
        *[q.label for q in asked],
        _("Workshops"),
    ]
    rows = []
    for row in all_registrants(event):
        registration = row.registration
        rows.append([
            str(registration.status.label),
            str(row.position) if row.position else "",
            row.user.name,
            row.user.organisation,
            row.territory,
            row.user.email,
            registration.registered_by.name if registration.registered_by else _("Self"),
            services.format_time(registration.created_at, PARIS, "yyyy-MM-dd HH:mm"),
            services.format_time(registration.checked_in_at, PARIS, "yyyy-MM-dd HH:mm") if registration.checked_in_at else "",
            _("Yes") if row.incomplete else "",
            *[row.answer(q) for q in asked],
            workshops_text(row),
        ])
    return header, rows


# --- Check-in ---------------------------------------------------------------------------


def set_present(actor, registration: Registration, present: bool, now: datetime | None = None) -> Registration:
    """Mark a registered person present or not; see permissions.check_in_opens_at for when."""
    now = now or utcnow()
    if not can_check_in_registrants(actor, registration.event, now):
        raise ServiceError("forbidden")
    if registration.status != RegistrationStatus.REGISTERED:
        raise ServiceError(_l("Only registered people can be marked present."))
    if present and registration.checked_in_at is None:
        registration.checked_in_at = now
    elif not present:
        registration.checked_in_at = None
    db.session.flush()
    return registration


# --- Messages ----------------------------------------------------------------------------


def may_view(event: Event, users) -> list:
    """Those of ``users`` (active accounts) who may still see the event: a
    person who left its closed group hears no more of it. Their memberships
    are read in one statement, not one per person."""
    users = [user for user in users if user.active]
    unloaded = {user.id for user in users if "memberships" in inspect(user).unloaded}
    if unloaded and event.group is not None and not event.group.is_open:
        # Fills in the memberships of these users, already in the session.
        db.session.scalars(select(User).where(User.id.in_(unloaded)).options(selectinload(User.memberships))).all()
    return [user for user in users if can_view_event(user, event)]


def _recipients(event: Event, include_waitlisted: bool) -> list[Registration]:
    statuses = ACTIVE if include_waitlisted else (RegistrationStatus.REGISTERED,)
    registrations = list(db.session.scalars(
        _registrations_query(event, statuses).options(joinedload(Registration.user).selectinload(User.memberships))
    ).unique())
    allowed = {user.id for user in may_view(event, [r.user for r in registrations])}
    return [r for r in registrations if r.user_id in allowed]


def recipient_count(event: Event, include_waitlisted: bool) -> int:
    return len(_recipients(event, include_waitlisted))


class MessageAlreadySent(ServiceError):
    """The same message from the same author a moment ago (a double click): nothing sent."""


def send_message(actor, event: Event, *, subject: str, body: str, include_waitlisted: bool = False) -> EventMessage:
    """One email per person, in their language, through the outbox; kept as an EventMessage."""
    if not can_message_registrants(actor, event):
        raise ServiceError("forbidden")
    # The row locked: a double click waits for the first send, then finds its record below.
    event = _services()._lock(event)
    now = utcnow()
    sent_just_now = db.session.scalar(
        select(EventMessage.id).where(
            EventMessage.event_id == event.id, EventMessage.author_id == actor.id, EventMessage.subject == subject,
            EventMessage.body == body, EventMessage.created_at >= now - RESEND_GUARD,
        ).limit(1)
    )
    if sent_just_now is not None:
        raise MessageAlreadySent(_l("This message has just been sent: it was not sent a second time."))
    recipients = _recipients(event, include_waitlisted)
    if not recipients:
        raise ServiceError(_l("Nobody is registered yet: there is no one to write to."))
    message = EventMessage(event_id=event.id, author_id=actor.id, subject=subject, body=body,
                           include_waitlisted=include_waitlisted, recipient_count=len(recipients), created_at=now)
    db.session.add(message)
    link = mail.external_url("agenda.detail", event_id=event.id)
    for registration in recipients:
        user = registration.user
        mail.queue(
            user.email,
            "agenda_message",
            language=user.language,
            # Answers go to the organiser who wrote, not to the platform's address.
            headers={"Reply-To": actor.email},
            recipient=user,
            author=actor,
            event=event,
            subject=subject,
            body=body,
            waitlisted=registration.status == RegistrationStatus.WAITLISTED,
            link=link,
        )
    db.session.flush()
    return message


def messages(event: Event) -> list[EventMessage]:
    return list(
        db.session.scalars(
            select(EventMessage).where(EventMessage.event_id == event.id)
            .options(joinedload(EventMessage.author))
            .order_by(EventMessage.created_at.desc(), EventMessage.id.desc())
        )
    )


# --- Cancelling and moving ---------------------------------------------------------------


def _when(event: Event, user) -> dict:
    services = _services()
    locale = user.language or "fr"
    return {
        "when": services.format_time(event.starts_at, user.timezone, locale=locale),
        "until": services.format_time(event.ends_at, user.timezone, locale=locale),
        "timezone": user.timezone,
    }


def cancel_event(actor, event: Event, reason: str = "", now: datetime | None = None) -> int:
    """Cancel the event and email everyone registered or waiting; returns how many were emailed.

    Registrations are kept as they were: people's calendar feeds then carry the
    event with STATUS:CANCELLED, so that their calendars drop it."""
    now = now or utcnow()
    # The row locked, as registration does: nobody takes a seat while it is being cancelled.
    event = db.session.scalars(
        select(Event).where(Event.id == event.id).with_for_update().execution_options(populate_existing=True)
    ).one()
    if not can_cancel_event(actor, event, now):
        raise ServiceError("forbidden")
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now
    event.cancellation_reason = reason
    event.sequence += 1
    event.updated_at = now
    db.session.flush()
    recipients = _recipients(event, include_waitlisted=True)
    link = mail.external_url("agenda.detail", event_id=event.id)
    for registration in recipients:
        user = registration.user
        mail.queue(user.email, "agenda_cancelled", language=user.language, recipient=user, event=event, reason=reason,
                   link=link, **_when(event, user))
    return len(recipients)


def reschedule_values(event: Event) -> dict:
    """What a reschedule compares: call before changing the event, give the result to :func:`announce_changes`."""
    return {name: getattr(event, name) for name in RESCHEDULE_FIELDS}


def announce_changes(actor, event: Event, before: dict, now: datetime | None = None) -> int:
    """Email everyone registered or waiting when the time, the place or the
    joining details changed (the new time in each person's own zone); nothing
    for a cancelled or finished event. Returns how many were emailed."""
    now = now or utcnow()
    changed = [name for name in RESCHEDULE_FIELDS if name in before and before[name] != getattr(event, name)]
    if not changed or event.status != EventStatus.SCHEDULED or event.ends_at <= now:
        return 0
    moved = "starts_at" in changed or "ends_at" in changed
    recipients = _recipients(event, include_waitlisted=True)
    link = mail.external_url("agenda.detail", event_id=event.id)
    services = _services()
    told = 0
    for registration in recipients:
        user = registration.user
        # The joining details, and that they changed, only to those who may see them on the page.
        sees_joining = can_see_joining_details(user, event, registration)
        joining_changed = "joining_details" in changed and sees_joining
        if not (moved or "place" in changed or joining_changed):
            continue  # nothing they may see changed
        locale = user.language or "fr"
        mail.queue(
            user.email,
            "agenda_rescheduled",
            language=user.language,
            recipient=user,
            event=event,
            moved=moved,
            was=services.format_time(before["starts_at"], user.timezone, locale=locale) if moved and before.get("starts_at") else "",
            place_changed="place" in changed,
            joining_changed=joining_changed,
            joining=event.joining_details if sees_joining else "",
            link=link,
            **_when(event, user),
        )
        told += 1
    return told
