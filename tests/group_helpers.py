"""Helpers of the working group tests: reading pages, the search, and many
threads or messages at once."""

import html as html_lib
import io
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from extranet import permissions
from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups.models import Message, Thread
from extranet.search import get_engine


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def message_ids(app, thread_id) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Message.id).where(Message.thread_id == thread_id).order_by(Message.number)))


def settled(app):
    """Until the index's merge threads are over: a commit made while one runs is
    applied when it ends (see extranet.search.entries.drain)."""
    engine = get_engine(app)
    while any(thread.is_alive() for thread in list(engine._merges)):
        engine.wait_for_merges()


def search_keys(app, user, text) -> list[str]:
    settled(app)
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
