"""How discussions appear in the platform's search (kind "discussion").

A thread is one entry: its title and the message that opened it. Each reply is
an entry of its own, so that a hit leads to the very message; it is titled by
its own first words, not the thread's title, so that a search for a thread's
title finds the thread once rather than once per reply. Deleted messages
leave the index. Who may find them is said by the group's tokens
(``permissions.group_tokens``), the same that open the pages: when a thread
moves to another group, or a group becomes closed, its entries follow.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import load_only, object_session, selectinload

from extranet import permissions
from extranet.groups.models import Group, Message, Thread
from extranet.markdown import excerpt
from extranet.search import SearchEntry, register, register_dependent, register_kind

# Plain text of a message kept for the index: longer messages are rare, and
# their beginning says what they are about.
MAX_CONTENT_CHARS = 100_000

TYPE_LABELS = {"thread": _l("Thread"), "reply": _l("Reply")}


def thread_url(thread_id: int) -> str:
    # Plain paths rather than url_for: entries are also built outside requests.
    return f"/groups/threads/{thread_id}"


def message_url(message_id: int) -> str:
    return f"/groups/messages/{message_id}"


REPLY_TITLE_CHARS = 90


def _common(thread: Thread) -> dict:
    group = thread.group
    return dict(kind="discussion", axes=group.axis_numbers, access=permissions.group_tokens(group))


def thread_entry(thread: Thread) -> SearchEntry:
    first = thread.first_message
    text = first.body if first is not None and first.deleted_at is None else ""
    return SearchEntry(
        key=f"thread:{thread.id}",
        type="thread",
        title=thread.title,
        url=thread_url(thread.id),
        content=excerpt(text, MAX_CONTENT_CHARS),
        year=thread.created_at.year if thread.created_at else None,
        date=thread.last_message_at,
        **_common(thread),
    )


def message_entry(message: Message) -> SearchEntry | None:
    """Replies only: the first message is in its thread's entry."""
    if message.number == 1 or message.deleted_at is not None:
        return None
    return SearchEntry(
        key=f"message:{message.id}",
        type="reply",
        title=excerpt(message.body, REPLY_TITLE_CHARS),
        url=message_url(message.id),
        content=excerpt(message.body, MAX_CONTENT_CHARS),
        year=message.created_at.year if message.created_at else None,
        date=message.created_at,
        **_common(message.thread),
    )


def _changed(obj, *names) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _messages_of(session, thread_condition) -> list[Message]:
    """Replies whose entries must be rebuilt: only their keys are loaded here."""
    return list(
        session.scalars(
            select(Message).options(load_only(Message.id, Message.number)).where(thread_condition, Message.number > 1, Message.deleted_at.is_(None))
        )
    )


def _group_dependents(group: Group):
    """A group opened, closed or given other axes changes the entries of all its discussions."""
    state = inspect(group)
    if state.pending or state.deleted or not _changed(group, "is_open", "axes"):
        return []
    session = object_session(group)
    threads = list(session.scalars(select(Thread).options(load_only(Thread.id)).where(Thread.group_id == group.id)))
    return threads + _messages_of(session, Message.thread_id.in_(select(Thread.id).where(Thread.group_id == group.id)))


def _thread_dependents(thread: Thread):
    """A thread moved to another group changes the entries of its replies."""
    state = inspect(thread)
    if state.pending or state.deleted or not _changed(thread, "group_id"):
        return []
    return _messages_of(object_session(thread), Message.thread_id == thread.id)


def _message_dependents(message: Message):
    # The thread's entry holds the first message.
    return [message.thread] if message.number == 1 else []


def _all_threads():
    return select(Thread).options(selectinload(Thread.group).selectinload(Group.axes), selectinload(Thread.first_message))


def _all_replies():
    return (
        select(Message)
        .where(Message.number > 1, Message.deleted_at.is_(None))
        .options(selectinload(Message.thread).selectinload(Thread.group).selectinload(Group.axes))
    )


register_kind("discussion", _l("Discussion"), TYPE_LABELS)
register(Thread, key=lambda t: f"thread:{t.id}", to_entry=thread_entry, query=_all_threads)
register(Message, key=lambda m: f"message:{m.id}", to_entry=message_entry, query=_all_replies)
register_dependent(Group, _group_dependents)
register_dependent(Thread, _thread_dependents)
register_dependent(Message, _message_dependents)
