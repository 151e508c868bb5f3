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
from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
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

    axes: Mapped[list["Axis"]] = relationship(secondary=event_axis, order_by="Axis.number")  # noqa: F821
    group: Mapped["Group | None"] = relationship()  # noqa: F821
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])  # noqa: F821
    sessions: Mapped[list["EventSession"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True, order_by="EventSession.id"
    )

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

    event: Mapped[Event] = relationship(back_populates="sessions")


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
