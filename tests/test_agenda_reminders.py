"""Agenda reminders: an email to registered people before the event, sent
once through the outbox and the real SMTP test server, whoever runs the
reminders and however often."""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from extranet.agenda import reminders, services
from extranet.agenda.models import Event, EventKind, EventReminder, EventStatus, Registration, RegistrationStatus
from extranet.agenda.reminders import queue_due_reminders
from extranet.auth.models import User
from extranet.extensions import db

from .group_helpers import text_of
from .helpers import run_mail_worker

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]

START = datetime(2031, 5, 12, 12, 0)  # a Monday; Paris is UTC+2 then, La Réunion UTC+4


def register(app, event, *users):
    with app.app_context(), app.test_request_context():
        for user in users:
            services.register(db.session.get(User, user.id), db.session.get(Event, event.id))
            db.session.commit()


def run(app, now):
    return queue_due_reminders(app, now)


def reminders_to(mailbox, address):
    return [m for m in mailbox.to(address) if m["Subject"].startswith("Reminder")]


def sent_rows(app, event_id):
    with app.app_context():
        return sorted(
            (r.offset_minutes, r.starts_at, r.recipient_count)
            for r in db.session.scalars(select(EventReminder).where(EventReminder.event_id == event_id))
        )


@pytest.fixture
def amicall(make_event, make_user, app):
    """An Amicall at START with one registered person, one waiting, one who cancelled."""
    event = make_event("Amicall sur la prévention des expulsions", starts_at=START, capacity=1,
                       joining_details="https://visio.example.org/amicall-42")
    registered = make_user("member", email="inscrite@example.org", language="en")
    waiting = make_user("member", email="attente@example.org", language="en")
    gone = make_user("member", email="partie@example.org", language="en", territory="nantes")
    register(app, event, registered, waiting, gone)
    with app.app_context(), app.test_request_context():
        registration = db.session.scalar(select(Registration).filter_by(event_id=event.id, user_id=gone.id))
        registration.status = RegistrationStatus.CANCELLED
        db.session.commit()
    return event


def test_the_24_hour_and_1_hour_reminders_of_an_amicall_are_each_sent_once(app, amicall, mailbox):
    mailbox.clear()
    assert not run(app, START - timedelta(hours=25))
    assert mailbox.messages == []

    report = run(app, START - timedelta(hours=23))
    assert (report.reminders, report.messages) == (1, 1)
    assert not run(app, START - timedelta(hours=23))  # the worker again: nothing more
    assert not run(app, START - timedelta(hours=2))
    assert [m["To"] for m in mailbox.messages] == ["inscrite@example.org"]  # not the waiting nor the cancelled person

    assert run(app, START - timedelta(minutes=50)).messages == 1
    assert not run(app, START - timedelta(minutes=10))
    assert not run(app, START + timedelta(minutes=1))
    assert len(reminders_to(mailbox, "inscrite@example.org")) == 2
    assert mailbox.to("attente@example.org") == [] and mailbox.to("partie@example.org") == []
    assert sent_rows(app, amicall.id) == [(60, START, 1), (1440, START, 1)]


def test_the_reminder_says_when_how_to_join_and_links_to_the_event(app, amicall, mailbox):
    mailbox.clear()
    run(app, START - timedelta(hours=20))
    [message] = mailbox.messages
    body = mailbox.body(message)
    assert "Amicall sur la prévention des expulsions" in message["Subject"]
    assert "Monday 12 May 2031, 14:00" in body and "Europe/Paris" in body and "in Paris" not in body
    assert "https://visio.example.org/amicall-42" in body  # registered: the joining details
    assert f"http://127.0.0.1:5000/agenda/{amicall.id}" in body


def test_a_reunion_coordinator_sees_their_own_time_with_paris_beside(app, make_event, make_user, mailbox):
    event = make_event("Amicall outre-mer", starts_at=START)
    reunion = make_user("coordinator", territory="la-reunion", timezone="Indian/Reunion", language="en", email="reunion@example.org")
    register(app, event, reunion)
    mailbox.clear()
    run(app, START - timedelta(hours=1))
    body = mailbox.body(reminders_to(mailbox, "reunion@example.org")[0])
    assert "Monday 12 May 2031, 16:00 (Indian/Reunion)" in body
    assert "That is 14:00 in Paris." in body


def test_a_missed_24_hour_reminder_gives_way_to_the_1_hour_one(app, amicall, mailbox):
    """The worker was down for a day: 50 minutes before, one reminder, not two."""
    mailbox.clear()
    assert run(app, START - timedelta(minutes=50)).messages == 1
    assert not run(app, START - timedelta(minutes=40))
    assert len(mailbox.messages) == 1
    assert sent_rows(app, amicall.id) == [(60, START, 1)]


def test_a_reminder_missed_while_the_worker_was_down_is_still_sent_before_the_start(app, make_event, make_user, mailbox):
    webinar = make_event("Webinaire logement", starts_at=START, kind=EventKind.WEBINAR)
    register(app, webinar, make_user("member", email="w@example.org"))
    mailbox.clear()
    assert run(app, START - timedelta(minutes=5)).messages == 1  # 24 h reminder, late but before the start
    assert not run(app, START + timedelta(minutes=5))
    assert len(mailbox.messages) == 1


def test_other_kinds_get_one_reminder_the_day_before(app, make_event, make_user, mailbox):
    club = make_event("Club des territoires", starts_at=START, kind=EventKind.CLUB)
    register(app, club, make_user("member", email="club@example.org"))
    mailbox.clear()
    assert run(app, START - timedelta(hours=23)).messages == 1
    assert not run(app, START - timedelta(minutes=30))  # no 1 h reminder but for Amicalls
    assert len(mailbox.to("club@example.org")) == 1


def test_nothing_for_a_cancelled_event(app, amicall, mailbox):
    with app.app_context():
        db.session.get(Event, amicall.id).status = EventStatus.CANCELLED
        db.session.commit()
    mailbox.clear()
    assert not run(app, START - timedelta(minutes=30))
    assert mailbox.messages == []
    assert sent_rows(app, amicall.id) == []


def test_moving_the_event_makes_its_reminders_due_again(app, amicall, mailbox):
    mailbox.clear()
    run(app, START - timedelta(hours=20))
    later = START + timedelta(days=7)
    with app.app_context(), app.test_request_context():
        event = db.session.get(Event, amicall.id)
        services.update_event(event.created_by, event, starts_at=later, ends_at=later + timedelta(hours=2))
        db.session.commit()
    assert not run(app, START - timedelta(hours=19))  # the old date no longer counts
    assert run(app, later - timedelta(hours=20)).messages == 1
    reminders = reminders_to(mailbox, "inscrite@example.org")
    assert len(reminders) == 2
    assert "Monday 19 May 2031" in mailbox.body(reminders[1])
    assert sent_rows(app, amicall.id) == [(1440, START, 1), (1440, later, 1)]


def move(app, event_id, start):
    with app.app_context(), app.test_request_context():
        event = db.session.get(Event, event_id)
        services.update_event(event.created_by, event, starts_at=start, ends_at=start + timedelta(hours=2))
        db.session.commit()


@pytest.mark.parametrize("shift", [timedelta(minutes=5), timedelta(minutes=-5), timedelta(hours=3)])
def test_a_small_move_after_the_reminder_does_not_send_it_again(app, amicall, mailbox, shift):
    mailbox.clear()
    assert run(app, START - timedelta(hours=23)).messages == 1
    move(app, amicall.id, START + shift)
    assert not run(app, START - timedelta(hours=20))
    assert not run(app, START - timedelta(hours=2))
    assert run(app, START + shift - timedelta(minutes=50)).messages == 1  # the 1 h one, at the new time
    assert len(reminders_to(mailbox, "inscrite@example.org")) == 2


def test_a_reminder_chosen_after_a_nearer_one_went_out_is_not_sent_late(app, amicall, mailbox):
    mailbox.clear()
    assert run(app, START - timedelta(hours=23)).messages == 1  # the 24 h reminder
    with app.app_context(), app.test_request_context():
        event = db.session.get(Event, amicall.id)
        reminders.set_offsets(event.created_by, event, "2880")  # now "2 days before" only
        db.session.commit()
    assert not run(app, START - timedelta(hours=20))
    assert not run(app, START - timedelta(minutes=30))
    assert len(reminders_to(mailbox, "inscrite@example.org")) == 1


@pytest.fixture
def own_reminders_config(app_config):
    app_config["AGENDA_REMINDERS"] = {"webinar": [2880]}
    return app_config


def test_the_defaults_per_kind_are_configurable(own_reminders_config, app, make_event, make_user, mailbox):
    assert app.config["AGENDA_REMINDERS"]["webinar"] == [2880]
    assert app.config["AGENDA_REMINDERS"]["amicall"] == [1440, 60]  # kinds not named keep theirs
    webinar = make_event("Webinaire", starts_at=START, kind=EventKind.WEBINAR)
    register(app, webinar, make_user("member", email="w@example.org"))
    mailbox.clear()
    assert run(app, START - timedelta(hours=47)).messages == 1
    assert not run(app, START - timedelta(hours=23))
    assert len(mailbox.messages) == 1


def test_the_environment_variable_is_checked(monkeypatch, app_config):
    from extranet import create_app
    from extranet.config import ConfigurationError

    monkeypatch.setenv("EXTRANET_AGENDA_REMINDERS", '{"club": [4320, 1440]}')
    assert create_app(app_config).config["AGENDA_REMINDERS"]["club"] == [4320, 1440]
    monkeypatch.setenv("EXTRANET_AGENDA_REMINDERS", '{"club": "la veille"}')
    with pytest.raises(ConfigurationError, match="AGENDA_REMINDERS"):
        create_app(app_config)


def test_an_organiser_chooses_the_reminders_of_an_event(app, client, as_, amicall, mailbox):
    as_("admin")
    form = client.get(f"/agenda/{amicall.id}/edit").get_data(as_text=True)
    assert 'id="reminders-default" name="reminders" value="default" checked' in form

    def save(*ticks):
        with app.app_context():
            event = db.session.get(Event, amicall.id)
            data = {
                "kind": "amicall", "title": event.title, "starts_at": "2031-05-12T14:00", "ends_at": "2031-05-12T16:00",
                "group": "", "joining_details": event.joining_details, "capacity": "1", "reminders": list(ticks),
            }
        return client.post(f"/agenda/{amicall.id}/edit", data=data)

    assert save("2880", "15").status_code == 302
    assert 'value="2880" checked' in client.get(f"/agenda/{amicall.id}/edit").get_data(as_text=True)
    mailbox.clear()
    assert run(app, START - timedelta(hours=40)).messages == 1  # 2 days before
    assert not run(app, START - timedelta(minutes=50))  # no 1 h reminder any more
    assert run(app, START - timedelta(minutes=10)).messages == 1
    assert len(mailbox.messages) == 2

    response = save("default", "60")
    assert response.status_code == 400
    assert "Choose either the usual reminders or your own times, not both." in text_of(response)

    assert save().status_code == 302  # nothing ticked: no reminder
    with app.app_context():
        assert db.session.get(Event, amicall.id).reminder_offsets == ""
    assert not run(app, START - timedelta(minutes=5))

    assert save("default").status_code == 302
    with app.app_context():
        assert db.session.get(Event, amicall.id).reminder_offsets is None


def test_the_command_is_idempotent(app, runner, make_event, make_user, mailbox):
    event = make_event("Amicall de demain", starts_in=timedelta(hours=20))
    register(app, event, make_user("member", email="demain@example.org"))
    mailbox.clear()
    first = runner.invoke(args=["extranet", "send-reminders"])
    assert first.exit_code == 0 and "Reminders: 1 reminder(s), 1 email(s) queued." in first.output
    second = runner.invoke(args=["extranet", "send-reminders"])
    assert second.exit_code == 0 and "none due now" in second.output
    assert [m["To"] for m in mailbox.messages] == ["demain@example.org"]


def test_two_workers_at_once_send_each_reminder_once(app, backend, amicall, make_user, mailbox):
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer at a time: the race needs PostgreSQL")
    more = [make_user("member", email=f"p{n}@example.org") for n in range(5)]
    with app.app_context():
        db.session.get(Event, amicall.id).capacity = None
        db.session.commit()
    register(app, amicall, *more)
    mailbox.clear()
    start = threading.Barrier(4)
    reports, errors = [], []

    def worker():
        try:
            start.wait()
            reports.append(run(app, START - timedelta(hours=23)))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.reminders for r in reports) == 1
    assert sorted(m["To"] for m in mailbox.messages) == sorted(["inscrite@example.org"] + [u.email for u in more])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EventReminder)) == 1


def test_the_send_mail_worker_sends_due_reminders_once(app, app_config, make_event, make_user, mailbox):
    event = make_event("Amicall dans une heure", starts_in=timedelta(minutes=45))
    register(app, event, make_user("member", email="bientot@example.org"))
    mailbox.clear()
    output = run_mail_worker(app_config, lambda: mailbox.received, EXTRANET_DIGEST_HOUR="23")
    assert [m["To"] for m in mailbox.received] == ["bientot@example.org"]
    assert output.count("Reminders:") == 1
    assert f"https://extranet.example.gouv.fr/agenda/{event.id}" in mailbox.body(mailbox.received[0])
