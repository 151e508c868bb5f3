"""The roadmap workflow (issue 6, points 2 and 3): who reads, edits, submits
and reviews a roadmap in each status; submitting freezes a version the draft
no longer changes; two versions compare; validation and sending back only
from a submission; an edit from a stale read is refused."""

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from extranet import permissions
from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.roadmaps import services
from extranet.roadmaps.models import (
    ActionStatus,
    Roadmap,
    RoadmapAction,
    RoadmapComment,
    RoadmapSection,
    RoadmapStatus,
    RoadmapVersion,
)
from extranet.territories.models import Territory
from tests.test_roadmaps_model import axis, build_roadmap

pytest_plugins = ["tests.roadmap_fixtures"]

STATUSES = ("draft", "submitted", "validated", "returned")
ACTORS = ("coordinator", "other_coordinator", "member", "other_member", "animator", "admin")


def in_english(app, message) -> str:
    with app.test_request_context(), force_locale("en"):
        return str(message)


def territory(slug: str) -> Territory:
    return db.session.scalar(select(Territory).filter_by(slug=slug))


@pytest.fixture
def people(make_user):
    """The cast: a coordinator and a member of Lyon (whose roadmap it is), the
    same of Nantes, and the national team."""
    return {
        "coordinator": make_user("coordinator", territory="lyon"),
        "other_coordinator": make_user("coordinator", territory="nantes"),
        "member": make_user("member", territory="lyon"),
        "other_member": make_user("member", territory="nantes"),
        "animator": make_user("animator"),
        "admin": make_user("admin"),
    }


# --- Rights per role and status ----------------------------------------------------------

EXPECTED = {
    # predicate: status -> the actors allowed
    "can_view_roadmap": {
        "draft": {"coordinator", "member", "animator", "admin"},
        "submitted": {"coordinator", "member", "animator", "admin"},
        "returned": {"coordinator", "member", "animator", "admin"},
        "validated": set(ACTORS),
    },
    "can_edit_roadmap": {
        "draft": {"coordinator"}, "returned": {"coordinator"}, "submitted": set(), "validated": set(),
    },
    "can_submit_roadmap": {
        "draft": {"coordinator"}, "returned": {"coordinator"}, "submitted": set(), "validated": set(),
    },
    "can_review_roadmap": {
        "submitted": {"animator", "admin"}, "draft": set(), "returned": set(), "validated": set(),
    },
    "can_comment_roadmap": {status: {"animator", "admin"} for status in STATUSES},
    "can_view_roadmap_versions": {status: {"coordinator", "member", "animator", "admin"} for status in STATUSES},
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("predicate", sorted(EXPECTED))
def test_rights_per_role_and_status(app, people, predicate, status):
    with app.app_context():
        roadmap = build_roadmap()
        roadmap.status = RoadmapStatus(status)
        db.session.flush()
        check = getattr(permissions, predicate)
        allowed = {name for name in ACTORS if check(people[name], roadmap)}
        assert allowed == EXPECTED[predicate][status]


def test_a_deactivated_account_reads_no_roadmap(app, make_user):
    gone = make_user("coordinator", territory="lyon", active=False)
    with app.app_context():
        roadmap = build_roadmap()
        roadmap.status = RoadmapStatus.VALIDATED
        assert not permissions.can_view_roadmap(gone, roadmap)
        assert not permissions.can_view_roadmap(None, roadmap)


def test_only_the_territory_coordinator_starts_a_roadmap(app, people):
    with app.app_context():
        lyon = territory("lyon")
        for name in ("other_coordinator", "member", "animator", "admin"):
            with pytest.raises(ServiceError):
                services.create_roadmap(people[name], lyon, 2025, 2026)
        roadmap = services.create_roadmap(people["coordinator"], lyon, 2025, 2026)
        db.session.commit()
        assert (roadmap.status, roadmap.period_label, roadmap.created_by_id) == (
            RoadmapStatus.DRAFT, "2025–2026", people["coordinator"].id,
        )


@pytest.mark.parametrize("start, end, field", [(2026, 2025, "end_year"), ("deux mille", 2025, "start_year"), (1999, 2000, "start_year")])
def test_a_period_that_makes_no_sense_is_refused_beside_its_field(app, people, start, end, field):
    with app.app_context():
        with pytest.raises(ServiceError) as refused:
            services.create_roadmap(people["coordinator"], territory("lyon"), start, end)
        assert refused.value.field == field


@pytest.mark.parametrize("start, end", [(2025, 2025), (2026, 2027), (2024, 2025), (2020, 2030)])
def test_a_period_overlapping_another_of_the_territory_is_refused(app, people, start, end):
    """Otherwise the network's totals would count the same year twice."""
    with app.app_context():
        services.create_roadmap(people["coordinator"], territory("lyon"), 2025, 2026)
        db.session.commit()
        with pytest.raises(ServiceError) as refused:
            services.create_roadmap(people["coordinator"], territory("lyon"), start, end)
        assert refused.value.field == "start_year"
        assert "2025–2026" in in_english(app, refused.value.message)
        # Before and after it, and another territory for the same years, are fine.
        services.create_roadmap(people["coordinator"], territory("lyon"), 2023, 2024)
        services.create_roadmap(people["coordinator"], territory("lyon"), 2027, 2028)
        services.create_roadmap(people["other_coordinator"], territory("nantes"), start, end)


# --- Submitting freezes a version -----------------------------------------------------------


def test_submitting_freezes_a_version_the_draft_no_longer_changes(app, people):
    coordinator = people["coordinator"]
    with app.app_context():
        roadmap = build_roadmap()
        db.session.commit()
        version = services.submit(coordinator, roadmap, roadmap.version)
        db.session.commit()
        assert roadmap.status == RoadmapStatus.SUBMITTED and roadmap.submitted_at is not None
        assert (version.number, version.submitted_by_id, version.decision) == (1, coordinator.id, None)
        frozen = services.snapshot(roadmap)
        assert version.snapshot == frozen

        # Sent back, then edited: the frozen version stays as it was submitted.
        services.send_back(people["animator"], roadmap, "Précisez le budget.")
        roadmap.actions[0].status = ActionStatus.DONE
        roadmap.actions.append(RoadmapAction(axis=axis(12), title="Nouvelle action", position=3))
        services.update_summary(coordinator, roadmap, roadmap.version, strategy="Une autre stratégie")
        db.session.commit()
        roadmap_id, version_id = roadmap.id, version.id
        db.session.expunge_all()

        stored = db.session.get(RoadmapVersion, version_id)
        assert stored.snapshot == frozen
        assert stored.snapshot["roadmap"]["strategy"] == "Accès direct au logement depuis la rue."
        assert len(stored.snapshot["actions"]) == 2
        assert services.snapshot(db.session.get(Roadmap, roadmap_id)) != frozen


def test_compare_two_versions(app, people):
    coordinator, animator = people["coordinator"], people["animator"]
    with app.app_context():
        roadmap = build_roadmap()
        first = services.submit(coordinator, roadmap, roadmap.version)
        services.send_back(animator, roadmap, "Ajoutez une action sur l'axe 12.")
        removed = roadmap.actions[1]
        roadmap.actions.remove(removed)
        roadmap.actions[0].status = ActionStatus.DONE
        roadmap.actions.append(RoadmapAction(axis=axis(12), title="Accompagnement des ménages menacés", position=3))
        roadmap.indicators[0].values[0].value = 55
        next(line for line in roadmap.budget_lines if line.kind == "communication").total_cost_cents = 10_000_00
        services.touch(roadmap, coordinator)
        db.session.flush()
        second = services.submit(coordinator, roadmap, roadmap.version)
        db.session.commit()

        assert [v.number for v in roadmap.versions] == [1, 2]
        changes = services.compare(first, second)
        assert [a["title"] for a in changes["actions"]["added"]] == ["Accompagnement des ménages menacés"]
        assert [a["title"] for a in changes["actions"]["removed"]] == [removed.title]
        assert changes["actions"]["changed"][0]["changes"]["status"] == {"old": "in_progress", "new": "done"}
        assert changes["indicators"]["changed"][0]["values"][0]["old"] == "40"
        assert changes["indicators"]["changed"][0]["values"][0]["new"] == "55"
        assert changes["budget"]["changed"] == [
            {"kind": "communication", "changes": {"total_cost_cents": {"old": 8_000_00, "new": 10_000_00}}},
        ]
        assert not services.has_changes(services.compare(second, second))


# --- Review: validate, send back, comment ------------------------------------------------------


def test_validating_a_submission(app, people):
    with app.app_context():
        roadmap = build_roadmap()
        services.submit(people["coordinator"], roadmap, roadmap.version)
        for name in ("coordinator", "member", "other_coordinator"):
            with pytest.raises(ServiceError):
                services.validate(people[name], roadmap)
        version = services.validate(people["admin"], roadmap)
        db.session.commit()
        assert roadmap.status == RoadmapStatus.VALIDATED and roadmap.validated_at is not None
        assert (version.decision, version.decided_by_id) == (RoadmapStatus.VALIDATED, people["admin"].id)
        # Now the whole network reads it, and nobody edits it.
        assert permissions.can_view_roadmap(people["other_member"], roadmap)
        assert not permissions.can_edit_roadmap(people["coordinator"], roadmap)


def test_sending_back_makes_the_roadmap_editable_again_with_the_reason(app, people):
    coordinator, animator = people["coordinator"], people["animator"]
    with app.app_context():
        roadmap = build_roadmap()
        version = services.submit(coordinator, roadmap, roadmap.version)
        with pytest.raises(ServiceError) as refused:
            services.send_back(animator, roadmap, "   ")
        assert refused.value.field == "message"
        assert roadmap.status == RoadmapStatus.SUBMITTED
        assert not permissions.can_edit_roadmap(coordinator, roadmap)

        services.send_back(animator, roadmap, "Le poste de coordination doit être cofinancé à 50 %.")
        db.session.commit()
        assert roadmap.status == RoadmapStatus.RETURNED and version.decision == RoadmapStatus.RETURNED
        assert permissions.can_edit_roadmap(coordinator, roadmap)
        [reason] = roadmap.comments
        assert (reason.section, reason.version_id, reason.author_id) == (RoadmapSection.GENERAL, version.id, animator.id)
        assert "50 %" in reason.body
        # Edited and submitted again: a second version.
        services.update_summary(coordinator, roadmap, roadmap.version, budget_note="Cofinancement assuré par la métropole.")
        assert services.submit(coordinator, roadmap, roadmap.version).number == 2


@pytest.mark.parametrize("status", ["draft", "validated", "returned"])
def test_validate_and_send_back_are_refused_unless_submitted(app, people, status):
    with app.app_context():
        roadmap = build_roadmap()
        roadmap.status = RoadmapStatus(status)
        db.session.flush()
        with pytest.raises(ServiceError) as refused:
            services.validate(people["animator"], roadmap)
        # The national team is told why.
        assert in_english(app, refused.value.message) == "Only a submitted roadmap can be validated or sent back."
        with pytest.raises(ServiceError):
            services.send_back(people["animator"], roadmap, "Revoir le budget.")
        assert roadmap.status == RoadmapStatus(status)


@pytest.mark.parametrize("status", ["submitted", "validated"])
def test_submitting_is_refused_while_under_review_or_validated(app, people, status):
    with app.app_context():
        roadmap = build_roadmap()
        roadmap.status = RoadmapStatus(status)
        db.session.flush()
        with pytest.raises(ServiceError) as refused:
            services.submit(people["coordinator"], roadmap, roadmap.version)
        assert in_english(app, refused.value.message) == {
            "submitted": "This roadmap has been submitted and awaits the national team's review.",
            "validated": "This roadmap is validated: it can no longer be changed.",
        }[status]
        with pytest.raises(ServiceError):
            services.submit(people["member"], roadmap, roadmap.version)
        assert roadmap.versions == []


def test_the_national_team_comments_per_section(app, people):
    with app.app_context():
        roadmap = build_roadmap()
        early = services.comment(people["animator"], roadmap, "context", "Contexte très clair.")
        assert early.version_id is None
        version = services.submit(people["coordinator"], roadmap, roadmap.version)
        later = services.comment(people["admin"], roadmap, RoadmapSection.BUDGET, "Ligne communication élevée.")
        db.session.commit()
        assert (later.section, later.version_id) == (RoadmapSection.BUDGET, version.id)
        assert [c.body for c in roadmap.comments] == ["Contexte très clair.", "Ligne communication élevée."]

        with pytest.raises(ServiceError):
            services.comment(people["coordinator"], roadmap, "budget", "Je me réponds.")
        with pytest.raises(ServiceError) as refused:
            services.comment(people["animator"], roadmap, "nowhere", "Texte")
        assert refused.value.field == "section"
        with pytest.raises(ServiceError) as refused:
            services.comment(people["animator"], roadmap, "budget", "  ")
        assert refused.value.field == "body"
        assert db.session.scalar(select(db.func.count()).select_from(RoadmapComment)) == 2


# --- Optimistic locking ---------------------------------------------------------------------------


def test_an_edit_or_submission_from_a_stale_read_raises_edit_conflict(app, people):
    coordinator = people["coordinator"]
    with app.app_context():
        roadmap = build_roadmap()
        db.session.commit()
        read_at = roadmap.version
        services.update_summary(coordinator, roadmap, read_at, context="Mon contexte")
        db.session.commit()
        assert roadmap.version == read_at + 1

        with pytest.raises(services.EditConflict):
            services.update_summary(coordinator, roadmap, read_at, context="Le contexte de ma collègue")
        with pytest.raises(services.EditConflict):
            services.submit(coordinator, roadmap, read_at)
        db.session.rollback()
        db.session.expire_all()
        assert (roadmap.context, roadmap.status, roadmap.versions) == ("Mon contexte", RoadmapStatus.DRAFT, [])


@pytest.mark.parametrize("status", STATUSES)
def test_make_roadmap_reaches_each_status(app, make_roadmap, status):
    roadmap = make_roadmap(status=status)
    with app.app_context():
        stored = db.session.get(Roadmap, roadmap.id)
        assert stored.status == RoadmapStatus(status)
        assert len(stored.versions) == (0 if status == "draft" else 1)


def test_an_allowed_member_edits_but_does_not_submit(app, people, make_roadmap):
    roadmap = make_roadmap()
    with app.app_context():
        stored = db.session.get(Roadmap, roadmap.id)
        member = db.session.get(User, people["member"].id)
        assert not permissions.can_edit_roadmap(member, stored)
        stored.editors.append(member)
        db.session.commit()
        assert permissions.can_edit_roadmap(member, stored)
        assert not permissions.can_submit_roadmap(member, stored)
        other = db.session.get(type(member), people["other_member"].id)
        assert not permissions.can_be_roadmap_editor(other, stored)
        assert permissions.can_be_roadmap_editor(member, stored)
