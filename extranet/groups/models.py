"""Working groups, their members, and their discussions.

A group is open (anyone joins) or closed (a join request an animator decides).
Its threads hold messages numbered from 1 in their thread (``Message.number``),
never removed: a deleted message stays as a placeholder, so that page numbers,
anchors and "first unread" links stay right.

Unread state: a member has read a thread up to ``ThreadRead.last_read_message_id``,
and everything of the group up to ``GroupMembership.read_up_to_message_id``
(set on joining and by "mark all as read", so that neither writes one row per
thread). A thread is unread when its ``last_message_id`` is above both.
"""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extranet import storage
from extranet.extensions import db, enum_type
from extranet.files import FileFormat
from extranet.timeutil import utcnow


class NotificationPreference(enum.StrEnum):
    EACH = "each"  # an email for each new message
    DIGEST = "digest"  # one daily digest
    NONE = "none"  # nothing by email

    @property
    def label(self):
        return NOTIFICATION_LABELS[self]


NOTIFICATION_LABELS = {
    NotificationPreference.EACH: _l("An email for each new message"),
    NotificationPreference.DIGEST: _l("A daily digest"),
    NotificationPreference.NONE: _l("No email"),
}


class JoinRequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"  # by the requester, or made pointless by another way in


class SubscriptionReason(enum.StrEnum):
    """Why someone follows a thread (notifications say it)."""

    AUTHOR = "author"  # opened the thread
    GROUP = "group"  # was a member of the group when the thread was opened
    PARTICIPANT = "participant"  # replied in it
    MENTION = "mention"  # was mentioned in it
    MANUAL = "manual"  # chose to follow it


group_axis = Table(
    "group_axis",
    db.metadata,
    Column("group_id", ForeignKey("working_group.id", ondelete="CASCADE"), primary_key=True),
    Column("axis_id", ForeignKey("axis.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Group(db.Model):
    # "group" is a reserved word in SQL.
    __tablename__ = "working_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The address of the group page; kept when the group is renamed, so links stay valid.
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    is_open: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An archived group stays readable but takes no new thread, reply or member.
    archived_at: Mapped[datetime | None] = mapped_column(index=True)

    axes: Mapped[list["Axis"]] = relationship(secondary=group_axis, order_by="Axis.number")  # noqa: F821
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])  # noqa: F821
    animator_memberships: Mapped[list["GroupMembership"]] = relationship(
        primaryjoin="and_(Group.id == GroupMembership.group_id, GroupMembership.is_animator)",
        viewonly=True,
    )

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def axis_numbers(self) -> tuple[int, ...]:
        return tuple(axis.number for axis in self.axes)

    @property
    def animators(self) -> list["User"]:  # noqa: F821
        return sorted((m.user for m in self.animator_memberships), key=lambda u: u.name.casefold())

    def __repr__(self) -> str:
        return f"<Group {self.slug}>"


class GroupMembership(db.Model):
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("working_group.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    is_animator: Mapped[bool] = mapped_column(default=False)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    notification: Mapped[NotificationPreference] = mapped_column(
        enum_type(NotificationPreference), default=NotificationPreference.EACH
    )
    # Every message of the group up to this id counts as read (see the module's docstring).
    read_up_to_message_id: Mapped[int] = mapped_column(default=0)
    # When the last daily digest for this group went to this member.
    digest_sent_at: Mapped[datetime | None]

    group: Mapped[Group] = relationship()
    user: Mapped["User"] = relationship(back_populates="memberships")  # noqa: F821


class JoinRequest(db.Model):
    __table_args__ = (Index("ix_join_request_group_id_status", "group_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("working_group.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[JoinRequestStatus] = mapped_column(enum_type(JoinRequestStatus), default=JoinRequestStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    decided_at: Mapped[datetime | None]

    group: Mapped[Group] = relationship()
    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    decided_by: Mapped["User | None"] = relationship(foreign_keys=[decided_by_id])  # noqa: F821

    @property
    def is_pending(self) -> bool:
        return self.status == JoinRequestStatus.PENDING


class Thread(db.Model):
    __table_args__ = (
        # The group page: pinned first, then by last activity (the id breaks ties), read in index order.
        Index("ix_thread_group_id_pinned_last_message_at_id", "group_id", "pinned", "last_message_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("working_group.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    # Every message of the thread, deleted ones included: the highest Message.number.
    message_count: Mapped[int] = mapped_column(default=0)
    pinned: Mapped[bool] = mapped_column(default=False)
    locked: Mapped[bool] = mapped_column(default=False)

    group: Mapped[Group] = relationship()
    author: Mapped["User | None"] = relationship(foreign_keys=[author_id])  # noqa: F821
    last_message: Mapped["Message | None"] = relationship(foreign_keys=[last_message_id], post_update=True)
    first_message: Mapped["Message | None"] = relationship(
        primaryjoin="and_(Thread.id == foreign(Message.thread_id), Message.number == 1)", viewonly=True, uselist=False
    )

    def __repr__(self) -> str:
        return f"<Thread {self.id} {self.title!r}>"


class Message(db.Model):
    __table_args__ = (
        UniqueConstraint("thread_id", "number"),
        # "First unread message": the first id above a read mark, in a thread.
        Index("ix_message_thread_id_id", "thread_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    # 1 for the message that opened the thread, then 2, 3...
    number: Mapped[int]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown; emptied on deletion
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    thread: Mapped[Thread] = relationship(foreign_keys=[thread_id])
    author: Mapped["User | None"] = relationship(foreign_keys=[author_id])  # noqa: F821
    deleted_by: Mapped["User | None"] = relationship(foreign_keys=[deleted_by_id])  # noqa: F821
    attachments: Mapped[list["MessageAttachment"]] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True, order_by="MessageAttachment.id"
    )
    revisions: Mapped[list["MessageRevision"]] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True,
        order_by="MessageRevision.edited_at.desc(), MessageRevision.id.desc()",
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_edited(self) -> bool:
        return self.edited_at is not None

    def __repr__(self) -> str:
        return f"<Message {self.id} #{self.number} of thread {self.thread_id}>"


class MessageRevision(db.Model):
    """A text a message had before an edit: ``body`` was replaced at ``edited_at`` by ``edited_by``."""

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    edited_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship(back_populates="revisions")
    edited_by: Mapped["User | None"] = relationship()  # noqa: F821


class MessageAttachment(db.Model):
    """A file sent with a message, stored like toolbox files (extranet.storage, by hash)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    format: Mapped[FileFormat] = mapped_column(enum_type(FileFormat))
    # The name it was sent with, made safe, its extension matching the real format.
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")

    @property
    def mimetype(self) -> str:
        return self.format.mimetype


class ThreadRead(db.Model):
    """How far a user has read a thread."""

    __table_args__ = (UniqueConstraint("user_id", "thread_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"), index=True)
    last_read_message_id: Mapped[int] = mapped_column(default=0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThreadSubscription(db.Model):
    """Someone who follows a thread: its new messages concern them."""

    __table_args__ = (UniqueConstraint("thread_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    reason: Mapped[SubscriptionReason] = mapped_column(enum_type(SubscriptionReason))
    # Unsubscribed from this thread: kept, so that replying again does not subscribe again.
    muted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    thread: Mapped[Thread] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821


# Files are shared by content with the toolbox and with other messages: without this,
# `flask toolbox clean-files` and the deletion of a document or a message would remove
# a file an attachment still needs.
storage.register_referrer(MessageAttachment.sha256)

from extranet.groups import search  # noqa: E402, F401  (registers threads and messages with the search index)
