"""Events of the agenda and the registrations to them.

Times are naive UTC (see :mod:`extranet.timeutil`); pages show them in the
reader's time zone. ``Event.sequence`` is the iCalendar SEQUENCE: it grows
each time a change matters to a calendar that imported the event.

A registration is ``registered`` (holds a seat), ``waitlisted`` (ordered by
``waitlisted_at`` then id) or ``cancelled``. One row per person and event:
registering again after a cancellation reuses it.
"""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extranet.extensions import db, enum_type
from extranet.timeutil import utcnow

TITLE_MAX = 200


class EventKind(enum.StrEnum):
    AMICALL = "amicall"
    CLUB = "club"
    GROUP_MEETING = "group_meeting"
    WEBINAR = "webinar"

    @property
    def label(self):
        return EVENT_KIND_LABELS[self]


EVENT_KIND_LABELS = {
    EventKind.AMICALL: _l("Amicall"),
    EventKind.CLUB: _l("Club des territoires"),
    EventKind.GROUP_MEETING: _l("Working group meeting"),
    EventKind.WEBINAR: _l("Webinar"),
}


class EventStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RegistrationStatus(enum.StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return REGISTRATION_STATUS_LABELS[self]


REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.REGISTERED: _l("Registered"),
    RegistrationStatus.WAITLISTED: _l("On the waiting list"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
}


event_axis = Table(
    "event_axis",
    db.metadata,
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("axis_id", ForeignKey("axis.id", ondelete="CASCADE"), primary_key=True, index=True),
)


# Materials published after the event (minutes, slides): toolbox documents.
event_document = Table(
    "event_document",
    db.metadata,
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("document_id", ForeignKey("document.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Event(db.Model):
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        CheckConstraint("seats_per_territory IS NULL OR seats_per_territory >= 1", name="seats_per_territory_positive"),
        Index("ix_event_starts_at_id", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    group_id: Mapped[int | None] = mapped_column(ForeignKey("working_group.id", ondelete="SET NULL"), index=True)
    speakers: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(Text, default="")
    # Dial-in number, video link: only for registered people and organisers.
    joining_details: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None]
    registration_opens_at: Mapped[datetime | None]
    registration_deadline: Mapped[datetime | None]
    seats_per_territory: Mapped[int | None]
    status: Mapped[EventStatus] = mapped_column(enum_type(EventStatus), default=EventStatus.SCHEDULED)
    sequence: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A club: how many workshops one person may choose (None: as many as they like).
    max_sessions_per_person: Mapped[int | None]
    # Reminders, in minutes before the start, comma-separated ("1440,60");
    # None: the default for the kind (config EXTRANET_AGENDA_REMINDERS); "": none.
    reminder_offsets: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None]
    cancellation_reason: Mapped[str] = mapped_column(Text, default="")
    # After the event: the recording, and when registrants were told the materials are online.
    recording_url: Mapped[str] = mapped_column(String(1000), default="")
    materials_notified_at: Mapped[datetime | None]

    axes: Mapped[list["Axis"]] = relationship(secondary=event_axis, order_by="Axis.number")  # noqa: F821
    group: Mapped["Group | None"] = relationship()  # noqa: F821
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])  # noqa: F821
    sessions: Mapped[list["EventSession"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(EventSession.position, EventSession.id)",
    )
    questions: Mapped[list["RegistrationQuestion"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(RegistrationQuestion.position, RegistrationQuestion.id)",
    )
    documents: Mapped[list["Document"]] = relationship(secondary=event_document, order_by="Document.title")  # noqa: F821

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.title!r}>"


class EventSession(db.Model):
    """A workshop or session of the programme of a club."""

    __table_args__ = (CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    capacity: Mapped[int | None]
    description: Mapped[str] = mapped_column(Text, default="")
    # Within the event's days; None for a session without its own hours.
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="sessions")


class SessionRegistration(db.Model):
    """A registered person's place in a workshop: ``registered`` or
    ``waitlisted`` (the workshop was full); removed when they drop it."""

    __table_args__ = (
        UniqueConstraint("session_id", "registration_id"),
        Index("ix_session_registration_session_id_status_waitlisted_at", "session_id", "status", "waitlisted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("event_session.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), index=True)
    status: Mapped["RegistrationStatus"] = mapped_column(enum_type(RegistrationStatus))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    waitlisted_at: Mapped[datetime | None]

    session: Mapped[EventSession] = relationship()
    registration: Mapped["Registration"] = relationship(back_populates="session_registrations")


class QuestionKind(enum.StrEnum):
    ATTENDANCE = "attendance"  # in person or remote
    CHOICE = "choice"  # one of the organiser's options
    MULTIPLE = "multiple"  # any of the organiser's options
    TEXT = "text"  # free text: dietary or accessibility needs, anything

    @property
    def label(self):
        return QUESTION_KIND_LABELS[self]


QUESTION_KIND_LABELS = {
    QuestionKind.ATTENDANCE: _l("Attendance mode (in person or remote)"),
    QuestionKind.CHOICE: _l("One choice in a list"),
    QuestionKind.MULTIPLE: _l("Several choices in a list"),
    QuestionKind.TEXT: _l("Free text"),
}


class RegistrationQuestion(db.Model):
    """A question the organisers add to the registration form of their event."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[QuestionKind] = mapped_column(enum_type(QuestionKind))
    label: Mapped[str] = mapped_column(String(300))
    help_text: Mapped[str] = mapped_column(String(500), default="")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The options of a choice, one a line.
    options: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="questions")

    @property
    def option_list(self) -> list[str]:
        return [line.strip() for line in self.options.splitlines() if line.strip()]


class RegistrationAnswer(db.Model):
    """One answer of a registration; several choices are stored one a line."""

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("registration_question.id", ondelete="CASCADE"), primary_key=True, index=True)
    value: Mapped[str] = mapped_column(Text, default="")

    registration: Mapped["Registration"] = relationship(back_populates="answers")
    question: Mapped[RegistrationQuestion] = relationship()


class Registration(db.Model):
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        # Seats taken and the waiting list's order, per event.
        Index("ix_registration_event_id_status_waitlisted_at", "event_id", "status", "waitlisted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # The territory the seat counts for, as it was on registering.
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territory.id", ondelete="SET NULL"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(enum_type(RegistrationStatus))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    waitlisted_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    # A coordinator who registered a member of their territory; None when people registered themselves.
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    event: Mapped[Event] = relationship()
    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    registered_by: Mapped["User | None"] = relationship(foreign_keys=[registered_by_id])  # noqa: F821
    answers: Mapped[list[RegistrationAnswer]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", passive_deletes=True
    )
    session_registrations: Mapped[list[SessionRegistration]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_active(self) -> bool:
        return self.status != RegistrationStatus.CANCELLED


class CalendarFeed(db.Model):
    """A person's calendar subscription: the secret link's SHA-256 only (see
    :mod:`extranet.tokens`), so a leaked database dump opens no feed. One per
    person; regenerating replaces the hash, which revokes the old link."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped["User"] = relationship()  # noqa: F821


class EventReminder(db.Model):
    """A reminder sent: one row per event, offset and start time, so that each
    is sent once, and again if the event is moved to another time."""

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    offset_minutes: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipient_count: Mapped[int] = mapped_column(default=0)


class EventMessage(db.Model):
    """A message the organisers sent to everyone registered, kept for the record."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Who it went to: registered people, and waiting people when chosen.
    include_waitlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    recipient_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped["User | None"] = relationship()  # noqa: F821


from extranet.agenda import search  # noqa: E402, F401  (registers events with the search index)
