from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from extranet import LANGUAGES
from extranet.auth.services import update_profile
from extranet.extensions import db
from extranet.http import safe_next

bp = Blueprint("home", __name__)

# Sections of the navigation that later work will build; until then their
# links lead to an honest "coming soon" page.
UPCOMING_SECTIONS: dict = {}


# How many of their next events, and of the next Amicalls, the home page shows.
HOME_EVENTS = 5


@bp.route("/")
def index():
    from extranet.agenda import services as agenda
    from extranet.agenda.models import Event, EventKind, EventStatus
    from extranet.toolbox.services import latest_documents

    user = current_user._get_current_object()
    amicalls = list(
        db.session.scalars(
            agenda.events_query(user, kind=EventKind.AMICALL).where(Event.status == EventStatus.SCHEDULED).limit(HOME_EVENTS)
        )
    )
    return render_template(
        "home/index.html",
        latest_documents=latest_documents(user),
        my_next_events=agenda.next_registrations(user, HOME_EVENTS),
        next_amicalls=amicalls,
        amicall_registrations=agenda.registrations_of(user, [e.id for e in amicalls]),
    )


@bp.route("/coming-soon/<section>")
def coming_soon(section):
    if section not in UPCOMING_SECTIONS:
        abort(404)
    return render_template("home/coming_soon.html", section=UPCOMING_SECTIONS[section])


@bp.post("/language")
def set_language():
    # An empty FlaskForm still checks the CSRF token.
    form = FlaskForm()
    language = request.form.get("language")
    if not form.validate_on_submit() or language not in LANGUAGES:
        abort(400)
    session["language"] = language
    if current_user.is_authenticated:
        update_profile(current_user, language=language)
        db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))


@bp.route("/health")
def health():
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}
