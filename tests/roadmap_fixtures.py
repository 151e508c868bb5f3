"""Roadmap fixtures shared by the tests/test_roadmaps_*.py files (loaded with
``pytest_plugins = ["tests.roadmap_fixtures"]``): ``build_roadmap()`` fills a
roadmap as a territory would, ``make_roadmap`` makes one in a given status
through the workflow services."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.plan.models import Axis
from extranet.roadmaps import services
from extranet.roadmaps.models import (
    ActionOrigin,
    ActionStatus,
    BudgetLine,
    BudgetLineKind,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    PartnerKind,
    Roadmap,
    RoadmapAction,
    RoadmapIndicator,
    RoadmapPartner,
    RoadmapStatus,
)
from extranet.territories.models import Territory

EUR = 100  # cents


def axis(number: int) -> Axis:
    return db.session.scalar(select(Axis).filter_by(number=number))


def build_roadmap(territory="lyon", start_year=2023, end_year=2024) -> Roadmap:
    """A roadmap as a territory would fill it in: two actions, a shared and an
    own indicator with targets and values, four budget lines, partners."""
    shared = db.session.scalar(select(Indicator).filter_by(name="Ménages accédant au logement depuis la rue"))
    if shared is None:
        shared = Indicator(name="Ménages accédant au logement depuis la rue", unit="ménages")
    roadmap = Roadmap(
        territory=db.session.scalar(select(Territory).filter_by(slug=territory)),
        start_year=start_year,
        end_year=end_year,
        context="Un territoire **urbain** où la demande d'hébergement croît.",
        strategy="Accès direct au logement depuis la rue.",
    )
    roadmap.actions = [
        RoadmapAction(
            axis=axis(12), title="Commission de prévention des expulsions", origin=ActionOrigin.EXISTING,
            lead_organisation="Métropole", partners="CAF, CCAPEX", starts_on=date(2023, 1, 1),
            ends_on=date(2024, 12, 31), status=ActionStatus.IN_PROGRESS, position=1,
        ),
        RoadmapAction(axis=axis(3), title="Captation de logements dans le parc privé", position=2),
    ]
    roadmap.indicators = [
        RoadmapIndicator(
            indicator=shared, name=shared.name, unit=shared.unit, position=1,
            targets=[IndicatorTarget(year=2023, value=Decimal(150)), IndicatorTarget(year=2024, value=Decimal(200))],
            values=[IndicatorValue(period_label="T1 2023", period_start=date(2023, 1, 1), period_end=date(2023, 3, 31), value=Decimal(40))],
        ),
        RoadmapIndicator(name="Taux de sortie vers le logement", unit="%", position=2,
                         targets=[IndicatorTarget(year=2023, value=Decimal("32.5"))]),
    ]
    roadmap.budget_lines = [
        BudgetLine(kind=BudgetLineKind.COORDINATOR, actions="Un poste de coordinateur", total_cost_cents=60_000 * EUR,
                   territory_share_cents=30_000 * EUR),
        BudgetLine(kind=BudgetLineKind.ENGINEERING, actions="Étude de préfiguration", total_cost_cents=25_000 * EUR,
                   territory_share_cents=5_000 * EUR),
        BudgetLine(kind=BudgetLineKind.SOCIAL_OBSERVATION, actions="Nuit de la solidarité", total_cost_cents=12_345_67,
                   territory_share_cents=0),
        BudgetLine(kind=BudgetLineKind.COMMUNICATION, total_cost_cents=8_000 * EUR, territory_share_cents=4_000 * EUR),
    ]
    roadmap.partners = [
        RoadmapPartner(kind=PartnerKind.SIAO),
        RoadmapPartner(kind=PartnerKind.SOCIAL_LANDLORDS, name="Grand Lyon Habitat"),
        RoadmapPartner(kind=PartnerKind.SOCIAL_LANDLORDS, name="Lyon Métropole Habitat"),
    ]
    db.session.add(roadmap)
    db.session.flush()
    return roadmap



@pytest.fixture
def make_roadmap(app, make_user):
    """make_roadmap(territory="lyon", status="draft", start_year=2023, end_year=2024, filled=True) -> Roadmap (detached).

    ``filled``: with build_roadmap()'s actions, indicators, budget and partners;
    otherwise empty. Submitted by a coordinator of the territory, validated or
    sent back by a national admin, through the services (so versions exist)."""
    people = {}

    def person(role, territory=None):
        # Made before the roadmap's transaction opens: SQLite has one writer.
        key = (role, territory)
        if key not in people:
            people[key] = make_user(role, territory=territory)
        return people[key]

    def factory(territory="lyon", status="draft", start_year=2023, end_year=2024, filled=True):
        status = RoadmapStatus(status)
        coordinator = person("coordinator", territory) if status != RoadmapStatus.DRAFT else None
        admin = person("admin") if status in (RoadmapStatus.VALIDATED, RoadmapStatus.RETURNED) else None
        with app.app_context(), app.test_request_context():
            if filled:
                roadmap = build_roadmap(territory, start_year, end_year)
            else:
                roadmap = Roadmap(territory=db.session.scalar(select(Territory).filter_by(slug=territory)),
                                  start_year=start_year, end_year=end_year)
                db.session.add(roadmap)
                db.session.flush()
            if status != RoadmapStatus.DRAFT:
                services.submit(db.session.get(User, coordinator.id), roadmap, roadmap.version)
                if status == RoadmapStatus.VALIDATED:
                    services.validate(db.session.get(User, admin.id), roadmap)
                elif status == RoadmapStatus.RETURNED:
                    services.send_back(db.session.get(User, admin.id), roadmap, "Précisez le budget de l'observation sociale.")
            db.session.commit()
            db.session.refresh(roadmap)
            db.session.expunge(roadmap)
            return roadmap

    return factory
