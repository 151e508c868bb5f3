"""Helpers shared by the tests: HTML inspection, database access between requests, login."""

import re
import threading
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

from sqlalchemy import event, select

from extranet.audit import AuditEvent
from extranet.auth.models import User
from extranet.extensions import db

NEW_PASSWORD = "une toute nouvelle phrase de passe"


# --- Helpers ------------------------------------------------------------------


class _Node:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, _Node):
                yield from child.iter()

    def text(self):
        return " ".join(
            " ".join((c if isinstance(c, str) else c.text()).split()) for c in self.children
        ).strip()


class _Parser(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.root = _Node("#root", {}, None)
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, attrs, self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(_Node(tag, attrs, self.stack[-1]))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> _Node:
    parser = _Parser()
    parser.feed(html)
    return parser.root


GROUPS = ("fr-input-group", "fr-select-group", "fr-checkbox-group")


def errors_beside(html: str, field_id: str) -> list[str]:
    """The error messages shown in the DSFR group of the field with this id;
    checks that the group and the field are flagged as in error when there are some."""
    root = parse(html)
    field = next((n for n in root.iter() if n.attrs.get("id") == field_id), None)
    assert field is not None, f"no field with id {field_id!r} in the page"
    group = field.parent
    while group is not None and not any(c in GROUPS for c in group.classes):
        group = group.parent
    assert group is not None, f"field {field_id!r} is not in a DSFR field group"
    messages = [n.text() for n in group.iter() if n.tag == "p" and "fr-message--error" in n.classes]
    flagged = any(c.endswith("-group--error") for c in group.classes)
    assert flagged == bool(messages), f"group of {field_id!r}: error class {flagged}, messages {messages}"
    if messages and field.attrs.get("type") not in ("checkbox", "radio"):
        assert field.attrs.get("aria-invalid") == "true"
    return messages


def form_alerts(html: str) -> list[str]:
    """Texts of the error alerts of the page (errors that belong to no single field)."""
    return [n.text() for n in parse(html).iter() if "fr-alert--error" in n.classes]


def page_text(response, *swaps: tuple[str, str]) -> str:
    """A page's HTML without its CSRF tokens (dated to the second), with these
    (old, new) swaps made: for checking that two answers cannot be told apart."""
    html = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', response.get_data(as_text=True))
    for old, new in swaps:
        html = html.replace(old, new)
    return html


def h1(html: str) -> str:
    return next(n.text() for n in parse(html).iter() if n.tag == "h1")


def in_site_layout(html: str) -> bool:
    root = parse(html)
    classes = {c for n in root.iter() for c in n.classes}
    return "fr-header" in classes and "fr-footer" in classes


def french(app, message, **values) -> str:
    """``message`` as the French pages show it (the source text until the catalog has it)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("fr"):
        return gettext(message, **values)


@contextmanager
def database(app):
    """Direct database access between requests (never around a request: the
    test client would then share this application context and its ``g``)."""
    with app.app_context():
        yield db.session


def events(app, kind=None):
    with database(app) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if kind is not None:
            query = query.where(AuditEvent.kind == kind)
        return [
            dict(kind=e.kind, email=e.email, ip=e.ip, actor_id=e.actor_id, target_id=e.target_user_id, details=e.details)
            for e in session.scalars(query)
        ]


def get_user(app, email) -> User:
    with database(app) as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is not None:
            session.expunge(user)
        return user


def is_logged_in(client) -> bool:
    response = client.get("/auth/profile")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and urlsplit(response.location).path == "/auth/login"
    return False


def path_of(link: str) -> str:
    return urlsplit(link).path


def set_cookie_headers(response, name):
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]


def post_login(client, email, password, ip="127.0.0.1", **extra):
    return client.post("/auth/login", data={"email": email, "password": password, **extra}, environ_base={"REMOTE_ADDR": ip})


def age_events(app, minutes):
    """Pretend every audit event happened ``minutes`` earlier."""
    with database(app) as session:
        for event in session.scalars(select(AuditEvent)):
            event.created_at = event.created_at - timedelta(minutes=minutes)
        session.commit()


def queries_for(app, client, url) -> int:
    """How many SQL statements the page at ``url`` runs (it must answer 200).
    Only this thread's: the search index's merge thread may read rows meanwhile."""
    with app.app_context():
        engine = db.engine
    me, count = threading.get_ident(), 0

    def counter(*args, **kwargs):
        nonlocal count
        if threading.get_ident() == me:
            count += 1

    event.listen(engine, "before_cursor_execute", counter)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    assert response.status_code == 200, url
    return count


def browser_login(page, live_server, user) -> None:
    """Log ``user`` in through the login form of the French interface, in the browser."""
    from .conftest import PASSWORD

    page.goto(live_server.url + "/auth/login")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Mot de passe").press("Enter")
    page.wait_for_url(live_server.url + "/")


def run_mail_worker(app_config, until, **settings) -> str:
    """Run the real `send-mail` worker in its own process against the test
    database and SMTP server until ``until()`` holds, let it go round a few more
    times, stop it as a service manager would (SIGTERM); its output."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from .conftest import wait_for

    env = dict(
        os.environ,
        EXTRANET_ENV="testing",
        EXTRANET_SECRET_KEY="test",
        EXTRANET_DATABASE_URL=app_config["DATABASE_URL"],
        EXTRANET_DATA_DIR=app_config["DATA_DIR"],
        EXTRANET_MAIL_HOST="127.0.0.1",
        EXTRANET_MAIL_PORT=str(app_config["MAIL_PORT"]),
        EXTRANET_BASE_URL="https://extranet.example.gouv.fr",
        **settings,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "extranet", "send-mail", "--interval", "0.2"],
        cwd=Path(__file__).resolve().parent.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert wait_for(until, timeout=60)
        time.sleep(1)  # a few more rounds of the loop
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    return output
