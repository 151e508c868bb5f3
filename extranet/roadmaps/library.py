"""Queries of the library of roadmaps: the list, the axis view across
territories and the comparison of territories.

Each page runs a fixed number of statements whatever the number of
territories, roadmaps and actions: the reader's visibility rule is a SQL
clause (:func:`visible_roadmaps_clause`, the twin of
``permissions.can_view_roadmap``), counts and sums are aggregates, and the rows
a page shows come with what it prints in one query each (joins or IN lists).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, exists, false, func, or_, select, true
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from extranet.extensions import db
from extranet.permissions import is_active_account, is_national
from extranet.plan.models import Axis
from extranet.roadmaps.models import (
    BudgetLine,
    IndicatorTarget,
    Roadmap,
    RoadmapAction,
    RoadmapIndicator,
    RoadmapStatus,
)
from extranet.territories.models import WAVES, Territory

ROADMAPS_PER_PAGE = 20
TERRITORIES_PER_PAGE = 9  # the axis view, paginated by territory: three rows of three
COMPARE_MIN, COMPARE_MAX = 2, 4


# --- Who reads what --------------------------------------------------------------


def visible_roadmaps_clause(user):
    """The roadmaps ``user`` may open, as a WHERE clause on ``Roadmap``: exactly
    ``permissions.can_view_roadmap`` (validated: every active account; before
    that: the national team and the territory's own people). A test checks
    both agree for every role and status."""
    if not is_active_account(user):
        return false()
    if is_national(user):
        return true()
    validated = Roadmap.status == RoadmapStatus.VALIDATED
    if user.territory_id is None:
        return validated
    return or_(validated, Roadmap.territory_id == user.territory_id)


def in_wave_clause(wave: int):
    """SQL twin of ``Territory.in_wave``: a territory of that call, or one its
    call extended (the Pas-de-Calais, first wave, extended in 2021)."""
    return or_(Territory.wave == wave, Territory.extension_year == WAVES[wave])


# --- Reference lists for the filters ---------------------------------------------------


def all_axes() -> list[Axis]:
    """The sixteen axes with their priority, in order (one query)."""
    return list(db.session.scalars(select(Axis).options(joinedload(Axis.priority)).order_by(Axis.number)))


def axes_by_priority(axes: list[Axis]) -> list[tuple]:
    groups: list[tuple] = []
    for axis in axes:
        if not groups or groups[-1][0] is not axis.priority:
            groups.append((axis.priority, []))
        groups[-1][1].append(axis)
    return groups


def all_territories() -> list[Territory]:
    return list(db.session.scalars(select(Territory).order_by(Territory.name)))


def readable_periods(user) -> list[int]:
    """The start years of the roadmaps ``user`` may open, newest first."""
    return readable_periods_and_statuses(user)[0]


def readable_periods_and_statuses(user) -> tuple[list[int], list[RoadmapStatus]]:
    """The start years (newest first) and the statuses of the roadmaps ``user``
    may open, in one query: the filters offer nothing that would only ever be
    empty (someone outside the national team sees "validated" and the statuses
    of their own territory's roadmaps)."""
    query = select(Roadmap.start_year, Roadmap.status).where(visible_roadmaps_clause(user)).distinct()
    periods, statuses = set(), {RoadmapStatus.VALIDATED}
    for start_year, status in db.session.execute(query):
        periods.add(start_year)
        statuses.add(RoadmapStatus(status))
    return sorted(periods, reverse=True), [status for status in RoadmapStatus if status in statuses]


# --- The library ---------------------------------------------------------------------


@dataclass
class LibraryFilters:
    territory: Territory | None = None
    wave: int | None = None
    axis: Axis | None = None
    status: RoadmapStatus | None = None
    period: int | None = None

    def args(self) -> dict:
        """As query parameters, for links that keep them."""
        values = {
            "territory": self.territory.slug if self.territory else None,
            "wave": self.wave,
            "axis": self.axis.number if self.axis else None,
            "status": self.status.value if self.status else None,
            "period": self.period,
        }
        return {name: value for name, value in values.items() if value is not None}


def library_query(user, filters: LibraryFilters):
    """The roadmaps ``user`` may open, filtered, newest period first, each with its territory."""
    query = (
        select(Roadmap)
        .join(Roadmap.territory)
        .options(contains_eager(Roadmap.territory))
        .where(visible_roadmaps_clause(user))
        .order_by(Roadmap.start_year.desc(), Territory.name, Roadmap.id)
    )
    if filters.territory is not None:
        query = query.where(Roadmap.territory_id == filters.territory.id)
    if filters.wave is not None:
        query = query.where(in_wave_clause(filters.wave))
    if filters.axis is not None:
        query = query.where(exists().where(RoadmapAction.roadmap_id == Roadmap.id, RoadmapAction.axis_id == filters.axis.id))
    if filters.status is not None:
        query = query.where(Roadmap.status == filters.status)
    if filters.period is not None:
        query = query.where(Roadmap.start_year == filters.period)
    return query


def has_roadmap(territory_id: int) -> bool:
    """Whether the territory has a roadmap, whatever its status (one query)."""
    return bool(db.session.scalar(select(exists().where(Roadmap.territory_id == territory_id))))


def action_counts(roadmap_ids: list[int]) -> dict[int, int]:
    if not roadmap_ids:
        return {}
    query = (
        select(RoadmapAction.roadmap_id, func.count())
        .where(RoadmapAction.roadmap_id.in_(roadmap_ids))
        .group_by(RoadmapAction.roadmap_id)
    )
    return dict(db.session.execute(query).all())


# --- One axis across territories ------------------------------------------------------------


def _axis_roadmaps_filter(user, axis: Axis, wave: int | None, period: int | None) -> list:
    conditions = [RoadmapAction.axis_id == axis.id, visible_roadmaps_clause(user)]
    if wave is not None:
        conditions.append(in_wave_clause(wave))
    if period is not None:
        conditions.append(Roadmap.start_year == period)
    return conditions


def axis_territories_query(user, axis: Axis, wave: int | None = None, period: int | None = None):
    """The territories with at least one action on ``axis`` in a roadmap ``user`` may open (what the view paginates)."""
    having_actions = (
        select(Roadmap.territory_id)
        .join(RoadmapAction, RoadmapAction.roadmap_id == Roadmap.id)
        .join(Territory, Territory.id == Roadmap.territory_id)
        .where(*_axis_roadmaps_filter(user, axis, wave, period))
    )
    return select(Territory).where(Territory.id.in_(having_actions)).order_by(Territory.name, Territory.id)


@dataclass
class RoadmapActions:
    roadmap: Roadmap
    actions: list[RoadmapAction] = field(default_factory=list)


def axis_actions(user, axis: Axis, territory_ids: list[int], wave: int | None = None,
                 period: int | None = None) -> dict[int, list[RoadmapActions]]:
    """territory id -> its roadmaps (newest first) with their actions on ``axis``, in one query
    (and one for the actions' documents)."""
    if not territory_ids:
        return {}
    query = (
        select(RoadmapAction)
        .join(RoadmapAction.roadmap)
        .join(Roadmap.territory)
        .options(
            contains_eager(RoadmapAction.roadmap).contains_eager(Roadmap.territory),
            selectinload(RoadmapAction.documents),
        )
        .where(Roadmap.territory_id.in_(territory_ids), *_axis_roadmaps_filter(user, axis, wave, period))
        .order_by(Territory.name, Roadmap.start_year.desc(), RoadmapAction.position, RoadmapAction.id)
    )
    grouped: dict[int, list[RoadmapActions]] = defaultdict(list)
    for action in db.session.scalars(query):
        roadmaps = grouped[action.roadmap.territory_id]
        if not roadmaps or roadmaps[-1].roadmap is not action.roadmap:
            roadmaps.append(RoadmapActions(action.roadmap))
        roadmaps[-1].actions.append(action)
    return grouped


# --- Comparing territories --------------------------------------------------------------


@dataclass
class Column:
    """One territory of the comparison: its roadmap (None when the reader may open none),
    its actions by axis id, its budget totals and its shared indicators' targets."""

    territory: Territory
    roadmap: Roadmap | None = None
    actions_by_axis: dict[int, list] = field(default_factory=dict)  # axis id -> rows (id, roadmap_id, axis_id, title)
    total_cost_cents: int = 0
    territory_share_cents: int = 0
    targets: dict[int, list[IndicatorTarget]] = field(default_factory=dict)  # national indicator id -> targets

    @property
    def state_share_cents(self) -> int:
        return self.total_cost_cents - self.territory_share_cents

    @property
    def action_count(self) -> int:
        return sum(len(actions) for actions in self.actions_by_axis.values())


@dataclass
class Comparison:
    columns: list[Column]
    indicators: list[tuple[int, str, str]]  # (national indicator id, name, unit) some column uses


def compare(user, territories: list[Territory], period: int | None = None) -> Comparison:
    """The comparison of ``territories``: for each, the roadmap of ``period`` (its start
    year) that ``user`` may open, or else its latest validated one, or else, when it has
    none, its latest one ``user`` may open. Validated first: the draft of the next period,
    often still empty, must not hide the commitments in force from the national team and
    the territory's own people. Five queries whatever the sizes."""
    columns = [Column(territory) for territory in territories]
    query = select(Roadmap).where(Roadmap.territory_id.in_([t.id for t in territories]), visible_roadmaps_clause(user))
    if period is not None:
        query = query.where(Roadmap.start_year == period).order_by(Roadmap.territory_id)
    else:
        not_validated = case((Roadmap.status == RoadmapStatus.VALIDATED, 0), else_=1)
        query = query.order_by(Roadmap.territory_id, not_validated, Roadmap.start_year.desc())
    latest: dict[int, Roadmap] = {}
    for roadmap in db.session.scalars(query):
        latest.setdefault(roadmap.territory_id, roadmap)
    roadmap_ids = [r.id for r in latest.values()]
    by_roadmap = {}
    for column in columns:
        column.roadmap = latest.get(column.territory.id)
        if column.roadmap is not None:
            by_roadmap[column.roadmap.id] = column
    indicators: dict[int, tuple[int, str, str]] = {}
    if roadmap_ids:
        # Titles are all the table shows: rows, not 60 entities per roadmap.
        actions = (
            select(RoadmapAction.id, RoadmapAction.roadmap_id, RoadmapAction.axis_id, RoadmapAction.title)
            .where(RoadmapAction.roadmap_id.in_(roadmap_ids))
            .order_by(RoadmapAction.position, RoadmapAction.id)
        )
        for action in db.session.execute(actions):
            by_roadmap[action.roadmap_id].actions_by_axis.setdefault(action.axis_id, []).append(action)
        budget = (
            select(BudgetLine.roadmap_id, func.sum(BudgetLine.total_cost_cents), func.sum(BudgetLine.territory_share_cents))
            .where(BudgetLine.roadmap_id.in_(roadmap_ids))
            .group_by(BudgetLine.roadmap_id)
        )
        for roadmap_id, total, share in db.session.execute(budget):
            by_roadmap[roadmap_id].total_cost_cents = int(total or 0)
            by_roadmap[roadmap_id].territory_share_cents = int(share or 0)
        shared = (
            select(RoadmapIndicator)
            .where(RoadmapIndicator.roadmap_id.in_(roadmap_ids), RoadmapIndicator.indicator_id.is_not(None))
            .options(selectinload(RoadmapIndicator.targets))
            .order_by(RoadmapIndicator.position, RoadmapIndicator.id)
        )
        for indicator in db.session.scalars(shared):
            by_roadmap[indicator.roadmap_id].targets[indicator.indicator_id] = list(indicator.targets)
            indicators.setdefault(indicator.indicator_id, (indicator.indicator_id, indicator.name, indicator.unit))
    return Comparison(columns, sorted(indicators.values(), key=lambda item: item[1].casefold()))

