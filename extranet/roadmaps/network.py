"""The national team's view of the network: the national list of shared
indicators, their targets and values added up across territories, who is late
in reporting, and the network's indicator table as a spreadsheet.

Every figure is an SQL aggregate (``GROUP BY``): a page runs the same handful
of statements whatever the number of territories, roadmaps and values.

Sums are exact: targets and values are ``Numeric(14, 2)``, which SQLite keeps
as floating point; each one is summed as a whole number of hundredths
(``ROUND(value * 100)``), then divided back into a ``Decimal``.

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

import io
import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, and_, case, cast, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.permissions import can_manage_indicators
from extranet.roadmaps.models import (
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


def create_indicator(actor, *, name: str, unit: str = "", description: str = "", position: int = 0) -> Indicator:
    if not can_manage_indicators(actor):
        raise ServiceError("forbidden")
    if _name_taken(name):
        raise _duplicate()
    indicator = Indicator(name=name, unit=unit or "", description=description or "", position=position or 0, is_shared=True)
    db.session.add(indicator)
    return _save(indicator)


def update_indicator(actor, indicator: Indicator, *, name: str, unit: str = "", description: str = "", position: int = 0) -> Indicator:
    """Roadmaps keep the name and unit they copied: the change applies to those that add it from now on."""
    if not can_manage_indicators(actor):
        raise ServiceError("forbidden")
    if _name_taken(name, but=indicator.id):
        raise _duplicate()
    indicator.name, indicator.unit, indicator.description = name, unit or "", description or ""
    indicator.position = position or 0
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
    """indicator id -> year -> targets and values reached added up across the
    territories whose roadmaps count (a value counts in the year its period
    ends). Two statements."""
    totals: dict[int, dict[int, YearTotal]] = {}

    def cell(indicator_id, year) -> YearTotal:
        return totals.setdefault(indicator_id, {}).setdefault(int(year), YearTotal())

    targets = (
        select(RoadmapIndicator.indicator_id, IndicatorTarget.year, _hundredths(IndicatorTarget.value),
               func.count(func.distinct(Roadmap.territory_id)))
        .join(RoadmapIndicator, IndicatorTarget.roadmap_indicator_id == RoadmapIndicator.id)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .where(RoadmapIndicator.indicator_id.is_not(None))
        .group_by(RoadmapIndicator.indicator_id, IndicatorTarget.year)
    )
    year = _year_of(IndicatorValue.period_end)
    values = (
        select(RoadmapIndicator.indicator_id, year, _hundredths(IndicatorValue.value),
               func.count(func.distinct(Roadmap.territory_id)))
        .join(RoadmapIndicator, IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .where(RoadmapIndicator.indicator_id.is_not(None))
        .group_by(RoadmapIndicator.indicator_id, year)
    )
    if indicator_ids is not None:
        targets = targets.where(RoadmapIndicator.indicator_id.in_(list(indicator_ids)))
        values = values.where(RoadmapIndicator.indicator_id.in_(list(indicator_ids)))
    for indicator_id, year_, total, territories in db.session.execute(_in_scope(targets, scope)):
        entry = cell(indicator_id, year_)
        entry.target, entry.target_territories = _decimal(total), territories
    for indicator_id, year_, total, territories in db.session.execute(_in_scope(values, scope)):
        entry = cell(indicator_id, year_)
        entry.reached, entry.reached_territories = _decimal(total), territories
    return totals


@dataclass(frozen=True)
class PeriodTotal:
    start: date
    end: date
    label: str
    total: Decimal
    territories: int  # how many territories reported a value for it
    cumulative: Decimal = Decimal(0)  # since the first period shown


def period_totals(scope: Scope, indicator_id: int) -> list[PeriodTotal]:
    """The values of one indicator added up per reporting period, in time order. One statement."""
    query = (
        select(IndicatorValue.period_start, IndicatorValue.period_end, func.min(IndicatorValue.period_label),
               _hundredths(IndicatorValue.value), func.count(func.distinct(Roadmap.territory_id)))
        .join(RoadmapIndicator, IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id)
        .join(Roadmap, RoadmapIndicator.roadmap_id == Roadmap.id)
        .join(Territory, Roadmap.territory_id == Territory.id)
        .where(RoadmapIndicator.indicator_id == indicator_id)
        .group_by(IndicatorValue.period_start, IndicatorValue.period_end)
        .order_by(IndicatorValue.period_end, IndicatorValue.period_start)
    )
    periods, running = [], Decimal(0)
    for start, end, label, total, territories in db.session.execute(_in_scope(query, scope)):
        total = _decimal(total)
        running += total
        periods.append(PeriodTotal(start, end, period_label(start, end, label), total, territories, running))
    return periods


@dataclass(frozen=True)
class TerritoryRow:
    roadmap_id: int
    status: RoadmapStatus
    period: str  # the roadmap's, "2023–2024"
    territory: str
    slug: str
    target: Decimal | None  # for the year shown
    reached: Decimal  # in the year shown
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


def territory_rows(scope: Scope, indicator_id: int, year: int) -> list[TerritoryRow]:
    """Per territory whose roadmap counts, uses the indicator and covers
    ``year``: the target for that year, the values reached in it, the last
    period reported. Three statements."""
    in_year = _year_of(IndicatorValue.period_end) == year
    reported = (
        select(
            IndicatorValue.roadmap_indicator_id.label("ri"),
            func.sum(case((in_year, cast(func.round(IndicatorValue.value * 100), BigInteger)), else_=0)).label("reached"),
        )
        .join(RoadmapIndicator, IndicatorValue.roadmap_indicator_id == RoadmapIndicator.id)
        .where(RoadmapIndicator.indicator_id == indicator_id)
        .group_by(IndicatorValue.roadmap_indicator_id)
        .subquery()
    )
    query = (
        select(RoadmapIndicator.id, Roadmap.id, Roadmap.status, Roadmap.start_year, Roadmap.end_year,
               Territory.name, Territory.slug, IndicatorTarget.value, reported.c.reached)
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
    for ri, roadmap_id, status, start_year, end_year, name, slug, target, reached in found:
        end, label = last.get(ri, (None, None))
        rows.append(TerritoryRow(
            roadmap_id=roadmap_id, status=status,
            period=str(start_year) if start_year == end_year else f"{start_year}–{end_year}",
            territory=name, slug=slug, target=None if target is None else Decimal(target).quantize(Decimal("0.01")),
            reached=_decimal(reached), last_period=label, last_end=end,
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
        view.periods = period_totals(scope, chosen.id)
        view.territories = territory_rows(scope, chosen.id, year)
    return view


# --- The spreadsheet -------------------------------------------------------------------


def _sheet_names(names: list[str]) -> list[str]:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique whatever the case."""
    taken, result = set(), []
    for name in names:
        base = "".join(c for c in name if c not in "[]:*?/\\'").strip()[:31] or "Indicateur"
        candidate, n = base, 2
        while candidate.lower() in taken:
            suffix = f" ({n})"
            candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
        taken.add(candidate.lower())
        result.append(candidate)
    return result


def network_workbook(scope: Scope) -> bytes:
    """The network's indicator table: a summary sheet (shared indicators ×
    years, targets and values reached added up) and, per indicator, its
    territories × reporting periods. Text goes in string cells, which a
    spreadsheet never runs as a formula; figures are numbers. Five statements."""
    import xlsxwriter

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

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    bold = book.add_format({"bold": True})

    def write(sheet, row, col, value, fmt=None):
        if value is None:
            return
        if isinstance(value, int | Decimal):
            sheet.write_number(row, col, float(value), fmt)
        else:
            sheet.write_string(row, col, str(value), fmt)

    def table(sheet, header, rows):
        for col, value in enumerate(header):
            write(sheet, 0, col, value, bold)
        for r, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                write(sheet, r, col, value)
        widths = [max([len(str(header[c]))] + [min(len(str(row[c])), 60) for row in rows if row[c] is not None]) for c in range(len(header))]
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width + 2)
        sheet.freeze_panes(1, 1)

    summary = book.add_worksheet(_("Network summary")[:31])
    header = [_("Indicator"), _("Unit")]
    for year in years:
        header += [_("Target %(year)s", year=year), _("Reached %(year)s", year=year)]
    rows = []
    for indicator in indicators:
        row = [indicator.name, indicator.unit]
        for year in years:
            total = totals.get(indicator.id, {}).get(year) or YearTotal()
            row += [total.target, total.reached]
        rows.append(row)
    table(summary, header, rows)

    for indicator, name in zip(indicators, _sheet_names([i.name for i in indicators])):
        sheet = book.add_worksheet(name)
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
            sums = [_("Total"), None, None]
            for col in range(3, len(header)):
                figures = [row[col] for row in rows if row[col] is not None]
                sums.append(sum(figures, Decimal(0)) if figures else None)
            rows.append(sums)
        table(sheet, header, rows)
    book.close()
    return out.getvalue()
