"""Outgoing mail.

Messages are queued on the database session and handed to SMTP only after the
transaction commits, so a rolled-back invitation never mails a dead link.
Without ``EXTRANET_MAIL_HOST`` outside production, messages go to the log.
"""

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import event
from sqlalchemy.orm import Session

from extranet.extensions import db

log = logging.getLogger(__name__)

_QUEUE_KEY = "outgoing_mail"


def queue(to: str, template: str, *, language: str = "fr", **context) -> EmailMessage:
    """Render ``templates/mail/<template>.txt`` in the recipient's language and
    queue it; its first line is the subject."""
    with force_locale(language or "fr"):
        subject, _, body = render_template(f"mail/{template}.txt", **context).strip().partition("\n")
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject.strip()
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="logement-dabord.extranet")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body.strip() + "\n")
    db.session.info.setdefault(_QUEUE_KEY, []).append(message)
    return message


def deliver(messages: list[EmailMessage]) -> None:
    config = current_app.config
    if not config["MAIL_HOST"] and config["ENV"] != "production":
        for message in messages:
            log.info("Mail not sent (no EXTRANET_MAIL_HOST), here it is:\n%s", message.as_string())
        return
    try:
        smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        with smtp_class(config["MAIL_HOST"] or "localhost", config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
            if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            for message in messages:
                smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        log.exception("Could not send %d mail(s) to %s", len(messages), ", ".join(m["To"] for m in messages))


@event.listens_for(Session, "after_commit")
def _send_after_commit(session):
    messages = session.info.pop(_QUEUE_KEY, None)
    if messages:
        deliver(messages)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session):
    session.info.pop(_QUEUE_KEY, None)


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail: built on EXTRANET_BASE_URL when it is set
    (so workers and commands can mail links outside a request), else on the
    address of the current request."""
    from urllib.parse import urlsplit

    from flask import url_for

    base = current_app.config["BASE_URL"].rstrip("/")
    if not base:
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)
