"""Objectives and indicators of a roadmap (fiche 4), their targets per year
and the values reached per reporting period, and the budget (fiche 5).

Services take the acting user, check the predicate, refuse a change made from
a stale read (``services.expect_version``), change rows, ``services.touch``
the roadmap (its version grows) and flush; the view commits.

Indicator values are reported all along a validated roadmap's period
(``can_report_roadmap_values``): doing so touches the roadmap, so concurrent
edits still conflict, but leaves its status alone and needs no new
submission; the frozen versions keep their own snapshot.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.permissions import can_edit_roadmap, can_report_roadmap_values
from extranet.roadmaps import services
from extranet.roadmaps.models import (
    NAME_MAX,
    UNIT_MAX,
    Aggregation,
    BudgetLine,
    BudgetLineKind,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    Roadmap,
    RoadmapIndicator,
)
from extranet.timeutil import utcnow

LABEL_MAX = 40
QUARTER_MONTHS = {1: (1, 3, 31), 2: (4, 6, 30), 3: (7, 9, 30), 4: (10, 12, 31)}


# --- Reporting periods ----------------------------------------------------------


def quarter_period(year: int, quarter: int) -> tuple[str, date, date]:
    """"T1 2023", from 2023-01-01 to 2023-03-31 ("trimestre": the label is the same in every language)."""
    first, last, day = QUARTER_MONTHS[quarter]
    return f"T{quarter} {year}", date(year, first, 1), date(year, last, day)


def quarters(roadmap: Roadmap) -> list[tuple[str, str]]:
    """The quarters of the roadmap's period, as (value "2023-1", label "T1 2023")."""
    return [
        (f"{year}-{q}", quarter_period(year, q)[0])
        for year in range(roadmap.start_year, roadmap.end_year + 1)
        for q in QUARTER_MONTHS
    ]


def parse_quarter(value: str) -> tuple[int, int] | None:
    try:
        year, quarter = (int(part) for part in (value or "").split("-"))
    except ValueError:
        return None
    if quarter not in QUARTER_MONTHS or not 1900 < year < 2200:
        return None
    return year, quarter


def matching_quarter(value: IndicatorValue) -> str | None:
    """The quarter ("2023-1") a reported period is, if it is one."""
    for q, (first, last, day) in QUARTER_MONTHS.items():
        year = value.period_start.year
        if (value.period_start, value.period_end) == (date(year, first, 1), date(year, last, day)):
            return f"{year}-{q}"
    return None


# --- Progress against the targets -----------------------------------------------


@dataclass(frozen=True)
class YearProgress:
    year: int
    target: Decimal | None
    reached: Decimal | None  # None: nothing reported for that year yet
    periods: int  # how many reporting periods it comes from

    @property
    def percent(self) -> int | None:
        if self.target is None or self.reached is None or self.target <= 0:
            return None
        return int((self.reached * 100 / self.target).to_integral_value())


def progress(indicator: RoadmapIndicator, roadmap: Roadmap) -> list[YearProgress]:
    """Per year of the period: the target and what was reached from the
    periods starting that year, as the indicator adds up: a flow adds them up;
    a stock or a rate counts its latest value (adding quarters of places open
    or of a percentage means nothing)."""
    targets = {t.year: t.value for t in indicator.targets}
    latest_counts = indicator.aggregation != Aggregation.FLOW
    rows = []
    for year in range(roadmap.start_year, roadmap.end_year + 1):
        values = sorted((v for v in indicator.values if v.period_start.year == year),
                        key=lambda v: (v.period_end, -v.period_start.toordinal()))
        if not values:
            reached = None
        elif latest_counts:
            # The latest end; of periods ending the same day, the longest (a quarter rather than its last month).
            reached = values[-1].value
        else:
            reached = sum((v.value for v in values), Decimal(0))
        rows.append(YearProgress(year, targets.get(year), reached, len(values)))
    return rows


# --- Indicators -------------------------------------------------------------------------


def load_indicators(roadmap: Roadmap) -> list[RoadmapIndicator]:
    """The roadmap's indicators with their targets, values and national
    indicator, in four queries whatever their number (the roadmap page, the print page)."""
    return list(db.session.scalars(
        select(RoadmapIndicator).where(RoadmapIndicator.roadmap_id == roadmap.id)
        .options(selectinload(RoadmapIndicator.targets), selectinload(RoadmapIndicator.values),
                 selectinload(RoadmapIndicator.indicator))  # how each adds up, for the progress
        .order_by(RoadmapIndicator.position, RoadmapIndicator.id)
    ))


def _check_edit(actor, roadmap: Roadmap) -> None:
    if not can_edit_roadmap(actor, roadmap):
        raise ServiceError("forbidden")


def shared_choices(roadmap: Roadmap) -> list[Indicator]:
    """The national list's indicators this roadmap does not use yet."""
    used = select(RoadmapIndicator.indicator_id).where(
        RoadmapIndicator.roadmap_id == roadmap.id, RoadmapIndicator.indicator_id.is_not(None),
    )
    query = select(Indicator).where(Indicator.is_shared.is_(True), Indicator.id.not_in(used))
    return list(db.session.scalars(query.order_by(Indicator.position, Indicator.name)))


def _set_targets(indicator: RoadmapIndicator, roadmap: Roadmap, targets: dict[int, Decimal | None]) -> None:
    years = range(roadmap.start_year, roadmap.end_year + 1)
    existing = {t.year: t for t in indicator.targets}
    for year in years:
        value = targets.get(year)
        if value is None:
            if year in existing:
                indicator.targets.remove(existing[year])
        elif year in existing:
            existing[year].value = value
        else:
            indicator.targets.append(IndicatorTarget(year=year, value=value))


def _clean(text, limit: int) -> str:
    return (text or "").strip()[:limit]


def add_indicator(actor, roadmap: Roadmap, expected_version, *, shared: Indicator | None = None,
                  name: str = "", unit: str = "", objective: str = "",
                  targets: dict[int, Decimal | None] | None = None) -> RoadmapIndicator:
    """One of the national list (``shared``: its name and unit are copied) or the territory's own."""
    _check_edit(actor, roadmap)
    services.expect_version(roadmap, expected_version)
    if shared is not None:
        if not shared.is_shared:
            raise ServiceError(_l("Choose an indicator of the national list."), field="shared")
        if any(i.indicator_id == shared.id for i in roadmap.indicators):
            raise ServiceError(_l("This roadmap already has this indicator."), field="shared")
        name, unit = shared.name, shared.unit
    name = _clean(name, NAME_MAX)
    if not name:
        raise ServiceError(_l("Enter the name of the indicator."), field="name")
    position = max((i.position or 0 for i in roadmap.indicators), default=0) + 1
    indicator = RoadmapIndicator(
        indicator_id=shared.id if shared is not None else None, name=name, unit=_clean(unit, UNIT_MAX),
        objective=(objective or "").strip(), position=position,
    )
    roadmap.indicators.append(indicator)
    _set_targets(indicator, roadmap, targets or {})
    services.touch(roadmap, actor)
    db.session.flush()
    return indicator


def update_indicator(actor, roadmap: Roadmap, indicator: RoadmapIndicator, expected_version, *,
                     name: str = "", unit: str = "", objective: str = "",
                     targets: dict[int, Decimal | None] | None = None) -> RoadmapIndicator:
    """Name and unit stay those of the national list for a shared indicator."""
    _check_edit(actor, roadmap)
    services.expect_version(roadmap, expected_version)
    if not indicator.is_shared:
        name = _clean(name, NAME_MAX)
        if not name:
            raise ServiceError(_l("Enter the name of the indicator."), field="name")
        indicator.name, indicator.unit = name, _clean(unit, UNIT_MAX)
    indicator.objective = (objective or "").strip()
    _set_targets(indicator, roadmap, targets or {})
    services.touch(roadmap, actor)
    db.session.flush()
    return indicator


def delete_indicator(actor, roadmap: Roadmap, indicator: RoadmapIndicator, expected_version=None) -> None:
    """With its targets and values. (From a confirmation dialog: no version to
    compare unless given; removing a row overwrites nobody's text.)"""
    _check_edit(actor, roadmap)
    if expected_version is not None:
        services.expect_version(roadmap, expected_version)
    roadmap.indicators.remove(indicator)
    services.touch(roadmap, actor)
    db.session.flush()


# --- Values per reporting period -------------------------------------------------------


def _check_report(actor, roadmap: Roadmap) -> None:
    if not can_report_roadmap_values(actor, roadmap):
        raise ServiceError("forbidden")


def _check_period(indicator: RoadmapIndicator, label: str, start: date, end: date, value: Decimal,
                  replacing: IndicatorValue | None = None) -> str:
    label = _clean(label, LABEL_MAX)
    if not label:
        raise ServiceError(_l("Name the reporting period, e.g. “1st half of 2023”."), field="label")
    if start is None:
        raise ServiceError(_l("Enter the first day of the period."), field="period_start")
    if end is None:
        raise ServiceError(_l("Enter the last day of the period."), field="period_end")
    if end < start:
        raise ServiceError(_l("The period cannot end before it starts."), field="period_end")
    if value is None:
        raise ServiceError(_l("Enter the value reached."), field="value")
    taken = db.session.scalar(select(IndicatorValue.id).where(
        IndicatorValue.roadmap_indicator_id == indicator.id,
        IndicatorValue.period_start == start, IndicatorValue.period_end == end,
        IndicatorValue.id != (replacing.id if replacing is not None else -1),
    ))
    if taken is not None:
        raise ServiceError(_l("A value is already reported for this period: change that one instead."), field="period")
    return label


def add_value(actor, roadmap: Roadmap, indicator: RoadmapIndicator, expected_version, *, label: str,
              start: date, end: date, value: Decimal, comment: str = "") -> IndicatorValue:
    _check_report(actor, roadmap)
    services.expect_version(roadmap, expected_version)
    label = _check_period(indicator, label, start, end, value)
    row = IndicatorValue(
        period_label=label, period_start=start, period_end=end, value=value, comment=(comment or "").strip(),
        reported_at=utcnow(), reported_by_id=actor.id,
    )
    indicator.values.append(row)
    services.touch(roadmap, actor)
    db.session.flush()
    return row


def update_value(actor, roadmap: Roadmap, row: IndicatorValue, expected_version, *, label: str,
                 start: date, end: date, value: Decimal, comment: str = "") -> IndicatorValue:
    _check_report(actor, roadmap)
    services.expect_version(roadmap, expected_version)
    row.period_label = _check_period(row.roadmap_indicator, label, start, end, value, replacing=row)
    row.period_start, row.period_end, row.value = start, end, value
    row.comment = (comment or "").strip()
    row.reported_at, row.reported_by_id = utcnow(), actor.id
    services.touch(roadmap, actor)
    db.session.flush()
    return row


def delete_value(actor, roadmap: Roadmap, row: IndicatorValue, expected_version=None) -> None:
    _check_report(actor, roadmap)
    if expected_version is not None:
        services.expect_version(roadmap, expected_version)
    row.roadmap_indicator.values.remove(row)
    services.touch(roadmap, actor)
    db.session.flush()


# --- Budget (fiche 5) --------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetInput:
    actions: str
    total_cost_cents: int
    territory_share_cents: int

    @property
    def is_empty(self) -> bool:
        return not self.actions.strip() and not self.total_cost_cents and not self.territory_share_cents


def save_budget(actor, roadmap: Roadmap, expected_version, lines: dict[BudgetLineKind, BudgetInput]) -> None:
    """The six lines as typed: a line left empty (no action, 0, 0) is removed.
    Refuses a line that breaks a rule (share above the total, the coordinator
    post not co-financed 50/50) with ServiceError(field="<kind>_share")."""
    _check_edit(actor, roadmap)
    services.expect_version(roadmap, expected_version)
    for kind, line in lines.items():
        problem = services.budget_line_problem(kind, line.total_cost_cents, line.territory_share_cents)
        if problem is not None:
            raise ServiceError(problem, field=f"{BudgetLineKind(kind).value}_share")
    existing = {BudgetLineKind(line.kind): line for line in roadmap.budget_lines}
    for kind in BudgetLineKind:
        if kind not in lines:
            continue
        line, row = lines[kind], existing.get(kind)
        if line.is_empty:
            if row is not None:
                roadmap.budget_lines.remove(row)
            continue
        if row is None:
            row = BudgetLine(kind=kind)
            roadmap.budget_lines.append(row)
        row.actions = line.actions.strip()
        row.total_cost_cents, row.territory_share_cents = line.total_cost_cents, line.territory_share_cents
    services.touch(roadmap, actor)
    db.session.flush()
