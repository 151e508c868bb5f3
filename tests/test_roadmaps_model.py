"""Roadmaps as data: a roadmap with its actions, indicators and budget, the
rules of fiche 5 (totals, the 50/50 co-financing of the coordinator post),
frozen snapshots and their comparison, optimistic locking between two
sessions, and deletion of a roadmap with everything it holds."""

import copy
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from extranet.extensions import db
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
    RoadmapComment,
    RoadmapIndicator,
    RoadmapPartner,
    RoadmapSection,
    RoadmapStatus,
    RoadmapVersion,
    roadmap_action_document,
    roadmap_document,
)
from extranet.territories.models import Territory
from tests.roadmap_fixtures import EUR, axis, build_roadmap

def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- The model -----------------------------------------------------------------------


def test_a_roadmap_holds_actions_indicators_budget_and_partners(app):
    with app.app_context():
        roadmap_id = build_roadmap().id
        db.session.commit()
        db.session.expunge_all()

        roadmap = db.session.get(Roadmap, roadmap_id)
        assert roadmap.status == RoadmapStatus.DRAFT
        assert roadmap.period_label == "2023–2024"
        assert roadmap.version == 1
        assert [(a.axis.number, a.title) for a in roadmap.actions] == [
            (12, "Commission de prévention des expulsions"),
            (3, "Captation de logements dans le parc privé"),
        ]
        first = roadmap.actions[0]
        assert (first.origin, first.status, first.starts_on) == (ActionOrigin.EXISTING, ActionStatus.IN_PROGRESS, date(2023, 1, 1))
        assert roadmap.actions[1].origin == ActionOrigin.NEW and roadmap.actions[1].status == ActionStatus.TO_START
        shared, own = roadmap.indicators
        assert shared.is_shared and not own.is_shared
        assert [(t.year, t.value) for t in shared.targets] == [(2023, Decimal(150)), (2024, Decimal(200))]
        assert own.targets[0].value == Decimal("32.5")
        assert [(v.period_label, v.value) for v in shared.values] == [("T1 2023", Decimal(40))]
        assert sorted(p.name for p in roadmap.partners if p.kind == PartnerKind.SOCIAL_LANDLORDS) == [
            "Grand Lyon Habitat", "Lyon Métropole Habitat",
        ]
        # Amounts come back as exact integers on both databases.
        assert {line.kind: line.total_cost_cents for line in roadmap.budget_lines}[BudgetLineKind.SOCIAL_OBSERVATION] == 12_345_67


def test_one_roadmap_per_territory_and_period(app):
    with app.app_context():
        build_roadmap()
        db.session.commit()
        db.session.add(Roadmap(territory_id=db.session.scalar(select(Territory.id).filter_by(slug="lyon")), start_year=2023, end_year=2024))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        build_roadmap(start_year=2025, end_year=2026)  # the next period is another roadmap
        build_roadmap(territory="nantes")
        db.session.commit()
        assert count(Roadmap) == 3


@pytest.mark.parametrize("total, share", [(1000, 1001), (1000, -1), (-5, 0)])
def test_the_database_refuses_a_territory_share_beyond_the_total(app, total, share):
    with app.app_context():
        roadmap = build_roadmap()
        db.session.add(BudgetLine(roadmap=roadmap, kind=BudgetLineKind.MONITORING, total_cost_cents=total, territory_share_cents=share))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_the_database_refuses_a_budget_line_twice(app):
    with app.app_context():
        roadmap = build_roadmap()
        db.session.add(BudgetLine(roadmap=roadmap, kind=BudgetLineKind.COMMUNICATION))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


# --- Budget rules -------------------------------------------------------------------


def test_budget_totals_per_line_and_overall(app):
    with app.app_context():
        roadmap = build_roadmap()
        totals = services.budget_totals(roadmap.budget_lines)
        assert [row.kind for row in totals.rows] == list(BudgetLineKind)  # the six lines of fiche 5, in order
        coordinator = totals.row(BudgetLineKind.COORDINATOR)
        assert (coordinator.total_cost_cents, coordinator.territory_share_cents, coordinator.state_share_cents) == (
            60_000 * EUR, 30_000 * EUR, 30_000 * EUR,
        )
        absent = totals.row(BudgetLineKind.SOCIAL_INTERVENTION)
        assert (absent.actions, absent.total_cost_cents, absent.territory_share_cents) == ("", 0, 0)
        assert totals.total_cost_cents == 60_000 * EUR + 25_000 * EUR + 12_345_67 + 8_000 * EUR
        assert totals.territory_share_cents == 39_000 * EUR
        # What the territory asks of the State under the call.
        assert totals.state_share_cents == totals.total_cost_cents - 39_000 * EUR == 66_345_67
        # The same from a frozen snapshot.
        assert services.budget_totals(services.snapshot(roadmap)["budget"]) == totals


def test_an_empty_budget_adds_up_to_zero():
    totals = services.budget_totals([])
    assert (totals.total_cost_cents, totals.territory_share_cents, totals.state_share_cents) == (0, 0, 0)
    assert len(totals.rows) == 6


@pytest.mark.parametrize("total, share", [(60_000 * EUR, 30_000 * EUR), (0, 0), (101, 50), (101, 51)])
def test_a_coordinator_post_financed_50_50_is_accepted(total, share):
    assert services.coordinator_cofinancing_problem(total, share) is None


@pytest.mark.parametrize("total, share", [(60_000 * EUR, 20_000 * EUR), (60_000 * EUR, 40_000 * EUR), (60_000 * EUR, 0), (100, 52)])
def test_a_coordinator_post_not_financed_50_50_is_a_problem(app, total, share):
    problem = services.coordinator_cofinancing_problem(total, share)
    assert problem is not None
    with app.test_request_context(), force_locale("en"):
        assert "co-financed 50/50" in str(problem)
        assert "€" in str(problem)
    with app.test_request_context(), force_locale("fr"):
        assert "50/50" in str(problem) and "co-financed" not in str(problem)


def test_budget_problems_name_the_lines_that_break_a_rule(app):
    with app.app_context():
        roadmap = build_roadmap()
        assert services.budget_problems(roadmap.budget_lines) == {}
        coordinator = next(line for line in roadmap.budget_lines if line.kind == BudgetLineKind.COORDINATOR)
        coordinator.territory_share_cents = 10_000 * EUR
        problems = services.budget_problems(roadmap.budget_lines)
        assert list(problems) == [BudgetLineKind.COORDINATOR]
    # Any line: the territory's share never exceeds the total, nothing is negative.
    assert services.budget_line_problem(BudgetLineKind.ENGINEERING, 100, 101) is not None
    assert services.budget_line_problem(BudgetLineKind.ENGINEERING, -1, 0) is not None
    assert services.budget_line_problem(BudgetLineKind.ENGINEERING, 100, 0) is None
    assert services.budget_line_problem(BudgetLineKind.COORDINATOR, 100, 0) is not None


# --- Snapshots and comparison ---------------------------------------------------------------


def test_a_snapshot_is_json_data_that_survives_the_database(app):
    with app.app_context():
        roadmap = build_roadmap()
        frozen = services.snapshot(roadmap)
        assert frozen["roadmap"]["period"] == "2023–2024"
        assert [a["axis"] for a in frozen["actions"]] == [12, 3]
        assert frozen["actions"][0]["starts_on"] == "2023-01-01"
        assert frozen["indicators"][0]["targets"] == {"2023": "150", "2024": "200"}
        assert frozen["indicators"][1]["targets"] == {"2023": "32.5"}
        assert frozen["indicators"][0]["values"][0]["value"] == "40"
        assert [line["kind"] for line in frozen["budget"]] == ["coordinator", "engineering", "social_observation", "communication"]
        db.session.add(RoadmapVersion(roadmap=roadmap, number=1, snapshot=frozen))
        db.session.commit()
        roadmap_id = roadmap.id
        db.session.expunge_all()
        stored = db.session.scalar(select(RoadmapVersion).filter_by(roadmap_id=roadmap_id))
        assert stored.snapshot == frozen
        assert services.diff(stored.snapshot, services.snapshot(db.session.get(Roadmap, roadmap_id))) == services.diff(frozen, frozen)
        assert not services.has_changes(services.diff(stored.snapshot, frozen))


def test_diff_lists_actions_added_removed_and_changed_field_by_field(app):
    with app.app_context():
        roadmap = build_roadmap()
        before = services.snapshot(roadmap)
        kept, dropped = roadmap.actions
        kept.status = ActionStatus.DONE
        kept.title = "Commission de prévention des expulsions renforcée"
        roadmap.actions.remove(dropped)
        roadmap.actions.append(RoadmapAction(axis=axis(12), title="Équipe mobile de prévention", position=3))
        roadmap.strategy = "Accès direct au logement, et prévention."
        db.session.flush()
        changes = services.diff(before, services.snapshot(roadmap))

        assert services.has_changes(changes)
        assert changes["roadmap"] == {"strategy": {"old": "Accès direct au logement depuis la rue.", "new": "Accès direct au logement, et prévention."}}
        assert [a["title"] for a in changes["actions"]["added"]] == ["Équipe mobile de prévention"]
        assert [a["title"] for a in changes["actions"]["removed"]] == ["Captation de logements dans le parc privé"]
        [changed] = changes["actions"]["changed"]
        assert changed["id"] == kept.id
        assert changed["changes"] == {
            "title": {"old": "Commission de prévention des expulsions", "new": "Commission de prévention des expulsions renforcée"},
            "status": {"old": "in_progress", "new": "done"},
        }
        assert changes["indicators"] == {"added": [], "removed": [], "changed": []}
        assert changes["budget"] == {"changed": []}


def test_diff_lists_indicator_targets_and_values_changed(app):
    with app.app_context():
        roadmap = build_roadmap()
        before = services.snapshot(roadmap)
        shared, own = roadmap.indicators
        shared.values[0].value = Decimal(45)
        shared.values.append(IndicatorValue(period_label="T2 2023", period_start=date(2023, 4, 1), period_end=date(2023, 6, 30), value=Decimal(38)))
        shared.targets[1].value = Decimal(180)
        roadmap.indicators.remove(own)
        db.session.flush()
        changes = services.diff(before, services.snapshot(roadmap))["indicators"]

        assert [i["name"] for i in changes["removed"]] == ["Taux de sortie vers le logement"]
        assert changes["added"] == []
        [changed] = changes["changed"]
        assert changed["changes"] == {}
        assert changed["targets"] == {"2024": {"old": "200", "new": "180"}}
        assert [(v["period_label"], v["old"], v["new"]) for v in changed["values"]] == [
            ("T1 2023", "40", "45"),
            ("T2 2023", None, "38"),
        ]


def test_diff_lists_budget_lines_partners_and_documents_changed():
    base = {
        "format": 1,
        "roadmap": {"id": 1, "territory_id": 1, "period": "2023–2024", "start_year": 2023, "end_year": 2024,
                    "context": "", "strategy": "", "budget_note": ""},
        "actions": [], "indicators": [],
        "budget": [{"kind": "coordinator", "actions": "Poste", "total_cost_cents": 6_000_000, "territory_share_cents": 3_000_000}],
        "partners": [{"kind": "siao", "name": ""}],
        "documents": [4],
    }
    after = copy.deepcopy(base)
    after["budget"][0]["territory_share_cents"] = 2_000_000
    after["budget"].append({"kind": "communication", "actions": "Plaquette", "total_cost_cents": 500_000, "territory_share_cents": 0})
    after["partners"] = [{"kind": "caf", "name": ""}]
    after["documents"] = [4, 9]  # format 1 froze bare ids
    changes = services.diff(base, after)
    assert changes["budget"]["changed"] == [
        {"kind": "coordinator", "changes": {"territory_share_cents": {"old": 3_000_000, "new": 2_000_000}}},
        {"kind": "communication", "changes": {"actions": {"old": "", "new": "Plaquette"},
                                              "total_cost_cents": {"old": 0, "new": 500_000}}},
    ]
    assert changes["partners"] == {"added": [{"kind": "caf", "name": ""}], "removed": [{"kind": "siao", "name": ""}]}
    assert changes["documents"] == {"added": [{"id": 9}], "removed": [], "replaced": []}
    assert changes["actions"] == {"added": [], "removed": [], "changed": []}
    assert not services.has_changes(services.diff(base, copy.deepcopy(base)))


def attach_signed_pdf(roadmap, sha256="a" * 64, filename="feuille-de-route-signee.pdf"):
    from extranet.files import FileFormat
    from extranet.toolbox.models import Document, DocumentType, DocumentVersion, Visibility

    document = Document(title="Feuille de route signée", type=DocumentType.AGREEMENT, visibility=Visibility.NETWORK)
    version = DocumentVersion(document=document, number=1, sha256=sha256, size=10, format=FileFormat.PDF, filename=filename)
    db.session.add_all([document, version])
    db.session.flush()
    document.current_version = version
    roadmap.documents.append(document)
    roadmap.actions[0].documents.append(document)
    db.session.flush()
    return document


def new_file(document, sha256, filename):
    from extranet.files import FileFormat
    from extranet.toolbox.models import DocumentVersion

    version = DocumentVersion(document=document, number=len(document.versions) + 1, sha256=sha256, size=12,
                              format=FileFormat.PDF, filename=filename)
    db.session.add(version)
    db.session.flush()
    document.current_version = version
    db.session.flush()
    return version


def test_a_snapshot_freezes_each_attached_file_and_a_new_file_is_a_replacement(app):
    with app.app_context():
        roadmap = build_roadmap()
        document = attach_signed_pdf(roadmap)
        first = document.current_version
        before = services.snapshot(roadmap)
        frozen = {"id": document.id, "title": "Feuille de route signée", "version_id": first.id, "number": 1,
                  "sha256": "a" * 64, "filename": "feuille-de-route-signee.pdf"}
        assert before["format"] == services.SNAPSHOT_FORMAT == 2
        assert before["documents"] == [frozen]
        assert before["actions"][0]["documents"] == [frozen]

        # The author puts another file in the toolbox and renames the document.
        second = new_file(document, "b" * 64, "feuille-de-route-signee-v2.pdf")
        document.title = "Feuille de route signée (corrigée)"
        db.session.flush()
        after = services.snapshot(roadmap)
        assert before["documents"] == [frozen]  # the frozen one still points to the first file
        changes = services.diff(before, after)
        assert services.has_changes(changes)
        [replaced] = changes["documents"]["replaced"]
        assert (replaced["old"]["version_id"], replaced["new"]["version_id"]) == (first.id, second.id)
        assert replaced["old"]["title"] == "Feuille de route signée"
        assert changes["documents"]["added"] == changes["documents"]["removed"] == []
        [action] = changes["actions"]["changed"]
        assert [r["new"]["sha256"] for r in action["changes"]["documents"]["replaced"]] == ["b" * 64]

        # The same file again (a new version with the same content) is no change.
        new_file(document, "b" * 64, "copie.pdf")
        assert not services.has_changes(services.diff(after, services.snapshot(roadmap)))


def test_a_format_1_snapshot_still_compares_with_a_format_2_one(app):
    with app.app_context():
        roadmap = build_roadmap()
        document = attach_signed_pdf(roadmap)
        now = services.snapshot(roadmap)
        stored = copy.deepcopy(now)
        stored["format"] = 1
        stored["documents"] = [document.id]
        stored["actions"][0]["documents"] = [document.id]
        for indicator in stored["indicators"]:
            for value in indicator["values"]:
                del value["comment"]
        # Same documents, same values: nothing to report (the file then is unknown).
        assert not services.has_changes(services.diff(stored, now))
        stored["documents"] = []
        stored["actions"][0]["documents"] = []
        changes = services.diff(stored, now)
        assert [d["title"] for d in changes["documents"]["added"]] == ["Feuille de route signée"]
        [action] = changes["actions"]["changed"]
        assert list(action["changes"]) == ["documents"]
        assert [d["id"] for d in action["changes"]["documents"]["added"]] == [document.id]


def test_diff_reports_a_value_s_comment_and_period_label_changed(app):
    with app.app_context():
        roadmap = build_roadmap()
        before = services.snapshot(roadmap)
        value = roadmap.indicators[0].values[0]
        value.comment = "Chiffre provisoire du SIAO."
        value.period_label = "1er trimestre 2023"
        db.session.flush()
        [changed] = services.diff(before, services.snapshot(roadmap))["indicators"]["changed"]
        [reported] = changed["values"]
        assert reported["changes"] == {
            "period_label": {"old": "T1 2023", "new": "1er trimestre 2023"},
            "comment": {"old": "", "new": "Chiffre provisoire du SIAO."},
        }
        assert reported["old"] == reported["new"] == "40"


# --- Optimistic locking -----------------------------------------------------------------------


def test_two_people_saving_the_same_roadmap_never_overwrite_each_other(app):
    with app.app_context():
        roadmap_id = build_roadmap().id
        db.session.commit()

        with Session(db.engine) as first, Session(db.engine) as second:
            mine = first.get(Roadmap, roadmap_id)
            theirs = second.get(Roadmap, roadmap_id)
            assert mine.version == theirs.version == 1

            mine.strategy = "Version de la coordinatrice"
            first.commit()
            assert mine.version == 2

            theirs.strategy = "Version du chargé de mission"
            with pytest.raises(StaleDataError):
                second.commit()
            second.rollback()

        db.session.expire_all()
        assert db.session.get(Roadmap, roadmap_id).strategy == "Version de la coordinatrice"


def test_a_change_to_a_part_of_the_roadmap_conflicts_too(app):
    """Editing an action goes through touch(): the roadmap's version grows, so
    someone saving the summary from an older read conflicts."""
    with app.app_context():
        roadmap_id = build_roadmap().id
        db.session.commit()

        with Session(db.engine) as first, Session(db.engine) as second:
            mine = first.get(Roadmap, roadmap_id)
            theirs = second.get(Roadmap, roadmap_id)
            mine.actions[0].status = ActionStatus.DONE
            services.touch(mine)
            first.commit()

            theirs.context = "Un autre contexte"
            with pytest.raises(StaleDataError):
                second.commit()
            second.rollback()


def test_a_form_read_at_an_older_version_is_refused(app):
    with app.app_context():
        roadmap = build_roadmap()
        db.session.commit()
        services.expect_version(roadmap, 1)
        services.expect_version(roadmap, "1")  # as posted by a form
        roadmap.context = "Nouveau contexte"
        db.session.commit()
        assert roadmap.version == 2
        with pytest.raises(services.EditConflict):
            services.expect_version(roadmap, 1)
        with pytest.raises(StaleDataError):  # views may catch either
            services.expect_version(roadmap, None)


# --- Deletion -------------------------------------------------------------------------------------


def test_deleting_a_roadmap_deletes_everything_it_holds(app, make_user):
    from extranet.toolbox.models import Document, DocumentType, Visibility

    national = make_user("animator")
    with app.app_context():
        roadmap = build_roadmap()
        other = build_roadmap(territory="nantes")
        document = Document(title="Feuille de route signée", type=DocumentType.AGREEMENT, visibility=Visibility.NETWORK)
        db.session.add(document)
        roadmap.documents.append(document)
        roadmap.actions[0].documents.append(document)
        version = RoadmapVersion(roadmap=roadmap, number=1, snapshot=services.snapshot(roadmap), submitted_by_id=national.id)
        db.session.add(version)
        db.session.add(RoadmapComment(roadmap=roadmap, version=version, section=RoadmapSection.BUDGET,
                                      body="Le poste de coordinateur doit être cofinancé à 50/50.", author_id=national.id))
        db.session.commit()
        before = {model: count(model) for model in (RoadmapAction, RoadmapIndicator, IndicatorTarget, IndicatorValue,
                                                     BudgetLine, RoadmapPartner, RoadmapVersion, RoadmapComment)}

        db.session.delete(roadmap)
        db.session.commit()

        # Only the other territory's roadmap is left, whole; the shared indicator and the document stay.
        assert db.session.scalars(select(Roadmap.id)).all() == [other.id]
        after = {model: count(model) for model in before}
        assert after[RoadmapAction] == before[RoadmapAction] - 2 == 2
        assert after[RoadmapIndicator] == 2 and after[IndicatorTarget] == 3 and after[IndicatorValue] == 1
        assert after[BudgetLine] == 4 and after[RoadmapPartner] == 3
        assert after[RoadmapVersion] == 0 and after[RoadmapComment] == 0
        assert db.session.scalar(select(func.count()).select_from(roadmap_document)) == 0
        assert db.session.scalar(select(func.count()).select_from(roadmap_action_document)) == 0
        assert count(Indicator) == 1 and db.session.get(Document, document.id) is not None


def test_a_shared_indicator_taken_off_the_list_stays_in_roadmaps(app):
    with app.app_context():
        roadmap = build_roadmap()
        db.session.commit()
        shared = roadmap.indicators[0].indicator
        shared.is_shared = False
        db.session.commit()
        assert roadmap.indicators[0].indicator is shared and roadmap.indicators[0].name == shared.name
