"""Reporting reminders: a territory late in reporting its roadmap's shared
indicators is emailed once per quarter (its coordinators and the roadmap's
editors), through the outbox and the real SMTP test server, whoever runs the
reminders and however often."""

import threading
from datetime import date

import pytest
from sqlalchemy import func, insert, select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.roadmaps.models import ReportingReminder, roadmap_editor
from extranet.roadmaps.reminders import queue_reporting_reminders

from .helpers import run_mail_worker

pytest_plugins = ["tests.roadmap_fixtures"]

SHARED = "Ménages accédant au logement depuis la rue"
LATE = date(2023, 8, 15)  # T2 2023 due since 30 July; the roadmaps reported T1 2023 only


def run(app, today=LATE):
    return queue_reporting_reminders(today, app=app)


def add_editor(app, roadmap, user):
    with app.app_context():
        db.session.execute(insert(roadmap_editor).values(roadmap_id=roadmap.id, user_id=user.id))
        db.session.commit()


def reminders(mailbox):
    return [m for m in mailbox.messages if "T2 2023" in m["Subject"]]


@pytest.fixture
def lyon(app, make_roadmap, make_user, mailbox):
    """Lyon's validated roadmap, late for T2 2023, with a coordinator, a
    former coordinator and an editor; the mailbox emptied."""
    roadmap = make_roadmap("lyon", status="validated")
    make_user("coordinator", territory="lyon", email="coord@example.org")
    make_user("coordinator", territory="lyon", email="partie@example.org", active=False)
    add_editor(app, roadmap, make_user("member", territory="lyon", email="redac@example.org"))
    mailbox.clear()
    return roadmap


def test_a_late_territory_is_emailed_once(app, lyon, mailbox):
    assert run(app) >= 3
    received = reminders(mailbox)
    addresses = {m["To"] for m in received}
    assert {"coord@example.org", "redac@example.org"} <= addresses  # coordinators and editors
    assert "partie@example.org" not in addresses  # no longer active
    assert len(addresses) == len(received)  # each person once
    message = next(m for m in received if m["To"] == "coord@example.org")
    assert message["Subject"] == "Indicateurs de la feuille de route\u00a0: chiffres du T2 2023 manquants pour Métropole de Lyon"
    body = mailbox.body(message)
    assert f"- {SHARED}" in body and "1 avril 2023" in body and "30 juin 2023" in body
    assert f"http://127.0.0.1:5000/roadmaps/{lyon.id}#section-indicators" in body
    # Again, the same day or later in the quarter: nothing more.
    assert run(app) == 0
    assert run(app, date(2023, 9, 20)) == 0
    assert reminders(mailbox) == received
    with app.app_context():
        assert db.session.execute(select(ReportingReminder.roadmap_id, ReportingReminder.quarter_end)).all() == [
            (lyon.id, date(2023, 6, 30))
        ]


def test_on_time_draft_and_within_grace_are_not_emailed(app, make_roadmap, make_user, mailbox):
    make_roadmap("lyon", status="validated")
    make_roadmap("nantes", status="draft")  # not validated: not asked yet
    make_user("coordinator", territory="nantes", email="nantes@example.org")
    mailbox.clear()
    assert run(app, date(2023, 5, 15)) == 0  # T1 2023 due: reported
    assert run(app, date(2023, 7, 25)) == 0  # T2 2023 ended 25 days ago: within the 30 days of grace
    assert mailbox.messages == []
    app.config["ROADMAP_REPORTING_GRACE_DAYS"] = 60
    assert run(app) == 0  # 46 days: still within a longer grace
    app.config["ROADMAP_REPORTING_GRACE_DAYS"] = 30
    assert run(app) > 0
    assert "nantes@example.org" not in {m["To"] for m in mailbox.messages}


def test_the_next_quarter_late_is_a_new_reminder(app, lyon, mailbox):
    run(app)
    assert run(app, date(2023, 11, 15)) > 0  # T3 2023 now
    subjects = [m["Subject"] for m in mailbox.to("redac@example.org")]
    assert len(subjects) == 2 and "T3 2023" in subjects[1]


def test_an_english_recipient_reads_english(app, lyon, make_user, mailbox):
    make_user("coordinator", territory="lyon", email="en@example.org", language="en")
    run(app)
    [message] = mailbox.to("en@example.org")
    assert message["Subject"] == "Roadmap indicators: figures for T2 2023 are missing for Métropole de Lyon"
    body = mailbox.body(message)
    assert "Missing indicators:" in body and "April 1, 2023" in body


def test_switched_off_by_configuration(app, lyon, mailbox):
    app.config["ROADMAP_REPORTING_REMINDERS"] = False
    assert run(app) == 0
    assert mailbox.messages == []


def test_the_command_is_idempotent(app, runner, make_roadmap, make_user, mailbox):
    # The command looks at today: a roadmap over the current years, which never reported them.
    this_year = date.today().year
    make_roadmap("lyon", status="validated", start_year=this_year - 1, end_year=this_year + 1)
    make_user("coordinator", territory="lyon", email="coord@example.org")
    mailbox.clear()
    first = runner.invoke(args=["extranet", "send-reporting-reminders"])
    assert first.exit_code == 0 and "Reporting reminders: " in first.output and "email(s) queued." in first.output
    second = runner.invoke(args=["extranet", "send-reporting-reminders"])
    assert second.exit_code == 0 and "none due now" in second.output
    assert len(mailbox.to("coord@example.org")) == 1


def test_two_runs_at_once_send_each_reminder_once(app, backend, lyon, mailbox):
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer at a time: the race needs PostgreSQL")
    start = threading.Barrier(4)
    counts, errors = [], []

    def worker():
        try:
            start.wait()
            counts.append(run(app))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len([c for c in counts if c]) == 1
    addresses = [m["To"] for m in reminders(mailbox)]
    assert len(addresses) == len(set(addresses)) == sum(counts)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportingReminder)) == 1


def test_the_send_mail_worker_sends_the_reminder_once(app, app_config, make_roadmap, make_user, mailbox):
    this_year = date.today().year
    roadmap = make_roadmap("lyon", status="validated", start_year=this_year - 1, end_year=this_year + 1)
    make_user("coordinator", territory="lyon", email="coord@example.org")
    with app.app_context():
        coordinators = db.session.scalar(select(func.count()).select_from(User).where(User.role == "coordinator"))
    mailbox.clear()
    output = run_mail_worker(app_config, lambda: len(mailbox.received) >= coordinators, EXTRANET_DIGEST_HOUR="23")
    assert output.count("Reporting reminders:") == 1
    assert len(mailbox.received) == coordinators
    message = next(m for m in mailbox.received if m["To"] == "coord@example.org")
    assert f"https://extranet.example.gouv.fr/roadmaps/{roadmap.id}#section-indicators" in mailbox.body(message)
