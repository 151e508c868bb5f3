"""`flask --app wsgi extranet ...`: set-up and maintenance commands."""

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from extranet.extensions import db

extranet_cli = AppGroup("extranet", help="Extranet Logement d'abord: set-up and maintenance.")


@extranet_cli.command("load-reference-data")
def load_reference_data():
    """Load the 46 territories and the plan's priorities and axes (idempotent)."""
    from extranet.plan.services import load_plan
    from extranet.territories.services import load_territories

    territories = load_territories()
    plan = load_plan()
    db.session.commit()
    click.echo(f"Territories: {territories['created']} created, {territories['total']} in the reference file.")
    click.echo(f"Priorities and axes: {plan['created']} created, {plan['total']} in the reference file.")


@extranet_cli.command("load-demo-data")
@click.option("--force", is_flag=True, help="Add the demo accounts even if the database already has users.")
def load_demo_data(force):
    """Demo accounts, one of each role, when the database has no user yet."""
    from extranet import demo
    from extranet.auth.models import User

    if db.session.scalar(select(func.count(User.id))) and not force:
        click.echo("The database already has users: demo data not loaded.")
    else:
        demo.load()
        db.session.commit()
        click.echo("Demo data loaded.")
    click.echo(demo.logins_text())


@extranet_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", prompt=True)
def create_admin(email, password, name):
    """Create a national administrator account."""
    from extranet.auth.forms import PASSWORD_MIN_LENGTH
    from extranet.auth.services import ServiceError, create_user
    from extranet.roles import Role

    if len(password) < PASSWORD_MIN_LENGTH:
        raise click.BadParameter(f"at least {PASSWORD_MIN_LENGTH} characters.", param_hint="--password")
    try:
        user = create_user(email=email, password=password, name=name, role=Role.ADMIN)
    except ServiceError:
        raise click.BadParameter(f"an account or a pending invitation already uses {email}.", param_hint="--email") from None
    db.session.commit()
    click.echo(f"Administrator {user.email} created.")


@extranet_cli.command("reindex")
def reindex():
    """Rebuild the search index from the database."""
    from flask import current_app

    from extranet.search import all_entries, get_engine
    from extranet.search.entries import count_all, drain

    engine = get_engine(current_app)
    expected = count_all(db.session)
    with click.progressbar(length=expected, label="Indexing", show_pos=True) as bar:
        count = engine.rebuild(all_entries(db.session), progress=bar.update)
    # Changes committed while the rebuild held the index wait in the spool.
    spooled = drain()
    click.echo(f"Search index rebuilt: {count} entries" + (f", then {spooled} change(s) made meanwhile." if spooled else "."))


@extranet_cli.command("send-digests")
def send_digests():
    """Queue today's digests of the working groups (send-mail sends them); a second run the same day sends nothing more."""
    from flask import current_app

    from extranet.groups.notifications import send_digests as queue_digests

    report = queue_digests(current_app._get_current_object())
    click.echo(f"Digests: {report}." if report else "Digests: nobody is due today.")


@extranet_cli.command("send-reminders")
def send_reminders():
    """Queue the agenda reminders due now (send-mail sends them); running it again sends nothing twice."""
    from flask import current_app

    from extranet.agenda.reminders import queue_due_reminders

    report = queue_due_reminders(current_app._get_current_object())
    click.echo(f"Reminders: {report}." if report else "Reminders: none due now.")


@extranet_cli.command("send-reporting-reminders")
def send_reporting_reminders():
    """Queue the emails to territories late in reporting their roadmap's shared indicators (send-mail sends them);
    running it again sends nothing twice."""
    from flask import current_app

    from extranet.roadmaps.reminders import queue_reporting_reminders

    count = queue_reporting_reminders(app=current_app._get_current_object())
    click.echo(f"Reporting reminders: {count} email(s) queued." if count else "Reporting reminders: none due now.")


@extranet_cli.command("send-mail")
@click.option("--once", is_flag=True, help="Send every mail due now, then exit.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1), help="Seconds between two looks at the outbox.")
@click.option("--batch", default=100, show_default=True, type=click.IntRange(min=1), help="Mails claimed and sent over one SMTP connection.")
def send_mail(once, interval, batch):
    """Send the mails of the outbox; without --once, keep watching it until Ctrl-C or SIGTERM,
    queue the agenda reminders as they fall due, the roadmaps' reporting reminders, and the working
    groups' daily digests once a day from EXTRANET_DIGEST_HOUR."""
    import logging
    import signal
    import threading
    import time

    from flask import current_app
    from sqlalchemy.exc import DBAPIError

    from extranet.agenda.reminders import queue_due_reminders
    from extranet.groups.notifications import digest_day, send_digests
    from extranet.mail import prune_sent, send_pending
    from extranet.roadmaps.reminders import queue_reporting_reminders
    from extranet.timeutil import utcnow

    app = current_app._get_current_object()
    stop = threading.Event()

    def drain() -> int:
        # Batches follow each other while they come back full: a backlog goes out at once.
        done = 0
        while not stop.is_set():
            report = send_pending(app, limit=batch)
            if report:
                click.echo(f"{time.strftime('%Y-%m-%d %H:%M:%S')} Mail: {report}.")
            done += report.claimed
            if report.claimed < batch:
                break
        return done

    if once:
        if not drain():
            click.echo("Mail: nothing to send.")
        removed = prune_sent(app)
        if removed:
            click.echo(f"Forgot {removed} mail(s) sent long ago.")
        return

    def request_stop(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt  # asked twice: do not wait for the batch in flight
        click.echo("Stopping after the mail in flight...")
        stop.set()

    # The batch in flight is finished (and recorded) before exiting, so a stop
    # never leaves mails claimed until their claim expires. An inherited
    # "ignore SIGINT" (a background job of `make run`) is kept.
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, request_stop)
    click.echo(f"Sending mail from the outbox every {interval:g} s (Ctrl-C to stop).")
    last_prune = 0.0
    # Once a day, from the digest hour; a worker started again the same day
    # runs them again, which sends nothing to those who had theirs.
    digests_done_for = None
    try:
        while not stop.is_set():
            try:
                day = digest_day(utcnow(), app.config["DIGEST_HOUR"])
                if day is not None and day != digests_done_for:
                    try:
                        report = send_digests(app)
                    except DBAPIError:
                        raise
                    except Exception:
                        # A fault in the digests must not stop the mail: they wait for tomorrow (or send-digests).
                        logging.getLogger(__name__).exception("Daily digests failed")
                        report = None
                    digests_done_for = day
                    if report:
                        click.echo(f"{time.strftime('%Y-%m-%d %H:%M:%S')} Digests: {report}.")
                try:
                    reminders = queue_due_reminders(app)
                except DBAPIError:
                    raise
                except Exception:
                    # A fault in the reminders must not stop the mail; the next round tries again.
                    logging.getLogger(__name__).exception("Agenda reminders failed")
                    reminders = None
                if reminders:
                    click.echo(f"{time.strftime('%Y-%m-%d %H:%M:%S')} Reminders: {reminders}.")
                try:
                    late = queue_reporting_reminders(app=app)
                except DBAPIError:
                    raise
                except Exception:
                    # As for the agenda's: the mail goes on, the next round tries again.
                    logging.getLogger(__name__).exception("Roadmap reporting reminders failed")
                    late = None
                if late:
                    click.echo(f"{time.strftime('%Y-%m-%d %H:%M:%S')} Reporting reminders: {late} email(s) queued.")
                drain()
                if time.monotonic() - last_prune > 3600:
                    prune_sent(app)
                    last_prune = time.monotonic()
            except DBAPIError as error:
                # The database restarting must not end the worker: it tries again at the next round.
                click.echo(f"{time.strftime('%Y-%m-%d %H:%M:%S')} Mail: database unavailable ({type(error.orig).__name__}), trying again.", err=True)
            stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo("Mail worker stopped.")
