"""Working group services: groups, membership, join requests, threads, messages,
unread state.

Like every service, they take the acting user explicitly, check the permission
predicates again (a form can be posted by hand), change models and flush; the
view commits and talks to the user.

For the features built on top of discussions (notifications, digests,
mentions): :data:`message_posted` is sent once a new message is flushed (the
first message of a thread included), :data:`message_edited` once an edit is,
:func:`subscribers` and :func:`members_to_notify` say who follows a thread or
a group. The receivers live in :mod:`extranet.groups.notifications`.
"""

import re
import unicodedata
from dataclasses import dataclass

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from extranet import mail, storage
from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.groups.models import (
    Group,
    GroupMembership,
    JoinRequest,
    JoinRequestStatus,
    Message,
    MessageAttachment,
    MessageRevision,
    NotificationPreference,
    SubscriptionReason,
    Thread,
    ThreadRead,
    ThreadSubscription,
)
from extranet.permissions import (
    can_create_group,
    can_create_thread,
    can_decide_join_request,
    can_delete_message,
    can_edit_group,
    can_edit_message,
    can_join_group,
    can_leave_group,
    can_lock_thread,
    can_move_thread,
    can_pin_thread,
    can_receive_thread,
    can_reply_to_thread,
    can_request_to_join_group,
)
from extranet.plan.models import Axis
from extranet.roles import Role
from extranet.timeutil import utcnow

GROUPS_PER_PAGE = 30
THREADS_PER_PAGE = 20
MESSAGES_PER_PAGE = 20
MEMBERS_PER_PAGE = 50
DOCUMENTS_SHOWN = 10
MAX_ATTACHMENTS = 5
TITLE_MAX = 200
BODY_MAX = 20_000
JOIN_MESSAGE_MAX = 2_000

_signals = Namespace()
# Sent with the new Message as sender, after its flush; ``new_thread`` says
# whether it opened its thread. Receivers may add to the session (mail.queue):
# the view commits them with the message.
message_posted = _signals.signal("message-posted")
# Sent with the edited Message as sender, after its flush; its former text is
# its latest revision.
message_edited = _signals.signal("message-edited")


# --- Helpers -----------------------------------------------------------------------


def _insert(model):
    """An INSERT that can skip or merge with an existing row, on SQLite and PostgreSQL alike."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model)


def latest_message_id() -> int:
    return db.session.scalar(select(func.max(Message.id))) or 0


def slugify(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].strip("-") or "groupe"


# Addresses under /groups/ that are not groups.
RESERVED_SLUGS = frozenset({"mine", "new", "threads", "messages", "attachments", "unsubscribe"})


def _unique_slug(name: str) -> str:
    base = slugify(name)
    taken = set(RESERVED_SLUGS) | set(db.session.scalars(select(Group.slug).where(or_(Group.slug == base, Group.slug.like(f"{base}-%")))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _axes(axis_ids) -> list[Axis]:
    ids = {int(i) for i in axis_ids or ()}
    axes = list(db.session.scalars(select(Axis).where(Axis.id.in_(ids)).order_by(Axis.number))) if ids else []
    if len(axes) != len(ids):
        raise ServiceError("axes", field="axes")
    return axes


def membership(user, group) -> GroupMembership | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return next((m for m in user.memberships if m.group_id == group.id), None)


def _add_member_once(group: Group, user: User) -> GroupMembership:
    """``user`` becomes a member, unless they already are: another request (a
    second tab, a double click, another animator) may have made them one since
    we looked. One statement that skips an existing row, so losing that race
    is neither an error nor a broken transaction."""
    db.session.execute(
        _insert(GroupMembership)
        .values(group_id=group.id, user_id=user.id, is_animator=False, joined_at=utcnow(), notification=NotificationPreference.EACH,
                # Someone who joins has nothing to catch up on, as in _new_membership.
                read_up_to_message_id=latest_message_id())
        .on_conflict_do_nothing(index_elements=["group_id", "user_id"])
    )
    db.session.expire(user, ["memberships"])
    return db.session.scalar(select(GroupMembership).where(GroupMembership.group_id == group.id, GroupMembership.user_id == user.id))


def _new_membership(group: Group, user: User, *, is_animator: bool = False) -> GroupMembership:
    # Someone who joins has nothing to catch up on: what was written before is not "new".
    member = GroupMembership(group=group, user=user, is_animator=is_animator, joined_at=utcnow(),
                             notification=NotificationPreference.EACH, read_up_to_message_id=latest_message_id())
    db.session.add(member)
    return member


# --- Groups ---------------------------------------------------------------------------


def _check_name(name: str, group: Group | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("name", field="name")
    same = select(Group.id).where(func.lower(Group.name) == name.lower())
    if group is not None and group.id is not None:
        same = same.where(Group.id != group.id)
    if db.session.scalar(same.limit(1)) is not None:
        raise ServiceError("name_taken", field="name")
    return name


def _animators(animator_ids) -> list[User]:
    ids = {int(i) for i in animator_ids or ()}
    users = list(db.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)))) if ids else []
    if len(users) != len(ids):
        raise ServiceError("animators", field="animators")
    return users


def _set_animators(group: Group, users: list[User]) -> None:
    """The chosen people animate the group (and so are members); former animators stay members."""
    wanted = {u.id: u for u in users}
    current = {m.user_id: m for m in db.session.scalars(select(GroupMembership).where(GroupMembership.group_id == group.id))} if group.id else {}
    for user_id, member in current.items():
        member.is_animator = user_id in wanted
    for user_id, user in wanted.items():
        if user_id not in current:
            _new_membership(group, user, is_animator=True)
            _close_pending_requests(group, user_id)


def create_group(actor, *, name: str, description: str, axis_ids=(), is_open: bool = True, animator_ids=()) -> Group:
    if not can_create_group(actor):
        raise ServiceError("forbidden")
    now = utcnow()
    name = _check_name(name)
    group = Group(name=name, slug=_unique_slug(name), description=(description or "").strip(), is_open=bool(is_open),
                  created_at=now, updated_at=now, created_by_id=actor.id)
    group.axes = _axes(axis_ids)
    animators = _animators(animator_ids)
    db.session.add(group)
    db.session.flush()
    _set_animators(group, animators)
    db.session.flush()
    return group


def update_group(actor, group: Group, *, name: str, description: str, axis_ids=(), is_open: bool, animator_ids=(),
                 archived: bool = False) -> bool:
    """False when nothing changed."""
    if not can_edit_group(actor, group):
        raise ServiceError("forbidden")
    name = _check_name(name, group)
    axes = _axes(axis_ids)
    animators = _animators(animator_ids)
    values = dict(name=name, description=(description or "").strip(), is_open=bool(is_open))
    changed = any(getattr(group, key) != value for key, value in values.items())
    changed |= [a.id for a in axes] != [a.id for a in group.axes]
    changed |= {u.id for u in animators} != {m.user_id for m in group.animator_memberships}
    changed |= bool(archived) != group.is_archived
    if not changed:
        return False
    for key, value in values.items():
        setattr(group, key, value)
    group.axes = axes
    if archived and group.archived_at is None:
        _close_all_pending_requests(group)
    group.archived_at = (group.archived_at or utcnow()) if archived else None
    group.updated_at = utcnow()
    _set_animators(group, animators)
    db.session.flush()
    db.session.expire(group, ["animator_memberships"])
    return True


# --- Membership ------------------------------------------------------------------------


def _close_pending_requests(group: Group, user_id: int) -> None:
    db.session.execute(
        update(JoinRequest)
        .where(JoinRequest.group_id == group.id, JoinRequest.user_id == user_id, JoinRequest.status == JoinRequestStatus.PENDING)
        .values(status=JoinRequestStatus.WITHDRAWN, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _close_all_pending_requests(group: Group) -> None:
    """An archived group takes no member: its waiting requests are closed as
    withdrawn (made pointless), without an email. Archiving may close many at
    once, and a mail to each requester would be a burst of mail about a
    decision nobody made on them; the group page says it is archived."""
    db.session.execute(
        update(JoinRequest)
        .where(JoinRequest.group_id == group.id, JoinRequest.status == JoinRequestStatus.PENDING)
        .values(status=JoinRequestStatus.WITHDRAWN, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def join(actor, group: Group) -> GroupMembership:
    """Join at once; joining again (a second tab, a double click) changes nothing."""
    if not can_join_group(actor, group):
        raise ServiceError("forbidden")
    member = _add_member_once(group, actor)
    _close_pending_requests(group, actor.id)
    db.session.flush()
    db.session.expire(actor, ["memberships"])
    return member


def leave(actor, group: Group) -> None:
    """Leave the group; its threads no longer concern the former member."""
    if not can_leave_group(actor, group):
        raise ServiceError("forbidden")
    db.session.execute(delete(GroupMembership).where(GroupMembership.group_id == group.id, GroupMembership.user_id == actor.id))
    db.session.execute(
        delete(ThreadSubscription)
        .where(ThreadSubscription.user_id == actor.id, ThreadSubscription.thread_id.in_(select(Thread.id).where(Thread.group_id == group.id)))
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.expire(actor, ["memberships"])
    db.session.expire(group, ["animator_memberships"])


def pending_request(user, group: Group) -> JoinRequest | None:
    return db.session.scalar(
        select(JoinRequest)
        .where(JoinRequest.group_id == group.id, JoinRequest.user_id == user.id, JoinRequest.status == JoinRequestStatus.PENDING)
        .order_by(JoinRequest.id.desc())
        .limit(1)
    )


def _deciders(group: Group) -> list[User]:
    """Who hears of a join request: the group's active animators, else the national animators and admins."""
    animators = [u for u in group.animators if u.active]
    if animators:
        return animators
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.role.in_((Role.ADMIN, Role.ANIMATOR))).order_by(User.id)))


def request_to_join(actor, group: Group, message: str = "") -> JoinRequest:
    """Ask to join; a request already waiting (sent from another tab at the
    same moment) is returned as it is, and the deciders are not mailed twice."""
    if not can_request_to_join_group(actor, group):
        raise ServiceError("forbidden")
    # Two requests at once must not both see "nothing pending": on PostgreSQL
    # the group's row is held until the commit (NO KEY UPDATE: rows that merely
    # refer to the group are not blocked), which also orders this request
    # against the group being archived; SQLite runs one writer at a time and
    # the INSERT below checks and writes in one statement.
    archived_at = db.session.scalar(select(Group.archived_at).where(Group.id == group.id).with_for_update(key_share=True))
    if archived_at is not None:
        raise ServiceError("archived")
    now = utcnow()
    waiting = select(JoinRequest.id).where(
        JoinRequest.group_id == group.id, JoinRequest.user_id == actor.id, JoinRequest.status == JoinRequestStatus.PENDING
    )
    inserted = db.session.execute(
        insert(JoinRequest)
        .from_select(
            ["group_id", "user_id", "message", "status", "created_at"],
            select(literal(group.id), literal(actor.id), literal((message or "").strip()[:JOIN_MESSAGE_MAX]),
                   literal(JoinRequestStatus.PENDING.value), literal(now)).where(~exists(waiting)),
        )
        .returning(JoinRequest.id)
    ).scalar_one_or_none()
    if inserted is None:
        return pending_request(actor, group)
    request = db.session.get(JoinRequest, inserted)
    link = mail.external_url("groups.requests", slug=group.slug)
    for decider in _deciders(group):
        mail.queue(decider.email, "group_join_requested", language=decider.language, recipient=decider, requester=actor,
                   group=group, join_request=request, link=link)
    return request


def withdraw_request(actor, join_request: JoinRequest) -> None:
    if join_request.user_id != actor.id or not join_request.is_pending:
        raise ServiceError("forbidden")
    join_request.status = JoinRequestStatus.WITHDRAWN
    join_request.decided_at = utcnow()
    db.session.flush()


def decide(actor, join_request: JoinRequest, *, accept: bool) -> JoinRequest:
    """Accept or refuse a pending request; the requester gets an email either way.
    Of two animators deciding at once, one wins: the other gets ``decided``."""
    if not can_decide_join_request(actor, join_request):
        raise ServiceError("archived" if join_request.group.is_archived else "forbidden")
    group, requester = join_request.group, join_request.user
    status = JoinRequestStatus.ACCEPTED if accept else JoinRequestStatus.REFUSED
    now = utcnow()
    # The status changes only if it is still pending in the database, not in
    # the copy loaded with the page: on PostgreSQL the second UPDATE waits for
    # the first to commit, then finds nothing pending and changes no row.
    won = db.session.execute(
        update(JoinRequest)
        .where(JoinRequest.id == join_request.id, JoinRequest.status == JoinRequestStatus.PENDING)
        .values(status=status, decided_by_id=actor.id, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        db.session.expire(join_request)
        raise ServiceError("decided")
    for key, value in dict(status=status, decided_by_id=actor.id, decided_at=now).items():
        set_committed_value(join_request, key, value)
    if accept:
        _add_member_once(group, requester)
    db.session.flush()
    if requester.active:
        mail.queue(
            requester.email,
            "group_join_accepted" if accept else "group_join_refused",
            language=requester.language,
            requester=requester,
            group=group,
            decider=actor,
            link=mail.external_url("groups.detail", slug=group.slug) if accept else mail.external_url("groups.index"),
        )
    return join_request


def set_notification(actor, group: Group, preference: NotificationPreference) -> bool:
    """False when it was already the preference. A digest chosen now covers what comes from now on:
    what came before was mailed one by one, or was not wanted."""
    member = membership(actor, group)
    if member is None:
        raise ServiceError("forbidden")
    preference = NotificationPreference(preference)
    if member.notification == preference:
        return False
    member.notification = preference
    if preference == NotificationPreference.DIGEST:
        member.digest_sent_at = utcnow()
    db.session.flush()
    return True


# --- Reading groups -----------------------------------------------------------------


def load_group(slug: str) -> Group | None:
    """A group with what its page header shows, in a fixed number of queries."""
    return db.session.scalar(
        select(Group)
        .where(Group.slug == slug)
        .options(selectinload(Group.axes), selectinload(Group.animator_memberships).selectinload(GroupMembership.user))
    )


def groups_query(*, archived: bool = False, member=None):
    query = select(Group).options(selectinload(Group.axes), selectinload(Group.animator_memberships).selectinload(GroupMembership.user))
    query = query.where(Group.archived_at.is_not(None) if archived else Group.archived_at.is_(None))
    if member is not None:
        query = query.where(Group.id.in_(select(GroupMembership.group_id).where(GroupMembership.user_id == member.id)))
    return query.order_by(func.lower(Group.name), Group.id)


@dataclass
class GroupStats:
    members: int = 0
    threads: int = 0
    unread: int = 0  # threads with new messages, for the viewer (members only)


def _unread_condition(user_id: int):
    """Threads with a message the member has not read: above both read marks."""
    read = select(ThreadRead.last_read_message_id).where(ThreadRead.thread_id == Thread.id, ThreadRead.user_id == user_id).scalar_subquery()
    return and_(
        Thread.last_message_id > GroupMembership.read_up_to_message_id,
        Thread.last_message_id > func.coalesce(read, 0),
    )


def group_stats(viewer, groups) -> dict[int, GroupStats]:
    """Members, threads, and unread threads of the viewer's groups: three grouped queries whatever the number of groups."""
    ids = [g.id for g in groups]
    stats = {i: GroupStats() for i in ids}
    if not ids:
        return stats
    for group_id, count in db.session.execute(
        select(GroupMembership.group_id, func.count()).where(GroupMembership.group_id.in_(ids)).group_by(GroupMembership.group_id)
    ):
        stats[group_id].members = count
    for group_id, count in db.session.execute(select(Thread.group_id, func.count()).where(Thread.group_id.in_(ids)).group_by(Thread.group_id)):
        stats[group_id].threads = count
    mine = [i for i in ids if i in viewer.group_ids]
    if mine:
        unread = (
            select(Thread.group_id, func.count())
            .join(GroupMembership, and_(GroupMembership.group_id == Thread.group_id, GroupMembership.user_id == viewer.id))
            .where(Thread.group_id.in_(mine), _unread_condition(viewer.id))
            .group_by(Thread.group_id)
        )
        for group_id, count in db.session.execute(unread):
            stats[group_id].unread = count
    return stats


def members_query(group: Group):
    return (
        select(GroupMembership)
        .join(User, User.id == GroupMembership.user_id)
        .where(GroupMembership.group_id == group.id)
        .options(selectinload(GroupMembership.user).selectinload(User.territory))
        .order_by(GroupMembership.is_animator.desc(), func.lower(User.name), User.id)
    )


def member_count(group: Group) -> int:
    return db.session.scalar(select(func.count()).select_from(GroupMembership).where(GroupMembership.group_id == group.id)) or 0


def pending_requests_query(group: Group):
    return (
        select(JoinRequest)
        .where(JoinRequest.group_id == group.id, JoinRequest.status == JoinRequestStatus.PENDING)
        .options(selectinload(JoinRequest.user).selectinload(User.territory))
        .order_by(JoinRequest.created_at, JoinRequest.id)
    )


def pending_request_count(group: Group) -> int:
    return db.session.scalar(
        select(func.count()).select_from(JoinRequest).where(JoinRequest.group_id == group.id, JoinRequest.status == JoinRequestStatus.PENDING)
    ) or 0


def group_documents(viewer, group: Group, limit: int = DOCUMENTS_SHOWN) -> tuple[list, int]:
    """The toolbox documents shared with this group that the viewer may read (the newest), and how many there are."""
    from extranet.toolbox.models import Document, Visibility, visible_to

    condition = and_(Document.visibility == Visibility.GROUP, Document.group_id == group.id, visible_to(viewer))
    total = db.session.scalar(select(func.count()).select_from(Document).where(condition)) or 0
    if not total:
        return [], 0
    documents = db.session.scalars(
        select(Document)
        .where(condition)
        .options(selectinload(Document.current_version), selectinload(Document.author))
        .order_by(Document.updated_at.desc(), Document.id.desc())
        .limit(limit)
    )
    return list(documents), total


def all_axes() -> list[Axis]:
    return list(db.session.scalars(select(Axis).options(selectinload(Axis.priority)).order_by(Axis.number)))


def animator_candidates() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True)).options(selectinload(User.territory)).order_by(func.lower(User.name), User.id)))


def movable_to(actor, thread: Thread) -> list[Group]:
    """The groups ``actor`` may move ``thread`` into."""
    groups = db.session.scalars(select(Group).where(Group.id != thread.group_id, Group.archived_at.is_(None)).order_by(func.lower(Group.name)))
    return [g for g in groups if can_receive_thread(actor, g)]


# --- Threads and messages ----------------------------------------------------------------


def _clean_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not body.strip():
        raise ServiceError("body", field="body")
    if len(body) > BODY_MAX:
        raise ServiceError("body_too_long", field="body")
    return body


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ServiceError("title", field="title")
    if len(title) > TITLE_MAX:
        raise ServiceError("title_too_long", field="title")
    return title


def _attach(message: Message, uploads) -> None:
    for upload in uploads:
        upload.staged.keep()
        message.attachments.append(
            MessageAttachment(sha256=upload.staged.sha256, size=upload.size, format=upload.format, filename=upload.filename,
                              created_at=message.created_at)
        )


def subscribe(user_id: int, thread: Thread, reason: SubscriptionReason) -> None:
    """Follow the thread, unless already following it (or having chosen to stop).
    A more telling reason replaces "member of the group" (someone who replies is a participant)."""
    statement = _insert(ThreadSubscription).values(thread_id=thread.id, user_id=user_id, reason=reason, muted=False, created_at=utcnow())
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["thread_id", "user_id"],
            set_={"reason": statement.excluded.reason},
            where=ThreadSubscription.__table__.c.reason == SubscriptionReason.GROUP.value,
        )
    )


def set_subscription(actor, thread: Thread, following: bool) -> None:
    """Follow a thread, or stop following it."""
    subscribe(actor.id, thread, SubscriptionReason.MANUAL)
    db.session.execute(
        update(ThreadSubscription)
        .where(ThreadSubscription.thread_id == thread.id, ThreadSubscription.user_id == actor.id)
        .values(muted=not following)
        .execution_options(synchronize_session=False)
    )


def is_following(user, thread: Thread) -> bool:
    return bool(db.session.scalar(
        select(ThreadSubscription.id).where(ThreadSubscription.thread_id == thread.id, ThreadSubscription.user_id == user.id,
                                            ThreadSubscription.muted.is_(False))
    ))


def _subscribe_members(thread: Thread) -> None:
    """Every member of the group follows the new thread: one statement, whatever their number."""
    db.session.execute(
        _insert(ThreadSubscription)
        .from_select(
            ["thread_id", "user_id", "reason", "muted", "created_at"],
            select(
                literal(thread.id), GroupMembership.user_id, literal(SubscriptionReason.GROUP.value), literal(False), literal(utcnow())
            ).where(GroupMembership.group_id == thread.group_id),
        )
        .on_conflict_do_nothing(index_elements=["thread_id", "user_id"])
    )


def open_thread(actor, group: Group, *, title: str, body: str, uploads=()) -> Thread:
    """A new thread and its first message; the author and the group's members follow it."""
    if not can_create_thread(actor, group):
        raise ServiceError("forbidden")
    title, body = _clean_title(title), _clean_body(body)
    if len(uploads) > MAX_ATTACHMENTS:
        raise ServiceError("attachments", field="attachments")
    now = utcnow()
    thread = Thread(group=group, title=title, author_id=actor.id, created_at=now, last_message_at=now, message_count=1,
                    pinned=False, locked=False)
    message = Message(thread=thread, number=1, author_id=actor.id, body=body, created_at=now)
    _attach(message, uploads)
    db.session.add_all([thread, message])
    db.session.flush()
    thread.last_message = message
    db.session.flush()
    subscribe(actor.id, thread, SubscriptionReason.AUTHOR)
    _subscribe_members(thread)
    mark_read(actor, thread, message.id)
    message_posted.send(message, new_thread=True)
    return thread


def reply(actor, thread: Thread, *, body: str, uploads=()) -> Message:
    """A new message at the end of the thread; its author follows the thread."""
    if not can_reply_to_thread(actor, thread):
        raise ServiceError("forbidden")
    body = _clean_body(body)
    if len(uploads) > MAX_ATTACHMENTS:
        raise ServiceError("attachments", field="attachments")
    now = utcnow()
    # One statement takes the next number and holds the thread's row until the
    # commit (PostgreSQL), so two replies at the same moment get two numbers.
    number = db.session.execute(
        update(Thread)
        .where(Thread.id == thread.id)
        .values(message_count=Thread.message_count + 1)
        .returning(Thread.message_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(thread, "message_count", number)
    message = Message(thread=thread, number=number, author_id=actor.id, body=body, created_at=now)
    _attach(message, uploads)
    db.session.add(message)
    db.session.flush()
    thread.last_message = message
    thread.last_message_at = now
    db.session.flush()
    subscribe(actor.id, thread, SubscriptionReason.PARTICIPANT)
    mark_read(actor, thread, message.id)
    message_posted.send(message, new_thread=False)
    return message


def edit_message(actor, message: Message, body: str) -> bool:
    """Replace the text, keeping the former one as a revision; False when unchanged."""
    if not can_edit_message(actor, message):
        raise ServiceError("forbidden")
    body = _clean_body(body)
    if body == message.body:
        return False
    now = utcnow()
    message.revisions.append(MessageRevision(body=message.body, edited_by_id=actor.id, edited_at=now))
    message.body = body
    message.edited_at = now
    db.session.flush()
    message_edited.send(message)
    return True


def delete_message(actor, message: Message) -> None:
    """The text, its earlier versions and the attachments go; the message stays
    in its place as "message deleted", so numbers, pages and counts stay right."""
    if not can_delete_message(actor, message):
        raise ServiceError("forbidden")
    hashes = {a.sha256 for a in message.attachments}
    message.body = ""
    message.deleted_at = utcnow()
    message.deleted_by_id = actor.id
    message.revisions.clear()
    message.attachments.clear()
    db.session.flush()
    storage.remove_unreferenced_after_commit(hashes)


def set_pinned(actor, thread: Thread, pinned: bool) -> None:
    if not can_pin_thread(actor, thread):
        raise ServiceError("forbidden")
    thread.pinned = bool(pinned)
    db.session.flush()


def set_locked(actor, thread: Thread, locked: bool) -> None:
    if not can_lock_thread(actor, thread):
        raise ServiceError("forbidden")
    thread.locked = bool(locked)
    db.session.flush()


def move_thread(actor, thread: Thread, target: Group) -> None:
    """Move the thread, its messages and attachments to another group; their
    readers become the target group's (the search index follows)."""
    if not can_move_thread(actor, thread) or not can_receive_thread(actor, target):
        raise ServiceError("forbidden")
    if target.id == thread.group_id:
        raise ServiceError("same_group", field="group")
    thread.group = target
    thread.pinned = False
    db.session.flush()
    # Its new group's members follow it, as if it had been opened there.
    _subscribe_members(thread)


def load_thread(thread_id: int) -> Thread | None:
    return db.session.scalar(
        select(Thread).where(Thread.id == thread_id).options(selectinload(Thread.group).selectinload(Group.animator_memberships))
    )


def load_message(message_id: int) -> Message | None:
    return db.session.scalar(
        select(Message).where(Message.id == message_id).options(selectinload(Message.thread).selectinload(Thread.group))
    )


def page_of(number: int, per_page: int = MESSAGES_PER_PAGE) -> int:
    return (max(number, 1) - 1) // per_page + 1


def thread_messages(thread: Thread, page: int, per_page: int = MESSAGES_PER_PAGE) -> list[Message]:
    """One page of the thread, by number: the same query on page 1 or 1,000."""
    first = (page - 1) * per_page + 1
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.thread_id == thread.id, Message.number >= first, Message.number < first + per_page)
            .options(
                selectinload(Message.author).selectinload(User.territory),
                selectinload(Message.attachments),
                selectinload(Message.deleted_by),
            )
            .order_by(Message.number)
        )
    )


def threads_query(group: Group):
    """The group's threads: pinned first, then those with the latest message."""
    return (
        select(Thread)
        .where(Thread.group_id == group.id)
        .options(selectinload(Thread.author), selectinload(Thread.last_message).selectinload(Message.author))
        .order_by(Thread.pinned.desc(), Thread.last_message_at.desc(), Thread.id.desc())
    )


# --- Unread state -------------------------------------------------------------------------


def read_marks(user, threads) -> dict[int, int]:
    """thread id -> the last message id the user has read there."""
    ids = [t.id for t in threads]
    if not ids or not getattr(user, "is_authenticated", False):
        return {}
    return dict(db.session.execute(
        select(ThreadRead.thread_id, ThreadRead.last_read_message_id).where(ThreadRead.user_id == user.id, ThreadRead.thread_id.in_(ids))
    ).all())


def read_point(user, thread: Thread, marks: dict[int, int] | None = None) -> int | None:
    """The last message id counting as read by ``user`` in ``thread``; None
    when unread state does not apply (the user is not a member of its group)."""
    member = membership(user, thread.group)
    if member is None:
        return None
    mark = (marks if marks is not None else read_marks(user, [thread])).get(thread.id, 0)
    return max(mark, member.read_up_to_message_id or 0)


def is_unread(thread: Thread, point: int | None) -> bool:
    return point is not None and (thread.last_message_id or 0) > point


def first_unread(thread: Thread, point: int | None) -> tuple[int, int] | None:
    """(id, number) of the first message after ``point``, or None when all is read."""
    if point is None or (thread.last_message_id or 0) <= point:
        return None
    row = db.session.execute(
        select(Message.id, Message.number).where(Message.thread_id == thread.id, Message.id > point).order_by(Message.id).limit(1)
    ).first()
    return tuple(row) if row else None


def mark_read(user, thread: Thread, message_id: int) -> None:
    """Bookkeeping: ``user`` has read ``thread`` up to ``message_id``. Never goes back."""
    now = utcnow()
    statement = _insert(ThreadRead).values(user_id=user.id, thread_id=thread.id, last_read_message_id=message_id, read_at=now)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "thread_id"],
            set_={"last_read_message_id": statement.excluded.last_read_message_id, "read_at": statement.excluded.read_at},
            where=ThreadRead.__table__.c.last_read_message_id < statement.excluded.last_read_message_id,
        )
    )


def has_unread(user, group: Group) -> bool:
    """Whether any thread of the group is unread for ``user`` (one query, on any page)."""
    if membership(user, group) is None:
        return False
    return bool(db.session.scalar(select(
        exists()
        .where(Thread.group_id == group.id, GroupMembership.group_id == group.id, GroupMembership.user_id == user.id,
               _unread_condition(user.id))
    )))


def mark_group_read(actor, group: Group) -> None:
    """Everything of the group counts as read: one row changes, whatever the number of threads."""
    member = membership(actor, group)
    if member is None:
        raise ServiceError("forbidden")
    member.read_up_to_message_id = latest_message_id()
    db.session.flush()


# --- For notifications ----------------------------------------------------------------------


def subscribers(thread: Thread) -> list[User]:
    """Active accounts following the thread (not muted). Callers still check
    ``permissions.can_read_thread``: someone may have lost access since."""
    return list(
        db.session.scalars(
            select(User)
            .join(ThreadSubscription, ThreadSubscription.user_id == User.id)
            .where(ThreadSubscription.thread_id == thread.id, ThreadSubscription.muted.is_(False), User.active.is_(True))
            .order_by(User.id)
        )
    )


def members_to_notify(group: Group, preferences=(NotificationPreference.EACH, NotificationPreference.DIGEST)) -> list[GroupMembership]:
    """Memberships of active accounts whose preference is among ``preferences``, users loaded."""
    return list(
        db.session.scalars(
            select(GroupMembership)
            .join(User, User.id == GroupMembership.user_id)
            .where(GroupMembership.group_id == group.id, GroupMembership.notification.in_(preferences), User.active.is_(True))
            .options(selectinload(GroupMembership.user))
            .order_by(GroupMembership.user_id)
        )
    )


SERVICE_MESSAGES = {
    "name": _l("Enter the name of the group."),
    "name_taken": _l("Another group already has this name."),
    "axes": _l("Choose axes from the list."),
    "animators": _l("Choose the animators from the list."),
    "title": _l("Enter the title of the thread."),
    "title_too_long": _l("The title has at most %(max)s characters.", max=TITLE_MAX),
    "body": _l("Write your message."),
    "body_too_long": _l("A message has at most %(max)s characters.", max=BODY_MAX),
    "attachments": _l("At most %(n)s files per message.", n=MAX_ATTACHMENTS),
    "same_group": _l("The thread is already in this group."),
    "decided": _l("This request was already answered."),
    "archived": _l("This group is archived: it takes no new member."),
}

