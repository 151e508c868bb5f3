"""The agenda pages: upcoming and past events, an event's page, creating and
editing events, registering and cancelling.

Views load (404), check (403), validate, call one service, commit once and
redirect. Times are typed and shown in the reader's time zone (their
profile), with Paris time beside when it differs.
"""

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from extranet.agenda import calendars, reminders, services
from extranet.agenda import month as month_grid
from extranet.agenda.forms import EmptyForm, EventForm, MemberForm, ProgrammeSettingsForm, QuestionForm, SessionForm, answers_from, registration_form
from extranet.agenda.models import (
    Event,
    EventKind,
    EventSession,
    QuestionKind,
    Registration,
    RegistrationQuestion,
    RegistrationStatus,
    SessionRegistration,
)
from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.groups.models import Group
from extranet.groups.services import all_axes
from extranet.http import int_arg, page_arg
from extranet.permissions import (
    can_cancel_registration,
    can_change_registration,
    can_create_event,
    can_create_event_for,
    can_register_member,
    can_register_members,
    can_edit_event,
    can_edit_programme,
    can_edit_registration_questions,
    can_read_group,
    can_register_for_event,
    can_see_joining_details,
    can_view_event,
    is_national,
    require,
)
from extranet.timeutil import utcnow

bp = Blueprint("agenda", __name__)


def _actor():
    return current_user._get_current_object()


@bp.app_template_filter("event_time")
def event_time(utc, fmt="EEEE d MMMM y, HH:mm"):
    """The time in the reader's zone, with Paris time beside it when that differs."""
    if utc is None:
        return ""
    zone = current_user.timezone if current_user.is_authenticated else services.PARIS
    shown = services.format_time(utc, zone, fmt)
    if services.differs_from_paris(utc, zone):
        shown = _("%(local)s (your time) — %(paris)s in Paris", local=shown, paris=services.format_time(utc, services.PARIS, "HH:mm"))
    return shown


def _event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        abort(404)
    require(can_view_event(_actor(), event))
    return event


# --- Lists ----------------------------------------------------------------------------------


def _filters() -> dict:
    """The filters of the list and the month view, each checked: an odd value filters nothing."""
    kind = request.args.get("kind")
    axes = all_axes()
    axis_id = int_arg("axis")
    group_id = int_arg("group")
    axes_by_priority = []
    for axis in axes:
        if not axes_by_priority or axes_by_priority[-1][0] != axis.priority:
            axes_by_priority.append((axis.priority, []))
        axes_by_priority[-1][1].append(axis)
    return {
        "kind": EventKind(kind) if kind in {k.value for k in EventKind} else None,
        "axis": next((a for a in axes if a.id == axis_id), None),
        "group": _readable_group(group_id),
        "mine": request.args.get("mine") == "1",
        "kinds": list(EventKind),
        "axes_by_priority": axes_by_priority,
    }


def _readable_group(group_id: int | None) -> Group | None:
    """The group to filter on, if the reader may read it: a closed group's
    name is not shown to people outside it (nor is that it exists)."""
    group = db.session.get(Group, group_id) if group_id else None
    return group if group is not None and can_read_group(_actor(), group) else None


def _query_filters(filters: dict) -> dict:
    return {
        "kind": filters["kind"],
        "mine": filters["mine"],
        "group_id": filters["group"].id if filters["group"] else None,
        "axis_id": filters["axis"].id if filters["axis"] else None,
    }


def _filter_args(filters: dict) -> dict:
    """The filters as query parameters, for links that keep them."""
    args = {
        "kind": filters["kind"].value if filters["kind"] else None,
        "axis": filters["axis"].id if filters["axis"] else None,
        "group": filters["group"].id if filters["group"] else None,
        "mine": 1 if filters["mine"] else None,
    }
    return {name: value for name, value in args.items() if value is not None}


@bp.route("/")
def index():
    user = _actor()
    past = request.args.get("when") == "past"
    filters = _filters()
    query_filters = _query_filters(filters)
    axis_id = query_filters.pop("axis_id")
    query = services.with_axis(services.events_query(user, past=past, **query_filters), axis_id)
    page = db.paginate(query, page=page_arg(), per_page=services.EVENTS_PER_PAGE, error_out=False)
    return render_template(
        "agenda/index.html",
        page=page,
        past=past,
        filter_args=_filter_args(filters),
        **filters,
        mine_by_event=services.registrations_of(user, [e.id for e in page.items]),
        can_create=can_create_event(user),
        feed=calendars.feed_of(user),
        # Shown once, right after it was made: only its hash is kept.
        feed_url=_feed_url(session.pop(FEED_TOKEN_KEY, None)),
        feed_form=EmptyForm(),
    )


@bp.route("/month")
def month():
    """The month view: ``?month=YYYY-MM``, the current month by default, days in the reader's time zone."""
    user = _actor()
    zone = user.timezone
    today = services.to_local(utcnow(), zone).date()
    requested = request.args.get("month", "").strip()
    first = month_grid.parse_month(requested) if requested else today.replace(day=1)
    invalid = first is None
    if invalid:
        first = today.replace(day=1)
    filters = _filters()
    start, end = month_grid.utc_range(first, zone)
    events = list(db.session.scalars(services.events_between(user, start, end, **_query_filters(filters))))
    previous, following = month_grid.shift(first, -1), month_grid.shift(first, 1)
    return render_template(
        "agenda/month.html",
        first=first,
        weeks=month_grid.weeks(first, zone, today, events),
        event_count=len(events),
        previous=previous,
        following=following,
        current=today.replace(day=1),
        invalid_month=invalid,
        filter_args=_filter_args(filters),
        **filters,
        mine_by_event=services.registrations_of(user, [e.id for e in events]),
        can_create=can_create_event(user),
    ), 400 if invalid else 200


# --- Calendars (iCalendar) --------------------------------------------------------------------

FEED_TOKEN_KEY = "agenda_feed_token"


def _ics_response(body: bytes, filename: str) -> Response:
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _feed_url(token: str | None) -> str | None:
    return url_for("agenda.feed", token=token, _external=True) if token else None


@bp.route("/<int:event_id>.ics")
def event_ics(event_id):
    event = _event(event_id)
    user = _actor()
    body = calendars.event_ics(user, event, services.registration_of(user, event), url_for("agenda.detail", event_id=event.id, _external=True))
    return _ics_response(body, f"evenement-{event.id}.ics")


@bp.route("/feed/<token>.ics")
def feed(token):
    """The subscription feed: public, the secret link stands for the person; any unknown or revoked link is a plain 404."""
    user = calendars.user_for_feed_token(token)
    if user is None:
        abort(404)
    with force_locale(user.language or "fr"):
        name = _("Extranet Logement d'abord — my agenda")
    body = calendars.feed_ics(
        user, calendars.feed_events(user), lambda e: url_for("agenda.detail", event_id=e.id, _external=True), name
    )
    return _ics_response(body, "agenda.ics")


@bp.post("/feed/new")
def new_feed():
    """Create or regenerate the secret link; the previous one stops working."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    had_feed = calendars.feed_of(_actor()) is not None
    token = calendars.new_feed_token(_actor())
    db.session.commit()
    session[FEED_TOKEN_KEY] = token
    flash(_("A new subscription link is made: the previous one no longer works.") if had_feed else _("Your subscription link is made."), "success")
    return redirect(url_for("agenda.index") + "#calendar-feed")


@bp.post("/feed/revoke")
def revoke_feed():
    if not EmptyForm().validate_on_submit():
        abort(400)
    calendars.revoke_feed(_actor())
    db.session.commit()
    flash(_("Your subscription link is revoked: calendars that used it no longer receive the agenda."), "success")
    return redirect(url_for("agenda.index") + "#calendar-feed")


# --- An event ----------------------------------------------------------------------------------


@bp.route("/<int:event_id>")
def detail(event_id):
    event = _event(event_id)
    user = _actor()
    now = utcnow()
    return _detail_page(user, event, now, _territory_context(user, event, now))


def _detail_page(user, event: Event, now, territory_context: dict) -> str:
    registration = services.registration_of(user, event)
    return render_template(
        "agenda/detail.html",
        event=event,
        registration=registration if registration is not None and registration.is_active else None,
        counts=services.seat_counts(event),
        now=now,
        registration_open=can_register_for_event(user, event, now),
        show_joining=can_see_joining_details(user, event, registration),
        can_cancel=registration is not None and can_cancel_registration(user, registration, now),
        form=EmptyForm(),
        has_form=_has_form(event),
        can_change=registration is not None and registration.is_active and can_change_registration(user, registration, now),
        session_counts=services.session_counts(event) if event.sessions else {},
        my_places=services.session_places(registration) if registration is not None and registration.is_active else [],
        # A coordinator registered them, or a question came later: the page says what is left to do.
        to_complete=registration is not None and registration.is_active and services.missing_required(registration),
        **territory_context,
    )


def _territory_context(user, event: Event, now, member_form: MemberForm | None = None) -> dict:
    """What a coordinator sees: the form to register members of their territory, and those registered."""
    if not can_register_members(user, event, now):
        return {"member_form": None, "territory_registrations": []}
    form = member_form or MemberForm()
    form.member.choices = [SelectChoice("", _("Choose a person"))] + [
        SelectChoice(m.id, m.name + (f" — {m.organisation}" if m.organisation else "")) for m in services.members_to_register(user, event)
    ]
    return {"member_form": form, "territory_registrations": services.territory_registrations(user, event)}


def _has_form(event: Event) -> bool:
    """Workshops or questions: registering goes through a form instead of one button."""
    return bool(event.sessions or event.questions)


def _registration_form(event: Event, registration: Registration | None = None):
    data = None
    if registration is not None and not request.method == "POST":
        answers = services.answers_of(registration)
        data = {
            f"question_{q.id}": answers.get(q.id, "").splitlines() if q.kind == QuestionKind.MULTIPLE else answers.get(q.id) or None
            for q in event.questions
        }
        data["sessions"] = [row.session_id for row in services.session_places(registration)]
    return registration_form(event, services.option_values, max_sessions=event.max_sessions_per_person, data=data)


def _form_values(form, event: Event) -> dict:
    return {"answers": answers_from(form, event), "session_ids": list(form.sessions.data or []) if event.sessions else []}


def _service_error_beside(form, error: ServiceError) -> bool:
    """Put the service's error beside its field; False when it belongs to no field of the form."""
    if error.field and error.field in form:
        form[error.field].errors = list(form[error.field].errors) + [error.message]
        return True
    return False


def _registration_page(event: Event, form, registration: Registration | None, status: int = 200):
    return render_template(
        "agenda/register.html",
        event=event,
        form=form,
        registration=registration,
        counts=services.session_counts(event),
        event_full=registration is None and event.capacity is not None and services.seat_counts(event)["registered"] >= event.capacity,
    ), status


def _flash_workshops(registration: Registration) -> None:
    if registration.status != RegistrationStatus.REGISTERED:
        return
    for row in services.session_places(registration):
        if row.status == RegistrationStatus.WAITLISTED:
            flash(_("The workshop “%(title)s” is full: you are on its waiting list. You will get an email if a place becomes free.",
                    title=row.session.title), "info")


@bp.route("/<int:event_id>/register", methods=["GET", "POST"])
def register(event_id):
    event = _event(event_id)
    user = _actor()
    if not _has_form(event):
        if request.method == "GET":
            return redirect(url_for("agenda.detail", event_id=event.id))
        if not EmptyForm().validate_on_submit():
            abort(400)
    require(can_register_for_event(user, event, utcnow()))
    values = {}
    if _has_form(event):
        current = services.registration_of(user, event)
        if current is not None and current.is_active:
            return redirect(url_for("agenda.edit_registration", event_id=event.id))
        form = _registration_form(event)
        if not form.validate_on_submit():
            return _registration_page(event, form, None, 400 if form.is_submitted() else 200)
        values = _form_values(form, event)
    try:
        registration = services.register(user, event, **values)
    except ServiceError as error:
        db.session.rollback()
        if values and _service_error_beside(form, error):
            return _registration_page(event, form, None, 400)
        flash(str(error.message), "error")
        return redirect(url_for("agenda.detail", event_id=event.id))
    db.session.commit()
    if registration.status == RegistrationStatus.REGISTERED:
        flash(_("You are registered."), "success")
    else:
        flash(_("The event is full: you are on the waiting list. You will get an email if a seat becomes free."), "info")
    _flash_workshops(registration)
    return redirect(url_for("agenda.detail", event_id=event.id))


@bp.route("/<int:event_id>/registration", methods=["GET", "POST"])
def edit_registration(event_id):
    """“Modifier mon inscription”: answers and workshops, until registration closes."""
    event = _event(event_id)
    user = _actor()
    registration = services.registration_of(user, event)
    if registration is None or not registration.is_active:
        abort(404)
    require(can_change_registration(user, registration, utcnow()))
    form = _registration_form(event, registration)
    if form.validate_on_submit():
        try:
            services.update_registration(user, registration, **_form_values(form, event))
        except ServiceError as error:
            db.session.rollback()
            if not _service_error_beside(form, error):
                flash(str(error.message), "error")
                return redirect(url_for("agenda.detail", event_id=event.id))
        else:
            db.session.commit()
            flash(_("Your registration is saved."), "success")
            _flash_workshops(registration)
            return redirect(url_for("agenda.detail", event_id=event.id))
    return _registration_page(event, form, registration, 400 if form.is_submitted() else 200)


@bp.post("/<int:event_id>/workshops/<int:session_id>/leave")
def leave_workshop(event_id, session_id):
    event = _event(event_id)
    user = _actor()
    if not EmptyForm().validate_on_submit():
        abort(400)
    workshop = _workshop(event, session_id)
    registration = services.registration_of(user, event)
    if registration is None or not registration.is_active:
        abort(404)
    held = select(SessionRegistration.id).filter_by(registration_id=registration.id, session_id=workshop.id)
    if db.session.scalar(held) is None:
        abort(404)  # no place nor waiting to leave: "you left" would be untrue
    require(can_cancel_registration(user, registration, utcnow()))
    services.leave_session(user, registration, workshop)
    db.session.commit()
    flash(_("You left the workshop “%(title)s”.", title=workshop.title), "success")
    return redirect(url_for("agenda.detail", event_id=event.id))


@bp.post("/<int:event_id>/cancel-registration")
def cancel_registration(event_id):
    event = _event(event_id)
    user = _actor()
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    registration = db.session.scalar(select(Registration).filter_by(event_id=event.id, user_id=user.id))
    if registration is None:
        abort(404)
    require(can_cancel_registration(user, registration, utcnow()))
    services.cancel_registration(user, registration)
    db.session.commit()
    flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("agenda.detail", event_id=event.id))


@bp.post("/<int:event_id>/register-member")
def register_member(event_id):
    """A coordinator registers a member of their territory."""
    event = _event(event_id)
    user = _actor()
    now = utcnow()
    require(can_register_members(user, event, now))
    form = MemberForm()
    context = _territory_context(user, event, now, form)
    if form.validate_on_submit():
        member = db.session.get(User, form.member.data)
        require(can_register_member(user, event, member, now))
        try:
            # No answers nor workshops here, required questions included: they
            # are the member's to give, and the member may change the
            # registration afterwards until the deadline.
            registration = services.register(user, event, member)
        except ServiceError as error:
            db.session.rollback()
            flash(str(error.message), "error")
            return redirect(url_for("agenda.detail", event_id=event.id))
        db.session.commit()
        if registration.status == RegistrationStatus.REGISTERED:
            flash(_("%(name)s is registered.", name=member.name), "success")
        else:
            flash(_("The event is full: %(name)s is on the waiting list.", name=member.name), "info")
        return redirect(url_for("agenda.detail", event_id=event.id))
    return _detail_page(user, event, now, context), 400


@bp.post("/registrations/<int:registration_id>/cancel")
def cancel_member_registration(registration_id):
    """A coordinator (or an organiser) cancels someone else's registration."""
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        abort(404)
    event = _event(registration.event_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    require(can_cancel_registration(_actor(), registration, utcnow()))
    name = registration.user.name
    services.cancel_registration(_actor(), registration)
    db.session.commit()
    flash(_("The registration of %(name)s is cancelled.", name=name), "success")
    return redirect(url_for("agenda.detail", event_id=event.id))


@bp.app_template_global()
def my_workshops(events) -> dict:
    """The reader's workshops (held or waited for) per event of a list, in one
    query per list: kept for the request, as each event of the list asks."""
    ids = tuple(e.id for e in events)
    cache = g.setdefault("agenda_my_workshops", {})
    if ids not in cache:
        cache[ids] = services.workshops_by_event(_actor(), ids)
    return cache[ids]


# --- The programme (workshops) and the registration questions -----------------------------------


def _workshop(event: Event, session_id: int) -> EventSession:
    workshop = db.session.get(EventSession, session_id)
    if workshop is None or workshop.event_id != event.id:
        abort(404)
    return workshop


def _question(event: Event, question_id: int) -> RegistrationQuestion:
    question = db.session.get(RegistrationQuestion, question_id)
    if question is None or question.event_id != event.id:
        abort(404)
    return question


def _programme_page(event: Event, session_form=None, settings_form=None, status=200):
    if settings_form is None:
        settings_form = ProgrammeSettingsForm()
        settings_form.max_sessions_per_person.data = event.max_sessions_per_person
    return render_template(
        "agenda/programme.html",
        event=event,
        form=session_form or SessionForm(),
        settings_form=settings_form,
        counts=services.session_counts(event),
        delete_form=EmptyForm(),
    ), status


def _save_workshop(event: Event, form: SessionForm, workshop: EventSession | None):
    """Validate and save; a redirect when saved, else None (errors are beside the fields)."""
    user = _actor()
    values = {
        "title": form.title.data,
        "description": form.description.data or "",
        "capacity": form.capacity.data,
        "position": form.position.data,
    }
    for name in ("starts_at", "ends_at"):
        local = getattr(form, name).data
        values[name] = services.to_utc(local, user.timezone) if local else None
    errors = services.validate_session(event, values)
    for field, message in errors:
        form[field].errors = list(form[field].errors) + [message]
    if errors:
        return None
    return _saved(
        form,
        lambda: services.save_session(user, event, workshop, **values),
        _("The workshop is saved.") if workshop else _("The workshop is added to the programme."),
        url_for("agenda.programme", event_id=event.id),
    )


def _saved(form, save, done: str, back: str):
    """Run ``save`` (a service call): a redirect to ``back`` once committed,
    else None with the service's error beside its field (403 when it has none)."""
    try:
        save()
    except ServiceError as error:
        db.session.rollback()
        if error.field is None:
            abort(403)
        form[error.field].errors = list(form[error.field].errors) + [error.message]
        return None
    db.session.commit()
    flash(done, "success")
    return redirect(back)


@bp.route("/<int:event_id>/programme", methods=["GET", "POST"])
def programme(event_id):
    """The workshops of the event: list, add one, how many one person may choose."""
    event = _event(event_id)
    require(can_edit_programme(_actor(), event))
    form = SessionForm()
    if form.validate_on_submit():
        saved = _save_workshop(event, form, None)
        if saved is not None:
            return saved
    return _programme_page(event, form, status=400 if form.is_submitted() else 200)


@bp.post("/<int:event_id>/programme/settings")
def programme_settings(event_id):
    event = _event(event_id)
    require(can_edit_programme(_actor(), event))
    form = ProgrammeSettingsForm()
    if not form.validate_on_submit():
        return _programme_page(event, settings_form=form, status=400)
    services.set_max_sessions(_actor(), event, form.max_sessions_per_person.data)
    db.session.commit()
    flash(_("The number of workshops per person is saved."), "success")
    return redirect(url_for("agenda.programme", event_id=event.id))


@bp.route("/<int:event_id>/programme/<int:session_id>", methods=["GET", "POST"])
def edit_workshop(event_id, session_id):
    event = _event(event_id)
    user = _actor()
    require(can_edit_programme(user, event))
    workshop = _workshop(event, session_id)
    form = SessionForm(obj=workshop if request.method != "POST" else None)
    if request.method != "POST":
        for name in ("starts_at", "ends_at"):
            value = getattr(workshop, name)
            getattr(form, name).data = services.to_local(value, user.timezone) if value else None
    if form.validate_on_submit():
        saved = _save_workshop(event, form, workshop)
        if saved is not None:
            return saved
    return render_template("agenda/programme.html", event=event, form=form, workshop=workshop), 400 if form.is_submitted() else 200


@bp.post("/<int:event_id>/programme/<int:session_id>/delete")
def delete_workshop(event_id, session_id):
    event = _event(event_id)
    require(can_edit_programme(_actor(), event))
    workshop = _workshop(event, session_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    title = workshop.title
    services.delete_session(_actor(), event, workshop)
    db.session.commit()
    flash(_("The workshop “%(title)s” is deleted.", title=title), "success")
    return redirect(url_for("agenda.programme", event_id=event.id))


def _questions_page(event: Event, form=None, status=200):
    return render_template("agenda/questions.html", event=event, form=form or QuestionForm(), delete_form=EmptyForm()), status


def _save_question(event: Event, form: QuestionForm, question: RegistrationQuestion | None):
    values = {
        "kind": form.kind.data,
        "label": form.label.data,
        "help_text": form.help_text.data or "",
        "required": bool(form.required.data),
        "options": form.options.data or "",
        "position": form.position.data,
    }
    return _saved(
        form,
        lambda: services.save_question(_actor(), event, question, **values),
        _("The question is saved.") if question else _("The question is added to the registration form."),
        url_for("agenda.questions", event_id=event.id),
    )


@bp.route("/<int:event_id>/questions", methods=["GET", "POST"])
def questions(event_id):
    """The questions of the registration form: list, add one."""
    event = _event(event_id)
    require(can_edit_registration_questions(_actor(), event))
    form = QuestionForm()
    if form.validate_on_submit():
        saved = _save_question(event, form, None)
        if saved is not None:
            return saved
    return _questions_page(event, form, 400 if form.is_submitted() else 200)


@bp.route("/<int:event_id>/questions/<int:question_id>", methods=["GET", "POST"])
def edit_question(event_id, question_id):
    event = _event(event_id)
    require(can_edit_registration_questions(_actor(), event))
    question = _question(event, question_id)
    form = QuestionForm(obj=question if request.method != "POST" else None)
    if form.validate_on_submit():
        saved = _save_question(event, form, question)
        if saved is not None:
            return saved
    return render_template("agenda/questions.html", event=event, form=form, question=question), 400 if form.is_submitted() else 200


@bp.post("/<int:event_id>/questions/<int:question_id>/delete")
def delete_question(event_id, question_id):
    event = _event(event_id)
    require(can_edit_registration_questions(_actor(), event))
    question = _question(event, question_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.delete_question(_actor(), event, question)
    db.session.commit()
    flash(_("The question is deleted."), "success")
    return redirect(url_for("agenda.questions", event_id=event.id))


@bp.app_template_global()
def group_events(group_id: int) -> list[Event]:
    """The next events of a working group, for the group page."""
    return services.group_events(group_id)


# --- Creating and editing ------------------------------------------------------------------------


def _groups_for(user) -> list[Group]:
    query = select(Group).where(Group.archived_at.is_(None)).order_by(Group.name)
    if not is_national(user):
        query = query.where(Group.id.in_(list(user.animated_group_ids) or [-1]))
    return list(db.session.scalars(query))


def _set_choices(form: EventForm, user, event: Event | None) -> None:
    axes = all_axes()
    form.axes.choices = [SelectChoice(a.id, f"{a.number}. {a.title}") for a in axes]
    by_priority = []
    for axis in axes:
        if not by_priority or by_priority[-1][0] != axis.priority:
            by_priority.append((axis.priority, []))
        by_priority[-1][1].append(axis)
    form.axes_by_priority = by_priority
    groups = _groups_for(user)
    if event is not None and event.group is not None and event.group not in groups:
        groups.append(event.group)
    choices = [SelectChoice(g.id, g.name) for g in groups]
    if is_national(user):
        choices.insert(0, SelectChoice("", _("No group")))
    form.group.choices = choices


TIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_deadline")


def _values(form: EventForm, zone: str) -> dict:
    values = {
        "kind": form.kind.data,
        "title": form.title.data,
        "description": form.description.data or "",
        "speakers": form.speakers.data or "",
        "place": form.place.data or "",
        "joining_details": form.joining_details.data or "",
        "capacity": form.capacity.data,
        "seats_per_territory": form.seats_per_territory.data,
        "reminder_offsets": reminders.offsets_from_choices(form.reminders.data),
    }
    for name in TIME_FIELDS:
        local = getattr(form, name).data
        values[name] = services.to_utc(local, zone) if local else None
    return values


def _save(form: EventForm, event: Event | None):
    user = _actor()
    _set_choices(form, user, event)
    if form.validate_on_submit():
        values = _values(form, user.timezone)
        errors = services.validate_schedule(values)
        for field, message in errors:
            getattr(form, field).errors.append(message)
        group = db.session.get(Group, form.group.data) if form.group.data else None
        if not errors:
            if event is None or (group.id if group else None) != event.group_id:
                require(can_create_event_for(user, group))
            try:
                if event is None:
                    event = services.create_event(user, axis_ids=form.axes.data or [], group=group, **values)
                    message = _("The event is created.")
                else:
                    services.update_event(user, event, axis_ids=form.axes.data or [], group=group, **values)
                    message = _("The event is saved.")
            except ServiceError as error:
                db.session.rollback()
                if error.field is None:
                    abort(403)
                getattr(form, error.field).errors.append(error.message)
            else:
                reminders.set_offsets(user, event, values["reminder_offsets"])
                db.session.commit()
                flash(message, "success")
                return redirect(url_for("agenda.detail", event_id=event.id))
    return render_template("agenda/form.html", form=form, event=event), 400 if form.is_submitted() else 200


@bp.route("/new", methods=["GET", "POST"])
def new():
    require(can_create_event(_actor()))
    form = EventForm()
    if not form.is_submitted() and request.args.get("group", type=int):
        form.group.data = request.args.get("group", type=int)
    return _save(form, None)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
def edit(event_id):
    event = _event(event_id)
    user = _actor()
    require(can_edit_event(user, event))
    form = EventForm()
    if not form.is_submitted():
        form.kind.data = event.kind
        form.title.data = event.title
        form.description.data = event.description
        form.speakers.data = event.speakers
        form.place.data = event.place
        form.joining_details.data = event.joining_details
        form.capacity.data = event.capacity
        form.seats_per_territory.data = event.seats_per_territory
        form.group.data = event.group_id
        form.axes.data = [a.id for a in event.axes]
        form.reminders.data = reminders.choices_from_offsets(event.reminder_offsets)
        for name in TIME_FIELDS:
            value = getattr(event, name)
            getattr(form, name).data = services.to_local(value, user.timezone) if value else None
    return _save(form, event)


from extranet.agenda import organiser_views  # noqa: E402,F401  (the organisers' routes, on this blueprint)
from extranet.agenda import materials_views  # noqa: E402,F401
