"""The roadmap library's pages run a bounded number of SQL queries: the same
with two territories' roadmaps as with eight, with more actions, indicator
values and versions (bench/roadmaps.py times them at 46 territories × 3
versions × 60 actions and 20 indicators)."""

from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy import func, select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.plan.models import Axis
from extranet.roadmaps import services
from extranet.roadmaps.models import (
    ActionStatus,
    IndicatorTarget,
    Roadmap,
    RoadmapAction,
    RoadmapComment,
    RoadmapIndicator,
    RoadmapVersion,
)
from extranet.roadmaps.models import IndicatorValue as Value

from .helpers import queries_for

pytest_plugins = ["tests.roadmap_fixtures"]

FEW = ("lyon", "nantes")
MANY = ("lyon", "nantes", "la-reunion", "pas-de-calais", "grenoble-alpes", "paris", "toulouse", "rennes")
COMPARED = ("lyon", "nantes", "la-reunion", "pas-de-calais")


def add_content(app, roadmap_id: int, actions: int, quarters: int, indicators: int = 0) -> None:
    """More actions (a third on axis 12), ``indicators`` more of the territory's
    own with their targets, and a value per quarter of 2023–2024 for each indicator."""
    with app.app_context():
        axes = list(db.session.scalars(select(Axis).order_by(Axis.number)))
        roadmap = db.session.get(Roadmap, roadmap_id)
        start = len(roadmap.actions)
        for n in range(start, start + actions):
            db.session.add(RoadmapAction(roadmap=roadmap, axis=axes[11] if n % 3 == 0 else axes[n % 16],
                                         title=f"Action {n}", description=f"Description **{n}**", status=ActionStatus.IN_PROGRESS,
                                         lead_organisation="CCAS", partners="CAF, SIAO", position=n))
        for n in range(indicators):
            roadmap.indicators.append(RoadmapIndicator(
                name=f"Indicateur local {n}", unit="ménages", position=10 + n,
                targets=[IndicatorTarget(year=2023, value=Decimal(50)), IndicatorTarget(year=2024, value=Decimal(80))],
            ))
        db.session.flush()
        for indicator in roadmap.indicators:
            known = {v.period_start for v in indicator.values}
            for q in range(quarters):
                year, quarter = 2023 + q // 4, q % 4 + 1
                first = date(year, 3 * quarter - 2, 1)
                if first in known:
                    continue
                last = date(year, 3 * quarter, 30 if quarter in (2, 3) else 31)
                db.session.add(Value(roadmap_indicator=indicator, period_label=f"T{quarter} {year}", period_start=first,
                                     period_end=last, value=Decimal(10 + q)))
        db.session.commit()


def resubmit(app, roadmap_id: int, coordinator_id: int, admin_id: int) -> None:
    """A roadmap sent back, changed, submitted again and validated: two versions."""
    with app.app_context(), app.test_request_context():
        roadmap = db.session.get(Roadmap, roadmap_id)
        roadmap.actions[0].status = ActionStatus.DONE
        services.touch(roadmap)
        db.session.flush()
        services.submit(db.session.get(User, coordinator_id), roadmap, roadmap.version)
        services.validate(db.session.get(User, admin_id), roadmap)
        db.session.commit()


def test_library_axis_comparison_network_and_version_pages_run_a_bounded_number_of_queries(app, client, login, make_user,
                                                                                            make_roadmap):
    admin = make_user("admin", name="Équipe nationale")
    coordinator = make_user("coordinator", territory="lyon", name="Coordinatrice")
    reader = make_user("member", territory="toulouse", name="Lectrice")  # reads the other territories' roadmaps
    measured = make_roadmap("lyon", status="returned")
    resubmit(app, measured.id, coordinator.id, admin.id)
    make_roadmap("nantes", status="validated")
    make_roadmap("nantes", status="draft", start_year=2025, end_year=2026)  # not the reader's: hidden from them

    clients = {"reader": client, "admin": app.test_client()}
    login(reader)
    login(admin, client=clients["admin"])
    compared = urlencode([("territory", slug) for slug in COMPARED])
    urls = [
        ("reader", "/roadmaps/"),
        ("admin", "/roadmaps/"),
        ("reader", "/roadmaps/?axis=12"),
        ("reader", "/roadmaps/axes/12"),
        ("admin", "/roadmaps/axes/12"),
        ("reader", f"/roadmaps/compare?{compared}"),
        ("admin", "/roadmaps/network"),
        ("admin", f"/roadmaps/{measured.id}/versions/compare?a=1&b=2"),
    ]
    for who, url in urls:  # anything a first visit does once
        assert clients[who].get(url).status_code == 200, url
    few = {(who, url): queries_for(app, clients[who], url) for who, url in urls}

    for slug in MANY[2:]:
        roadmap = make_roadmap(slug, status="validated")
        add_content(app, roadmap.id, actions=10, quarters=6)
        make_roadmap(slug, status="submitted", start_year=2025, end_year=2026)
    add_content(app, measured.id, actions=25, quarters=8, indicators=3)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Roadmap)) == 15
        assert db.session.scalar(select(func.count()).select_from(RoadmapAction)) > 100
        assert db.session.scalar(select(func.count()).select_from(RoadmapVersion)) == 15
        assert db.session.scalar(select(func.count()).select_from(RoadmapIndicator)) == 33
    many = {(who, url): queries_for(app, clients[who], url) for who, url in urls}
    assert many == few, {key: (few[key], many[key]) for key in few if few[key] != many[key]}

    # The pages did grow: the axis view lists every territory's actions on axis 12.
    axis = client.get("/roadmaps/axes/12").get_data(as_text=True)
    assert all(name in axis for name in ("Métropole de Lyon", "Département de La Réunion", "Ville de Paris"))
    assert axis.count("Commission de prévention des expulsions") >= 7


def test_the_roadmap_page_runs_a_bounded_number_of_queries(app, client, login, make_user, make_roadmap):
    admin = make_user("admin", name="Équipe nationale")
    reader = make_user("member", territory="toulouse", name="Lectrice")
    roadmap = make_roadmap("lyon", status="validated")
    with app.app_context(), app.test_request_context():
        services.comment(db.session.get(User, admin.id), db.session.get(Roadmap, roadmap.id), "actions", "Première remarque")
        db.session.commit()
    clients = {"reader": client, "admin": app.test_client()}
    login(reader)
    login(admin, client=clients["admin"])
    urls = [("reader", f"/roadmaps/{roadmap.id}"), ("admin", f"/roadmaps/{roadmap.id}")]
    for who, url in urls:
        clients[who].get(url)
    few = {(who, url): queries_for(app, clients[who], url) for who, url in urls}

    add_content(app, roadmap.id, actions=30, quarters=8, indicators=6)
    animators = [make_user("animator", name=f"Animatrice {n}") for n in range(3)]
    with app.app_context(), app.test_request_context():
        for n, section in enumerate(("context", "actions", "indicators", "budget", "governance", "actions")):
            services.comment(db.session.get(User, animators[n % 3].id), db.session.get(Roadmap, roadmap.id), section,
                             f"Remarque **{n}**")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(RoadmapComment)) == 7
        assert db.session.scalar(select(func.count()).select_from(RoadmapIndicator)) == 8
    many = {(who, url): queries_for(app, clients[who], url) for who, url in urls}
    assert many == few, {key: (few[key], many[key]) for key in few if few[key] != many[key]}
