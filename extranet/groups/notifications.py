"""Emails about discussions: each new message, the daily digest, mentions,
and unsubscribing in one click.

Who hears of what
-----------------
- Members follow the threads opened in their group while they are members,
  and the threads they write in (``ThreadSubscription``, see the services);
  "stop following" mutes one thread.
- For each group, a member chooses (``GroupMembership.notification``):
  EACH, an email for each new message of the threads they follow there;
  DIGEST, one email a day for all their "digest" groups together (see below);
  NONE, nothing.
- A mention (``@[Name](user:12)``) reaches the person mentioned whatever their
  preference, and whether they follow the thread or not, if they may read it;
  they follow it from then on. Accounts that are not members (the national
  team in a closed group, anyone in an open one) receive mentions only: the
  group's emails go with a membership, whose preference they follow.
- Never to the author, never to a deactivated account, never to someone who
  may not read the thread: ``permissions.can_read_thread`` is asked again at
  each message, since access may have changed since they subscribed (a thread
  moved into a closed group, a group that became closed).

Digests
-------
One email per person and per day, not per group: someone who follows five
groups this way wants one email in the morning, not five. It lists, group by
group, the threads they follow with new messages (by others) since the last
digest of that group (``GroupMembership.digest_sent_at``). A group's digest is
due when it was last sent before today (Europe/Paris), so running
``send-digests`` twice a day sends nothing the second time; a membership
that has never had one starts one day back (or at joining). The send-mail
worker runs the digests once a day from ``DIGEST_HOUR``.

Unsubscribing
-------------
Every one of these emails carries a signed link (``extranet.tokens``, valid
``UNSUBSCRIBE_MAX_AGE``) naming the person and the group(s) the email is
about (all the groups of a digest), in the body (a page asking to confirm)
and in the List-Unsubscribe header (RFC 8058 one-click). Unsubscribing sets
the preference of those groups to NONE; mentions still come.
"""

import logging
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import selectinload

from extranet import mail, tokens
from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups import services
from extranet.groups.models import (
    Group,
    GroupMembership,
    Message,
    NotificationPreference,
    SubscriptionReason,
    Thread,
    ThreadSubscription,
)
from extranet.markdown import excerpt, mentioned_user_ids
from extranet.permissions import can_read_thread
from extranet.timeutil import utcnow

log = logging.getLogger(__name__)

EXCERPT_LENGTH = 500
# A message mentioning more people than this mails only this many of them
# (the lowest account ids): a mention is a call to someone, not a mailing list.
MAX_MENTIONS_NOTIFIED = 50
DIGEST_EXCERPT_LENGTH = 200
DIGEST_THREADS_PER_GROUP = 20
# A membership without a digest yet looks this far back (never before joining).
DIGEST_FIRST_WINDOW = timedelta(days=1)
DIGEST_TIMEZONE = ZoneInfo("Europe/Paris")
UNSUBSCRIBE_PURPOSE = "group-unsubscribe"
UNSUBSCRIBE_MAX_AGE = timedelta(days=90)
UNSUBSCRIBE_MAX_GROUPS = 200
# Links in mails built outside a request without EXTRANET_BASE_URL (development
# only: production requires it): the address `make run` serves.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"
MAIL_DOMAIN = "logement-dabord.extranet"

_paused: ContextVar[bool] = ContextVar("group_notifications_paused", default=False)


@contextmanager
def paused():
    """No email for what is posted inside (demo data: old conversations nobody needs to hear of)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


# --- Unsubscribe links -------------------------------------------------------------


def unsubscribe_token(user_id: int, group_ids: Iterable[int]) -> str:
    return tokens.sign(UNSUBSCRIBE_PURPOSE, {"u": int(user_id), "g": sorted({int(g) for g in group_ids})})


def unsubscribe_links(user_id: int, group_ids: Iterable[int]) -> tuple[str, str]:
    """(the page that asks to confirm, the RFC 8058 one-click address)."""
    token = unsubscribe_token(user_id, group_ids)
    return (mail.external_url("groups.unsubscribe", token=token), mail.external_url("groups.unsubscribe_one_click", token=token))


@dataclass
class Unsubscription:
    """What an unsubscribe link is about."""

    user: User
    groups: list[Group]

    def membership(self, group: Group) -> GroupMembership | None:
        return services.membership(self.user, group)


def read_unsubscribe_token(token: str) -> Unsubscription:
    """Raises ``tokens.InvalidToken`` (``expired`` or not); also when the account or all the groups are gone."""
    data = tokens.unsign(UNSUBSCRIBE_PURPOSE, token, UNSUBSCRIBE_MAX_AGE)
    if not isinstance(data, dict):
        raise tokens.InvalidToken()
    user_id, group_ids = data.get("u"), data.get("g")
    if (not isinstance(user_id, int) or not isinstance(group_ids, list) or not group_ids or len(group_ids) > UNSUBSCRIBE_MAX_GROUPS
            or not all(isinstance(g, int) for g in group_ids)):
        raise tokens.InvalidToken()
    user = db.session.scalar(select(User).where(User.id == user_id).options(selectinload(User.memberships)))
    groups = list(db.session.scalars(select(Group).where(Group.id.in_(group_ids)).order_by(func.lower(Group.name), Group.id)))
    if user is None or not groups:
        raise tokens.InvalidToken()
    return Unsubscription(user, groups)


def unsubscribe(actor, groups: Iterable[Group]) -> list[Group]:
    """The emails of these groups stop for ``actor`` (who holds the link):
    their preference becomes NONE where they are a member. Returns the groups
    whose preference changed."""
    changed = []
    for group in groups:
        if services.membership(actor, group) is not None and services.set_notification(actor, group, NotificationPreference.NONE):
            changed.append(group)
    return changed


# --- Each message, and mentions ------------------------------------------------------------


def _accounts(user_ids: Iterable[int]) -> list[User]:
    """Active accounts, their memberships loaded (the permissions read them)."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    return list(db.session.scalars(
        select(User).where(User.id.in_(ids), User.active.is_(True)).options(selectinload(User.memberships)).order_by(User.id)
    ))


def _thread_headers(thread: Thread) -> dict[str, str]:
    # Mail clients put the emails of one thread together, and can filter a group's.
    return {
        "References": f"<thread-{thread.id}@{MAIL_DOMAIN}>",
        "List-Id": f"<{thread.group.slug}.groups.{MAIL_DOMAIN}>",
    }


def _queue(user: User, template: str, groups: list[Group], headers: dict[str, str] | None = None, **context) -> None:
    page, one_click = unsubscribe_links(user.id, [g.id for g in groups])
    mail.queue(user.email, template, language=user.language, unsubscribe_url=one_click, headers=headers,
               recipient=user, unsubscribe_link=page, **context)


def _message_context(message: Message) -> dict:
    thread = message.thread
    return dict(
        message=message,
        thread=thread,
        group=thread.group,
        author_name=message.author.name if message.author else "",
        text=excerpt(message.body, EXCERPT_LENGTH),
        link=mail.external_url("groups.message", message_id=message.id),
        group_link=mail.external_url("groups.detail", slug=thread.group.slug),
    )


def notify_mentions(message: Message, user_ids: Iterable[int]) -> set[int]:
    """Tell the people mentioned in ``message`` who may read its thread, and
    make them follow it (unless they chose to stop). Returns their ids."""
    thread = message.thread
    notified = set()
    context = None
    wanted = sorted(set(user_ids) - {message.author_id})[:MAX_MENTIONS_NOTIFIED]
    for user in _accounts(wanted):
        if not can_read_thread(user, thread):
            continue  # a closed group: its discussions, emails included, stay inside
        services.subscribe(user.id, thread, SubscriptionReason.MENTION)
        context = context or _message_context(message)
        _queue(user, "group_mention", [thread.group], headers=_thread_headers(thread),
               is_member=services.membership(user, thread.group) is not None, **context)
        notified.add(user.id)
    return notified


def _each_message_followers(message: Message, leave_out: set[int]) -> list[User]:
    """Active members following the thread who want an email for each message."""
    thread = message.thread
    query = (
        select(User)
        .join(ThreadSubscription, ThreadSubscription.user_id == User.id)
        .join(GroupMembership, and_(GroupMembership.user_id == User.id, GroupMembership.group_id == thread.group_id))
        .where(
            ThreadSubscription.thread_id == thread.id,
            ThreadSubscription.muted.is_(False),
            User.active.is_(True),
            GroupMembership.notification == NotificationPreference.EACH,
        )
        .options(selectinload(User.memberships))
        .order_by(User.id)
    )
    if leave_out:
        query = query.where(User.id.not_in(leave_out))
    return list(db.session.scalars(query))


def on_message_posted(message: Message, new_thread: bool = False) -> None:
    if _paused.get():
        return
    thread = message.thread
    mentioned = notify_mentions(message, mentioned_user_ids(message.body))
    followers = [u for u in _each_message_followers(message, mentioned | {message.author_id or 0}) if can_read_thread(u, thread)]
    if not followers:
        return
    context = _message_context(message)
    for user in followers:
        _queue(user, "group_message", [thread.group], headers=_thread_headers(thread), new_thread=new_thread, **context)


def on_message_edited(message: Message) -> None:
    """Only the people the edit mentions for the first time: the others were told already."""
    if _paused.get():
        return
    before = set()
    for revision in message.revisions:
        before |= mentioned_user_ids(revision.body)
    notify_mentions(message, mentioned_user_ids(message.body) - before)


services.message_posted.connect(on_message_posted)
services.message_edited.connect(on_message_edited)


# --- Daily digests ----------------------------------------------------------------------


def day_start(now: datetime) -> datetime:
    """Midnight of ``now``'s day in Europe/Paris, as naive UTC like the stored times."""
    local = now.replace(tzinfo=UTC).astimezone(DIGEST_TIMEZONE)
    midnight = datetime.combine(local.date(), datetime.min.time(), tzinfo=DIGEST_TIMEZONE)
    return midnight.astimezone(UTC).replace(tzinfo=None)


def digest_day(now: datetime, hour: int) -> date | None:
    """The day (Europe/Paris) whose digests are due at ``now``, or None before ``hour`` o'clock."""
    local = now.replace(tzinfo=UTC).astimezone(DIGEST_TIMEZONE)
    return local.date() if local.hour >= hour else None


def _due(now: datetime):
    start = day_start(now)
    return and_(
        GroupMembership.notification == NotificationPreference.DIGEST,
        or_(GroupMembership.digest_sent_at.is_(None), GroupMembership.digest_sent_at < start),
    )


def digest_recipient_ids(now: datetime) -> list[int]:
    """Active accounts with at least one group whose digest is due."""
    return list(db.session.scalars(
        select(GroupMembership.user_id).join(User, User.id == GroupMembership.user_id)
        .where(_due(now), User.active.is_(True)).distinct().order_by(GroupMembership.user_id)
    ))


@dataclass
class DigestThread:
    thread: Thread
    count: int  # new messages
    first: Message  # the first of them

    @property
    def is_new(self) -> bool:
        return self.first.number == 1


@dataclass
class DigestGroup:
    group: Group
    threads: list[DigestThread] = field(default_factory=list)
    more: int = 0  # threads with new messages not listed
    unsubscribe_link: str = ""
    link: str = ""


class DigestTaken(Exception):
    """Another run is sending this person's digest (or has just sent it)."""


def queue_digest(user: User, now: datetime) -> int:
    """Queue ``user``'s digest of their due groups; returns how many new
    messages it lists (0: nothing new, no email). Either way those groups'
    digests are done for today. Raises :class:`DigestTaken` when another run
    claimed them first: the caller rolls back."""
    due = list(db.session.scalars(
        select(GroupMembership).where(GroupMembership.user_id == user.id, _due(now)).options(selectinload(GroupMembership.group))
    ))
    if not due:
        return 0
    since = {m.group_id: m.digest_sent_at or max(m.joined_at, now - DIGEST_FIRST_WINDOW) for m in due}
    # The claim: only one run updates these rows while they are due (PostgreSQL
    # makes a concurrent one wait for our commit, then finds them done).
    claimed = db.session.execute(
        update(GroupMembership)
        .where(GroupMembership.id.in_([m.id for m in due]), _due(now))
        .values(digest_sent_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != len(due):
        raise DigestTaken()

    new_messages = and_(
        or_(*(and_(Thread.group_id == group_id, Message.created_at > start) for group_id, start in since.items())),
        Message.created_at <= now,
        Message.deleted_at.is_(None),
        or_(Message.author_id.is_(None), Message.author_id != user.id),
    )
    rows = db.session.execute(
        select(Message.thread_id, func.count(Message.id), func.min(Message.id), func.max(Message.created_at))
        .join(Thread, Thread.id == Message.thread_id)
        .join(ThreadSubscription, and_(ThreadSubscription.thread_id == Thread.id, ThreadSubscription.user_id == user.id,
                                       ThreadSubscription.muted.is_(False)))
        .where(new_messages)
        .group_by(Message.thread_id)
    ).all()
    if not rows:
        return 0
    threads = {t.id: t for t in db.session.scalars(select(Thread).where(Thread.id.in_([r[0] for r in rows])))}
    firsts = {m.id: m for m in db.session.scalars(
        select(Message).where(Message.id.in_([r[2] for r in rows])).options(selectinload(Message.author))
    )}
    sections = {m.group_id: DigestGroup(m.group) for m in due}
    total = 0
    for thread_id, count, first_id, _latest in sorted(rows, key=lambda r: r[3], reverse=True):
        thread = threads[thread_id]
        if not can_read_thread(user, thread):
            continue
        section = sections[thread.group_id]
        total += count
        if len(section.threads) < DIGEST_THREADS_PER_GROUP:
            section.threads.append(DigestThread(thread, count, firsts[first_id]))
        else:
            section.more += 1
    listed = sorted((s for s in sections.values() if s.threads), key=lambda s: s.group.name.casefold())
    if not listed:
        return 0
    for section in listed:
        section.link = mail.external_url("groups.detail", slug=section.group.slug)
        section.unsubscribe_link = unsubscribe_links(user.id, [section.group.id])[0]
    _queue(user, "group_digest", [m.group for m in due], sections=listed, total=total,
           excerpt_length=DIGEST_EXCERPT_LENGTH, message_link=lambda m: mail.external_url("groups.message", message_id=m.id))
    return total


@dataclass
class DigestReport:
    sent: int = 0  # emails queued
    messages: int = 0  # new messages they list
    empty: int = 0  # people with nothing new

    def __bool__(self) -> bool:
        return bool(self.sent or self.empty)

    def __str__(self) -> str:
        return f"{self.sent} digest(s) queued, listing {self.messages} new message(s); {self.empty} person(s) with nothing new"


def send_digests(app=None, now: datetime | None = None) -> DigestReport:
    """Queue the digests due today, committing person by person (an
    interrupted run resumes where it stopped). Safe to run again, or in two
    processes at once: nobody gets two digests the same day."""
    app = app or current_app._get_current_object()
    report = DigestReport()
    # Outside a request, mail links need EXTRANET_BASE_URL (required in production).
    context = app.app_context() if app.config["BASE_URL"] else app.test_request_context("/", base_url=DEVELOPMENT_BASE_URL)
    with context:
        now = now or utcnow()
        for user_id in digest_recipient_ids(now):
            user = db.session.scalar(select(User).where(User.id == user_id).options(selectinload(User.memberships)))
            try:
                count = queue_digest(user, now)
            except DigestTaken:
                db.session.rollback()
                continue
            db.session.commit()
            if count:
                report.sent += 1
                report.messages += count
            else:
                report.empty += 1
    return report

