"""The national team's view of the network: the national list of shared
indicators, their targets and values added up across territories, who is late
in reporting, and the network's indicator table as a spreadsheet.

Every figure is an SQL aggregate (``GROUP BY``): a page runs the same handful
of statements whatever the number of territories, roadmaps and values.

Sums are exact: targets and values are ``Numeric(14, 2)``, which SQLite keeps
as floating point; each one is summed as a whole number of hundredths
(``ROUND(value * 100)``), then divided back into a ``Decimal``.

How an indicator adds up is its :class:`Aggregation` (the national list says
it): a flow adds its periods and its territories; a stock takes each
territory's latest value of the year (a window function picks it in SQL) and
adds the territories; a rate takes each territory's latest value and averages
the territories reporting (plain mean, to the hundredth), its targets
averaged likewise. Adding quarters of a stock or territories' percentages
would mean nothing.

Which roadmaps count (:class:`Scope`): by default the validated ones, the
territory's commitment to the State; the national team may include the
submitted ones, or every roadmap (drafts and those sent back too), and keep
one wave of territories.

Late reporting (:func:`late_territories`), the rule:

- the quarter due is the last calendar quarter that ended more than
  ``ROADMAP_REPORTING_GRACE_DAYS`` days ago (configuration, 30 by default):
  territories have that long to report a quarter's figures;
- a territory is late when its *validated* roadmap's period (its years) covers
  that quarter and one of the roadmap's indicators of the national list (still
  on the list) has no value reported for a period overlapping that quarter (a
  quarter, a month of it, a year-to-date figure ending in it);
- how late: days since the deadline (end + grace days) of the first quarter it
  owes, that is the quarter after its last reported value, or the first
  quarter of the roadmap's period when it never reported; the list is sorted
  by that, the latest first.

Services (the national list) take the acting user, check the predicate,
flush and never commit.
"""

import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, and_, cast, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from extranet.auth.services import ServiceError
from extranet.exports import to_xlsx_sheets
from extranet.extensions import db
from extranet.permissions import can_manage_indicators
from extranet.roadmaps.models import (
    Aggregation,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    Roadmap,
    RoadmapIndicator,
    RoadmapStatus,
)
from extranet.territories.models import WAVES, Territory

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_GRACE_DAYS = 30

# Which roadmaps count, as the filter offers it.
COUNTED = {
    "validated": (RoadmapStatus.VALIDATED,),
    "submitted": (RoadmapStatus.VALIDATED, RoadmapStatus.SUBMITTED),
    "all": tuple(RoadmapStatus),
}
COUNTED_LABELS = {
    "validated": _l("Validated roadmaps"),
    "submitted": _l("Validated and submitted roadmaps"),
    "all": _l("Every roadmap, drafts included"),
}


@dataclass(frozen=True)
class Scope:
    counted: str = "validated"  # a key of COUNTED
    wave: int | None = None

    @property
    def statuses(self) -> tuple[RoadmapStatus, ...]:
        return COUNTED[self.counted]


def _in_scope(query, scope: Scope):
    """``query`` joins Roadmap and Territory: keep the roadmaps that count."""
    query = query.where(Roadmap.status.in_(scope.statuses))
    if scope.wave is not None:
        # A territory of the first wave extended by the second call belongs to both.
        query = query.where(or_(Territory.wave == scope.wave, Territory.extension_year == WAVES.get(scope.wave)))
    return query


def _hundredths(column):
    return func.sum(cast(func.round(column * 100), BigInteger))


def _decimal(hundredths) -> Decimal:
    return Decimal(int(hundredths or 0)) / 100


def _mean(hundredths, count) -> Decimal | None:
    """The plain mean of ``count`` figures summing to ``hundredths``, to the hundredth."""
    if not count:
        return None
    return (Decimal(int(hundredths or 0)) / 100 / int(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _combine(aggregation, total, latest, count) -> Decimal | None:
    """Territories' figures put together: ``total`` the sum of all their
    values (hundredths), ``latest`` the sum of each one's latest value,
    ``count`` how many territories."""
    if not count:
        return None
    if aggregation == Aggregation.RATE:
        return _mean(latest, count)
    return _decimal(latest if aggregation == Aggregation.STOCK else total)


def _as_cents(column):
    return cast(func.round(column * 100), BigInteger)


def _year_of(column):
    return cast(func.extract("year", column), BigInteger)


# --- Quarters --------------------------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        following = Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        return following.start - timedelta(days=1)

    @property
    def label(self) -> str:
        # "T1 2023" ("trimestre"), as territories name their reporting periods.
        return f"T{self.number} {self.year}"

    def previous(self) -> "Quarter":
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    @classmethod
    def of(cls, day: date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)


@lru_cache(maxsize=4096)
def period_label(start: date, end: date, typed: str | None = None) -> str:
    """A calendar quarter reads "T1 2023"; another period keeps the label the territory typed."""
    quarter = Quarter.of(start)
    if (start, end) == (quarter.start, quarter.end):
        return quarter.label
    return typed or f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"


def today_in_paris() -> date:
    return datetime.now(PARIS).date()


def grace_days() -> int:
    return int(current_app.config.get("ROADMAP_REPORTING_GRACE_DAYS", DEFAULT_GRACE_DAYS))


def quarter_due(today: date, grace: int) -> Quarter:
    """The last quarter that ended more than ``grace`` days before ``today``."""
    quarter = Quarter.of(today)
    while (today - quarter.end).days <= grace:
        quarter = quarter.previous()
    return quarter


# --- The national list ------------------------------------------------------------


@dataclass(frozen=True)
class ListedIndicator:
    indicator: Indicator
    roadmaps: int  # how many roadmaps use it (any status)


def national_list() -> list[ListedIndicator]:
    """Every indicator of the national list, those taken off it last, with how
    many roadmaps use each: one statement."""
    used = func.count(func.distinct(RoadmapIndicator.roadmap_id))
    rows = db.session.execute(
        select(Indicator, used)
        .outerjoin(RoadmapIndicator, RoadmapIndicator.indicator_id == Indicator.id)
        .group_by(Indicator.id)
        .order_by(Indicator.is_shared.desc(), Indicator.position, Indicator.name)
    ).all()
    return [ListedIndicator(indicator, count) for indicator, count in rows]


def shared_indicators() -> list[Indicator]:
    return list(db.session.scalars(
        select(Indicator).where(Indicator.is_shared.is_(True)).order_by(Indicator.position, Indicator.name)
    ))


def _name_taken(name: str, but: int | None = None) -> bool:
    query = select(Indicator.id).where(func.lower(Indicator.name) == name.lower())
    if but is not None:
        query = query.where(Indicator.id != but)
    return db.session.scalar(query.limit(1)) is not None


def _duplicate() -> ServiceError:
    return ServiceError(_("An indicator of the national list already has this name."), field="name")


def _save(indicator: Indicator) -> Indicator:
    try:
        db.session.flush()
    except IntegrityError:
        # Someone gave the same name meanwhile and the unique constraint said
        # so; the caller rolls back, as after any ServiceError.
        raise _duplicate() from None
    return indicator


def create_indicator(actor, *, name: str, unit: str = "", description: str = "", position: int = 0,
                     aggregation: Aggregation = Aggregation.FLOW) -> Indicator:
    if not can_manage_indicators(actor):
        raise ServiceError("forbidden")
    if _name_taken(name):
        raise _duplicate()
    indicator = Indicator(name=name, unit=unit or "", description=description or "", position=position or 0, is_shared=True,
                          aggregation=Aggregation(aggregation))
    db.session.add(indicator)
    return _save(indicator)


def update_indicator(actor, indicator: Indicator, *, name: str, unit: str = "", description: str = "", position: int = 0,
                     aggregation: Aggregation | None = None) -> Indicator:
    """Roadmaps keep the name and unit they copied: the change applies to those
    that add it from now on. How it adds up applies at once to every roadmap
    using it (the network's totals and each roadmap's progress)."""
    if not can_manage_indicators(actor):
        raise ServiceError("forbidden")
    if _name_taken(name, but=indicator.id):
        raise _duplicate()
    indicator.name, indicator.unit, indicator.description = name, unit or "", description or ""
    indicator.position = position or 0
    if aggregation is not None:
        indicator.aggregation = Aggregation(aggregation)
    return _save(indicator)


def set_shared(actor, indicator: Indicator, shared: bool) -> Indicator:
    """Take an indicator off the national list (``shared=False``) or put it back.
    Roadmaps that use it keep their copy, targets and values."""
    if not can_manage_indicators(actor):
        raise ServiceError("forbidden")
    indicator.is_shared = shared
    db.session.flush()
    return indicator


# --- Sums across territories -------------------------------------------------------


@dataclass
class YearTotal:
    target: Decimal | None = None
    target_territories: int = 0
    reached: Decimal | None = None
    reached_territories: int = 0


def yearly_totals(scope: Scope, indicator_ids=None) -> dict[int, dict[int, YearTotal]]:
    """indicator id -> year -> targets and values reached put together across
    the territories whose roadmaps count, as the indicator adds up (a value
    counts in the year its period ends). Two statements."""
    totals: dict[int, dict[int, YearTotal]] = {}

    def cell(indicator_id, year) -> YearTotal:
        return totals.setdefault(indicator_id, {}).setdefault(int(year), YearTotal())

    targets = (
        select(RoadmapIndicator.indicator_id, Indicator.aggregation, IndicatorTarget.year, _hundredths(IndicatorTarget.value),
               func.count(func.distinct(Roadmap.territory_id)), func.count(IndicatorTarget.id))
        .join(RoadmapIndicator, IndicatorTarget.roadmap_indicator_id == RoadmapIndicator.id)
        .join(Indicator, RoadmapIndicator.indicator_id == Indicator.id)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .group_by(RoadmapIndicator.indicator_id, Indicator.aggregation, IndicatorTarget.year)
    )
    # Per indicator, territory and year: the sum of its values and its latest
    # one (row_number over the periods, the latest end first), then per
    # indicator and year: both added up across territories, and how many.
    year = _year_of(IndicatorValue.period_end)
    per_territory = (RoadmapIndicator.indicator_id, Roadmap.territory_id, year)
    ranked = (
        select(RoadmapIndicator.indicator_id.label("indicator_id"), year.label("year"),
               _as_cents(IndicatorValue.value).label("latest"),
               func.sum(_as_cents(IndicatorValue.value)).over(partition_by=per_territory).label("total"),
               func.row_number().over(partition_by=per_territory, order_by=(
                   IndicatorValue.period_end.desc(), IndicatorValue.period_start, IndicatorValue.id.desc())).label("rank"))
        .join(RoadmapIndicator, IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .where(RoadmapIndicator.indicator_id.is_not(None))
    )
    if indicator_ids is not None:
        targets = targets.where(RoadmapIndicator.indicator_id.in_(list(indicator_ids)))
        ranked = ranked.where(RoadmapIndicator.indicator_id.in_(list(indicator_ids)))
    ranked = _in_scope(ranked, scope).subquery()
    values = (
        select(ranked.c.indicator_id, Indicator.aggregation, ranked.c.year, func.sum(ranked.c.total),
               func.sum(ranked.c.latest), func.count())
        .join(Indicator, Indicator.id == ranked.c.indicator_id)
        .where(ranked.c.rank == 1)
        .group_by(ranked.c.indicator_id, Indicator.aggregation, ranked.c.year)
    )
    for indicator_id, aggregation, year_, total, territories, count in db.session.execute(_in_scope(targets, scope)):
        entry = cell(indicator_id, year_)
        entry.target_territories = territories
        entry.target = _mean(total, count) if aggregation == Aggregation.RATE else _decimal(total)
    for indicator_id, aggregation, year_, total, latest, territories in db.session.execute(values):
        entry = cell(indicator_id, year_)
        entry.reached, entry.reached_territories = _combine(aggregation, total, latest, territories), territories
    return totals


@dataclass(frozen=True)
class PeriodTotal:
    start: date
    end: date
    label: str
    total: Decimal  # the period's values: added up, averaged for a rate
    territories: int  # how many territories reported a value for it
    # To date: a flow's values added up since the first period shown; a
    # stock's or rate's figure of the year so far (each territory's latest
    # value of the year up to this period, added up or averaged).
    cumulative: Decimal = Decimal(0)


def period_totals(scope: Scope, indicator_id: int, aggregation: Aggregation = Aggregation.FLOW) -> list[PeriodTotal]:
    """The values of one indicator per reporting period, in time order, as the
    indicator adds up. One statement (a row per territory and period)."""
    query = (
        select(Roadmap.territory_id, IndicatorValue.period_start, IndicatorValue.period_end,
               func.min(IndicatorValue.period_label), _hundredths(IndicatorValue.value))
        .join(RoadmapIndicator, IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .where(RoadmapIndicator.indicator_id == indicator_id)
        .group_by(Roadmap.territory_id, IndicatorValue.period_start, IndicatorValue.period_end)
        .order_by(IndicatorValue.period_end, IndicatorValue.period_start)
    )
    grouped: dict[tuple[date, date], tuple[str | None, dict[int, int]]] = {}
    for territory_id, start, end, label, hundredths in db.session.execute(_in_scope(query, scope)):
        grouped.setdefault((start, end), (label, {}))[1][territory_id] = int(hundredths or 0)
    periods, running = [], 0
    latest: dict[int, tuple[date, int]] = {}  # territory -> (end, hundredths) of its latest value this year
    for (start, end), (label, figures) in grouped.items():
        if latest and next(iter(latest.values()))[0].year != end.year:
            latest = {}
        for territory_id, hundredths in figures.items():
            # Periods come by end, then start: the longest of those ending the same day stays.
            if territory_id not in latest or latest[territory_id][0] < end:
                latest[territory_id] = (end, hundredths)
        period_sum, to_date = sum(figures.values()), sum(h for _end, h in latest.values())
        if aggregation == Aggregation.RATE:
            total, cumulative = _mean(period_sum, len(figures)), _mean(to_date, len(latest))
        elif aggregation == Aggregation.STOCK:
            total, cumulative = _decimal(period_sum), _decimal(to_date)
        else:
            running += period_sum
            total, cumulative = _decimal(period_sum), _decimal(running)
        periods.append(PeriodTotal(start, end, period_label(start, end, label), total, len(figures), cumulative))
    return periods


@dataclass(frozen=True)
class TerritoryRow:
    roadmap_id: int
    status: RoadmapStatus
    period: str  # the roadmap's, "2023–2024"
    territory: str
    slug: str
    target: Decimal | None  # for the year shown
    reached: Decimal | None  # in the year shown, as the indicator adds up (None: a stock or rate not reported)
    last_period: str | None
    last_end: date | None


def _last_labels(roadmap_indicator_ids) -> dict[int, tuple[date, str]]:
    """roadmap indicator id -> (end, label) of its latest reported period. One statement."""
    if not roadmap_indicator_ids:
        return {}
    ids = list(roadmap_indicator_ids)
    latest = (
        select(IndicatorValue.roadmap_indicator_id.label("ri"), func.max(IndicatorValue.period_end).label("last_end"))
        .where(IndicatorValue.roadmap_indicator_id.in_(ids))
        .group_by(IndicatorValue.roadmap_indicator_id)
        .subquery()
    )
    rows = db.session.execute(
        select(IndicatorValue.roadmap_indicator_id, IndicatorValue.period_end,
               func.min(IndicatorValue.period_start), func.min(IndicatorValue.period_label))
        .join(latest, and_(IndicatorValue.roadmap_indicator_id == latest.c.ri, IndicatorValue.period_end == latest.c.last_end))
        .where(IndicatorValue.roadmap_indicator_id.in_(ids))
        .group_by(IndicatorValue.roadmap_indicator_id, IndicatorValue.period_end)
    )
    return {ri: (end, period_label(start, end, label)) for ri, end, start, label in rows}


def territory_rows(scope: Scope, indicator_id: int, year: int, aggregation: Aggregation = Aggregation.FLOW) -> list[TerritoryRow]:
    """Per territory whose roadmap counts, uses the indicator and covers
    ``year``: the target for that year, what it reached in it (a flow: its
    values added up; a stock or a rate: its latest value), the last period
    reported. Three statements."""
    in_year = _year_of(IndicatorValue.period_end) == year
    ranked = (
        select(
            IndicatorValue.roadmap_indicator_id.label("ri"),
            _as_cents(IndicatorValue.value).label("latest"),
            func.sum(_as_cents(IndicatorValue.value)).over(partition_by=IndicatorValue.roadmap_indicator_id).label("total"),
            func.row_number().over(partition_by=IndicatorValue.roadmap_indicator_id, order_by=(
                IndicatorValue.period_end.desc(), IndicatorValue.period_start, IndicatorValue.id.desc())).label("rank"),
        )
        .join(RoadmapIndicator, IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id)
        .where(RoadmapIndicator.indicator_id == indicator_id, in_year)
        .subquery()
    )
    reported = select(ranked.c.ri, ranked.c.total, ranked.c.latest).where(ranked.c.rank == 1).subquery()
    query = (
        select(RoadmapIndicator.id, Roadmap.id, Roadmap.status, Roadmap.start_year, Roadmap.end_year,
               Territory.name, Territory.slug, IndicatorTarget.value, reported.c.total, reported.c.latest)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .outerjoin(IndicatorTarget, and_(IndicatorTarget.roadmap_indicator_id == RoadmapIndicator.id, IndicatorTarget.year == year))
        .outerjoin(reported, reported.c.ri == RoadmapIndicator.id)
        .where(RoadmapIndicator.indicator_id == indicator_id, Roadmap.start_year <= year, Roadmap.end_year >= year)
        .order_by(Territory.name, Roadmap.start_year)
    )
    found = db.session.execute(_in_scope(query, scope)).all()
    last = _last_labels(row[0] for row in found)
    rows = []
    for ri, roadmap_id, status, start_year, end_year, name, slug, target, total, latest in found:
        end, label = last.get(ri, (None, None))
        if aggregation == Aggregation.FLOW:
            reached = _decimal(total)  # nothing reported is none housed yet: 0
        else:
            reached = None if latest is None else _decimal(latest)
        rows.append(TerritoryRow(
            roadmap_id=roadmap_id, status=status,
            period=str(start_year) if start_year == end_year else f"{start_year}–{end_year}",
            territory=name, slug=slug, target=None if target is None else Decimal(target).quantize(Decimal("0.01")),
            reached=reached, last_period=label, last_end=end,
        ))
    return rows


# --- Late reporting ----------------------------------------------------------------


@dataclass
class LateTerritory:
    roadmap_id: int
    territory: str
    slug: str
    missing: list[str] = field(default_factory=list)  # indicator names, in the list's order
    last_period: str | None = None  # the latest period reported for one of the missing indicators
    last_end: date | None = None
    days_late: int = 0


def late_territories(today: date | None = None, grace: int | None = None, wave: int | None = None) -> tuple[Quarter, list[LateTerritory]]:
    """The quarter due and the territories late in reporting it (see the
    module's rule), the latest first. Two statements."""
    today = today or today_in_paris()
    grace = grace_days() if grace is None else grace
    due = quarter_due(today, grace)
    # No GROUP BY nor ORDER BY on names here: sorting thousands of joined rows
    # by a collated text was most of the statement's time on PostgreSQL.
    covered = exists().where(
        IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id,
        IndicatorValue.period_start <= due.end, IndicatorValue.period_end >= due.start,
    )
    query = (
        select(RoadmapIndicator.id, Roadmap.id, Roadmap.start_year, Territory.name, Territory.slug, Indicator.name,
               Indicator.position)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .join(Indicator, RoadmapIndicator.indicator_id == Indicator.id)
        .where(
            Indicator.is_shared.is_(True),
            Roadmap.start_year <= due.year, Roadmap.end_year >= due.year,
            ~covered,
        )
    )
    rows = sorted(db.session.execute(_in_scope(query, Scope("validated", wave))), key=lambda row: (row[6], row[5]))
    last = _last_labels(row[0] for row in rows)
    late: dict[int, LateTerritory] = {}
    for ri, roadmap_id, start_year, territory, slug, indicator, _position in rows:
        entry = late.setdefault(roadmap_id, LateTerritory(roadmap_id, territory, slug))
        entry.missing.append(indicator)
        last_end, label = last.get(ri, (None, None))
        owed = Quarter(start_year, 1) if last_end is None else Quarter.of(last_end + timedelta(days=1))
        if owed.start > due.start:
            owed = due
        entry.days_late = max(entry.days_late, (today - owed.end).days - grace)
        if last_end is not None and (entry.last_end is None or last_end > entry.last_end):
            entry.last_end, entry.last_period = last_end, label
    return due, sorted(late.values(), key=lambda e: (-e.days_late, _alphabetical(e.territory)))


def _alphabetical(name: str) -> str:
    """"Département…" between "Communauté…" and "Métropole…", as a reader expects, not after "Ville…"."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").casefold()


# --- The network page, as one object -------------------------------------------------


@dataclass
class NetworkView:
    scope: Scope
    indicators: list[Indicator]
    totals: dict[int, dict[int, YearTotal]]
    years: list[int]
    chosen: Indicator | None = None
    year: int | None = None
    periods: list[PeriodTotal] = field(default_factory=list)
    territories: list[TerritoryRow] = field(default_factory=list)

    def total(self, indicator_id: int, year: int) -> YearTotal:
        return self.totals.get(indicator_id, {}).get(year) or YearTotal()

    @property
    def chosen_years(self) -> list[int]:
        return sorted(self.totals.get(self.chosen.id, {})) if self.chosen else []


def _default_year(years: list[int], this_year: int) -> int:
    """This year if the indicator has figures for it, else the latest year before it, else its first."""
    past = [y for y in years if y <= this_year]
    if not years or this_year in years:
        return this_year
    return max(past) if past else years[0]


def network_view(scope: Scope, chosen: Indicator | None = None, year: int | None = None, today: date | None = None) -> NetworkView:
    """The shared indicators summed per year, and the detail of one of them
    (``chosen``, else the first of the list): per period and per territory."""
    indicators = shared_indicators()
    if chosen is None and indicators:
        chosen = indicators[0]
    ids = {i.id for i in indicators} | ({chosen.id} if chosen else set())
    totals = yearly_totals(scope, ids)
    years = sorted({y for per_year in totals.values() for y in per_year})
    view = NetworkView(scope, indicators, totals, years, chosen)
    if chosen is not None:
        if year is None or year not in view.chosen_years:
            year = _default_year(view.chosen_years, (today or today_in_paris()).year)
        view.year = year
        view.periods = period_totals(scope, chosen.id, chosen.aggregation)
        view.territories = territory_rows(scope, chosen.id, year, chosen.aggregation)
    return view


# --- The spreadsheet -------------------------------------------------------------------


def _column_total(aggregation: Aggregation, figures: list[Decimal]) -> Decimal | None:
    """A column of territories (one year's targets, one period's values) put
    together: averaged for a rate, added up otherwise."""
    if not figures:
        return None
    total = sum(figures, Decimal(0))
    if aggregation == Aggregation.RATE:
        return (total / len(figures)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return total


def network_workbook(scope: Scope) -> bytes:
    """The network's indicator table: a summary sheet (shared indicators ×
    years, targets and values reached put together as each indicator adds
    up) and, per indicator, its territories × reporting periods with their
    total (an average for a rate). Written by :mod:`extranet.exports`: text
    in string cells, never run as a formula; figures are numbers. Five statements."""
    indicators = shared_indicators()
    ids = [i.id for i in indicators]
    totals = yearly_totals(scope, ids)
    years = sorted({y for per_year in totals.values() for y in per_year})

    periods_query = (
        select(RoadmapIndicator.indicator_id, IndicatorValue.period_start, IndicatorValue.period_end,
               func.min(IndicatorValue.period_label))
        .join(RoadmapIndicator, IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .where(RoadmapIndicator.indicator_id.in_(ids))
        .group_by(RoadmapIndicator.indicator_id, IndicatorValue.period_start, IndicatorValue.period_end)
        .order_by(IndicatorValue.period_end, IndicatorValue.period_start)
    )
    periods: dict[int, list[tuple[date, date, str]]] = {}
    for indicator_id, start, end, label in db.session.execute(_in_scope(periods_query, scope)):
        periods.setdefault(indicator_id, []).append((start, end, period_label(start, end, label)))

    values_query = (
        select(RoadmapIndicator.indicator_id, Roadmap.id, IndicatorValue.period_start, IndicatorValue.period_end,
               _hundredths(IndicatorValue.value))
        .join(RoadmapIndicator, IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .where(RoadmapIndicator.indicator_id.in_(ids))
        .group_by(RoadmapIndicator.indicator_id, Roadmap.id, IndicatorValue.period_start, IndicatorValue.period_end)
    )
    values: dict[tuple[int, int], dict[tuple[date, date], Decimal]] = {}
    for indicator_id, roadmap_id, start, end, total in db.session.execute(_in_scope(values_query, scope)):
        values.setdefault((indicator_id, roadmap_id), {})[(start, end)] = _decimal(total)

    roadmaps_query = (
        select(RoadmapIndicator.indicator_id, Roadmap.id, Territory.name, Roadmap.start_year, Roadmap.end_year,
               Roadmap.status, IndicatorTarget.year, IndicatorTarget.value)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .outerjoin(IndicatorTarget, IndicatorTarget.roadmap_indicator_id == RoadmapIndicator.id)
        .where(RoadmapIndicator.indicator_id.in_(ids))
        .order_by(Territory.name, Roadmap.start_year)
    )
    roadmaps: dict[int, dict[int, dict]] = {}
    for indicator_id, roadmap_id, name, start_year, end_year, status, year, target in db.session.execute(_in_scope(roadmaps_query, scope)):
        entry = roadmaps.setdefault(indicator_id, {}).setdefault(roadmap_id, {
            "territory": name, "period": str(start_year) if start_year == end_year else f"{start_year}–{end_year}",
            "status": str(RoadmapStatus(status).label), "targets": {},
        })
        if year is not None:
            entry["targets"][year] = Decimal(target).quantize(Decimal("0.01"))

    header = [_("Indicator"), _("Unit"), _("How it adds up")]
    for year in years:
        header += [_("Target %(year)s", year=year), _("Reached %(year)s", year=year)]
    rows = []
    for indicator in indicators:
        row = [indicator.name, indicator.unit, str(indicator.aggregation.label)]
        for year in years:
            total = totals.get(indicator.id, {}).get(year) or YearTotal()
            row += [total.target, total.reached]
        rows.append(row)
    sheets = [(_("Network summary"), header, rows)]

    for indicator in indicators:
        own_periods = periods.get(indicator.id, [])
        own_roadmaps = roadmaps.get(indicator.id, {})
        target_years = sorted({y for r in own_roadmaps.values() for y in r["targets"]})
        header = [_("Territory"), _("Roadmap period"), _("Status")]
        header += [_("Target %(year)s", year=year) for year in target_years]
        header += [label for _start, _end, label in own_periods]
        rows = []
        for roadmap_id, entry in own_roadmaps.items():
            reached = values.get((indicator.id, roadmap_id), {})
            rows.append(
                [entry["territory"], entry["period"], entry["status"]]
                + [entry["targets"].get(year) for year in target_years]
                + [reached.get((start, end)) for start, end, _label in own_periods]
            )
        if rows:
            rate = indicator.aggregation == Aggregation.RATE
            sums = [_("Average") if rate else _("Total"), None, None]
            for col in range(3, len(header)):
                sums.append(_column_total(indicator.aggregation, [row[col] for row in rows if row[col] is not None]))
            rows.append(sums)
        sheets.append((indicator.name, header, rows))
    return to_xlsx_sheets(sheets, frozen_columns=1)
