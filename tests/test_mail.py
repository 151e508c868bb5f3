"""The outbox: mail is a row committed with the change that caused it, sent by
a worker over real SMTP (aiosmtpd on loopback), retried with backoff while the
server is down, never sent twice by two workers at once."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, undefer

from extranet import create_app, mail
from extranet.extensions import db
from extranet.mail import MailStatus, OutgoingMail, send_pending
from extranet.timeutil import utcnow

from .conftest import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent


# --- Helpers ------------------------------------------------------------------------


def queue_mails(app, *addresses, **options):
    """Queue a password-reset mail to each address and commit, as a page would."""
    with app.test_request_context():
        for address in addresses:
            mail.queue(
                address,
                "password_reset",
                language="en",
                user=SimpleNamespace(name="Camille Martin"),
                link="https://extranet.example/auth/password/reset/secret-token",
                validity_minutes=60,
                **options,
            )
        db.session.commit()


def outbox(app) -> list[OutgoingMail]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutgoingMail).options(undefer(OutgoingMail.message)).order_by(OutgoingMail.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def make_due(app):
    """Jump past the backoff delay: every waiting mail is due now."""
    with app.app_context():
        db.session.execute(
            update(OutgoingMail).where(OutgoingMail.status == MailStatus.PENDING).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


@pytest.fixture
def worker(app_config):
    """worker(**config) -> a separate application over the same database, like a
    `send-mail` process; by default it sends to the test SMTP server."""
    made = []

    def factory(**overrides):
        made.append(create_app(dict(app_config, **overrides)))
        return made[-1]

    yield factory
    for app in made:
        with app.app_context():
            db.engine.dispose()


class RecordingHandler:
    """An SMTP server's handler that keeps what it receives, on which
    connection, and refuses the recipients it is told to."""

    def __init__(self, refuse=(), delay=0.0):
        self.received = []
        self.connections = set()
        self.refuse = set(refuse)
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        if self.delay:
            await asyncio.sleep(self.delay)
        self.connections.add(id(session))
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(request):
    """smtp(refuse=..., delay=...) -> a started SMTP server of the test's own."""
    from aiosmtpd.controller import Controller

    controllers = []

    def factory(**options):
        controller = Controller(RecordingHandler(**options), hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        return controller

    yield factory
    for controller in controllers:
        controller.stop()


# --- Queueing -------------------------------------------------------------------------


def test_a_queued_mail_is_a_pending_row_until_the_worker_sends_it(app, mailbox):
    queue_mails(app, "camille@example.org")
    (row,) = outbox(app)
    assert (row.status, row.attempts, row.recipient) == (MailStatus.PENDING, 0, "camille@example.org")
    assert row.subject == "Choose a new password for the Logement d'abord extranet"
    assert row.template == "password_reset"
    assert mailbox.received == []  # nothing went out with the commit

    (message,) = mailbox.to("camille@example.org")  # reading the mailbox runs the worker once
    assert message["Subject"] == row.subject
    assert "https://extranet.example/auth/password/reset/secret-token" in mailbox.body(message)
    (row,) = outbox(app)
    assert row.status == MailStatus.SENT and row.sent_at is not None and row.attempts == 1
    # The single-use link does not stay in the database once delivered.
    assert row.message is None


def test_a_rolled_back_transaction_sends_nothing(app, mailbox):
    with app.test_request_context():
        mail.queue("rolled.back@example.org", "password_reset", user=SimpleNamespace(name="X"), link="https://x.example/", validity_minutes=60)
        db.session.flush()  # the row reached the database, inside the transaction
        db.session.rollback()
    assert outbox(app) == []
    assert mailbox.messages == []


def test_the_unsubscribe_url_adds_the_one_click_headers(app, worker, smtp):
    server = smtp()
    queue_mails(app, "news@example.org", unsubscribe_url="https://extranet.example/unsubscribe/abc123")
    queue_mails(app, "plain@example.org")
    queue_mails(app, "custom@example.org", headers={"X-Extranet-Group": "logement-des-jeunes"})
    assert send_pending(worker(MAIL_PORT=server.port)).sent == 3
    news, plain, custom = sorted(server.handler.received, key=lambda m: ["news", "plain", "custom"].index(m["To"].split("@")[0]))
    assert news["List-Unsubscribe"] == "<https://extranet.example/unsubscribe/abc123>"
    assert news["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058
    assert plain["List-Unsubscribe"] is None and plain["List-Unsubscribe-Post"] is None
    assert custom["X-Extranet-Group"] == "logement-des-jeunes" and custom["List-Unsubscribe"] is None
    with app.test_request_context(), pytest.raises(ValueError):
        mail.queue("x@example.org", "password_reset", unsubscribe_url="/unsubscribe/abc", user=SimpleNamespace(name="X"), link="", validity_minutes=1)


# --- Pages never wait for SMTP ------------------------------------------------------------


@pytest.fixture
def silent_smtp_port():
    """A port that accepts TCP connections and never answers: an SMTP client
    talking to it would wait for its timeout. Connections stay in the backlog,
    where the test can see whether anyone came."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    yield listener
    listener.close()


def test_inviting_someone_does_not_talk_to_the_mail_server(app_config, silent_smtp_port, request, worker, mailbox):
    app_config.update(MAIL_PORT=silent_smtp_port.getsockname()[1], MAIL_TIMEOUT=120)
    app = request.getfixturevalue("app")
    client = request.getfixturevalue("client")
    request.getfixturevalue("as_")("admin")
    response = client.post(
        "/admin/invitations/new",
        data={"email": "new.animator@example.org", "name": "New Animator", "role": "animator", "territory_id": "", "organisation_type": ""},
    )
    assert response.status_code == 302
    with pytest.raises(BlockingIOError):
        silent_smtp_port.accept()  # nobody connected
    (row,) = outbox(app)
    assert (row.recipient, row.status, row.attempts) == ("new.animator@example.org", MailStatus.PENDING, 0)

    # The worker, with a server that answers, delivers it.
    assert send_pending(worker(MAIL_PORT=mailbox_port(request))).sent == 1
    assert [m["To"] for m in mailbox.received] == ["new.animator@example.org"]


def mailbox_port(request) -> int:
    return request.getfixturevalue("smtp_server").port


# --- Retries ---------------------------------------------------------------------------------


def test_smtp_down_then_back(app, worker, mailbox, request):
    queue_mails(app, "first@example.org", "second@example.org")
    down = worker(MAIL_PORT=free_port())  # nothing listens there: connection refused
    before = utcnow()
    report = send_pending(down)
    assert (report.sent, report.retried, report.failed) == (0, 2, 0)
    for row in outbox(app):
        assert (row.status, row.attempts) == (MailStatus.PENDING, 1)
        assert "ConnectionRefusedError" in row.last_error
        # First retry after about a minute (± 20 % so that mails do not all come back together).
        assert timedelta(seconds=47) <= row.next_attempt_at - before <= timedelta(seconds=73)
    assert not send_pending(down), "not due yet: no new attempt"
    assert outbox(app)[0].attempts == 1

    make_due(app)
    before = utcnow()
    assert send_pending(down).retried == 2
    for row in outbox(app):
        assert row.attempts == 2
        assert timedelta(seconds=95) <= row.next_attempt_at - before <= timedelta(seconds=145)  # then two minutes

    make_due(app)
    report = send_pending(worker(MAIL_PORT=mailbox_port(request)))
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    assert sorted(m["To"] for m in mailbox.received) == ["first@example.org", "second@example.org"]
    assert [(row.status, row.attempts, row.message) for row in outbox(app)] == [(MailStatus.SENT, 3, None)] * 2


def test_backoff_doubles_up_to_an_hour(app):
    for attempts, nominal in [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (12, 3600)]:
        for _ in range(20):
            delay = mail.retry_delay(attempts, app).total_seconds()
            assert 0.8 * nominal <= delay <= 1.2 * nominal


def test_a_mail_is_marked_failed_after_the_last_attempt(app, worker):
    queue_mails(app, "never@example.org")
    down = worker(MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=3)
    for expected in (1, 2):
        assert send_pending(down).retried == 1
        assert outbox(app)[0].attempts == expected
        make_due(app)
    report = send_pending(down)
    assert (report.retried, report.failed) == (0, 1)
    (row,) = outbox(app)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 3)
    assert "ConnectionRefusedError" in row.last_error
    assert row.message is not None  # kept, for the administrators' "retry now"
    make_due(app)
    assert not send_pending(down), "a failed mail waits for an administrator"


def test_a_refused_recipient_fails_at_once_and_the_others_go_out_on_the_same_connection(app, worker, smtp):
    server = smtp(refuse={"nobody@example.org"})
    queue_mails(app, "one@example.org", "nobody@example.org", "two@example.org")
    report = send_pending(worker(MAIL_PORT=server.port))
    assert (report.sent, report.retried, report.failed) == (2, 0, 1)
    assert sorted(m["To"] for m in server.handler.received) == ["one@example.org", "two@example.org"]
    assert len(server.handler.connections) == 1
    failed = [row for row in outbox(app) if row.status == MailStatus.FAILED]
    assert [row.recipient for row in failed] == ["nobody@example.org"]
    assert "550" in failed[0].last_error and "No such mailbox" in failed[0].last_error


def test_a_mail_left_sending_by_a_dead_worker_is_sent_once_its_claim_expires(app, worker, mailbox):
    queue_mails(app, "orphan@example.org", "in.flight@example.org")
    with app.app_context():
        # A worker claimed both, then died; the second claim is still running.
        db.session.execute(
            update(OutgoingMail).where(OutgoingMail.recipient == "orphan@example.org")
            .values(status=MailStatus.SENDING, attempts=1, next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.execute(
            update(OutgoingMail).where(OutgoingMail.recipient == "in.flight@example.org")
            .values(status=MailStatus.SENDING, attempts=1, next_attempt_at=utcnow() + timedelta(minutes=10))
        )
        db.session.commit()
    assert send_pending(worker()).sent == 1
    assert [m["To"] for m in mailbox.received] == ["orphan@example.org"]
    orphan, in_flight = outbox(app)
    assert (orphan.status, orphan.attempts) == (MailStatus.SENT, 2)
    assert in_flight.status == MailStatus.SENDING


def test_retry_now_gives_a_failed_mail_a_fresh_series_of_attempts(app, worker, mailbox):
    queue_mails(app, "again@example.org")
    send_pending(worker(MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=1))
    assert outbox(app)[0].status == MailStatus.FAILED
    with app.app_context():
        assert mail.retry_now() == 1
        db.session.rollback()  # retry_now only flushes: nothing changes without the caller's commit
        assert mail.retry_now() == 1
        db.session.commit()
    (row,) = outbox(app)
    assert (row.status, row.attempts) == (MailStatus.PENDING, 0)
    assert [m["To"] for m in mailbox.messages] == ["again@example.org"]
    with app.app_context():
        assert mail.retry_now([row.id]) == 0, "a sent mail is not sent again"


def test_sent_mails_are_forgotten_after_thirty_days(app, worker, mailbox):
    queue_mails(app, "old@example.org", "recent@example.org", "failed@example.org")
    assert len(mailbox.messages) == 3
    with app.app_context():
        db.session.execute(update(OutgoingMail).where(OutgoingMail.recipient == "old@example.org").values(sent_at=utcnow() - timedelta(days=31)))
        db.session.execute(update(OutgoingMail).where(OutgoingMail.recipient == "failed@example.org").values(status=MailStatus.FAILED))
        db.session.commit()
    assert mail.prune_sent(worker()) == 1
    assert sorted(row.recipient for row in outbox(app)) == ["failed@example.org", "recent@example.org"]


def test_without_a_mail_host_the_worker_writes_mails_to_the_log(app, worker, caplog):
    queue_mails(app, "log@example.org")
    development = worker(ENV="development", MAIL_HOST="")
    with caplog.at_level("INFO", logger="extranet.mail"):
        assert send_pending(development).sent == 1
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "extranet.mail")
    assert "To: log@example.org" in logged
    assert "https://extranet.example/auth/password/reset/secret-token" in logged  # readable, not encoded
    assert outbox(app)[0].status == MailStatus.SENT


def test_production_without_a_mail_host_does_not_pretend(app, worker):
    """In production a missing host is a mistake: the mail is retried (on
    localhost), not logged and marked sent."""
    queue_mails(app, "prod@example.org")
    production = worker(ENV="production", BASE_URL="https://extranet.example", MAIL_HOST="", MAIL_PORT=free_port())
    assert send_pending(production).retried == 1
    assert outbox(app)[0].status == MailStatus.PENDING


# --- Several workers ----------------------------------------------------------------------


def test_two_workers_never_send_a_mail_twice(app, worker, smtp):
    server = smtp(delay=0.005)  # a little slow, so the two workers overlap
    addresses = [f"person{n}@example.org" for n in range(60)]
    queue_mails(app, *addresses)
    workers = [worker(MAIL_PORT=server.port) for _ in range(2)]
    start = threading.Barrier(2)
    claimed = [0, 0]
    errors = []

    def run(index):
        try:
            start.wait()
            while report := send_pending(workers[index], limit=4):
                claimed[index] += report.claimed
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    message_ids = [m["Message-ID"] for m in server.handler.received]
    assert len(message_ids) == len(set(message_ids)) == 60
    assert sorted(m["To"] for m in server.handler.received) == sorted(addresses)
    assert sum(claimed) == 60
    assert {(row.status, row.attempts) for row in outbox(app)} == {(MailStatus.SENT, 1)}


def test_a_worker_skips_the_mails_another_is_claiming(app, worker, backend, mailbox):
    """PostgreSQL: rows locked by another worker's claim are skipped, not waited for."""
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises every write")
    queue_mails(app, "locked@example.org", "free1@example.org", "free2@example.org")
    second = worker()
    with second.app_context():
        engine = db.engine
    holder = Session(engine)
    try:
        locked_id = holder.scalar(select(OutgoingMail.id).where(OutgoingMail.recipient == "locked@example.org").with_for_update())
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(report=send_pending(second)), daemon=True)
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the worker waited for the other worker's lock"
        assert outcome["report"].sent == 2
    finally:
        holder.rollback()
        holder.close()
    assert sorted(m["To"] for m in mailbox.received) == ["free1@example.org", "free2@example.org"]
    assert send_pending(second).sent == 1
    assert [row.status for row in outbox(app) if row.id == locked_id] == [MailStatus.SENT]


# --- Command line --------------------------------------------------------------------------


def test_send_mail_once(app, runner, mailbox):
    queue_mails(app, "cli1@example.org", "cli2@example.org")
    result = runner.invoke(args=["extranet", "send-mail", "--once", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.count("1 sent, 0 to retry later, 0 failed") == 2
    assert sorted(m["To"] for m in mailbox.received) == ["cli1@example.org", "cli2@example.org"]
    again = runner.invoke(args=["extranet", "send-mail", "--once"])
    assert again.exit_code == 0 and "nothing to send" in again.output
    assert len(mailbox.received) == 2


def test_send_mail_keeps_watching_until_sigterm(app, app_config, mailbox):
    env = dict(
        os.environ,
        EXTRANET_ENV="testing",
        EXTRANET_SECRET_KEY="test",
        EXTRANET_DATABASE_URL=app_config["DATABASE_URL"],
        EXTRANET_DATA_DIR=app_config["DATA_DIR"],
        EXTRANET_MAIL_HOST="127.0.0.1",
        EXTRANET_MAIL_PORT=str(app_config["MAIL_PORT"]),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "extranet", "send-mail", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        queue_mails(app, "watched@example.org")  # queued after the worker started
        assert wait_for(lambda: mailbox.received, timeout=60)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert [m["To"] for m in mailbox.received] == ["watched@example.org"]
    assert "1 sent" in output and "Mail worker stopped." in output
    assert outbox(app)[0].status == MailStatus.SENT
