"""The pages of a roadmap's objectives and indicators (fiche 4), the values
they reached per reporting period, and its budget (fiche 5). Routes on the
``roadmaps`` blueprint (``views.py`` imports this module).

Editing indicators and the budget follows ``can_edit_roadmap`` (draft or
sent back); reporting values follows ``can_report_roadmap_values``, which
also allows it on a validated roadmap, all along its period.
"""

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.permissions import can_report_roadmap_values
from extranet.roadmaps import indicators, services
from extranet.roadmaps.indicator_forms import BudgetForm, DeleteForm, ValueForm, indicator_form, shown_cents, shown_number
from extranet.roadmaps.models import BudgetLineKind, Indicator, IndicatorValue, Roadmap, RoadmapIndicator
from extranet.roadmaps.views import _actor, _roadmap, bp, edit_conflict, editable_or_kept

CONFLICTS = (services.EditConflict, StaleDataError)


# --- Template helpers (the roadmap page's sections, the print page) ----------------------


# Cents as the reader's language writes euros: "60 000,00 €" (the one formatter, services.euros).
bp.add_app_template_filter(services.euros, "roadmap_euros")


@bp.app_template_filter("roadmap_number")
def roadmap_number(value) -> str:
    """An indicator figure: "150", "32,5"."""
    return "" if value is None else format_decimal(Decimal(value))


@bp.app_template_filter("roadmap_percent")
def roadmap_percent(ratio) -> str:
    """0.27 as "27 %" (French spacing in French)."""
    return format_percent(ratio)


@bp.app_template_global()
def roadmap_indicators(roadmap):
    return indicators.load_indicators(roadmap)


@bp.app_template_global()
def indicator_progress(indicator, roadmap):
    return indicators.progress(indicator, roadmap)


@bp.app_template_global()
def roadmap_budget(roadmap):
    """The six lines of fiche 5 with their totals, and the problems of the stored budget."""
    return services.budget_totals(roadmap.budget_lines), services.budget_problems(roadmap.budget_lines)


# --- Loading ------------------------------------------------------------------------------


def _editable_roadmap(roadmap_id: int, typed: bool = True) -> tuple[Roadmap, bool]:
    """The roadmap and whether it may be changed now (False: frozen since the
    form was read, to show the posted text again with ``locked``; see ``editable_or_kept``)."""
    roadmap = _roadmap(roadmap_id)
    return roadmap, editable_or_kept(roadmap, typed=typed)


def _indicator(roadmap: Roadmap, indicator_id: int) -> RoadmapIndicator:
    indicator = db.session.get(RoadmapIndicator, indicator_id)
    if indicator is None or indicator.roadmap_id != roadmap.id:
        abort(404)
    return indicator


def _value(indicator: RoadmapIndicator, value_id: int) -> IndicatorValue:
    row = db.session.get(IndicatorValue, value_id)
    if row is None or row.roadmap_indicator_id != indicator.id:
        abort(404)
    return row


def _refused(form, error: ServiceError, default_field: str) -> None:
    """A refusal of the service: 403 when forbidden, else beside its field."""
    db.session.rollback()
    if error.message == "forbidden":
        abort(403)
    field = error.field if error.field in form else default_field
    form[field].errors = list(form[field].errors or ()) + [error.message]


def _section(roadmap: Roadmap, name: str) -> str:
    return url_for("roadmaps.show", roadmap_id=roadmap.id) + f"#section-{name}"


def _status(form) -> int:
    return 400 if form.errors else 409


# --- Indicators ---------------------------------------------------------------------------


def _shared(form) -> Indicator | None:
    if form.shared.data is None:
        return None
    shared = db.session.get(Indicator, form.shared.data)
    if shared is None or not shared.is_shared:
        return None
    return shared


@bp.route("/<int:roadmap_id>/indicators/new", methods=["GET", "POST"])
def new_indicator(roadmap_id):
    roadmap, editable = _editable_roadmap(roadmap_id)
    form = indicator_form(roadmap, indicators.shared_choices(roadmap))
    if request.method == "GET":
        form.version.data = roadmap.version
        return render_template("roadmaps/indicator_form.html", form=form, roadmap=roadmap, indicator=None)
    if not editable:
        return render_template("roadmaps/indicator_form.html", form=form, roadmap=roadmap, indicator=None, locked=True), 409
    if form.validate_on_submit():
        try:
            indicators.add_indicator(
                _actor(), roadmap, form.version_number, shared=_shared(form), name=form.name.data,
                unit=form.unit.data, objective=form.objective.data, targets=form.targets(),
            )
            db.session.commit()
        except CONFLICTS:
            edit_conflict(form, roadmap)
        except ServiceError as error:
            _refused(form, error, "name")
        except IntegrityError:
            # The same national indicator added at the same moment by someone else.
            db.session.rollback()
            form.shared.errors = list(form.shared.errors or ()) + [_("This roadmap already has this indicator.")]
        else:
            flash(_("The indicator is added."), "success")
            return redirect(_section(roadmap, "indicators"))
    return render_template("roadmaps/indicator_form.html", form=form, roadmap=roadmap, indicator=None), _status(form)


@bp.route("/<int:roadmap_id>/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
def edit_indicator(roadmap_id, indicator_id):
    roadmap, editable = _editable_roadmap(roadmap_id)
    indicator = _indicator(roadmap, indicator_id)
    form = indicator_form(roadmap, [], fixed_shared=indicator.is_shared)
    if request.method == "GET":
        form.version.data = roadmap.version
        form.name.data, form.unit.data, form.objective.data = indicator.name, indicator.unit, indicator.objective
        targets = {t.year: t.value for t in indicator.targets}
        for year, field in form.target_fields:
            field.data = shown_number(targets.get(year))
        return render_template("roadmaps/indicator_form.html", form=form, roadmap=roadmap, indicator=indicator)
    if not editable:
        return render_template("roadmaps/indicator_form.html", form=form, roadmap=roadmap, indicator=indicator,
                               locked=True), 409
    if form.validate_on_submit():
        try:
            indicators.update_indicator(
                _actor(), roadmap, indicator, form.version_number, name=form.name.data, unit=form.unit.data,
                objective=form.objective.data, targets=form.targets(),
            )
            db.session.commit()
        except CONFLICTS:
            edit_conflict(form, roadmap)
        except ServiceError as error:
            _refused(form, error, "name")
        else:
            flash(_("The indicator is saved."), "success")
            return redirect(_section(roadmap, "indicators"))
    return render_template("roadmaps/indicator_form.html", form=form, roadmap=roadmap, indicator=indicator), _status(form)


@bp.post("/<int:roadmap_id>/indicators/<int:indicator_id>/delete")
def delete_indicator(roadmap_id, indicator_id):
    roadmap, _editable = _editable_roadmap(roadmap_id, typed=False)
    indicator = _indicator(roadmap, indicator_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    try:
        indicators.delete_indicator(_actor(), roadmap, indicator)
        db.session.commit()
    except CONFLICTS:
        db.session.rollback()
        flash(_("Someone else changed this roadmap at the same moment: check it, then delete the indicator again."), "warning")
    except ServiceError:
        db.session.rollback()
        abort(403)
    else:
        flash(_("The indicator is deleted."), "success")
    return redirect(_section(roadmap, "indicators"))


# --- Values per reporting period -------------------------------------------------------------


def _reporting(roadmap_id: int, indicator_id: int, typed: bool = True) -> tuple[Roadmap, RoadmapIndicator, bool]:
    """The roadmap, its indicator, and whether values may be reported now (see ``editable_or_kept``)."""
    roadmap = _roadmap(roadmap_id)
    editable = editable_or_kept(roadmap, can_report_roadmap_values, typed=typed)
    return roadmap, _indicator(roadmap, indicator_id), editable


def _period(form: ValueForm):
    """(label, start, end) of the period the form names."""
    if form.custom:
        return form.label.data, form.period_start.data, form.period_end.data
    parsed = indicators.parse_quarter(form.quarter.data)
    if parsed is None:
        return None, None, None
    return indicators.quarter_period(*parsed)


def _value_form(roadmap: Roadmap, **kwargs) -> ValueForm:
    form = ValueForm(**kwargs)
    form.set_quarters(indicators.quarters(roadmap))
    return form


def _save_value(form: ValueForm, roadmap: Roadmap, indicator: RoadmapIndicator, row: IndicatorValue | None) -> bool:
    label, start, end = _period(form)
    values = dict(label=label, start=start, end=end, value=form.value.number, comment=form.comment.data)
    period_field = "period_start" if form.custom else "quarter"
    try:
        if row is None:
            indicators.add_value(_actor(), roadmap, indicator, form.version_number, **values)
        else:
            indicators.update_value(_actor(), roadmap, row, form.version_number, **values)
        db.session.commit()
    except CONFLICTS:
        edit_conflict(form, roadmap)
    except ServiceError as error:
        if error.field == "period":
            error.field = period_field
        _refused(form, error, "value")
    except IntegrityError:
        # The same period reported at the same moment by someone else.
        db.session.rollback()
        form[period_field].errors = list(form[period_field].errors or ()) + [
            _("A value is already reported for this period: change that one instead."),
        ]
    else:
        return True
    return False


def _values_page(roadmap, indicator, form, editing=None, status=200, locked=False):
    return render_template(
        "roadmaps/indicator_values.html", roadmap=roadmap, indicator=indicator, form=form, editing=editing,
        progress=indicators.progress(indicator, roadmap), locked=locked,
    ), status


@bp.route("/<int:roadmap_id>/indicators/<int:indicator_id>/values", methods=["GET", "POST"])
def indicator_values(roadmap_id, indicator_id):
    roadmap, indicator, editable = _reporting(roadmap_id, indicator_id)
    form = _value_form(roadmap)
    if request.method == "GET":
        form.version.data = roadmap.version
        return _values_page(roadmap, indicator, form)
    if not editable:
        return _values_page(roadmap, indicator, form, status=409, locked=True)
    if form.validate_on_submit():
        if _save_value(form, roadmap, indicator, None):
            flash(_("The value is recorded."), "success")
            return redirect(url_for("roadmaps.indicator_values", roadmap_id=roadmap.id, indicator_id=indicator.id))
    return _values_page(roadmap, indicator, form, status=_status(form))


@bp.route("/<int:roadmap_id>/indicators/<int:indicator_id>/values/<int:value_id>/edit", methods=["GET", "POST"])
def edit_indicator_value(roadmap_id, indicator_id, value_id):
    roadmap, indicator, editable = _reporting(roadmap_id, indicator_id)
    row = _value(indicator, value_id)
    form = _value_form(roadmap)
    if request.method == "GET":
        quarter = indicators.matching_quarter(row)
        if quarter is not None and quarter in dict(indicators.quarters(roadmap)):
            form.period_kind.data, form.quarter.data = "quarter", quarter
        else:
            form.period_kind.data = "custom"
        form.label.data, form.period_start.data, form.period_end.data = row.period_label, row.period_start, row.period_end
        form.value.data, form.comment.data = shown_number(row.value), row.comment
        form.version.data = roadmap.version
        return _values_page(roadmap, indicator, form, editing=row)
    if not editable:
        return _values_page(roadmap, indicator, form, editing=row, status=409, locked=True)
    if form.validate_on_submit():
        if _save_value(form, roadmap, indicator, row):
            flash(_("The value is saved."), "success")
            return redirect(url_for("roadmaps.indicator_values", roadmap_id=roadmap.id, indicator_id=indicator.id))
    return _values_page(roadmap, indicator, form, editing=row, status=_status(form))


@bp.post("/<int:roadmap_id>/indicators/<int:indicator_id>/values/<int:value_id>/delete")
def delete_indicator_value(roadmap_id, indicator_id, value_id):
    roadmap, indicator, _editable = _reporting(roadmap_id, indicator_id, typed=False)
    row = _value(indicator, value_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    try:
        indicators.delete_value(_actor(), roadmap, row)
        db.session.commit()
    except CONFLICTS:
        db.session.rollback()
        flash(_("Someone else changed this roadmap at the same moment: check the values, then delete again."), "warning")
    except ServiceError:
        db.session.rollback()
        abort(403)
    else:
        flash(_("The value is deleted."), "success")
    return redirect(url_for("roadmaps.indicator_values", roadmap_id=roadmap.id, indicator_id=indicator.id))


# --- Budget (fiche 5) ---------------------------------------------------------------------------


def _budget_page(roadmap, form, status=200, locked=False):
    return render_template(
        "roadmaps/budget.html", roadmap=roadmap, form=form, kinds=list(BudgetLineKind),
        totals=services.budget_totals(roadmap.budget_lines), locked=locked,
    ), status


@bp.route("/<int:roadmap_id>/budget", methods=["GET", "POST"])
def edit_budget(roadmap_id):
    roadmap, editable = _editable_roadmap(roadmap_id)
    form = BudgetForm()
    if request.method == "GET":
        form.version.data = roadmap.version
        for line in roadmap.budget_lines:
            actions, total, share = form.line(line.kind)
            actions.data, total.data, share.data = line.actions, shown_cents(line.total_cost_cents), shown_cents(line.territory_share_cents)
        return _budget_page(roadmap, form)
    if not editable:
        return _budget_page(roadmap, form, 409, locked=True)
    if form.validate_on_submit():
        lines = {}
        for kind in BudgetLineKind:
            actions, total, share = form.line(kind)
            lines[kind] = indicators.BudgetInput(actions.data or "", total.cents, share.cents)
        try:
            indicators.save_budget(_actor(), roadmap, form.version_number, lines)
            db.session.commit()
        except CONFLICTS:
            edit_conflict(form, roadmap)
        except ServiceError as error:
            _refused(form, error, f"{BudgetLineKind.COORDINATOR.value}_share")
        else:
            flash(_("The budget is saved."), "success")
            return redirect(_section(roadmap, "budget"))
    return _budget_page(roadmap, form, _status(form))
