"""Reporting reminders: an email to a territory late in reporting the shared
indicators of its validated roadmap (the rule: :func:`network.late_territories`).

Who: the territory's active coordinators and the roadmap's active editors,
each in their language, once per roadmap and quarter due.

Once: ``ReportingReminder`` has one row per (roadmap, quarter end). The row is
inserted first, with ``INSERT … ON CONFLICT DO NOTHING``, and the mails are
queued in the same transaction only when that insert made the row, as for the
agenda's reminders (:mod:`extranet.agenda.reminders`): a second run at the same
moment waits on the first one's uncommitted row, then finds it and queues
nothing; a rolled-back run leaves neither row nor mails. A territory still late
a quarter later is reminded again, for that quarter.

Queued by the ``send-mail`` worker at each round and by ``flask extranet
send-reporting-reminders``; ``EXTRANET_ROADMAP_REPORTING_REMINDERS=0`` switches
them off.
"""

from contextlib import nullcontext
from datetime import date, timedelta

from babel.dates import format_date
from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from extranet import mail
from extranet.auth.models import User
from extranet.extensions import db
from extranet.roadmaps import network
from extranet.roadmaps.models import ReportingReminder, Roadmap, roadmap_editor
from extranet.roles import Role
from extranet.timeutil import utcnow


def _claim(roadmap_id: int, quarter_end: date) -> bool:
    """Insert the reminder's row; False when another run already has it."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = ReportingReminder.__table__
    inserted = db.session.execute(
        insert(table)
        .values(roadmap_id=roadmap_id, quarter_end=quarter_end, sent_at=utcnow())
        .on_conflict_do_nothing()
        .returning(table.c.id)
    ).first()
    return inserted is not None


def recipients(roadmap: Roadmap) -> list[User]:
    """The territory's active coordinators and the roadmap's active editors, each once."""
    editors = select(roadmap_editor.c.user_id).where(roadmap_editor.c.roadmap_id == roadmap.id)
    coordinators = select(User.id).where(User.role == Role.COORDINATOR, User.territory_id == roadmap.territory_id)
    return list(db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.id.in_(editors.union(coordinators)))
        .order_by(User.id)
    ))


def _queue(roadmap: Roadmap, late: network.LateTerritory, quarter: network.Quarter, grace: int) -> int:
    link = mail.external_url("roadmaps.show", roadmap_id=roadmap.id) + "#section-indicators"
    people = recipients(roadmap)
    for user in people:
        language = user.language or "fr"
        mail.queue(
            user.email,
            "roadmap_reporting_late",
            language=language,
            recipient=user,
            territory=late.territory,
            period=roadmap.period_label,
            quarter=quarter,
            start=format_date(quarter.start, "long", locale=language),
            end=format_date(quarter.end, "long", locale=language),
            deadline=format_date(quarter.end + timedelta(days=grace), "long", locale=language),
            missing=late.missing,
            link=link,
        )
    db.session.flush()
    return len(people)


def queue_reporting_reminders(today: date | None = None, app=None) -> int:
    """Queue the reminders of the territories late now, one transaction per
    roadmap; the number of emails queued. Safe to run again, and in several
    processes at once: each (roadmap, quarter) is reminded once."""
    from extranet.groups.notifications import DEVELOPMENT_BASE_URL

    app = app or current_app._get_current_object()
    if not app.config["ROADMAP_REPORTING_REMINDERS"]:
        return 0
    messages = 0
    # A context of its own, hence a database session of its own, closed at the
    # end: the worker never keeps a transaction open between rounds. Outside a
    # request, mail links need EXTRANET_BASE_URL (required in production).
    request = nullcontext() if app.config["BASE_URL"] else app.test_request_context("/", base_url=DEVELOPMENT_BASE_URL)
    with app.app_context(), request:
        grace = network.grace_days()
        quarter, late = network.late_territories(today=today, grace=grace)
        if not late:
            db.session.rollback()
            return 0
        done = set(db.session.scalars(
            select(ReportingReminder.roadmap_id).where(
                ReportingReminder.quarter_end == quarter.end,
                ReportingReminder.roadmap_id.in_([entry.roadmap_id for entry in late]),
            )
        ))
        db.session.rollback()
        for entry in late:
            if entry.roadmap_id in done:
                continue
            roadmap = db.session.get(Roadmap, entry.roadmap_id)
            if roadmap is None or not _claim(roadmap.id, quarter.end):
                db.session.rollback()
                continue
            messages += _queue(roadmap, entry, quarter, grace)
            db.session.commit()
    return messages
