"""The national team's pages on the network: the shared indicators added up
across territories (table, chart, territories late in reporting, the XLSX
export) and the national list of indicators.

Figures come from :mod:`extranet.roadmaps.network`, a fixed number of SQL
statements whatever the number of territories.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from extranet import charts
from extranet.auth.services import ServiceError
from extranet.exports import XLSX_MIMETYPE, download
from extranet.extensions import db
from extranet.http import int_arg
from extranet.permissions import can_manage_indicators, can_view_network_indicators, require
from extranet.roadmaps import network
from extranet.roadmaps.models import Aggregation, Indicator
from extranet.roadmaps.network_forms import IndicatorRefForm
from extranet.roadmaps.views import _actor, bp
from extranet.territories.models import WAVES


def _scope() -> network.Scope:
    counted = request.args.get("roadmaps", "validated")
    wave = int_arg("wave")
    return network.Scope(
        counted=counted if counted in network.COUNTED else "validated",
        wave=wave if wave in WAVES else None,
    )


def _filters(scope: network.Scope) -> dict:
    """The query parameters that keep the filters in links."""
    values = {}
    if scope.counted != "validated":
        values["roadmaps"] = scope.counted
    if scope.wave is not None:
        values["wave"] = scope.wave
    return values


def _charts(view: network.NetworkView) -> tuple[charts.Chart | None, charts.Chart | None]:
    """Targets against values reached per year, and the values reached quarter
    after quarter: added up since the first period for a flow, the year's
    latest total for a stock, the average for a rate."""
    if view.chosen is None:
        return None, None
    name, unit, aggregation = view.chosen.name, view.chosen.unit, view.chosen.aggregation
    unit = unit or _("no unit")
    years = view.chosen_years
    totals = [view.total(view.chosen.id, y) for y in years]
    if aggregation == Aggregation.RATE:
        yearly_text = _("Bars per year: the territories' targets averaged, and their latest values of the year averaged (%(unit)s).", unit=unit)
        periods_text = _("Line: the average of the territories' latest values of the year up to each period (%(unit)s).", unit=unit)
        to_date, in_period = _("Average to date"), _("Average of the period")
    elif aggregation == Aggregation.STOCK:
        yearly_text = _("Bars per year: the territories' targets added up, and their latest values of the year added up (%(unit)s).", unit=unit)
        periods_text = _("Line: the territories' latest values of the year up to each period, added up (%(unit)s).", unit=unit)
        to_date, in_period = _("Latest total to date"), _("Reached in the period")
    else:
        yearly_text = _("Bars per year: the targets of the territories added up, and the values they reached added up (%(unit)s).", unit=unit)
        periods_text = _("Line: the values reached by the territories added up since the first period reported (%(unit)s).", unit=unit)
        to_date, in_period = _("Cumulative total"), _("Reached in the period")
    yearly = charts.Chart(
        id="chart-years",
        title=_("%(name)s: targets and values reached per year", name=name),
        description=yearly_text,
        labels=[str(y) for y in years],
        series=[charts.Series(_("Targets"), [t.target for t in totals]), charts.Series(_("Reached"), [t.reached for t in totals])],
        extra=[
            charts.Series(_("Territories with a target"), [t.target_territories for t in totals]),
            charts.Series(_("Territories reporting"), [t.reached_territories for t in totals]),
        ],
        kind="bar",
        label_header=_("Year"),
        empty_text=_("No target nor value for this indicator in the roadmaps counted."),
    )
    periods = view.periods
    cumulative = charts.Chart(
        id="chart-periods",
        title=_("%(name)s: values reached per reporting period", name=name),
        description=periods_text,
        labels=[p.label for p in periods],
        series=[charts.Series(to_date, [p.cumulative for p in periods])],
        extra=[
            charts.Series(in_period, [p.total for p in periods]),
            charts.Series(_("Territories reporting"), [p.territories for p in periods]),
        ],
        kind="line",
        label_header=_("Reporting period"),
        empty_text=_("No value reported yet for this indicator in the roadmaps counted."),
    )
    return yearly, cumulative


# Endpoint "roadmaps.network"; the function has another name so as not to hide the ``network`` module.
@bp.route("/network", endpoint="network")
def network_page():
    user = _actor()
    require(can_view_network_indicators(user))
    scope = _scope()
    chosen = None
    indicator_id = int_arg("indicator")
    if indicator_id is not None:
        chosen = db.session.get(Indicator, indicator_id)
        if chosen is None:
            abort(404)
    view = network.network_view(scope, chosen, int_arg("year"))
    due, late = network.late_territories(wave=scope.wave)
    yearly, cumulative = _charts(view)
    return render_template(
        "roadmaps/network.html",
        view=view,
        scope=scope,
        filters=_filters(scope),
        counted_labels=network.COUNTED_LABELS,
        waves=sorted(WAVES),
        yearly_chart=yearly,
        periods_chart=cumulative,
        render_chart=charts.render,
        number=charts.number_formatter(),
        due=due,
        late=late,
        grace=network.grace_days(),
    )


@bp.route("/network.xlsx")
def network_xlsx():
    user = _actor()
    require(can_view_network_indicators(user))
    scope = _scope()
    body = network.network_workbook(scope)
    return download(body, XLSX_MIMETYPE, f"indicateurs-reseau-{network.today_in_paris():%Y-%m-%d}.xlsx")


# --- The national list ---------------------------------------------------------------


def _indicator(indicator_id: int) -> Indicator:
    indicator = db.session.get(Indicator, indicator_id)
    if indicator is None:
        abort(404)
    return indicator


@bp.route("/indicators")
def indicators():
    return render_template("roadmaps/indicators.html", listed=network.national_list())


def _save(form, indicator: Indicator | None):
    values = dict(name=form.name.data, unit=form.unit.data or "", description=form.description.data or "",
                  position=form.position.data or 0, aggregation=Aggregation(form.aggregation.data))
    try:
        if indicator is None:
            indicator = network.create_indicator(_actor(), **values)
        else:
            network.update_indicator(_actor(), indicator, **values)
    except ServiceError as error:
        db.session.rollback()
        if error.field is None:
            abort(403)
        form[error.field].errors = list(form[error.field].errors) + [error.message]
        return None
    db.session.commit()
    return indicator


@bp.route("/indicators/new", methods=["GET", "POST"])
def new_indicator_ref():
    require(can_manage_indicators(_actor()))
    form = IndicatorRefForm()
    if form.validate_on_submit():
        indicator = _save(form, None)
        if indicator is not None:
            flash(_("“%(name)s” is on the national list.", name=indicator.name), "success")
            return redirect(url_for("roadmaps.indicators"))
    status = 400 if form.errors else 200
    return render_template("roadmaps/indicator_ref_form.html", form=form, indicator=None), status


@bp.route("/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
def edit_indicator_ref(indicator_id):
    require(can_manage_indicators(_actor()))
    indicator = _indicator(indicator_id)
    form = IndicatorRefForm(obj=indicator)
    if form.validate_on_submit():
        if _save(form, indicator) is not None:
            flash(_("The indicator “%(name)s” is saved.", name=indicator.name), "success")
            return redirect(url_for("roadmaps.indicators"))
    status = 400 if form.errors else 200
    return render_template("roadmaps/indicator_ref_form.html", form=form, indicator=indicator), status


def _set_shared(indicator_id: int, shared: bool):
    require(can_manage_indicators(_actor()))
    indicator = _indicator(indicator_id)
    try:
        network.set_shared(_actor(), indicator, shared)
    except ServiceError:
        db.session.rollback()
        abort(403)
    db.session.commit()
    if shared:
        flash(_("“%(name)s” is back on the national list.", name=indicator.name), "success")
    else:
        flash(_("“%(name)s” is off the national list; the roadmaps that use it keep it.", name=indicator.name), "success")
    return redirect(url_for("roadmaps.indicators"))


@bp.post("/indicators/<int:indicator_id>/remove")
def remove_indicator_ref(indicator_id):
    return _set_shared(indicator_id, False)


@bp.post("/indicators/<int:indicator_id>/restore")
def restore_indicator_ref(indicator_id):
    return _set_shared(indicator_id, True)
