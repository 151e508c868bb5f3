"""Outgoing mail, through an outbox table.

:func:`queue` renders a message and adds an :class:`OutgoingMail` row to the
database session: the mail is committed with the change that caused it and
disappears with it on rollback (a rolled-back invitation never mails a dead
link), and no page ever waits for an SMTP server. A worker
(``flask --app wsgi extranet send-mail``, run by ``make run``) calls
:func:`send_pending`, which claims the due rows, sends them over one SMTP
connection and records the outcome: sent, retried later with exponential
backoff, or failed for good after ``MAIL_MAX_ATTEMPTS`` tries (the
administration lists those, with a "retry now" button).

Delivery is at least once: a worker that dies between the SMTP server's
acceptance and the database update sends that mail again when its claim
expires. Without ``EXTRANET_MAIL_HOST`` outside production, the worker
writes the messages to the log and marks them sent.
"""

import email
import email.policy
import enum
import logging
import random
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Index, LargeBinary, String, Text, and_, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from extranet.extensions import db, enum_type
from extranet.timeutil import utcnow

log = logging.getLogger(__name__)

SUBJECT_MAX = 500
ERROR_MAX = 2000
# Headers written as they were stored (already folded where they can be), never folded again.
AS_STORED = email.policy.default.clone(refold_source="none")


class MailStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a worker, until next_attempt_at
    SENT = "sent"
    FAILED = "failed"  # given up: waits for an administrator's "retry now"

    @property
    def label(self):
        return MAIL_STATUS_LABELS[self]


MAIL_STATUS_LABELS = {
    MailStatus.PENDING: _l("Waiting"),
    MailStatus.SENDING: _l("Being sent"),
    MailStatus.SENT: _l("Handed to the mail server"),
    MailStatus.FAILED: _l("Failed"),
}


class OutgoingMail(db.Model):
    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX), default="")
    # The template name ("invitation", "password_reset"...), to tell mails apart in the administration.
    template: Mapped[str] = mapped_column(String(100), default="")
    # The whole message as sent. It can hold single-use links, whose tokens the
    # database otherwise keeps only hashed: it is erased once the mail is sent.
    message: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[MailStatus] = mapped_column(enum_type(MailStatus), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    # When a pending mail is due; while sending, when the worker's claim expires.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_outgoing_mail_status_next_attempt_at", "status", "next_attempt_at"),)

    @property
    def can_retry(self) -> bool:
        return self.status in (MailStatus.PENDING, MailStatus.FAILED)


def _setting(name: str, app=None):
    return (app or current_app).config[name]


# --- Queueing ---------------------------------------------------------------------


def queue(
    to: str,
    template: str,
    *,
    language: str = "fr",
    headers: dict[str, str] | None = None,
    unsubscribe_url: str | None = None,
    **context,
) -> EmailMessage:
    """Render ``templates/mail/<template>.txt`` in the recipient's language and
    add it to the outbox in the current session; its first line is the subject.

    ``headers`` are added to (or replace) the message's headers.
    ``unsubscribe_url`` adds the one-click unsubscribe headers of RFC 8058: mail
    clients show an "unsubscribe" button that POSTs
    ``List-Unsubscribe=One-Click`` to that address, which must therefore act on
    a POST without a form token or a login."""
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
    for name, value in (headers or {}).items():
        del message[name]
        message[name] = value
    if unsubscribe_url is not None:
        if not unsubscribe_url.startswith(("https://", "http://")):
            raise ValueError("unsubscribe_url must be an absolute http(s) address, see external_url()")
        del message["List-Unsubscribe"]
        del message["List-Unsubscribe-Post"]
        # An address has no space where the line could be folded: the email
        # package would make it an RFC 2047 encoded word, which mail clients do
        # not read as an address. It is kept raw, on one line (RFC 5322 allows
        # 998 characters), and the worker sends the headers as stored.
        message.set_raw("List-Unsubscribe", f"<{unsubscribe_url}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    db.session.add(
        OutgoingMail(
            recipient=to,
            subject=subject.strip()[:SUBJECT_MAX],
            template=template,
            message=message.as_bytes(policy=AS_STORED),
            created_at=utcnow(),
            next_attempt_at=utcnow(),
        )
    )
    return message


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


# --- Sending (the worker) -----------------------------------------------------------


@dataclass
class SendReport:
    """What one call to :func:`send_pending` did."""

    sent: int = 0
    retried: int = 0  # failed this time, scheduled again
    failed: int = 0  # given up

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.failed

    def __bool__(self) -> bool:
        return self.claimed > 0

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retried} to retry later, {self.failed} failed"


@dataclass
class _Claimed:
    id: int
    recipient: str
    message: bytes
    attempts: int


def _due(now: datetime):
    # A "sending" row whose claim has expired belongs to a worker that died mid-send.
    return and_(OutgoingMail.status.in_((MailStatus.PENDING, MailStatus.SENDING)), OutgoingMail.next_attempt_at <= now)


def _claim(session: Session, limit: int, app) -> list[_Claimed]:
    """Mark up to ``limit`` due mails as ours for MAIL_CLAIM_SECONDS, and commit.

    On PostgreSQL the SELECT locks the rows it picks and skips those another
    worker is claiming (SKIP LOCKED), so concurrent workers share the backlog
    without waiting for each other. The UPDATE checks again that each row is
    still due: on SQLite, whose SELECT locks nothing, the second of two workers
    picking the same rows finds them claimed (writes are serialised) and
    leaves them. Either way a mail is claimed by one worker only."""
    now = utcnow()
    picked = session.scalars(
        select(OutgoingMail.id)
        .where(_due(now))
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not picked:
        # An idle worker polling every few seconds writes nothing.
        session.rollback()
        return []
    rows = session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id.in_(picked), _due(now))
        .values(
            status=MailStatus.SENDING,
            attempts=OutgoingMail.attempts + 1,
            next_attempt_at=now + timedelta(seconds=_setting("MAIL_CLAIM_SECONDS", app)),
        )
        .returning(OutgoingMail.id, OutgoingMail.recipient, OutgoingMail.message, OutgoingMail.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return sorted((_Claimed(*row) for row in rows), key=lambda c: c.id)


def retry_delay(attempts: int, app=None) -> timedelta:
    """1, 2, 4, 8... minutes after the 1st, 2nd, 3rd... failed attempt, at most
    an hour, each ±20 % so that mails failed together do not retry together."""
    base = _setting("MAIL_RETRY_BASE_SECONDS", app)
    nominal = min(_setting("MAIL_RETRY_MAX_SECONDS", app), base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=nominal * random.uniform(0.8, 1.2))


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address}: SMTP {code} {_text(reply)}" for address, (code, reply) in error.recipients.items())[:ERROR_MAX]
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP {error.smtp_code} {_text(error.smtp_error)}"[:ERROR_MAX]
    return f"{type(error).__name__}: {error}"[:ERROR_MAX]


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _is_permanent(error: BaseException) -> bool:
    """A 5xx reply about this very message (unknown mailbox, refused content):
    trying again later would get the same answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def _connect(config) -> smtplib.SMTP:
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = smtp_class(config["MAIL_HOST"] or "localhost", config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


def _record(session: Session, claimed: _Claimed, error: BaseException | None, app) -> str:
    """Store the outcome of one attempt; returns the mail's new status. The
    update only applies while the claim is still ours (same status and attempt
    count), so a worker whose claim expired cannot overwrite a newer outcome."""
    now = utcnow()
    if error is None:
        values = {"status": MailStatus.SENT, "sent_at": now, "message": None, "last_error": ""}
    elif _is_permanent(error) or claimed.attempts >= _setting("MAIL_MAX_ATTEMPTS", app):
        values = {"status": MailStatus.FAILED, "last_error": _describe(error)}
    else:
        values = {
            "status": MailStatus.PENDING,
            "last_error": _describe(error),
            "next_attempt_at": now + retry_delay(claimed.attempts, app),
        }
    session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == claimed.id, OutgoingMail.status == MailStatus.SENDING, OutgoingMail.attempts == claimed.attempts)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    # One commit per mail: a crash loses (and later repeats) at most the mail in flight.
    session.commit()
    if error is not None:
        log.warning("Mail %d to %s not sent (attempt %d): %s", claimed.id, claimed.recipient, claimed.attempts, values["last_error"])
    return values["status"]


def _readable(raw: bytes) -> str:
    """Headers and decoded text, so that a developer can follow the links in the log."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    headers = "".join(f"{name}: {value}\n" for name, value in message.items())
    body = message.get_body(("plain",))
    return headers + "\n" + (body.get_content() if body is not None else "")


def _deliver(session: Session, batch: list[_Claimed], app, report: SendReport) -> None:
    def count(status):
        if status == MailStatus.SENT:
            report.sent += 1
        elif status == MailStatus.FAILED:
            report.failed += 1
        else:
            report.retried += 1

    config = app.config
    if not config["MAIL_HOST"] and config["ENV"] != "production":
        for claimed in batch:
            log.info("Mail not sent (no EXTRANET_MAIL_HOST), here it is:\n%s", _readable(claimed.message))
            count(_record(session, claimed, None, app))
        return
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as error:
        for claimed in batch:
            count(_record(session, claimed, error, app))
        return
    with smtp:
        for position, claimed in enumerate(batch):
            message = email.message_from_bytes(claimed.message, policy=AS_STORED)
            try:
                smtp.send_message(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                # Refused by the server, which stays usable (smtplib has reset the transaction).
                count(_record(session, claimed, error, app))
            except (OSError, smtplib.SMTPException) as error:
                # The connection is gone: this mail and the rest of the batch wait for the next attempt.
                for rest in batch[position:]:
                    count(_record(session, rest, error, app))
                return
            else:
                count(_record(session, claimed, None, app))


def send_pending(app=None, *, limit: int = 100) -> SendReport:
    """Send up to ``limit`` due mails of the outbox; safe to run in several
    processes at once. ``app`` defaults to the current application."""
    app = app or current_app._get_current_object()
    report = SendReport()
    with app.app_context(), Session(db.engine) as session:
        batch = _claim(session, limit, app)
        if batch:
            _deliver(session, batch, app, report)
    return report


def prune_sent(app=None) -> int:
    """Forget mails sent more than MAIL_KEEP_SENT_DAYS ago; returns how many."""
    app = app or current_app._get_current_object()
    with app.app_context(), Session(db.engine) as session:
        cutoff = utcnow() - timedelta(days=_setting("MAIL_KEEP_SENT_DAYS", app))
        removed = session.execute(
            delete(OutgoingMail)
            .where(OutgoingMail.status == MailStatus.SENT, OutgoingMail.sent_at < cutoff)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
    return removed


# --- For the administration -----------------------------------------------------------


def unsent_query(status: MailStatus | None = None):
    """Mails not sent (or only the given status), failed ones first, then oldest first."""
    statuses = (status,) if status is not None else (MailStatus.FAILED, MailStatus.PENDING, MailStatus.SENDING)
    failed_first = (OutgoingMail.status == MailStatus.FAILED).desc()
    return (
        select(OutgoingMail)
        .where(OutgoingMail.status.in_(statuses))
        .order_by(failed_first, OutgoingMail.created_at, OutgoingMail.id)
    )


def count_by_status() -> dict[MailStatus, int]:
    counts = dict(db.session.execute(select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)).all())
    return {status: counts.get(status, 0) for status in MailStatus}


def retry_now(mail_ids=None) -> int:
    """Make these mails (every failed one when ``mail_ids`` is None) due now,
    with a fresh series of attempts. A mail being sent or already sent is left
    alone. Flushes; returns how many were rescheduled."""
    condition = OutgoingMail.status == MailStatus.FAILED
    if mail_ids is not None:
        condition = and_(OutgoingMail.id.in_(list(mail_ids)), OutgoingMail.status.in_((MailStatus.PENDING, MailStatus.FAILED)))
    changed = db.session.execute(
        update(OutgoingMail)
        .where(condition)
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session="fetch")
    ).rowcount
    db.session.flush()
    return changed
