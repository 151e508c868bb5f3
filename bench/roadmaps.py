"""Roadmaps benchmark: page latency and SQL queries at the size of the network.

    .venv/bin/python bench/roadmaps.py [--territories N] [--actions N] [--indicators N] [--versions N]
                                       [--requests N] [--seed N] [--small] [--postgresql]

Builds a SQLite file in a temporary directory through the migrations, with the
plan and the territories, the national team, a coordinator and a member per
territory, a national list of 12 shared indicators and one 2023–2024 roadmap
per territory (the 46 of the reference file) for last year and this year, as
the network view reads the figures of the current year: N actions spread over the 16
axes (Markdown descriptions, lead organisations, partners, dates, statuses),
N indicators (8 of the national list, the others the territory's own) with a
target per year and a value per quarter up to the last quarter ended (one
territory in seven three quarters behind, late in reporting), the six budget lines of fiche 5 (the coordinator post 50/50),
governance partners, comments of the national team, and N frozen versions
(the earlier ones sent back, the last validated; a few roadmaps still
submitted or draft). Rows go in by bulk INSERT statements, as in
bench/agenda.py; the versions hold :func:`extranet.roadmaps.services.snapshot`
of each roadmap, the earlier ones with fewer actions, other statuses and fewer
values so that two versions differ.

People log in through the real login route with the test client, and each
page is requested N times, in turn: the library (first page, and filtered on
axis 12), the axis view (axis 12, "prévention des expulsions", across the
territories), the comparison of four territories, the network indicator view
(as the national team), and for context a roadmap page and the comparison of
its first and last versions. With ``--postgresql`` the same is built and
measured again on a throwaway PostgreSQL server (started like the test
suite's).

Prints one figure a line, ``name: value unit (target: ≤ X unit)``: the issue
sets ≤ 100 ms for the p95 of the library, the axis view, the comparison and
the network view; the same bound is shown for the other pages. The SQL
queries each page runs and the build time go to stderr.
"""

import argparse
import copy
import logging
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from bench.common import (  # noqa: E402
    measure_like_a_worker,
    FIRST_NAMES,
    LAST_NAMES,
    PASSWORD,
    bulk,
    log_in,
    note,
    percentile,
    postgresql,
    seed_reference_data,
    set_sequences,
    time_pages,
)
from extranet import create_app  # noqa: E402
from extranet.extensions import db  # noqa: E402

PAGE_P95_TARGET_MS = 100  # the bound, for the library, the axis view, the comparison and the network view
CHEAP_HASH = "scrypt:1024:8:1"  # logging in is not what is measured
AXIS = 12  # "Renforcer la prévention des expulsions locatives…"
SHARED_PER_ROADMAP = 8

SHARED_INDICATORS = [
    ("Ménages accédant au logement depuis la rue", "ménages"),
    ("Ménages accédant au logement depuis l'hébergement", "ménages"),
    ("Mesures d'accompagnement vers et dans le logement", "mesures"),
    ("Places d'intermédiation locative", "places"),
    ("Expulsions locatives évitées", "ménages"),
    ("Places en pension de famille", "places"),
    ("Logements très sociaux (PLAI adaptés) agréés", "logements"),
    ("Personnes orientées par le SIAO vers le logement", "personnes"),
    ("Jeunes sortant de l'ASE logés", "jeunes"),
    ("Sortants de prison accédant au logement", "personnes"),
    ("Logements captés dans le parc privé", "logements"),
    ("Personnes concernées associées à la gouvernance", "personnes"),
]
ACTION_TITLES = [
    "Signalement à la CCAPEX dès le premier impayé", "Équipe mobile de prévention des expulsions",
    "Plateforme d'accompagnement pluridisciplinaire", "Agence immobilière à vocation sociale",
    "Accès direct au logement depuis la rue", "Captation de logements dans le parc privé",
    "Nouvelle pension de famille", "Formation des travailleurs sociaux au Logement d'abord",
    "Observatoire local du sans-abrisme", "Nuit de la solidarité", "Comité de pilotage partenarial",
    "Fonds d'apurement des dettes locatives", "Permanences juridiques de l'ADIL", "Bail glissant avec les bailleurs sociaux",
    "Un chez-soi d'abord", "Coordination des maraudes", "Logement des jeunes sortant de l'ASE",
    "Intermédiation locative en mandat de gestion", "Pair-aidance dans l'accompagnement", "Résidence accueil",
]
SENTENCES = [
    "Le plan Logement d'abord vise à orienter rapidement les personnes sans domicile vers un logement durable.",
    "Les bailleurs signalent l'impayé dès le premier mois ; un travailleur social prend contact sous 15 jours.",
    "La prévention des expulsions locatives reste au cœur de la démarche.",
    "Le SIAO partage ses données avec l'observatoire départemental.",
    "L'intermédiation locative permet d'ouvrir le parc privé aux ménages les plus modestes.",
    "Des visites à domicile pour les ménages qui ne répondent plus aux courriers.",
    "Un accompagnement **modulable** et pluridisciplinaire, santé mentale comprise.",
]
LEADS = ["Métropole", "Département", "SIAO", "CCAS", "ADIL", "Fondation Abbé Pierre", "Habitat et Humanisme", "DDETS"]
PARTNER_KINDS = ["state_services", "social_landlords", "epci", "siao", "people_concerned", "associations", "ccas", "caf"]
BUDGET = [  # kind, total cost in euros, territory's share (the coordinator post 50/50)
    ("coordinator", 60_000, 30_000), ("engineering", 40_000, 10_000), ("social_intervention", 150_000, 50_000),
    ("social_observation", 20_000, 5_000), ("monitoring_evaluation", 25_000, 10_000), ("communication", 8_000, 4_000),
]
SECTIONS = ["context", "actions", "indicators", "budget", "governance"]


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    last = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)
    return first, last


# --- Building the database ---------------------------------------------------------------


def build(args, rng: random.Random) -> dict:
    from werkzeug.security import generate_password_hash

    from extranet.auth.models import User
    from extranet.plan.models import Axis
    from extranet.roadmaps.models import (
        ActionOrigin, ActionStatus, BudgetLine, BudgetLineKind, Indicator, IndicatorTarget, IndicatorValue, PartnerKind, Roadmap,
        RoadmapAction, RoadmapComment, RoadmapIndicator, RoadmapPartner, RoadmapSection, RoadmapStatus, RoadmapVersion,
    )
    from extranet.roles import OrganisationType, Role
    from extranet.territories.models import Territory

    from extranet.timeutil import utcnow

    seed_reference_data()
    if db.session.scalar(select(func.count()).select_from(Roadmap)):
        sys.exit("The database is not empty: give an empty database (it gets the schema and the bench's rows).")
    territories = list(db.session.execute(select(Territory.id, Territory.slug).order_by(Territory.id)))[: args.territories]
    axis_ids = {number: id_ for id_, number in db.session.execute(select(Axis.id, Axis.number))}
    today = utcnow().date()
    start, end = today.year - 1, today.year
    last_ended = (today.year - start) * 4 + (today.month - 1) // 3  # quarters of the period ended by today
    created = datetime(start - 1, 10, 1, 9, 0)

    # People: the national team, then a coordinator and a member per territory.
    password_hash = generate_password_hash(PASSWORD, method=CHEAP_HASH)

    def person(id_, role, territory_id, email):
        return dict(id=id_, email=email, password_hash=password_hash, name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    function="", organisation="", organisation_type=OrganisationType.ASSOCIATION if role == Role.MEMBER else None,
                    phone="", timezone="Europe/Paris", language="fr", role=role, territory_id=territory_id, active=True,
                    session_token=secrets.token_urlsafe(24), created_at=created, last_login_at=None)

    users = [person(1, Role.ADMIN, None, "admin@example.org"), person(2, Role.ANIMATOR, None, "animation@example.org")]
    coordinator_of, member_of = {}, {}
    for k, (territory_id, slug) in enumerate(territories):
        coordinator_of[territory_id], member_of[territory_id] = 10 + 2 * k, 11 + 2 * k
        users.append(person(10 + 2 * k, Role.COORDINATOR, territory_id, f"coordination.{slug}@example.org"))
        users.append(person(11 + 2 * k, Role.MEMBER, territory_id, f"membre.{slug}@example.org"))
    bulk(User, users)

    bulk(Indicator, [dict(id=n, name=name, unit=unit, description="", is_shared=True, position=n, created_at=created)
                     for n, (name, unit) in enumerate(SHARED_INDICATORS, start=1)])

    # One roadmap per territory: most validated, a few submitted or still drafts.
    statuses = {}
    roadmaps = []
    for k, (territory_id, _slug) in enumerate(territories):
        status = RoadmapStatus.DRAFT if k % 15 == 14 else RoadmapStatus.SUBMITTED if k % 15 == 13 else RoadmapStatus.VALIDATED
        statuses[k + 1] = status
        submitted = created + timedelta(days=60)
        roadmaps.append(dict(
            id=k + 1, territory_id=territory_id, start_year=start, end_year=end, status=status,
            context=" ".join(rng.choices(SENTENCES, k=6)), strategy="\n".join(f"- {s}" for s in rng.sample(SENTENCES, 4)),
            budget_note="Crédits de droit commun du FSL et de l'AVDL.", version=2 * args.versions + 3,
            created_at=created, created_by_id=coordinator_of[territory_id], updated_at=submitted,
            updated_by_id=coordinator_of[territory_id],
            submitted_at=None if status == RoadmapStatus.DRAFT else submitted,
            validated_at=submitted + timedelta(days=10) if status == RoadmapStatus.VALIDATED else None,
        ))
    bulk(Roadmap, roadmaps)

    # Actions over the 16 axes: every territory has a few on axis 12.
    actions, action_id = [], 0
    for roadmap in roadmaps:
        for position in range(1, args.actions + 1):
            action_id += 1
            number = AXIS if position % 12 == 1 else rng.randint(1, 16)
            starts = date(start, rng.randint(1, 12), 1)
            actions.append(dict(
                id=action_id, roadmap_id=roadmap["id"], axis_id=axis_ids[number],
                title=f"{rng.choice(ACTION_TITLES)} ({position})", description=" ".join(rng.choices(SENTENCES, k=rng.randint(1, 4))),
                origin=rng.choice(list(ActionOrigin)), lead_organisation=rng.choice(LEADS),
                partners=", ".join(rng.sample(LEADS, 3)), starts_on=starts, ends_on=date(end, 12, 31),
                status=rng.choice(list(ActionStatus)), position=position, created_at=created, updated_at=created,
            ))
    bulk(RoadmapAction, actions)

    # Indicators: 8 of the national list, the others the territory's own; a
    # target per year, a value per quarter (one territory in seven stops early).
    items, targets, values, item_id = [], [], [], 0
    late = set()
    for k, roadmap in enumerate(roadmaps):
        reported = last_ended if k % 7 else last_ended - 3
        if reported < last_ended:
            late.add(roadmap["territory_id"])
        shared = rng.sample(range(1, len(SHARED_INDICATORS) + 1), min(SHARED_PER_ROADMAP, args.indicators))
        for position in range(1, args.indicators + 1):
            item_id += 1
            indicator_id = shared[position - 1] if position <= len(shared) else None
            name, unit = SHARED_INDICATORS[indicator_id - 1] if indicator_id else (f"Indicateur local {position}", "ménages")
            items.append(dict(id=item_id, roadmap_id=roadmap["id"], indicator_id=indicator_id, name=name, unit=unit,
                              objective=rng.choice(SENTENCES), position=position))
            for year in (start, end):
                target = rng.randint(20, 400)
                targets.append(dict(roadmap_indicator_id=item_id, year=year, value=Decimal(target)))
                for quarter in range(1, 5):
                    if (year - start) * 4 + quarter > reported:
                        break
                    first, last = quarter_bounds(year, quarter)
                    values.append(dict(roadmap_indicator_id=item_id, period_label=f"T{quarter} {year}", period_start=first,
                                       period_end=last, value=Decimal(rng.randint(0, target // 3)), comment="",
                                       reported_at=datetime.combine(last, datetime.min.time()) + timedelta(days=10),
                                       reported_by_id=coordinator_of[roadmap["territory_id"]]))
    bulk(RoadmapIndicator, items)
    bulk(IndicatorTarget, targets)
    bulk(IndicatorValue, values)

    bulk(BudgetLine, [dict(roadmap_id=r["id"], kind=BudgetLineKind(kind), actions=rng.choice(ACTION_TITLES),
                           total_cost_cents=total * 100, territory_share_cents=share * 100)
                      for r in roadmaps for kind, total, share in BUDGET])
    bulk(RoadmapPartner, [dict(roadmap_id=r["id"], kind=PartnerKind(kind), name=f"{rng.choice(LEADS)} {n}")
                          for r in roadmaps for n, kind in enumerate(PARTNER_KINDS)])
    db.session.commit()

    # Versions: the snapshot of each roadmap as it stands is the last one;
    # the earlier ones had fewer actions, other statuses and fewer values.
    from sqlalchemy.orm import selectinload

    from extranet.roadmaps.services import snapshot

    loaded = db.session.scalars(select(Roadmap).options(
        selectinload(Roadmap.actions).selectinload(RoadmapAction.axis), selectinload(Roadmap.actions).selectinload(RoadmapAction.documents),
        selectinload(Roadmap.indicators).selectinload(RoadmapIndicator.targets),
        selectinload(Roadmap.indicators).selectinload(RoadmapIndicator.values),
        selectinload(Roadmap.budget_lines), selectinload(Roadmap.partners), selectinload(Roadmap.documents),
    )).all()
    versions, comments, version_id = [], [], 0
    for roadmap in loaded:
        status = statuses[roadmap.id]
        last = snapshot(roadmap)
        count = args.versions if status != RoadmapStatus.DRAFT else args.versions - 1
        for number in range(1, count + 1):
            version_id += 1
            frozen = copy.deepcopy(last)
            behind = count - number  # versions behind the last
            if behind:
                frozen["actions"] = frozen["actions"][: len(frozen["actions"]) - 3 * behind]
                for action in frozen["actions"][::7]:
                    action["status"] = "to_start"
                for indicator in frozen["indicators"]:
                    indicator["values"] = indicator["values"][: max(0, len(indicator["values"]) - behind)]
                frozen["budget"][1]["total_cost_cents"] += 500_000 * behind
            is_last = number == count
            decision = (RoadmapStatus.RETURNED if not is_last or status == RoadmapStatus.DRAFT
                        else RoadmapStatus.VALIDATED if status == RoadmapStatus.VALIDATED else None)
            submitted = created + timedelta(days=20 * number)
            versions.append(dict(
                id=version_id, roadmap_id=roadmap.id, number=number, submitted_at=submitted,
                submitted_by_id=coordinator_of[roadmap.territory_id], snapshot=frozen, decision=decision,
                decided_at=submitted + timedelta(days=5) if decision else None, decided_by_id=1 if decision else None,
            ))
            for section in rng.sample(SECTIONS, 2):
                comments.append(dict(roadmap_id=roadmap.id, version_id=version_id, section=RoadmapSection(section),
                                     body=rng.choice(SENTENCES), author_id=1, created_at=submitted + timedelta(days=3),
                                     resolved_at=None))
    db.session.expire_all()
    bulk(RoadmapVersion, versions)
    bulk(RoadmapComment, comments)
    db.session.commit()
    set_sequences(("user", "indicator", "roadmap", "roadmap_action", "roadmap_indicator", "roadmap_version"))

    reader_territory = territories[0][0]
    return dict(
        member=f"membre.{territories[0][1]}@example.org",
        coordinator=f"coordination.{territories[0][1]}@example.org",
        compared=[slug for _id, slug in territories[:4]],
        roadmap=1,
        versions=args.versions,
        counts=dict(roadmaps=len(roadmaps), actions=len(actions), indicators=len(items), targets=len(targets),
                    values=len(values), versions=len(versions), comments=len(comments),
                    on_axis=sum(1 for a in actions if a["axis_id"] == axis_ids[AXIS]),
                    validated=sum(1 for s in statuses.values() if s == RoadmapStatus.VALIDATED), late=len(late)),
        reader_territory=reader_territory,
    )


# --- Measuring the pages ------------------------------------------------------------------


def measure(app, facts: dict, requests: int, prefix: str = "") -> None:
    clients = {"member": app.test_client(), "admin": app.test_client()}
    log_in(clients["member"], facts["member"])
    log_in(clients["admin"], "admin@example.org")
    compared = urlencode([("territory", slug) for slug in facts["compared"]])
    candidates = {  # name: (who, endpoint, url)
        "library": ("member", "roadmaps.library", "/roadmaps/"),
        "library_axis_filter": ("member", "roadmaps.library", f"/roadmaps/?axis={AXIS}"),
        "axis_view": ("member", "roadmaps.axis", f"/roadmaps/axes/{AXIS}"),
        "compare_territories": ("member", "roadmaps.compare_territories", f"/roadmaps/compare?{compared}"),
        "network_view": ("admin", "roadmaps.network", "/roadmaps/network"),
        "roadmap_page": ("member", "roadmaps.show", f"/roadmaps/{facts['roadmap']}"),
        "compare_versions": ("admin", "roadmaps.compare_versions",
                             f"/roadmaps/{facts['roadmap']}/versions/compare?a=1&b={facts['versions']}"),
    }
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    pages = {}
    for name, (who, endpoint, url) in candidates.items():
        if endpoint in endpoints:
            pages[name] = (who, url)
        else:
            note(f"no {endpoint} page in this version: {name} not measured")

    queries, timings, cpu = time_pages(app, clients, pages, requests)
    for name in pages:
        print(f"{prefix}{name}_p50: {statistics.median(timings[name]):.1f} ms (target: ≤ {PAGE_P95_TARGET_MS} ms)")
        print(f"{prefix}{name}_p95: {percentile(timings[name], 95):.1f} ms (target: ≤ {PAGE_P95_TARGET_MS} ms)", flush=True)
    note("SQL queries per page (the login's session included):")
    for name, (count, ms, (slowest_s, statement)) in queries.items():
        note(f"  {name}: {count} queries, {ms:.1f} ms in the database; slowest {slowest_s * 1000:.1f} ms: {statement}")
    note("slowest request per page: " + ", ".join(f"{name} {max(values):.0f} ms" for name, values in timings.items()))
    note("CPU time of this process per request, median (the same on a busy machine): "
         + ", ".join(f"{name} {statistics.median(values):.0f} ms" for name, values in cpu.items()))


def bench_pages(args, url: str, root: Path, prefix: str = "") -> None:
    import flask_migrate

    app = create_app({"ENV": "testing", "DATA_DIR": str(root / f"{prefix}data"), "SECRET_KEY": "bench", "DATABASE_URL": url})
    started = time.perf_counter()
    with app.app_context():
        flask_migrate.upgrade()
        facts = build(args, random.Random(args.seed))
        db.session.remove()
    counts = facts["counts"]
    note(f"{counts['roadmaps']} roadmaps ({counts['validated']} validated), {counts['versions']} versions, {counts['actions']} actions "
         f"({counts['on_axis']} on axis {AXIS}), {counts['indicators']} indicators, {counts['targets']} targets, "
         f"{counts['values']} values ({counts['late']} territories late), {counts['comments']} comments; "
         f"on {url.split(':')[0]}, built in {time.perf_counter() - started:.0f} s")
    measure_like_a_worker(app, measure, facts, args.requests, prefix)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--territories", type=int, default=46)
    parser.add_argument("--actions", type=int, default=60, help="actions per roadmap")
    parser.add_argument("--indicators", type=int, default=20, help="indicators per roadmap")
    parser.add_argument("--versions", type=int, default=3, help="frozen versions per roadmap")
    parser.add_argument("--requests", type=int, default=100, help="requests per page kind")
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--small", action="store_true", help="a quick run: 12 territories, 20 actions, 8 indicators, 20 requests")
    parser.add_argument("--postgresql", action="store_true", help="measure the pages on a throwaway PostgreSQL server too")
    args = parser.parse_args(argv)
    if args.small:
        args.territories, args.actions, args.indicators, args.requests = 12, 20, 8, 20
    if not 4 <= args.territories <= 46:
        parser.error("--territories: between 4 (the comparison's) and 46 (the reference file's)")
    if args.versions < 2 or args.actions < 3 * args.versions or args.indicators < 1:
        parser.error("at least 2 versions, 3 actions per version and 1 indicator")

    root = Path(tempfile.mkdtemp(prefix="extranet-bench-roadmaps-"))
    logging.disable(logging.WARNING)
    try:
        bench_pages(args, f"sqlite:///{root / 'roadmaps.sqlite3'}", root)
        if args.postgresql:
            with postgresql() as server:
                bench_pages(args, server.create_database("roadmaps_pages"), root, prefix="postgresql_")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
