"""The agenda's pages run a bounded number of SQL queries: the same with 5
events and 10 registrations as with 100 events in 18 working groups and 300
registrations (bench/agenda.py times them at 2,000 events and 50,000
registrations)."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from extranet.agenda import calendars
from extranet.agenda.models import Event, EventKind, EventStatus, Registration, RegistrationStatus, event_axis
from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups.models import Group, GroupMembership
from extranet.plan.models import Axis
from extranet.roles import Role
from extranet.territories.models import Territory
from extranet.timeutil import utcnow

from .helpers import queries_for

KINDS = list(EventKind)
TERRITORIES = ("lyon", "nantes", "la-reunion")


def next_month() -> datetime:
    """The first day of next month: every event of the test falls in it, whatever today is."""
    first = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def add_groups(app, creator_id, count, start, *, closed_every=3) -> list[int]:
    with app.app_context():
        groups = [Group(name=f"Groupe {n}", slug=f"groupe-{n}", is_open=n % closed_every != 0, created_by_id=creator_id)
                  for n in range(start, start + count)]
        db.session.add_all(groups)
        db.session.commit()
        return [g.id for g in groups]


def add_members(app, user, group_ids):
    with app.app_context():
        db.session.add_all(GroupMembership(group_id=g, user_id=user.id) for g in group_ids)
        db.session.commit()


def add_users(app, count, start) -> list[int]:
    with app.app_context():
        territory_ids = list(db.session.scalars(select(Territory.id).where(Territory.slug.in_(TERRITORIES))))
        users = [User(email=f"inscrit{n}@example.org", name=f"Inscrit {n:03d}", role=Role.MEMBER, password_hash="x",
                      territory_id=territory_ids[n % len(territory_ids)]) for n in range(start, start + count)]
        db.session.add_all(users)
        db.session.commit()
        return [u.id for u in users]


def add_events(app, creator_id, count, start, group_ids) -> list[int]:
    """``count`` events next month, of every kind, a third without a group, with one or two axes."""
    month = next_month()
    with app.app_context():
        axis_ids = list(db.session.scalars(select(Axis.id).order_by(Axis.number)))
        events = []
        for n in range(start, start + count):
            starts_at = month + timedelta(days=n % 27, hours=8 + n % 9)
            events.append(Event(
                kind=KINDS[n % len(KINDS)], title=f"Événement {n}", description=f"Ordre du jour **{n}**.",
                starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), group_id=None if n % 3 == 0 else group_ids[n % len(group_ids)],
                joining_details="Lien de visioconférence", capacity=None if n % 4 == 0 else 30, created_by_id=creator_id,
                status=EventStatus.CANCELLED if n % 11 == 5 else EventStatus.SCHEDULED, sequence=0,
            ))
        db.session.add_all(events)
        db.session.flush()
        db.session.execute(event_axis.insert(), [
            {"event_id": e.id, "axis_id": axis_ids[(e.id + k) % len(axis_ids)]} for e in events for k in range(1 + e.id % 2)
        ])
        db.session.commit()
        return [e.id for e in events]


def register(app, pairs):
    """Registrations as (event id, user id, status), straight into the table."""
    now = utcnow()
    with app.app_context():
        for event_id, user_id, status in pairs:
            db.session.add(Registration(
                event_id=event_id, user_id=user_id, status=status, created_at=now, updated_at=now,
                territory_id=db.session.get(User, user_id).territory_id,
                waitlisted_at=now if status == RegistrationStatus.WAITLISTED else None,
            ))
        db.session.commit()


def counts(app, urls, clients) -> dict:
    return {(who, url): queries_for(app, clients[who], url) for who, url in urls}


def test_agenda_pages_run_a_bounded_number_of_queries(app, client, login, make_user):
    admin = make_user("admin", name="Organisatrice")
    reader = make_user("member", territory="lyon", name="Lectrice")
    coordinator = make_user("coordinator", territory="lyon", name="Coordinatrice")
    groups = add_groups(app, admin.id, 3, 1)
    add_members(app, reader, [g for g in groups[1:]])  # an open group and a closed one; not the third (closed)
    others = add_users(app, 8, 1)
    events = add_events(app, admin.id, 5, 1, groups)
    big = events[2]  # no group, 30 seats
    register(app, [(big, reader.id, RegistrationStatus.REGISTERED), (events[0], reader.id, RegistrationStatus.WAITLISTED),
                   *[(big, u, RegistrationStatus.REGISTERED) for u in others]])
    with app.app_context():
        token = calendars.new_feed_token(db.session.get(User, reader.id))
        db.session.commit()

    clients = {"reader": client, "organiser": app.test_client(), "coordinator": app.test_client()}
    login(admin, client=clients["organiser"])
    login(coordinator, client=clients["coordinator"])
    login(reader)
    month = next_month().strftime("%Y-%m")
    urls = [
        ("reader", f"/agenda/month?month={month}"),
        ("organiser", f"/agenda/month?month={month}"),
        ("reader", "/agenda/"),
        ("reader", "/agenda/?mine=1"),
        ("reader", f"/agenda/{big}"),
        ("organiser", f"/agenda/{big}"),
        ("coordinator", f"/agenda/{big}"),
        ("reader", f"/agenda/feed/{token}.ics"),
    ]
    for who, url in urls:  # anything a first visit does once
        clients[who].get(url)
    few = counts(app, urls, clients)

    groups += add_groups(app, admin.id, 15, 4)
    add_members(app, reader, groups[3::2])
    others += add_users(app, 60, 9)
    events += add_events(app, admin.id, 95, 6, groups)
    pairs = [(big, u, RegistrationStatus.REGISTERED if n < 22 else RegistrationStatus.WAITLISTED if n < 50 else RegistrationStatus.CANCELLED)
             for n, u in enumerate(others[8:])]
    mine = events[5:65]
    pairs += [(e, reader.id, RegistrationStatus.WAITLISTED if n % 5 == 0 else RegistrationStatus.REGISTERED) for n, e in enumerate(mine)]
    pairs += [(e, others[n % len(others)], RegistrationStatus.REGISTERED) for n, e in enumerate(events[5:] * 2)][: 290 - len(pairs)]
    register(app, pairs)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 100
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 300
    many = counts(app, urls, clients)
    assert many == few, {key: (few[key], many[key]) for key in few if few[key] != many[key]}
    assert max(few.values()) <= 25, few
    # The feed did grow: the reader's events and every Amicall they may see are in it.
    feed = client.get(f"/agenda/feed/{token}.ics").get_data(as_text=True)
    assert feed.count("BEGIN:VEVENT") > 60
