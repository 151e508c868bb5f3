"""Never overbooked through a real server: gunicorn (two processes of eight
threads) on the test database, 40 people logged in through the login form over
HTTP, all registering at the same moment for 10 seats. bench/agenda.py runs
the same with 200 people for 50 seats."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bench.agenda import HttpClient, gunicorn_server, log_in_all, register_all_at_once
from extranet.agenda.models import Registration
from extranet.extensions import db

from .conftest import PASSWORD

pytest_plugins = ["tests.group_fixtures", "tests.agenda_fixtures"]


def test_simultaneous_registrations_through_a_real_server_never_overbook(
    app, backend, database_url, tmp_path, make_user, make_event, person, login, client
):
    if backend != "postgresql":
        pytest.skip("SQLite lets one writer at a time: the race needs PostgreSQL's row locks")
    event = make_event("Amicall très demandé", capacity=10, starts_in=timedelta(days=3))
    people = [make_user("member", territory=("lyon", "nantes", "la-reunion")[n % 3]) for n in range(40)]

    with gunicorn_server(database_url, tmp_path / "server", workers=2, threads=8) as base:
        browsers = [HttpClient(base) for _ in people]
        log_in_all(browsers, [p.email for p in people], PASSWORD)
        answers, _ = register_all_at_once(browsers, event.id)
        # Each person is sent back to the event page, which tells them where they stand.
        pages = [b.request("GET", f"/agenda/{event.id}")[2] for b in browsers]

    assert answers == [302] * 40
    seats = sum("Vous êtes inscrit" in page for page in pages)
    waiting = sum("Vous êtes sur la liste d" in page for page in pages)
    assert (seats, waiting) == (10, 30)
    with app.app_context():
        rows = dict(db.session.execute(
            select(Registration.status, func.count()).where(Registration.event_id == event.id).group_by(Registration.status)
        ).all())
    assert {str(status): n for status, n in rows.items()} == {"registered": 10, "waitlisted": 30}
    # What the organisers read on the event's page.
    login(person("admin"))
    assert "10 of 10 seats taken — 30 people waiting" in client.get(f"/agenda/{event.id}").get_data(as_text=True)
