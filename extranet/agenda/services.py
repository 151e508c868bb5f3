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
from flask_babel import ngettext
from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import selectinload

from extranet import mail
from extranet.agenda.models import (
    Event,
    EventKind,
    EventSession,
    EventStatus,
    QuestionKind,
    Registration,
    RegistrationAnswer,
    RegistrationQuestion,
    RegistrationStatus,
    SessionRegistration,
)
from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.groups.models import Group
from extranet.permissions import (
    can_cancel_registration,
    can_change_registration,
    can_create_event_for,
    can_edit_event,
    can_edit_programme,
    can_edit_registration_questions,
    is_national,
    is_registration_open,
)
from extranet.plan.models import Axis
from extranet.timeutil import first_of_month_pattern, utcnow

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
    locale = locale or get_locale() or "fr"
    fmt = first_of_month_pattern(fmt, aware.astimezone(ZoneInfo(timezone)).day, locale)
    return babel_format_datetime(aware, fmt, tzinfo=ZoneInfo(timezone), locale=locale)


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


def with_axis(query, axis_id: int | None):
    """Only the events linked to this axis of the plan (None: every event)."""
    if axis_id is None:
        return query
    return query.where(Event.axes.any(Axis.id == axis_id))


def events_between(user, start: datetime, end: datetime, *, axis_id: int | None = None, **filters):
    """The events the user may see that overlap [start, end) (naive UTC),
    soonest first, in one statement whatever their number (and one more for
    their groups). ``filters``: those of :func:`events_query`."""
    return with_axis(events_query(user, now=start, **filters), axis_id).where(Event.starts_at < end)


def next_registrations(user, limit: int = 5, now: datetime | None = None) -> list[tuple[Registration, Event]]:
    """The user's seats and waiting places for events not over yet, soonest first, in one statement."""
    now = now or utcnow()
    return list(
        db.session.execute(
            select(Registration, Event)
            .join(Event, Registration.event_id == Event.id)
            .where(Registration.user_id == user.id, Registration.status != RegistrationStatus.CANCELLED, Event.ends_at > now, _visible_to(user))
            .order_by(Event.starts_at, Event.id)
            .limit(limit)
        )
    )


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
    """The event's row, locked until the transaction ends; fresh values.
    ``populate_existing`` also resets the workshops and questions loaded
    before the lock: read again under it, one an organiser deleted meanwhile
    is never chosen nor answered (a foreign key error on PostgreSQL)."""
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


def register(actor, event: Event, user=None, now: datetime | None = None, *,
             answers: dict[int, str] | None = None, session_ids: list[int] | None = None) -> Registration:
    """Register ``user`` (``actor`` themselves by default): a seat if one is
    free, else the waiting list. Registering again changes nothing.

    ``answers`` (question id → value) and ``session_ids`` (workshops chosen)
    come from the registration form; None means not asked (a coordinator
    registering a member), so required questions are not enforced then.
    Under the same event lock each workshop chosen gives a place if it has
    room, else that workshop's waiting list."""
    user = user or actor
    now = now or utcnow()
    event = _lock(event)
    if not is_registration_open(event, now):
        raise ServiceError(_l("Registration for this event is closed."))
    registration = db.session.scalar(select(Registration).filter_by(event_id=event.id, user_id=user.id))
    if registration is not None and registration.status != RegistrationStatus.CANCELLED:
        return registration
    chosen = _chosen_sessions(event, session_ids or [])
    checked_answers = _checked_answers(event, answers) if answers is not None else None
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
    if checked_answers is not None:
        _save_answers(registration, checked_answers)
    _set_sessions(event, registration, chosen, now)
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
            # Answers and workshops are the member's to give: tell them where, and until when.
            change_link=mail.external_url("agenda.edit_registration", event_id=event.id) if event.questions or event.sessions else None,
            deadline=format_time(event.registration_deadline or event.starts_at, user.timezone, locale=user.language or "fr"),
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
    freed = _drop_sessions(registration)
    db.session.flush()
    if event.is_cancelled or event.starts_at <= now:
        return []
    for session in freed:
        _fill_session(event, session, now)
    if not was_registered:
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
        _seat_in_waiting_sessions(waiting)
        promoted.append(waiting)
    from extranet.agenda.organiser import may_view  # organiser imports this module

    # Not to someone who left the event's closed group since registering.
    for user in may_view(event, [r.user for r in promoted]):
        mail.queue(
            user.email,
            "agenda_promoted",
            language=user.language,
            recipient=user,
            event=event,
            when=format_time(event.starts_at, user.timezone, locale=user.language or "fr"),
            timezone=user.timezone,
            link=mail.external_url("agenda.detail", event_id=event.id),
        )
    return promoted


# --- Workshops and registration questions --------------------------------------------------
#
# A workshop place is a SessionRegistration: ``registered`` while the workshop
# has room, else ``waitlisted`` in that workshop's own queue. People waiting for
# the event itself keep their choices as ``waitlisted`` and get places only once
# they hold a seat in the event. Every change happens under the event's row
# lock, like seats, so that a workshop is never overbooked either.

# The fixed options of an attendance question, stored as these codes.
ATTENDANCE_OPTIONS = {"in_person": _l("In person"), "remote": _l("Remote")}
SESSION_FIELDS = ("title", "description", "starts_at", "ends_at", "capacity", "position")
QUESTION_FIELDS = ("kind", "label", "help_text", "required", "options", "position")


def option_values(question: RegistrationQuestion) -> list[tuple[str, str]]:
    """(stored value, label shown) of a choice question's options."""
    if question.kind == QuestionKind.ATTENDANCE:
        return [(code, str(label)) for code, label in ATTENDANCE_OPTIONS.items()]
    return [(option, option) for option in question.option_list]


def format_answer(question: RegistrationQuestion, value: str | None) -> str:
    """An answer as people read it (lists, exports): labels, several choices joined by commas."""
    if not value:
        return ""
    if question.kind == QuestionKind.ATTENDANCE:
        return str(ATTENDANCE_OPTIONS.get(value, value))
    if question.kind == QuestionKind.MULTIPLE:
        return ", ".join(line for line in value.splitlines() if line)
    return value


def _next_position(model, event: Event) -> int:
    return (db.session.scalar(select(func.max(model.position)).where(model.event_id == event.id)) or 0) + 1


def validate_session(event: Event, values: dict) -> list[tuple[str, str]]:
    """Errors as (field, message), for the form to show beside each field."""
    errors = []
    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if starts_at and ends_at and ends_at <= starts_at:
        errors.append(("ends_at", _l("The end must come after the start.")))
    for name in ("starts_at", "ends_at"):
        value = values.get(name)
        if value and not event.starts_at <= value <= event.ends_at:
            errors.append((name, _l("Choose a time during the event.")))
    return errors


def save_session(actor, event: Event, session: EventSession | None = None, now: datetime | None = None, **values) -> EventSession:
    """Add a workshop (``session`` None) or change one; more room lets its waiting people in."""
    if not can_edit_programme(actor, event):
        raise ServiceError("forbidden")
    errors = validate_session(event, values)
    if errors:
        raise ServiceError(errors[0][1], field=errors[0][0])
    event = _lock(event)
    if session is not None and values.get("capacity") is not None:
        taken = _session_taken(session)
        if values["capacity"] < taken:
            # Nobody loses a place they were given: the organiser frees places first.
            raise ServiceError(ngettext("%(num)s person holds a place in this workshop: enter at least %(num)s.",
                                        "%(num)s people hold a place in this workshop: enter at least %(num)s.", taken), field="capacity")
    if values.get("position") is None:
        values["position"] = session.position if session is not None else _next_position(EventSession, event)
    if session is None:
        session = EventSession(event_id=event.id)
    for name in SESSION_FIELDS:
        if name in values:
            setattr(session, name, values[name])
    db.session.add(session)
    db.session.flush()
    _fill_session(event, session, now or utcnow())
    return session


def delete_session(actor, event: Event, session: EventSession) -> None:
    if not can_edit_programme(actor, event):
        raise ServiceError("forbidden")
    _lock(event)
    # Explicitly, not through ON DELETE CASCADE: SQLite may run without foreign keys.
    for row in db.session.scalars(select(SessionRegistration).where(SessionRegistration.session_id == session.id)):
        db.session.delete(row)
    db.session.delete(session)
    db.session.flush()


def set_max_sessions(actor, event: Event, max_sessions: int | None) -> None:
    """How many workshops one person may choose from now on; choices already made stay."""
    if not can_edit_programme(actor, event):
        raise ServiceError("forbidden")
    event = _lock(event)
    event.max_sessions_per_person = max_sessions
    db.session.flush()


def clean_options(text: str) -> str:
    """One option a line, without blanks or repeats."""
    seen = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and line not in seen:
            seen.append(line)
    return "\n".join(seen)


def save_question(actor, event: Event, question: RegistrationQuestion | None = None, **values) -> RegistrationQuestion:
    if not can_edit_registration_questions(actor, event):
        raise ServiceError("forbidden")
    kind = values.get("kind", question.kind if question else None)
    values["options"] = clean_options(values.get("options", "")) if kind in (QuestionKind.CHOICE, QuestionKind.MULTIPLE) else ""
    if kind in (QuestionKind.CHOICE, QuestionKind.MULTIPLE) and len(values["options"].splitlines()) < 2:
        raise ServiceError(_l("Give at least two options, one a line."), field="options")
    if values.get("position") is None:
        values["position"] = question.position if question is not None else _next_position(RegistrationQuestion, event)
    if question is None:
        question = RegistrationQuestion(event_id=event.id)
    for name in QUESTION_FIELDS:
        if name in values:
            setattr(question, name, values[name])
    db.session.add(question)
    db.session.flush()
    return question


def delete_question(actor, event: Event, question: RegistrationQuestion) -> None:
    if not can_edit_registration_questions(actor, event):
        raise ServiceError("forbidden")
    _lock(event)  # no registration saves an answer to it meanwhile
    for answer in db.session.scalars(select(RegistrationAnswer).where(RegistrationAnswer.question_id == question.id)):
        db.session.delete(answer)
    db.session.delete(question)
    db.session.flush()


def _checked_answers(event: Event, answers: dict[int, str]) -> dict[int, str]:
    """The answers to this event's questions, checked like the form does (the
    service may be called without it); unknown questions are ignored."""
    checked = {}
    for question in event.questions:
        value = (answers.get(question.id) or "").strip()
        field = f"question_{question.id}"
        if question.kind in (QuestionKind.ATTENDANCE, QuestionKind.CHOICE, QuestionKind.MULTIPLE) and value:
            allowed = {v for v, _label in option_values(question)}
            chosen = [line for line in value.splitlines() if line.strip()] if question.kind == QuestionKind.MULTIPLE else [value]
            if question.kind != QuestionKind.MULTIPLE and len(chosen) > 1 or not set(chosen) <= allowed:
                raise ServiceError(_l("Choose one of the options."), field=field)
            value = "\n".join(chosen)
        if question.required and not value:
            raise ServiceError(_l("Answer this question."), field=field)
        checked[question.id] = value
    return checked


def _save_answers(registration: Registration, answers: dict[int, str]) -> None:
    existing = {a.question_id: a for a in db.session.scalars(select(RegistrationAnswer).where(RegistrationAnswer.registration_id == registration.id))}
    for question_id, value in answers.items():
        answer = existing.get(question_id)
        if answer is None:
            if value:
                db.session.add(RegistrationAnswer(registration_id=registration.id, question_id=question_id, value=value))
        elif value:
            answer.value = value
        else:
            db.session.delete(answer)
    db.session.flush()


def answers_of(registration: Registration | None) -> dict[int, str]:
    if registration is None:
        return {}
    rows = db.session.execute(
        select(RegistrationAnswer.question_id, RegistrationAnswer.value).where(RegistrationAnswer.registration_id == registration.id)
    )
    return {question_id: value for question_id, value in rows}


def incomplete_registrations(event: Event, registration_ids) -> set[int]:
    """Those of ``registration_ids`` (a list or a subquery) lacking an answer
    to a required question of the event, as when a coordinator registered
    them or a question was added later: one query."""
    required = [q.id for q in event.questions if q.required]
    if not required:
        return set()
    answered = select(func.count()).select_from(RegistrationAnswer).where(
        RegistrationAnswer.registration_id == Registration.id, RegistrationAnswer.question_id.in_(required),
        RegistrationAnswer.value != "",
    ).scalar_subquery()
    return set(db.session.scalars(select(Registration.id).where(Registration.id.in_(registration_ids), answered < len(required))))


def missing_required(registration: Registration | None) -> bool:
    """Does this registration still lack an answer to a required question?"""
    if registration is None or registration.status == RegistrationStatus.CANCELLED:
        return False
    return registration.id in incomplete_registrations(registration.event, [registration.id])


def _chosen_sessions(event: Event, session_ids) -> list[EventSession]:
    wanted = set(session_ids)
    sessions = [s for s in event.sessions if s.id in wanted]
    if len(sessions) != len(wanted):
        raise ServiceError(_l("Choose workshops from the list."), field="sessions")
    limit = event.max_sessions_per_person
    if limit is not None and len(sessions) > limit:
        raise ServiceError(ngettext("Choose at most %(num)s workshop.", "Choose at most %(num)s workshops.", limit), field="sessions")
    return sessions


def _session_taken(session: EventSession) -> int:
    return db.session.scalar(
        select(func.count()).select_from(SessionRegistration).where(
            SessionRegistration.session_id == session.id, SessionRegistration.status == RegistrationStatus.REGISTERED
        )
    )


def _session_has_room(session: EventSession) -> bool:
    return session.capacity is None or _session_taken(session) < session.capacity


def _session_rows(registration: Registration) -> list[SessionRegistration]:
    return list(db.session.scalars(
        select(SessionRegistration).where(SessionRegistration.registration_id == registration.id).options(selectinload(SessionRegistration.session))
    ))


def _drop_sessions(registration: Registration, session_ids=None) -> list[EventSession]:
    """Remove the registration's places (all, or in these workshops); returns the workshops where a place came free."""
    freed = []
    for row in _session_rows(registration):
        if session_ids is None or row.session_id in session_ids:
            if row.status == RegistrationStatus.REGISTERED:
                freed.append(row.session)
            db.session.delete(row)
    db.session.flush()
    return freed


def _set_sessions(event: Event, registration: Registration, chosen: list[EventSession], now: datetime) -> None:
    """Make the registration's workshops these: dropped ones free their place
    for the next person waiting, new ones give a place if there is room."""
    chosen_ids = {s.id for s in chosen}
    current = {row.session_id for row in _session_rows(registration)}
    freed = _drop_sessions(registration, current - chosen_ids)
    seated = registration.status == RegistrationStatus.REGISTERED
    for session in chosen:
        if session.id in current:
            continue
        row = SessionRegistration(session_id=session.id, registration_id=registration.id, created_at=now)
        if seated and _session_has_room(session):
            row.status = RegistrationStatus.REGISTERED
        else:
            row.status, row.waitlisted_at = RegistrationStatus.WAITLISTED, now
        db.session.add(row)
        db.session.flush()
    for session in freed:
        _fill_session(event, session, now)


def _fill_session(event: Event, session: EventSession, now: datetime) -> list[SessionRegistration]:
    """With the event locked: the people waiting for this workshop who hold a
    seat in the event take its free places, in order, and are told by email."""
    promoted = []
    waiting = db.session.scalars(
        select(SessionRegistration)
        .join(Registration, SessionRegistration.registration_id == Registration.id)
        .where(
            SessionRegistration.session_id == session.id,
            SessionRegistration.status == RegistrationStatus.WAITLISTED,
            Registration.status == RegistrationStatus.REGISTERED,
        )
        .options(selectinload(SessionRegistration.registration).selectinload(Registration.user))
        .order_by(SessionRegistration.waitlisted_at, SessionRegistration.id)
    )
    for row in waiting:
        if not _session_has_room(session):
            break
        row.status, row.waitlisted_at = RegistrationStatus.REGISTERED, None
        db.session.flush()
        promoted.append(row)
    from extranet.agenda.organiser import may_view  # organiser imports this module

    # Not to someone who left the event's closed group since registering.
    for user in may_view(event, [row.registration.user for row in promoted]):
        mail.queue(
            user.email,
            "agenda_session_promoted",
            language=user.language,
            recipient=user,
            event=event,
            session=session,
            when=format_time(session.starts_at or event.starts_at, user.timezone, locale=user.language or "fr"),
            timezone=user.timezone,
            link=mail.external_url("agenda.detail", event_id=event.id),
        )
    return promoted


def _seat_in_waiting_sessions(registration: Registration) -> None:
    """Someone just got a seat in the event: their workshop choices, kept
    waiting meanwhile, become places where there is room (the event's
    promotion email tells them; the page shows which)."""
    rows = sorted(_session_rows(registration), key=lambda r: (r.session.position, r.session_id))
    for row in rows:
        if row.status == RegistrationStatus.WAITLISTED and _session_has_room(row.session):
            row.status, row.waitlisted_at = RegistrationStatus.REGISTERED, None
            db.session.flush()


def update_registration(actor, registration: Registration, *, answers: dict[int, str] | None = None,
                        session_ids: list[int] | None = None, now: datetime | None = None) -> Registration:
    """Its holder changes their answers and workshops until registration closes."""
    now = now or utcnow()
    event = _lock(registration.event)
    db.session.refresh(registration)
    if not can_change_registration(actor, registration, now):
        raise ServiceError(_l("Your registration can no longer be changed."))
    chosen = _chosen_sessions(event, session_ids) if session_ids is not None else None
    if answers is not None:
        _save_answers(registration, _checked_answers(event, answers))
    if chosen is not None:
        _set_sessions(event, registration, chosen, now)
    registration.updated_at = now
    db.session.flush()
    return registration


def leave_session(actor, registration: Registration, session: EventSession, now: datetime | None = None) -> None:
    """Leave one workshop (or its waiting list); the place goes to the next person waiting."""
    now = now or utcnow()
    event = _lock(registration.event)
    db.session.refresh(registration)
    if not can_cancel_registration(actor, registration, now):
        raise ServiceError(_l("This workshop can no longer be left."))
    freed = _drop_sessions(registration, {session.id})
    if not event.is_cancelled and event.starts_at > now:
        for freed_session in freed:
            _fill_session(event, freed_session, now)


def session_counts(event: Event) -> dict[int, dict[str, int]]:
    """Places taken and people waiting per workshop, in one query."""
    rows = db.session.execute(
        select(SessionRegistration.session_id, SessionRegistration.status, func.count())
        .join(EventSession, SessionRegistration.session_id == EventSession.id)
        .where(EventSession.event_id == event.id)
        .group_by(SessionRegistration.session_id, SessionRegistration.status)
    )
    counts: dict[int, dict[str, int]] = {s.id: {"registered": 0, "waitlisted": 0} for s in event.sessions}
    for session_id, status, n in rows:
        counts.setdefault(session_id, {"registered": 0, "waitlisted": 0})[str(status)] = n
    return counts


def session_places(registration: Registration | None) -> list[SessionRegistration]:
    """A registration's workshops (places and waiting), in programme order."""
    if registration is None:
        return []
    return sorted(_session_rows(registration), key=lambda r: (r.session.position, r.session_id))


def workshops_by_event(user, event_ids) -> dict[int, list[SessionRegistration]]:
    """The user's workshops (held or waited for) per event, for lists: one query."""
    if not event_ids:
        return {}
    rows = db.session.scalars(
        select(SessionRegistration)
        .join(Registration, SessionRegistration.registration_id == Registration.id)
        .join(EventSession, SessionRegistration.session_id == EventSession.id)
        .where(Registration.user_id == user.id, Registration.event_id.in_(list(event_ids)), Registration.status != RegistrationStatus.CANCELLED)
        .options(selectinload(SessionRegistration.session))
        .order_by(Registration.event_id, EventSession.position, EventSession.id)
    )
    result: dict[int, list[SessionRegistration]] = {}
    for row in rows:
        result.setdefault(row.session.event_id, []).append(row)
    return result
