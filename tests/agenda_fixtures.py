"""Fixtures shared by tests/test_agenda.py and tests/test_agenda_ical.py
(loaded with ``pytest_plugins``)."""

from datetime import timedelta

import pytest

from extranet.agenda import services
from extranet.agenda.models import EventKind
from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups.models import Group
from extranet.timeutil import utcnow


@pytest.fixture
def make_event(app, make_user):
    """make_event(title=..., starts_in=timedelta(days=7), **fields) -> Event (detached), created by the national team."""
    creator = []

    def factory(title="Amicall sur l'accompagnement", *, starts_in=timedelta(days=7), hours=2, group=None, **fields):
        if not creator:
            creator.append(make_user("admin", name="Organisatrice nationale"))
        starts_at = fields.pop("starts_at", None) or (utcnow() + starts_in).replace(microsecond=0)
        fields.setdefault("kind", EventKind.AMICALL)
        with app.app_context(), app.test_request_context():
            actor = db.session.get(User, creator[0].id)
            group_obj = db.session.get(Group, group.id) if group else None
            event = services.create_event(actor, group=group_obj, title=title, starts_at=starts_at,
                                          ends_at=fields.pop("ends_at", None) or starts_at + timedelta(hours=hours), **fields)
            db.session.commit()
            db.session.refresh(event)
            db.session.expunge(event)
            return event

    return factory


@pytest.fixture
def make_session(app):
    """make_session(event, title=..., capacity=None, **fields) -> EventSession (detached), through the service."""

    def factory(event, title="Atelier logement des jeunes", *, capacity=None, **fields):
        from extranet.agenda.models import Event

        with app.app_context(), app.test_request_context():
            actor = db.session.get(User, event.created_by_id)
            workshop = services.save_session(actor, db.session.get(Event, event.id), title=title, capacity=capacity,
                                             description=fields.pop("description", ""), **fields)
            db.session.commit()
            db.session.refresh(workshop)
            db.session.expunge(workshop)
            return workshop

    return factory


@pytest.fixture
def make_question(app):
    """make_question(event, label=..., kind=QuestionKind.TEXT, required=False, options="") -> RegistrationQuestion (detached)."""

    def factory(event, label="Besoins alimentaires", *, kind=None, required=False, options="", help_text=""):
        from extranet.agenda.models import Event, QuestionKind

        with app.app_context(), app.test_request_context():
            actor = db.session.get(User, event.created_by_id)
            question = services.save_question(actor, db.session.get(Event, event.id), kind=kind or QuestionKind.TEXT, label=label,
                                              required=required, options=options, help_text=help_text)
            db.session.commit()
            db.session.refresh(question)
            db.session.expunge(question)
            return question

    return factory
