"""Factories of working groups and discussions, for tests/test_groups.py and
tests/test_threads.py (which load this module with ``pytest_plugins``).

They go through the real services, acting as the national team or as the
member who writes, like the pages do.
"""

import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups import services
from extranet.groups.models import Group, GroupMembership, Thread


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
