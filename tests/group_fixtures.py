"""Factories of working groups and discussions, for tests/test_groups.py and
tests/test_threads.py (imported there, so pytest sees them as fixtures).

They go through the real services, acting as the national team or as the
member who writes, like the pages do.
"""

import html as html_lib
import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from extranet import permissions
from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups import services
from extranet.groups.models import Group, GroupMembership, Message, Thread
from extranet.search import get_engine


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.fixture
def make_group(app, make_user):
    """make_group(name=..., is_open=True, animators=(users), members=(users), description=...) -> Group (detached)."""
    counter = iter(range(1, 10_000))
    creator = []

    def factory(name=None, *, is_open=True, animators=(), members=(), description="Un groupe du réseau.", axes=()):
        if not creator:
            creator.append(make_user("admin", name="Créatrice des groupes"))
        n = next(counter)
        with app.app_context(), app.test_request_context():
            actor = db.session.get(User, creator[0].id)
            axis_ids = []
            if axes:
                from extranet.plan.models import Axis

                axis_ids = list(db.session.scalars(select(Axis.id).where(Axis.number.in_(axes))))
            group = services.create_group(actor, name=name or f"Groupe {n}", description=description, is_open=is_open,
                                          animator_ids=[u.id for u in animators], axis_ids=axis_ids)
            for user in members:
                if user not in animators:
                    services._new_membership(group, db.session.get(User, user.id))
            db.session.commit()
            db.session.refresh(group)
            db.session.expunge(group)
            return group

    return factory


@pytest.fixture
def add_member(app):
    def add(group, user, *, animator=False):
        with app.app_context():
            member = db.session.scalar(select(GroupMembership).filter_by(group_id=group.id, user_id=user.id))
            if member is None:
                member = services._new_membership(db.session.get(Group, group.id), db.session.get(User, user.id))
            member.is_animator = animator
            db.session.commit()

    return add


@pytest.fixture
def make_thread(app):
    """make_thread(group, author, title=..., body=..., replies=[(author, body), ...]) -> thread id, through the services."""
    counter = iter(range(1, 10_000))

    def factory(group, author, title=None, body=None, replies=(), uploads=()):
        n = next(counter)
        with app.app_context(), app.test_request_context():
            actor = db.session.get(User, author.id)
            thread = services.open_thread(actor, db.session.get(Group, group.id), title=title or f"Fil {n}",
                                          body=body or f"Premier message du fil {n}", uploads=list(uploads))
            db.session.commit()
            for replier, text in replies:
                services.reply(db.session.get(User, replier.id), db.session.get(Thread, thread.id), body=text)
                db.session.commit()
            return thread.id

    return factory


def message_ids(app, thread_id) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Message.id).where(Message.thread_id == thread_id).order_by(Message.number)))


def search_keys(app, user, text) -> list[str]:
    with app.app_context():
        reader = db.session.get(User, user.id)
        return [hit.key for hit in get_engine(app).query(text, access=permissions.access_tokens(reader), per_page=100).hits]


def bulk_threads(app, group, author, count, *, messages_each=1):
    """Many threads straight into the database (plain inserts: no indexing), for the query counts."""
    with app.app_context():
        first_thread = (db.session.scalar(select(func.max(Thread.id))) or 0) + 1
        first_message = (db.session.scalar(select(func.max(Message.id))) or 0) + 1
        base = datetime(2024, 1, 1)
        threads, messages, last = [], [], {}
        message_id = first_message
        for offset in range(count):
            thread_id = first_thread + offset
            for number in range(1, messages_each + 1):
                messages.append(dict(id=message_id, thread_id=thread_id, number=number, author_id=author.id, body=f"Message {number} du fil {thread_id}",
                                     created_at=base + timedelta(minutes=offset * messages_each + number)))
                last[thread_id] = message_id
                message_id += 1
            threads.append(dict(id=thread_id, group_id=group.id, title=f"Fil en masse {offset:05d}", author_id=author.id,
                                created_at=base + timedelta(minutes=offset * messages_each), last_message_at=base + timedelta(minutes=(offset + 1) * messages_each),
                                message_count=messages_each, pinned=offset % 50 == 0, locked=False))
        db.session.execute(Thread.__table__.insert(), threads)
        for start in range(0, len(messages), 5000):
            db.session.execute(Message.__table__.insert(), messages[start:start + 5000])
        db.session.execute(
            Thread.__table__.update()
            .where(Thread.id >= first_thread)
            .values(last_message_id=select(func.max(Message.id)).where(Message.thread_id == Thread.id).scalar_subquery())
        )
        _move_sequences()
        db.session.commit()


def bulk_replies(app, thread_id, author, count):
    """``count`` more messages at the end of a thread, in plain inserts."""
    with app.app_context():
        thread = db.session.get(Thread, thread_id)
        first_message = (db.session.scalar(select(func.max(Message.id))) or 0) + 1
        base = thread.last_message_at
        rows = [dict(id=first_message + i, thread_id=thread_id, number=thread.message_count + 1 + i, author_id=author.id,
                     body=f"Réponse **{i}**", created_at=base + timedelta(seconds=i + 1)) for i in range(count)]
        for start in range(0, len(rows), 5000):
            db.session.execute(Message.__table__.insert(), rows[start:start + 5000])
        thread.message_count += count
        thread.last_message_id = first_message + count - 1
        thread.last_message_at = rows[-1]["created_at"]
        _move_sequences()
        db.session.commit()


def _move_sequences():
    if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        for table in ("thread", "message"):
            db.session.execute(db.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def pdf_upload(name="Compte rendu.pdf"):
    from . import files as make

    return (io.BytesIO(make.pdf("Compte rendu de la réunion")), name)


def anchors(html: str) -> list[str]:
    return re.findall(r'<article class="extranet-message[^"]*" id="(message-\d+)"', html)
