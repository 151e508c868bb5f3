"""Territory roadmaps ("feuilles de route"), as structured data.

A territory has one roadmap per period (``start_year``–``end_year``, e.g.
2023–2024), made of the five "fiches" of the call for expressions of interest:
context and strategy (Markdown), actions under the plan's 16 axes, indicators
with their targets and reported values, the budget of fiche 5 (six expense
lines) and the governance partners. Toolbox documents are attached to the
roadmap (the signed PDF, annexes) and to its actions.

Workflow: ``draft`` -> ``submitted`` -> ``validated`` or ``returned`` (then
edited and submitted again). Each submission freezes a :class:`RoadmapVersion`
holding :func:`extranet.roadmaps.services.snapshot` of the whole roadmap as
JSON, so that any two submissions compare without the live rows.

Optimistic locking: ``Roadmap.version`` is SQLAlchemy's ``version_id_col``.
Every UPDATE of the roadmap row says ``WHERE version = <the version read>``
and raises ``StaleDataError`` when someone else updated it in between. A change
to a child row (an action, a budget line…) does not touch the roadmap row by
itself: services call :func:`extranet.roadmaps.services.touch` so that every
edit of a roadmap goes through that one counter, and forms carry the version
they were read at (:func:`extranet.roadmaps.services.expect_version`).

Money: integer euro cents (``BigInteger``, columns named ``*_cents``). Sums
and the 50/50 rule are then exact on SQLite and PostgreSQL alike, where a
``Numeric`` would come back as a float from SQLite. Indicator targets and
values are ``Numeric(14, 2)``: counts mostly, sometimes rates or durations.

Deletion: the foreign keys say ON DELETE CASCADE, but SQLite runs without
foreign-key enforcement here, so the relationships cascade in the ORM (no
``passive_deletes``): deleting a roadmap through the session removes all its
parts on both databases.
"""

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extranet.extensions import db, enum_type
from extranet.timeutil import utcnow

TITLE_MAX = 300
NAME_MAX = 300
UNIT_MAX = 50
AMOUNT = Numeric(14, 2)
# Units whose figures never add up over periods (see RoadmapIndicator.aggregation).
RATE_OR_DURATION_UNITS = frozenset({
    "pourcentage", "pourcent", "taux", "ratio", "mois", "jour", "jours", "semaine", "semaines",
    "an", "ans", "année", "années", "heure", "heures", "délai", "durée",
})


class RoadmapStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VALIDATED = "validated"
    RETURNED = "returned"  # sent back by the national team, to be edited and submitted again

    @property
    def label(self):
        return ROADMAP_STATUS_LABELS[self]


ROADMAP_STATUS_LABELS = {
    RoadmapStatus.DRAFT: _l("Draft"),
    RoadmapStatus.SUBMITTED: _l("Submitted"),
    RoadmapStatus.VALIDATED: _l("Validated"),
    RoadmapStatus.RETURNED: _l("Sent back for changes"),
}


class ActionOrigin(enum.StrEnum):
    NEW = "new"
    EXISTING = "existing"  # an existing action the roadmap strengthens

    @property
    def label(self):
        return ACTION_ORIGIN_LABELS[self]


ACTION_ORIGIN_LABELS = {
    ActionOrigin.NEW: _l("New action"),
    ActionOrigin.EXISTING: _l("Existing action to strengthen"),
}


class ActionStatus(enum.StrEnum):
    TO_START = "to_start"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ABANDONED = "abandoned"

    @property
    def label(self):
        return ACTION_STATUS_LABELS[self]


ACTION_STATUS_LABELS = {
    ActionStatus.TO_START: _l("To be started"),
    ActionStatus.IN_PROGRESS: _l("In progress"),
    ActionStatus.DONE: _l("Completed"),
    ActionStatus.ABANDONED: _l("Abandoned"),
}


class BudgetLineKind(enum.StrEnum):
    """The six expense lines of fiche 5, in its order."""

    COORDINATOR = "coordinator"
    ENGINEERING = "engineering"
    SOCIAL_INTERVENTION = "social_intervention"
    SOCIAL_OBSERVATION = "social_observation"
    MONITORING = "monitoring_evaluation"
    COMMUNICATION = "communication"

    @property
    def label(self):
        return BUDGET_LINE_LABELS[self]


BUDGET_LINE_LABELS = {
    BudgetLineKind.COORDINATOR: _l("Coordinator / facilitator post"),
    BudgetLineKind.ENGINEERING: _l("Project engineering"),
    BudgetLineKind.SOCIAL_INTERVENTION: _l("Social intervention measures"),
    BudgetLineKind.SOCIAL_OBSERVATION: _l("Social observation"),
    BudgetLineKind.MONITORING: _l("Monitoring and evaluation"),
    BudgetLineKind.COMMUNICATION: _l("Communication"),
}


class PartnerKind(enum.StrEnum):
    """The partners of fiche 3 (governance and partnerships), in its order."""

    STATE_SERVICES = "state_services"
    SOCIAL_LANDLORDS = "social_landlords"
    EPCI = "epci"
    SIAO = "siao"
    PEOPLE_CONCERNED = "people_concerned"
    ASSOCIATIONS = "associations"
    OPERATOR_FEDERATIONS = "operator_federations"
    CCAS = "ccas"
    HEALTH_SOCIAL_INSTITUTIONS = "health_social_institutions"
    ARS = "ars"
    CAF = "caf"
    OTHER = "other"

    @property
    def label(self):
        return PARTNER_KIND_LABELS[self]


PARTNER_KIND_LABELS = {
    PartnerKind.STATE_SERVICES: _l("Devolved State services"),
    PartnerKind.SOCIAL_LANDLORDS: _l("Social landlords (or private landlords' representatives) and their unions"),
    PartnerKind.EPCI: _l("EPCI (intermunicipal bodies)"),
    PartnerKind.SIAO: _l("SIAO"),
    PartnerKind.PEOPLE_CONCERNED: _l("Representatives of the people concerned"),
    PartnerKind.ASSOCIATIONS: _l("Street outreach and housing integration associations and their networks"),
    PartnerKind.OPERATOR_FEDERATIONS: _l("Local branches of operators' federations"),
    PartnerKind.CCAS: _l("CCAS"),
    PartnerKind.HEALTH_SOCIAL_INSTITUTIONS: _l("Health and social institutions"),
    PartnerKind.ARS: _l("ARS (regional health agency)"),
    PartnerKind.CAF: _l("CAF (family allowance fund)"),
    PartnerKind.OTHER: _l("Other partner"),
}


class Aggregation(enum.StrEnum):
    """How an indicator's figures add up, over a year and across territories.

    A flow (households housed) adds its periods and its territories; a stock
    (places open) is the latest value of the year, added across territories;
    a rate (% of exits to housing) is the latest value of the year, averaged
    across territories — adding rates or stocks over quarters means nothing."""

    FLOW = "flow"
    STOCK = "stock"
    RATE = "rate"

    @property
    def label(self):
        return AGGREGATION_LABELS[self]


AGGREGATION_LABELS = {
    Aggregation.FLOW: _l("Flow: the periods add up (e.g. households housed)"),
    Aggregation.STOCK: _l("Stock: the latest value counts (e.g. places open)"),
    Aggregation.RATE: _l("Rate: the latest value counts, averaged across territories (e.g. a percentage)"),
}


class RoadmapSection(enum.StrEnum):
    """The parts of a roadmap the national team comments on."""

    GENERAL = "general"
    CONTEXT = "context"  # context and strategic summary (fiches 1 and 2)
    ACTIONS = "actions"
    INDICATORS = "indicators"  # objectives and indicators (fiche 4)
    BUDGET = "budget"  # fiche 5
    GOVERNANCE = "governance"  # fiche 3
    ATTACHMENTS = "attachments"

    @property
    def label(self):
        return ROADMAP_SECTION_LABELS[self]


ROADMAP_SECTION_LABELS = {
    RoadmapSection.GENERAL: _l("General"),
    RoadmapSection.CONTEXT: _l("Context and strategy"),
    RoadmapSection.ACTIONS: _l("Actions"),
    RoadmapSection.INDICATORS: _l("Objectives and indicators"),
    RoadmapSection.BUDGET: _l("Budget"),
    RoadmapSection.GOVERNANCE: _l("Governance and partners"),
    RoadmapSection.ATTACHMENTS: _l("Attached files"),
}


# The signed roadmap, its annexes: toolbox documents.
roadmap_document = Table(
    "roadmap_document",
    db.metadata,
    Column("roadmap_id", ForeignKey("roadmap.id", ondelete="CASCADE"), primary_key=True),
    Column("document_id", ForeignKey("document.id", ondelete="CASCADE"), primary_key=True, index=True),
)

roadmap_action_document = Table(
    "roadmap_action_document",
    db.metadata,
    Column("action_id", ForeignKey("roadmap_action.id", ondelete="CASCADE"), primary_key=True),
    Column("document_id", ForeignKey("document.id", ondelete="CASCADE"), primary_key=True, index=True),
)


# Members of the territory its coordinators allow to edit the roadmap (besides themselves).
roadmap_editor = Table(
    "roadmap_editor",
    db.metadata,
    Column("roadmap_id", ForeignKey("roadmap.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Roadmap(db.Model):
    __table_args__ = (
        UniqueConstraint("territory_id", "start_year"),
        CheckConstraint("end_year >= start_year", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("territory.id", ondelete="CASCADE"))
    start_year: Mapped[int] = mapped_column(index=True)
    end_year: Mapped[int]
    status: Mapped[RoadmapStatus] = mapped_column(enum_type(RoadmapStatus), default=RoadmapStatus.DRAFT, index=True)
    context: Mapped[str] = mapped_column(Text, default="")  # Markdown
    strategy: Mapped[str] = mapped_column(Text, default="")  # Markdown: the strategic summary
    # Fiche 5's mention of ordinary ("droit commun") funding used beside the call's.
    budget_note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    submitted_at: Mapped[datetime | None]
    validated_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}

    territory: Mapped["Territory"] = relationship()  # noqa: F821
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])  # noqa: F821
    updated_by: Mapped["User | None"] = relationship(foreign_keys=[updated_by_id])  # noqa: F821
    actions: Mapped[list["RoadmapAction"]] = relationship(
        back_populates="roadmap", cascade="all, delete-orphan",
        order_by="(RoadmapAction.position, RoadmapAction.id)",
    )
    indicators: Mapped[list["RoadmapIndicator"]] = relationship(
        back_populates="roadmap", cascade="all, delete-orphan",
        order_by="(RoadmapIndicator.position, RoadmapIndicator.id)",
    )
    budget_lines: Mapped[list["BudgetLine"]] = relationship(
        back_populates="roadmap", cascade="all, delete-orphan", order_by="BudgetLine.id",
    )
    partners: Mapped[list["RoadmapPartner"]] = relationship(
        back_populates="roadmap", cascade="all, delete-orphan", order_by="RoadmapPartner.id",
    )
    versions: Mapped[list["RoadmapVersion"]] = relationship(
        back_populates="roadmap", cascade="all, delete-orphan", order_by="RoadmapVersion.number",
    )
    comments: Mapped[list["RoadmapComment"]] = relationship(
        back_populates="roadmap", cascade="all, delete-orphan",
        order_by="(RoadmapComment.created_at, RoadmapComment.id)",
    )
    documents: Mapped[list["Document"]] = relationship(secondary=roadmap_document, order_by="Document.title")  # noqa: F821
    editors: Mapped[list["User"]] = relationship(secondary=roadmap_editor, order_by="User.name")  # noqa: F821

    @property
    def editor_ids(self) -> frozenset[int]:
        """Read by ``permissions.can_edit_roadmap``."""
        return frozenset(user.id for user in self.editors)

    @property
    def period_label(self) -> str:
        if self.start_year == self.end_year:
            return str(self.start_year)
        return f"{self.start_year}–{self.end_year}"

    def __repr__(self) -> str:
        return f"<Roadmap {self.id} territory={self.territory_id} {self.period_label}>"


# Snapshots match actions and indicators between two submissions by id: an id
# must never come back for another row, which SQLite does (max(rowid) + 1 after
# the last row is deleted) unless the table is AUTOINCREMENT.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class RoadmapAction(db.Model):
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmap.id", ondelete="CASCADE"), index=True)
    # Reference data: an axis in use by an action is never deleted.
    axis_id: Mapped[int] = mapped_column(ForeignKey("axis.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    origin: Mapped[ActionOrigin] = mapped_column(enum_type(ActionOrigin), default=ActionOrigin.NEW)
    lead_organisation: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    partners: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    status: Mapped[ActionStatus] = mapped_column(enum_type(ActionStatus), default=ActionStatus.TO_START)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    roadmap: Mapped[Roadmap] = relationship(back_populates="actions")
    axis: Mapped["Axis"] = relationship()  # noqa: F821
    documents: Mapped[list["Document"]] = relationship(secondary=roadmap_action_document, order_by="Document.title")  # noqa: F821

    def __repr__(self) -> str:
        return f"<RoadmapAction {self.id} {self.title!r}>"


class Indicator(db.Model):
    """An indicator of the national list the national team manages, shared by
    the network so that territories' figures add up. ``is_shared`` false: taken
    off the list (roadmaps that use it keep it)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    unit: Mapped[str] = mapped_column(String(UNIT_MAX), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    is_shared: Mapped[bool] = mapped_column(default=True)
    aggregation: Mapped[Aggregation] = mapped_column(enum_type(Aggregation), default=Aggregation.FLOW, server_default="flow")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Indicator {self.id} {self.name!r}>"


class RoadmapIndicator(db.Model):
    """An indicator of one roadmap: its own, or one of the national list
    (``indicator_id``; name and unit are copied so that the roadmap still reads
    the same if the national list changes)."""

    __table_args__ = (UniqueConstraint("roadmap_id", "indicator_id"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmap.id", ondelete="CASCADE"))
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicator.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    unit: Mapped[str] = mapped_column(String(UNIT_MAX), default="")
    objective: Mapped[str] = mapped_column(Text, default="")  # the objective it measures, in words
    position: Mapped[int] = mapped_column(default=0)

    roadmap: Mapped[Roadmap] = relationship(back_populates="indicators")
    indicator: Mapped[Indicator | None] = relationship()
    targets: Mapped[list["IndicatorTarget"]] = relationship(
        back_populates="roadmap_indicator", cascade="all, delete-orphan",
        order_by="IndicatorTarget.year",
    )
    values: Mapped[list["IndicatorValue"]] = relationship(
        back_populates="roadmap_indicator", cascade="all, delete-orphan",
        order_by="(IndicatorValue.period_start, IndicatorValue.period_end)",
    )

    @property
    def is_shared(self) -> bool:
        return self.indicator_id is not None

    @property
    def aggregation(self) -> Aggregation:
        """The national list says it for a shared indicator. An own one in a unit
        of ratio or of time ("%", "taux", "mois", "jours"…) is read like a rate:
        its latest value counts, months of waiting do not add up over a year;
        any other unit is a flow."""
        if self.indicator is not None:
            return self.indicator.aggregation
        unit = (self.unit or "").strip().lower()
        first_word = unit.split()[0] if unit else ""
        return Aggregation.RATE if "%" in unit or first_word in RATE_OR_DURATION_UNITS else Aggregation.FLOW


class IndicatorTarget(db.Model):
    """The target of an indicator for one year of the roadmap's period."""

    __table_args__ = (UniqueConstraint("roadmap_indicator_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_indicator_id: Mapped[int] = mapped_column(ForeignKey("roadmap_indicator.id", ondelete="CASCADE"))
    year: Mapped[int]
    value: Mapped[Decimal] = mapped_column(AMOUNT)

    roadmap_indicator: Mapped[RoadmapIndicator] = relationship(back_populates="targets")


class IndicatorValue(db.Model):
    """The value reached over one reporting period (e.g. "T1 2021", from
    2021-01-01 to 2021-03-31)."""

    __table_args__ = (
        UniqueConstraint("roadmap_indicator_id", "period_start", "period_end"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        Index("ix_indicator_value_period_start_period_end", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_indicator_id: Mapped[int] = mapped_column(ForeignKey("roadmap_indicator.id", ondelete="CASCADE"))
    period_label: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[date]
    period_end: Mapped[date]
    value: Mapped[Decimal] = mapped_column(AMOUNT)
    comment: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    roadmap_indicator: Mapped[RoadmapIndicator] = relationship(back_populates="values")
    reported_by: Mapped["User | None"] = relationship()  # noqa: F821


class BudgetLine(db.Model):
    """One expense line of fiche 5, over 12 months, in euro cents."""

    __table_args__ = (
        UniqueConstraint("roadmap_id", "kind"),
        CheckConstraint("total_cost_cents >= 0", name="total_cost_positive"),
        CheckConstraint("territory_share_cents >= 0 AND territory_share_cents <= total_cost_cents", name="territory_share_within_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmap.id", ondelete="CASCADE"))
    kind: Mapped[BudgetLineKind] = mapped_column(enum_type(BudgetLineKind))
    actions: Mapped[str] = mapped_column(Text, default="")  # the actions planned on this line
    total_cost_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    territory_share_cents: Mapped[int] = mapped_column(BigInteger, default=0)

    roadmap: Mapped[Roadmap] = relationship(back_populates="budget_lines")

    @property
    def state_share_cents(self) -> int:
        return (self.total_cost_cents or 0) - (self.territory_share_cents or 0)


class RoadmapPartner(db.Model):
    """A governance partner of the roadmap: a kind from fiche 3's list, and
    optionally who (several social landlords are several rows)."""

    __table_args__ = (UniqueConstraint("roadmap_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmap.id", ondelete="CASCADE"))
    kind: Mapped[PartnerKind] = mapped_column(enum_type(PartnerKind))
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="")

    roadmap: Mapped[Roadmap] = relationship(back_populates="partners")


class RoadmapVersion(db.Model):
    """A submission, frozen: the whole roadmap as it was submitted, and the
    national team's decision on it (None while it waits)."""

    __table_args__ = (UniqueConstraint("roadmap_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmap.id", ondelete="CASCADE"))
    number: Mapped[int]  # 1, 2, … per roadmap
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    snapshot: Mapped[dict] = mapped_column(JSON)
    decision: Mapped[RoadmapStatus | None] = mapped_column(enum_type(RoadmapStatus))  # validated or returned
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    roadmap: Mapped[Roadmap] = relationship(back_populates="versions")
    submitted_by: Mapped["User | None"] = relationship(foreign_keys=[submitted_by_id])  # noqa: F821
    decided_by: Mapped["User | None"] = relationship(foreign_keys=[decided_by_id])  # noqa: F821


class RoadmapComment(db.Model):
    """A comment of the national team on one section of a roadmap, made on a
    given submission when there is one."""

    __table_args__ = (Index("ix_roadmap_comment_roadmap_id_section", "roadmap_id", "section"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmap.id", ondelete="CASCADE"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("roadmap_version.id", ondelete="SET NULL"), index=True)
    section: Mapped[RoadmapSection] = mapped_column(enum_type(RoadmapSection))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

    roadmap: Mapped[Roadmap] = relationship(back_populates="comments")
    version: Mapped[RoadmapVersion | None] = relationship()
    author: Mapped["User | None"] = relationship()  # noqa: F821


class ReportingReminder(db.Model):
    """A reminder sent to a territory late in reporting a quarter's shared
    indicators: one row per roadmap and quarter, so that each is sent once."""

    __table_args__ = (UniqueConstraint("roadmap_id", "quarter_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmap.id", ondelete="CASCADE"))
    quarter_end: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


from extranet.roadmaps import search  # noqa: E402, F401  (registers roadmaps and their actions with the search index)
