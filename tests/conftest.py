"""Fixtures: app -> client -> runner, factories that return callables.

Every test that uses ``app`` runs twice: on SQLite and on a real PostgreSQL
server that this file starts (initdb in a temporary directory, loopback port).
Mail goes to a real SMTP server (aiosmtpd) on loopback.
"""

import email
import email.policy
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from glob import glob
from pathlib import Path

import pytest
from sqlalchemy import text

from extranet import create_app
from extranet.extensions import db

PASSWORD = "un mot de passe solide"
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser):
    parser.addoption(
        "--backends",
        default=",".join(BACKENDS),
        help="Comma-separated database backends to run the suite on (default: sqlite,postgresql).",
    )


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        wanted = [b for b in metafunc.config.getoption("--backends").split(",") if b]
        if metafunc.definition.get_closest_marker("browser"):
            # The browser checks pages, not SQL: one backend is enough.
            wanted = wanted[:1]
        metafunc.parametrize("backend", wanted, scope="session")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PostgreSQL ---------------------------------------------------------------


def _postgres_bindir() -> str | None:
    candidates = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return str(Path(candidates[0]).parent)
    initdb = shutil.which("initdb")
    return str(Path(initdb).parent) if initdb else None


class PostgresServer:
    """A throw-away PostgreSQL cluster in a temporary directory, on a loopback port."""

    def __init__(self):
        bindir = _postgres_bindir()
        if bindir is None:
            pytest.fail("PostgreSQL binaries (initdb) not found: run `make test`, which installs them, or pass --backends=sqlite.")
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="extranet-pg-"))
        self.datadir = self.root / "data"
        # initdb refuses to run as root: run the server as the postgres account then.
        self.prefix = []
        if os.geteuid() == 0:
            account = "postgres" if _user_exists("postgres") else "nobody"
            shutil.chown(self.root, account)
            self.prefix = ["runuser", "-u", account, "--"]

    def _run(self, *args):
        subprocess.run(self.prefix + list(args), check=True, capture_output=True, text=True)

    def start(self):
        self._run(f"{self.bindir}/initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-o", options, "-w", "-l", str(self.root / "server.log"), "start")
        return self

    def url(self, database="postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self):
        try:
            self._run(f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer().start()
    yield server
    server.stop()


# --- Database per backend ---------------------------------------------------------


def make_database(backend: str, request, name: str) -> str:
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="extranet-sqlite-"))
        request.addfinalizer(lambda: shutil.rmtree(directory, ignore_errors=True))
        return f"sqlite:///{directory / (name + '.sqlite3')}"
    return request.getfixturevalue("postgres_server").create_database(name)


def migrate(url: str) -> None:
    import flask_migrate

    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "test", "DATA_DIR": tempfile.mkdtemp()})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(backend, request):
    """A database migrated to the latest schema, once per backend."""
    url = make_database(backend, request, "extranet_test")
    migrate(url)
    return url


def clear_database() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f'DELETE FROM "{table}"'))
    db.session.commit()


# --- Mail ----------------------------------------------------------------------


class Inbox:
    """The loopback SMTP server's handler: keeps every message it receives."""

    def __init__(self):
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.append(message)
        return "250 Message accepted for delivery"


class Mailbox:
    """Messages received by the loopback SMTP server.

    Pages only put mail in the outbox table; reading ``messages`` first runs the
    real outbox worker (:func:`extranet.mail.send_pending`), as the
    ``send-mail`` command would, so the messages are read after a real SMTP
    delivery. ``received`` is what arrived, without running the worker.
    (Not the server's handler itself: aiosmtpd reads every attribute of its
    handler, which would run the worker inside the server's thread.)"""

    def __init__(self, inbox: Inbox, drain):
        self.inbox = inbox
        self.drain = drain

    @property
    def received(self) -> list:
        return self.inbox.received

    @property
    def messages(self) -> list:
        self.drain()
        return self.inbox.received

    def clear(self):
        """Send what the outbox holds, then forget everything received so far."""
        self.messages.clear()

    def to(self, address: str) -> list:
        return [m for m in self.messages if address.lower() in m["To"].lower()]

    @staticmethod
    def body(message) -> str:
        return message.get_body(("plain",)).get_content()

    def link(self, message) -> str:
        found = re.search(r"https?://\S+", self.body(message))
        assert found, "no link in the message"
        return found.group(0)


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server, app_config):
    """The SMTP server's mailbox, empty; reading it drains the outbox with a
    worker application of its own, built from ``app_config`` like a separate
    ``send-mail`` process on the same database."""
    from extranet.mail import send_pending

    smtp_server.handler.received.clear()
    workers = []

    def drain():
        if not workers:
            workers.append(create_app(app_config))
        while send_pending(workers[0], limit=500):
            pass

    yield Mailbox(smtp_server.handler, drain)
    for worker in workers:
        with worker.app_context():
            db.engine.dispose()


# --- Application --------------------------------------------------------------


@pytest.fixture
def app_config(database_url, smtp_server, tmp_path):
    """The configuration of the test app; a test may change it before asking for ``app``."""
    return {
        "ENV": "testing",
        "SECRET_KEY": "test secret key",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }


@pytest.fixture
def app(app_config, mailbox):
    from extranet.plan.services import load_plan
    from extranet.territories.services import load_territories

    app = create_app(app_config)
    with app.app_context():
        clear_database()
        load_territories()
        load_plan()
        db.session.commit()
    yield app
    engine = app.extensions.get("search")
    if engine is not None:
        engine.wait_for_merges()  # no merge thread of this test writes into the next one's database
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- Factories -------------------------------------------------------------------


@pytest.fixture
def make_user(app):
    """make_user(role="member", territory="lyon", **fields) -> User, committed."""
    from extranet.auth.services import create_user
    from extranet.roles import OrganisationType, Role
    from extranet.territories.models import Territory

    counter = iter(range(1, 10_000))

    def factory(role="member", territory=None, email=None, password=PASSWORD, name=None, **fields):
        role = Role(role)
        n = next(counter)
        if territory is None and not role.is_national:
            territory = "lyon"
        with app.app_context():
            territory_id = None
            if territory is not None:
                territory_id = db.session.scalar(db.select(Territory.id).filter_by(slug=territory))
            if role == Role.MEMBER:
                fields.setdefault("organisation_type", OrganisationType.ASSOCIATION)
            user = create_user(
                email=email or f"{role.value}{n}@example.org",
                password=password,
                name=name or f"{role.value.title()} Number{n}",
                role=role,
                territory_id=territory_id,
                **fields,
            )
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return factory


@pytest.fixture
def login(client):
    """login(user, password=PASSWORD, client=client) -> response, through the real form."""

    def do_login(user, password=PASSWORD, client=client, remember=False):
        data = {"email": user.email, "password": password}
        if remember:
            data["remember"] = "y"
        return client.post("/auth/login", data=data)

    return do_login


@pytest.fixture
def logged_in(make_user, login, client):
    """logged_in(role="member", **fields) -> user, the test client logged in as them."""

    def factory(role="member", **fields):
        user = make_user(role=role, **fields)
        response = login(user)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return factory


@pytest.fixture
def person(make_user):
    """person(role, territory=None, **fields) -> User reading the pages in English (for
    tests that compare with the source strings)."""

    def factory(role="member", territory=None, **fields):
        fields.setdefault("language", "en")
        return make_user(role=role, territory=territory, **fields)

    return factory


@pytest.fixture
def as_(person, login, client):
    """as_(role, **fields) -> user, the test client logged in as them."""

    def factory(role="member", **fields):
        user = person(role, **fields)
        response = login(user)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return factory


def csrf_token_from(html: str) -> str:
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


# --- Real server and browser -----------------------------------------------------


@pytest.fixture
def live_server(app):
    """The app served by a real WSGI server on a loopback port, in a thread."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=5)


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        pytest.fail("Chromium not found: `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.csp_violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and page.csp_violations.append(m.text))
    yield page
    context.close()
