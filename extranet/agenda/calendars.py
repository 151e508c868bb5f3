"""The agenda in other calendars: one event as a ``.ics`` download, and a
person's subscription feed behind a secret, revocable link.

The feed lists the events the person is registered to *or waiting for* (a
waiting place shows as STATUS:TENTATIVE: people want the slot kept in their
calendar in case a seat frees up), plus every Amicall they may see. Cancelled
events stay in the feed with STATUS:CANCELLED so that subscribed clients drop
them; a cancelled registration takes the event out (an Amicall stays, as for
everyone). Events that ended more than ``FEED_PAST`` ago are left out, which
keeps the feed small. Joining details (dial-in, video link) are written only
for the people who may see them on the event's page.

Services flush, never commit; nothing here reads ``request``.
"""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from extranet import markdown, tokens
from extranet.agenda.models import CalendarFeed, Event, EventKind, Registration, RegistrationStatus
from extranet.extensions import db
from extranet.ical import CalendarEvent, calendar
from extranet.permissions import can_see_joining_details, can_view_event
from extranet.timeutil import utcnow

TZID = "Europe/Paris"
FEED_PAST = timedelta(days=90)
DESCRIPTION_MAX = 2000


def _aware(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC)


def uid_domain() -> str:
    # The UID must never change for an event: taken from the configured
    # address when there is one, else a constant (never the request's host,
    # which differs between a proxy and a direct hit).
    host = urlsplit(current_app.config.get("BASE_URL") or "").hostname
    return host or "extranet.logement-dabord"


def event_uid(event: Event) -> str:
    return f"event-{event.id}@{uid_domain()}"


@lru_cache(maxsize=4096)
def _description_excerpt(description: str) -> str:
    # Every feed repeats the Amicalls, and calendar clients fetch their feed
    # again every few hours: parsing each description's Markdown once per
    # process, instead of once per event of every request, is half the feed's time.
    return markdown.excerpt(description, DESCRIPTION_MAX)


def calendar_event(user, event: Event, registration: Registration | None, url: str, now: datetime | None = None) -> CalendarEvent:
    now = now or utcnow()
    parts = [_description_excerpt(event.description)] if event.description else []
    location = event.place
    if event.joining_details and can_see_joining_details(user, event, registration):
        parts.append(event.joining_details)
        location = event.joining_details if not location else location
    parts.append(url)
    if event.is_cancelled:
        status = "CANCELLED"
    elif registration is not None and registration.status == RegistrationStatus.WAITLISTED:
        status = "TENTATIVE"
    else:
        status = "CONFIRMED"
    return CalendarEvent(
        uid=event_uid(event),
        sequence=event.sequence,
        dtstamp=_aware(now),
        start=_aware(event.starts_at),
        end=_aware(event.ends_at),
        summary=event.title,
        description="\n\n".join(p for p in parts if p),
        location=location,
        url=url,
        status=status,
        tzid=TZID,
        last_modified=_aware(event.updated_at),
    )


def event_ics(user, event: Event, registration: Registration | None, url: str) -> bytes:
    return calendar([calendar_event(user, event, registration, url)], name=event.title)


def feed_events(user, now: datetime | None = None) -> list[tuple[Event, Registration | None]]:
    """The events of ``user``'s feed, soonest first, each with their registration (or None)."""
    now = now or utcnow()
    mine = select(Registration.event_id).where(
        Registration.user_id == user.id, Registration.status != RegistrationStatus.CANCELLED
    )
    events = db.session.scalars(
        select(Event)
        # can_view_event reads each event's group: one query for all, not one per group.
        .options(selectinload(Event.group))
        .where(Event.ends_at > now - FEED_PAST, or_(Event.kind == EventKind.AMICALL, Event.id.in_(mine)))
        .order_by(Event.starts_at, Event.id)
    ).all()
    registrations = {
        r.event_id: r
        for r in db.session.scalars(
            select(Registration).where(Registration.user_id == user.id, Registration.event_id.in_([e.id for e in events] or [-1]))
        )
    }
    return [(e, registrations.get(e.id)) for e in events if can_view_event(user, e)]


def feed_ics(user, events: list[tuple[Event, Registration | None]], url_for_event, name: str) -> bytes:
    now = utcnow()
    return calendar([calendar_event(user, e, r, url_for_event(e), now) for e, r in events], name=name)


# --- The secret link ------------------------------------------------------------------------


def feed_of(user) -> CalendarFeed | None:
    return db.session.get(CalendarFeed, user.id)


def new_feed_token(actor) -> str:
    """A new secret link for ``actor``'s feed; the previous one stops working. Returns the token (shown once)."""
    token, token_hash = tokens.new_token()
    feed = feed_of(actor)
    if feed is None:
        feed = CalendarFeed(user_id=actor.id)
        db.session.add(feed)
    feed.token_hash = token_hash
    feed.created_at = utcnow()
    db.session.flush()
    return token


def revoke_feed(actor) -> None:
    feed = feed_of(actor)
    if feed is not None:
        db.session.delete(feed)
        db.session.flush()


def user_for_feed_token(token: str):
    """The active account a feed token belongs to, or None (unknown, revoked, deactivated)."""
    if not token or len(token) > 100:
        return None
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == tokens.hash_token(token)))
    if feed is None or not feed.user.active:
        return None
    return feed.user
