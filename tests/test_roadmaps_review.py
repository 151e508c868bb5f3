"""The review workflow's pages (issue 6, point 2): a coordinator submits the
roadmap to the national team, which comments per section, validates it or
sends it back with a message; every submission is a version, and any two
(or one and the roadmap as it is now) compare on a page; each step emails the
people concerned, in French, through the real outbox and SMTP server."""

import re

import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.roadmaps import services
from extranet.roadmaps.models import (
    BudgetLineKind,
    Roadmap,
    RoadmapAction,
    RoadmapComment,
    RoadmapStatus,
    RoadmapVersion,
)
from tests.helpers import errors_beside, parse
from tests.roadmap_fixtures import axis

pytest_plugins = ["tests.roadmap_fixtures"]

STATUSES = ("draft", "submitted", "validated", "returned")
ROLES = ("coordinator", "editor", "member", "other_coordinator", "animator", "admin")
NATIONAL = {"animator", "admin"}
TERRITORY = {"coordinator", "editor", "member"}


@pytest.fixture
def cast(make_user):
    """Lyon's coordinator, a member allowed to edit, another member; Nantes'
    coordinator; the national team."""
    return {
        "coordinator": make_user("coordinator", territory="lyon", email="coordination@lyon.example.org"),
        "editor": make_user("member", territory="lyon", email="redaction@lyon.example.org"),
        "member": make_user("member", territory="lyon", email="membre@lyon.example.org"),
        "other_coordinator": make_user("coordinator", territory="nantes", email="coordination@nantes.example.org"),
        "animator": make_user("animator", email="animation@dihal.example.org"),
        "admin": make_user("admin", email="admin@dihal.example.org"),
    }


@pytest.fixture
def roadmap_in(app, make_roadmap, cast):
    """roadmap_in(status, filled=True) -> roadmap id, with the cast's editor allowed to edit."""

    def factory(status="draft", filled=True, start_year=2023, end_year=2024):
        roadmap = make_roadmap(status=status, filled=filled, start_year=start_year, end_year=end_year)
        with app.app_context():
            stored = db.session.get(Roadmap, roadmap.id)
            stored.editors.append(db.session.get(User, cast["editor"].id))
            db.session.commit()
        return roadmap.id

    return factory


@pytest.fixture
def client_of(app, login):
    """client_of(user) -> a test client of its own, logged in as ``user``."""

    def factory(user):
        client = app.test_client()
        assert login(user, client=client).status_code == 302
        return client

    return factory


def load(app, roadmap_id) -> Roadmap:
    roadmap = db.session.get(Roadmap, roadmap_id)
    db.session.refresh(roadmap)
    return roadmap


def current_version(app, roadmap_id) -> int:
    with app.app_context():
        return load(app, roadmap_id).version


def status_of(app, roadmap_id) -> str:
    with app.app_context():
        return load(app, roadmap_id).status.value


def version_numbers(app, roadmap_id) -> list[int]:
    with app.app_context():
        return [v.number for v in load(app, roadmap_id).versions]


def spaced(value: str) -> str:
    """Without the kinds of space French formatting uses (thin, non-breaking)."""
    return " ".join(value.replace("\u202f", " ").replace("\xa0", " ").split())


def text(response) -> str:
    return spaced(parse(response.get_data(as_text=True)).text())


def element(response, element_id):
    return next((n for n in parse(response.get_data(as_text=True)).iter() if n.attrs.get("id") == element_id), None)


# --- Rights per role and status ---------------------------------------------------------------


def expected_codes(role: str, status: str) -> dict:
    """What each route answers. 403: never allowed to this person; 302: allowed
    in principle, and back to the roadmap (done, or told why not now)."""
    reads = role in TERRITORY | NATIONAL or status == "validated"
    national = role in NATIONAL
    history = role in TERRITORY | NATIONAL
    return {
        "versions": 200 if history else 403,
        "compare": 200 if history else 403,
        "comment": 302 if national else 403,
        "send_back_form": (200 if status == "submitted" else 302) if national else 403,
        "send_back_empty": (200 if status == "submitted" else 302) if national else 403,
        "validate": 302 if national else 403,
        "submit": 302 if role == "coordinator" else 403,
        "reads": reads,
    }


@pytest.mark.parametrize("status", STATUSES)
def test_rights_per_role_and_status(app, cast, roadmap_in, client_of, status):
    # One roadmap per person (periods apart): a decision or a submission by one
    # must not change what the next one is allowed.
    for n, role in enumerate(ROLES):
        roadmap_id = roadmap_in(status, start_year=2023 + 2 * n, end_year=2024 + 2 * n)
        check_rights(app, client_of(cast[role]), roadmap_id, role, status)


def check_rights(app, client, roadmap_id, role, status):
    expected = expected_codes(role, status)
    base = f"/roadmaps/{roadmap_id}"
    version = current_version(app, roadmap_id)
    where = f"{role} on a {status} roadmap"

    # The roadmap itself: another territory reads it only once validated (403 even to ask for its history).
    assert client.get(base).status_code == (200 if expected["reads"] else 403), where
    assert client.get(f"{base}/versions").status_code == expected["versions"], where
    assert client.get(f"{base}/versions/compare?a=current&b=current").status_code == expected["compare"], where
    assert client.post(f"{base}/comments", data={"section": "budget", "body": "Un avis."}).status_code == expected["comment"], where
    assert client.get(f"{base}/send-back").status_code == expected["send_back_form"], where
    answer = client.post(f"{base}/send-back", data={"message": " ", "version": version})
    assert answer.status_code == expected["send_back_empty"], where
    # Nothing changed so far (an empty message sends nothing back).
    assert status_of(app, roadmap_id) == status, where

    answer = client.post(f"{base}/validate", data={"version": version})
    assert answer.status_code == expected["validate"], where
    if role in NATIONAL:
        assert status_of(app, roadmap_id) == ("validated" if status == "submitted" else status), where
        return
    answer = client.post(f"{base}/submit", data={"version": version})
    assert answer.status_code == expected["submit"], where
    if role == "coordinator":
        assert answer.headers["Location"].endswith(base)
        assert status_of(app, roadmap_id) == ("submitted" if status in ("draft", "returned") else status), where
    else:
        assert status_of(app, roadmap_id) == status, where


def test_the_workflow_buttons_follow_the_rights(app, cast, roadmap_in, client_of):
    roadmap_id = roadmap_in("draft")
    page = client_of(cast["coordinator"]).get(f"/roadmaps/{roadmap_id}")
    assert element(page, "submit-roadmap") is not None
    assert element(page, "validate-roadmap") is None
    # The editor edits but does not commit the territory: no submit button.
    assert element(client_of(cast["editor"]).get(f"/roadmaps/{roadmap_id}"), "submit-roadmap") is None

    roadmap_id = roadmap_in("submitted", start_year=2025, end_year=2026)
    page = client_of(cast["animator"]).get(f"/roadmaps/{roadmap_id}")
    assert element(page, "validate-roadmap") is not None
    assert f"/roadmaps/{roadmap_id}/send-back" in page.get_data(as_text=True)
    assert element(client_of(cast["coordinator"]).get(f"/roadmaps/{roadmap_id}"), "submit-roadmap") is None


# --- Submit, send back, submit again ---------------------------------------------------------------


def test_submit_send_back_edit_submit_again_with_emails(app, cast, roadmap_in, client_of, make_user, mailbox):
    roadmap_id = roadmap_in("draft")
    retired = make_user("animator", email="ancien@dihal.example.org", active=False)
    mailbox.clear()
    coordinator = client_of(cast["coordinator"])

    page = coordinator.get(f"/roadmaps/{roadmap_id}")
    assert "Pas encore soumise à l'équipe nationale" in text(page)
    answer = coordinator.post(f"/roadmaps/{roadmap_id}/submit", data={"version": current_version(app, roadmap_id)})
    assert answer.status_code == 302
    assert version_numbers(app, roadmap_id) == [1]
    page = coordinator.get(f"/roadmaps/{roadmap_id}")
    assert "soumise à l'équipe nationale (version 1)" in text(page)
    assert "attend l'examen de l'équipe nationale" in element(page, "workflow-decision").text()

    # The national team is told, each in French, with the link; never an inactive account.
    for address in ("animation@dihal.example.org", "admin@dihal.example.org"):
        [message] = mailbox.to(address)
        assert message["Subject"] == "Feuille de route à examiner\u00a0: Métropole de Lyon, 2023–2024 (version 1)"
        assert mailbox.link(message).endswith(f"/roadmaps/{roadmap_id}")
    assert mailbox.to(retired.email) == []
    assert mailbox.to("coordination@lyon.example.org") == []
    mailbox.clear()

    # Sent back with a message: the territory reads it on the roadmap and by email.
    animator = client_of(cast["animator"])
    form = animator.get(f"/roadmaps/{roadmap_id}/send-back")
    assert form.status_code == 200
    answer = animator.post(f"/roadmaps/{roadmap_id}/send-back", data={
        "message": "Le poste de coordination doit être **cofinancé** à parts égales.",
        "version": current_version(app, roadmap_id),
    })
    assert answer.status_code == 302
    assert status_of(app, roadmap_id) == "returned"
    page = coordinator.get(f"/roadmaps/{roadmap_id}")
    shown = element(page, "send-back-message")
    assert shown is not None and "cofinancé à parts égales" in shown.text()
    for address in ("coordination@lyon.example.org", "redaction@lyon.example.org"):
        [message] = mailbox.to(address)
        assert message["Subject"].startswith("Votre feuille de route est renvoyée pour modifications")
        assert "cofinancé" in mailbox.body(message)
    assert mailbox.to("membre@lyon.example.org") == []
    assert mailbox.to("admin@dihal.example.org") == []
    mailbox.clear()

    # Edited, then submitted again: version 2; the national team gets the link to the changes.
    with app.app_context():
        roadmap = load(app, roadmap_id)
        services.update_summary(db.session.get(User, cast["editor"].id), roadmap, roadmap.version,
                                 budget_note="Cofinancement assuré par la métropole.")
        db.session.commit()
    answer = coordinator.post(f"/roadmaps/{roadmap_id}/submit", data={"version": current_version(app, roadmap_id)})
    assert answer.status_code == 302
    assert version_numbers(app, roadmap_id) == [1, 2]
    [message] = mailbox.to("admin@dihal.example.org")
    assert "(version 2)" in message["Subject"]
    assert f"/roadmaps/{roadmap_id}/versions/compare?a=1&b=2" in mailbox.body(message)


def test_a_stale_submission_is_refused_and_nothing_is_submitted(app, cast, roadmap_in, client_of, mailbox):
    roadmap_id = roadmap_in("draft")
    coordinator = client_of(cast["coordinator"])
    read_at = current_version(app, roadmap_id)
    # Meanwhile, the editor changes the context.
    with app.app_context():
        roadmap = load(app, roadmap_id)
        services.update_summary(db.session.get(User, cast["editor"].id), roadmap, roadmap.version, context="Un autre contexte")
        db.session.commit()
    mailbox.clear()
    answer = coordinator.post(f"/roadmaps/{roadmap_id}/submit", data={"version": read_at}, follow_redirects=True)
    assert answer.status_code == 200
    assert "La feuille de route a changé depuis" in text(answer)
    assert (status_of(app, roadmap_id), version_numbers(app, roadmap_id)) == ("draft", [])
    assert mailbox.messages == []
    # A post without any version is stale too, not a 500.
    answer = coordinator.post(f"/roadmaps/{roadmap_id}/submit", data={"version": "n'importe quoi"})
    assert answer.status_code == 302 and status_of(app, roadmap_id) == "draft"


def test_an_empty_roadmap_or_a_broken_budget_cannot_be_submitted(app, cast, roadmap_in, client_of):
    coordinator = client_of(cast["coordinator"])
    empty = roadmap_in("draft", filled=False)
    page = coordinator.get(f"/roadmaps/{empty}")
    assert "aucune action" in element(page, "submission-problems").text()
    assert element(page, "submit-roadmap") is None
    # The editor who can fix it is told too; the national team is not (it is not theirs to fix).
    assert element(client_of(cast["editor"]).get(f"/roadmaps/{empty}"), "submission-problems") is not None
    assert element(client_of(cast["animator"]).get(f"/roadmaps/{empty}"), "submission-problems") is None
    answer = coordinator.post(f"/roadmaps/{empty}/submit", data={"version": current_version(app, empty)}, follow_redirects=True)
    assert "ne peut pas encore être soumise" in text(answer)
    assert version_numbers(app, empty) == []

    roadmap_id = roadmap_in("draft", start_year=2025, end_year=2026)
    with app.app_context():
        roadmap = load(app, roadmap_id)
        line = next(b for b in roadmap.budget_lines if b.kind == BudgetLineKind.COORDINATOR)
        line.territory_share_cents = 10_000_00
        services.touch(roadmap)
        db.session.commit()
    page = coordinator.get(f"/roadmaps/{roadmap_id}")
    problems = spaced(element(page, "submission-problems").text())
    assert "50/50" in problems and "30 000,00 €" in problems
    answer = coordinator.post(f"/roadmaps/{roadmap_id}/submit", data={"version": current_version(app, roadmap_id)}, follow_redirects=True)
    assert "ne peut pas encore être soumise" in text(answer)
    assert status_of(app, roadmap_id) == "draft"


# --- Validate ---------------------------------------------------------------------------------------


def test_validating_opens_the_roadmap_to_other_territories_and_tells_the_territory(app, cast, roadmap_in, client_of, make_user,
                                                                                    mailbox):
    roadmap_id = roadmap_in("submitted")
    make_user("coordinator", territory="lyon", email="partie@lyon.example.org", active=False)
    other = client_of(cast["other_coordinator"])
    assert other.get(f"/roadmaps/{roadmap_id}").status_code == 403
    mailbox.clear()
    admin = client_of(cast["admin"])
    answer = admin.post(f"/roadmaps/{roadmap_id}/validate", data={"version": current_version(app, roadmap_id)}, follow_redirects=True)
    assert "La feuille de route est validée" in text(answer)
    assert other.get(f"/roadmaps/{roadmap_id}").status_code == 200
    [message] = mailbox.to("coordination@lyon.example.org")
    assert message["Subject"] == "Votre feuille de route est validée\u00a0: Métropole de Lyon, 2023–2024"
    assert len(mailbox.to("redaction@lyon.example.org")) == 1
    assert mailbox.to("partie@lyon.example.org") == []

    # Validating twice (a double click, or two reviewers): refused with a message, never a 500.
    mailbox.clear()
    answer = admin.post(f"/roadmaps/{roadmap_id}/validate", data={"version": current_version(app, roadmap_id)}, follow_redirects=True)
    assert answer.status_code == 200
    assert "Seule une feuille de route soumise peut être validée ou renvoyée" in text(answer)
    with app.app_context():
        [version] = load(app, roadmap_id).versions
        assert version.decision == RoadmapStatus.VALIDATED
    assert mailbox.messages == []


def test_sending_back_needs_a_message(app, cast, roadmap_in, client_of):
    roadmap_id = roadmap_in("submitted")
    animator = client_of(cast["animator"])
    answer = animator.post(f"/roadmaps/{roadmap_id}/send-back", data={"message": "   ", "version": current_version(app, roadmap_id)})
    assert answer.status_code == 200
    assert errors_beside(answer.get_data(as_text=True), "message") == ["Indiquez ce que le territoire doit modifier."]
    assert status_of(app, roadmap_id) == "submitted"


# --- Comments per section ---------------------------------------------------------------------------


def test_comments_appear_under_their_section_for_the_territory_only(app, cast, roadmap_in, client_of, mailbox):
    roadmap_id = roadmap_in("submitted")
    mailbox.clear()
    animator = client_of(cast["animator"])
    answer = animator.post(f"/roadmaps/{roadmap_id}/comments", data={"section": "budget", "body": "La ligne *communication* est élevée."})
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/roadmaps/{roadmap_id}#section-budget")

    coordinator_page = client_of(cast["coordinator"]).get(f"/roadmaps/{roadmap_id}")
    budget = element(coordinator_page, "comments-budget")
    assert budget is not None and "La ligne communication est élevée." in budget.text()
    assert "version 1" in budget.text()
    actions = element(coordinator_page, "comments-actions")
    assert actions is None or "communication" not in actions.text()

    # One email per comment, to the coordinators and editors, with the link to the section.
    for address in ("coordination@lyon.example.org", "redaction@lyon.example.org"):
        [message] = mailbox.to(address)
        assert message["Subject"] == "Un commentaire sur votre feuille de route (Budget)\u00a0: Métropole de Lyon, 2023–2024"
        assert mailbox.link(message).endswith(f"/roadmaps/{roadmap_id}#section-budget")
    assert mailbox.to("membre@lyon.example.org") == []

    # Once validated, other territories read the roadmap but not the comments.
    client_of(cast["admin"]).post(f"/roadmaps/{roadmap_id}/validate", data={"version": current_version(app, roadmap_id)})
    other_page = client_of(cast["other_coordinator"]).get(f"/roadmaps/{roadmap_id}")
    assert other_page.status_code == 200
    assert "communication est élevée" not in other_page.get_data(as_text=True)
    assert element(other_page, "comments-budget") is None


def test_a_bad_comment_is_refused_with_a_message(app, cast, roadmap_in, client_of):
    roadmap_id = roadmap_in("draft")
    animator = client_of(cast["animator"])
    answer = animator.post(f"/roadmaps/{roadmap_id}/comments", data={"section": "budget", "body": "  "}, follow_redirects=True)
    assert "Rédigez votre commentaire." in text(answer)
    answer = animator.post(f"/roadmaps/{roadmap_id}/comments", data={"section": "nulle-part", "body": "Texte"})
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(RoadmapComment)) == 0


# --- Versions and their comparison ---------------------------------------------------------------------


def test_versions_compare_added_action_budget_line_and_indicator_value(app, cast, roadmap_in, client_of):
    roadmap_id = roadmap_in("returned")
    with app.app_context():
        roadmap = load(app, roadmap_id)
        roadmap.actions.append(RoadmapAction(axis=axis(12), title="Accompagnement des ménages menacés d'expulsion", position=3))
        next(b for b in roadmap.budget_lines if b.kind == BudgetLineKind.COMMUNICATION).total_cost_cents = 10_000_00
        roadmap.indicators[0].values[0].value = 55
        services.touch(roadmap)
        db.session.commit()
    coordinator = client_of(cast["coordinator"])

    # Compared with the roadmap as it is now, before submitting it again.
    page = coordinator.get(f"/roadmaps/{roadmap_id}/versions/compare?a=1&b=current")
    assert page.status_code == 200
    assert "Accompagnement des ménages menacés d'expulsion" in element(page, "actions-added").text()

    coordinator.post(f"/roadmaps/{roadmap_id}/submit", data={"version": current_version(app, roadmap_id)})
    assert version_numbers(app, roadmap_id) == [1, 2]
    reviewer_page = client_of(cast["animator"]).get(f"/roadmaps/{roadmap_id}")
    assert element(reviewer_page, "changes-since-previous").attrs["href"].endswith("/versions/compare?a=1&b=2")

    listing = coordinator.get(f"/roadmaps/{roadmap_id}/versions")
    assert listing.status_code == 200
    rows = element(listing, "versions").text()
    assert "Version 2" in rows and "Version 1" in rows and "Renvoyée pour modifications" in rows
    # The form proposes the last two versions.
    html = listing.get_data(as_text=True)
    assert re.search(r'<select class="fr-select" id="compare-a" name="a">.*?<option value="1" selected>', html, re.S)
    assert re.search(r'<select class="fr-select" id="compare-b" name="b">.*?<option value="2" selected>', html, re.S)

    page = coordinator.get(f"/roadmaps/{roadmap_id}/versions/compare?a=1&b=2")
    assert page.status_code == 200
    added = element(page, "actions-added").text()
    assert "Accompagnement des ménages menacés d'expulsion" in added and "Axe 12" in added
    budget = spaced(element(page, "budget-changed").text())
    assert "Communication Coût total sur 12 mois 8 000,00 € 10 000,00 €" in budget
    indicators = element(page, "indicators-changed").text()
    assert "T1 2023" in indicators and "40" in indicators and "55" in indicators
    assert "Aucun changement" in element(page, "changes-partners").text()

    # Without parameters: the last two; the same version twice: no change.
    default = coordinator.get(f"/roadmaps/{roadmap_id}/versions/compare")
    assert default.status_code == 302 and default.headers["Location"].endswith("a=1&b=2")
    same = coordinator.get(f"/roadmaps/{roadmap_id}/versions/compare?a=2&b=2")
    assert element(same, "no-changes") is not None


@pytest.mark.parametrize("query", ["a=1&b=9", "a=0&b=1", "a=abc&b=1", "a=1&b=99999999999999", "a=1", "a=-1&b=1"])
def test_unknown_versions_are_404(app, cast, roadmap_in, client_of, query):
    roadmap_id = roadmap_in("submitted")
    assert client_of(cast["animator"]).get(f"/roadmaps/{roadmap_id}/versions/compare?{query}").status_code == 404


def test_a_roadmap_never_submitted_has_no_versions_yet(app, cast, roadmap_in, client_of):
    roadmap_id = roadmap_in("draft")
    coordinator = client_of(cast["coordinator"])
    listing = coordinator.get(f"/roadmaps/{roadmap_id}/versions")
    assert element(listing, "no-versions") is not None
    assert coordinator.get(f"/roadmaps/{roadmap_id}/versions/compare").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(RoadmapVersion)) == 0


def test_a_decision_from_a_page_read_before_a_new_submission_is_refused(app, cast, roadmap_in, client_of):
    """A reviewer's page left open while a colleague sent the roadmap back and
    the territory submitted it again: validating from it would validate a
    version they have not read."""
    roadmap_id = roadmap_in("submitted")
    read_at = current_version(app, roadmap_id)
    with app.app_context():
        roadmap = load(app, roadmap_id)
        services.send_back(db.session.get(User, cast["animator"].id), roadmap, "Revoir le budget.")
        services.update_summary(db.session.get(User, cast["coordinator"].id), roadmap, roadmap.version, budget_note="Revu.")
        services.submit(db.session.get(User, cast["coordinator"].id), roadmap, roadmap.version)
        db.session.commit()
    answer = client_of(cast["admin"]).post(f"/roadmaps/{roadmap_id}/validate", data={"version": read_at}, follow_redirects=True)
    assert "La feuille de route a changé depuis que vous avez ouvert la page" in text(answer)
    assert status_of(app, roadmap_id) == "submitted" and version_numbers(app, roadmap_id) == [1, 2]


def test_each_person_is_mailed_in_their_own_language(app, cast, roadmap_in, client_of, make_user, mailbox):
    roadmap_id = roadmap_in("draft")
    make_user("coordinator", territory="lyon", email="english@lyon.example.org", language="en")
    mailbox.clear()
    client_of(cast["animator"]).post(f"/roadmaps/{roadmap_id}/comments", data={"section": "actions", "body": "Early advice."})
    [english] = mailbox.to("english@lyon.example.org")
    assert english["Subject"] == "A comment on your roadmap (Actions): Métropole de Lyon, 2023–2024"
    assert "Early advice." in mailbox.body(english) and mailbox.link(english).endswith("#section-actions")
    [french] = mailbox.to("coordination@lyon.example.org")
    assert french["Subject"].startswith("Un commentaire sur votre feuille de route (Actions)")


# --- Attached files frozen with each version ----------------------------------------------------------


def publish_document(app, author, title: str, content: bytes, name: str) -> int:
    import io

    from extranet.toolbox import services as toolbox
    from extranet.toolbox.models import DocumentType, Visibility

    with app.app_context(), app.test_request_context():
        upload = toolbox.receive_upload(io.BytesIO(content), name, 10**8)
        document = toolbox.publish(db.session.get(User, author.id), title=title, summary="", type=DocumentType.AGREEMENT,
                                   axis_ids=[axis(12).id], territory_id=None, visibility=Visibility.NETWORK, upload=upload)
        db.session.commit()
        return document.id


def links(node) -> dict[str, str]:
    return {n.text(): n.attrs.get("href") for n in node.iter() if n.tag == "a"}


def test_a_version_keeps_the_file_it_was_submitted_with(app, cast, roadmap_in, client_of):
    """The signed PDF replaced in the toolbox after submission: the version
    still names and downloads the file submitted; the comparison says it was replaced."""
    import io

    from tests import files as make
    from extranet.toolbox.models import Document, Visibility

    signed = make.pdf("Feuille de route signée le 3 mars")
    roadmap_id = roadmap_in("draft")
    document_id = publish_document(app, cast["coordinator"], "Feuille de route signée", signed, "signee.pdf")
    with app.app_context():
        roadmap = load(app, roadmap_id)
        roadmap.documents.append(db.session.get(Document, document_id))
        services.touch(roadmap)
        db.session.commit()
        first_version = db.session.get(Document, document_id).current_version_id
    coordinator = client_of(cast["coordinator"])
    assert coordinator.post(f"/roadmaps/{roadmap_id}/submit", data={"version": current_version(app, roadmap_id)}).status_code == 302
    assert version_numbers(app, roadmap_id) == [1]

    # Afterwards, in the toolbox: another file, another title.
    answer = coordinator.post(f"/toolbox/{document_id}/versions/new", content_type="multipart/form-data",
                              data={"note": "Avenant", "file": (io.BytesIO(make.pdf("Avenant du 9 juin")), "avenant.pdf")})
    assert answer.status_code == 302
    with app.app_context():
        document = db.session.get(Document, document_id)
        assert document.current_version_id != first_version
        document.title = "Feuille de route et avenant"
        db.session.commit()

    listing = coordinator.get(f"/roadmaps/{roadmap_id}/versions")
    frozen = f"/toolbox/{document_id}/versions/{first_version}/download"
    assert links(element(listing, "versions"))["Feuille de route signée (version 1, signee.pdf)"] == frozen
    assert coordinator.get(frozen).data == signed

    page = coordinator.get(f"/roadmaps/{roadmap_id}/versions/compare?a=1&b=current")
    replaced = element(page, "documents-replaced")
    assert replaced is not None
    assert links(replaced)["Feuille de route signée (version 1, signee.pdf)"] == frozen
    assert "Feuille de route et avenant (version 2, avenant.pdf)" in replaced.text()

    # Someone who may not open the document reads neither its title nor a link.
    with app.app_context():
        db.session.get(Document, document_id).visibility = Visibility.NATIONAL
        db.session.commit()
    member = client_of(cast["member"])
    rows = element(member.get(f"/roadmaps/{roadmap_id}/versions"), "versions")
    assert "Un document que vous ne pouvez pas ouvrir" in rows.text() and "signée" not in rows.text()
    assert not any("/toolbox/" in (href or "") for href in links(rows).values())


# --- Sending back from a page someone acted on meanwhile -------------------------------------------


def test_a_message_typed_while_a_colleague_validated_is_kept(app, cast, roadmap_in, client_of):
    roadmap_id = roadmap_in("submitted")
    animator = client_of(cast["animator"])
    read_at = current_version(app, roadmap_id)
    assert animator.get(f"/roadmaps/{roadmap_id}/send-back").status_code == 200
    client_of(cast["admin"]).post(f"/roadmaps/{roadmap_id}/validate", data={"version": read_at})
    assert status_of(app, roadmap_id) == "validated"

    message = "Le budget de l'observation sociale est à détailler **par action**."
    answer = animator.post(f"/roadmaps/{roadmap_id}/send-back", data={"message": message, "version": read_at})
    assert answer.status_code == 409
    refusal = element(answer, "send-back-refused").text()
    assert "elle est désormais « Validée », elle ne peut donc plus être renvoyée et rien n'a été envoyé" in spaced(refusal)
    assert cast["admin"].name in refusal
    kept = element(answer, "body")
    assert kept is not None and kept.text() == message
    assert status_of(app, roadmap_id) == "validated"
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(RoadmapComment)) == 0

    # The message still reaches the territory, as a general comment.
    form = element(answer, "send-back-as-comment")
    assert form.attrs["action"] == f"/roadmaps/{roadmap_id}/comments"
    assert animator.post(form.attrs["action"], data={"section": "general", "body": kept.text()}).status_code == 302
    with app.app_context():
        [comment] = db.session.scalars(select(RoadmapComment)).all()
        assert (comment.section.value, comment.body) == ("general", message)


def test_a_message_typed_on_a_page_read_before_a_new_submission_is_kept(app, cast, roadmap_in, client_of):
    roadmap_id = roadmap_in("submitted")
    animator = client_of(cast["animator"])
    read_at = current_version(app, roadmap_id)
    with app.app_context():
        roadmap = load(app, roadmap_id)
        services.send_back(db.session.get(User, cast["admin"].id), roadmap, "Revoir le budget.")
        services.submit(db.session.get(User, cast["coordinator"].id), roadmap, roadmap.version)
        db.session.commit()

    message = "La version 2 oublie toujours la communication."
    answer = animator.post(f"/roadmaps/{roadmap_id}/send-back", data={"message": message, "version": read_at})
    assert answer.status_code == 409
    assert element(answer, "message").text() == message
    assert cast["coordinator"].name in text(answer)  # told who changed it (views.edit_conflict's message)
    assert status_of(app, roadmap_id) == "submitted"
    # Sent again knowingly, from the page that now holds the current version.
    version = element(answer, "version").attrs["value"]
    assert int(version) == current_version(app, roadmap_id)
    assert animator.post(f"/roadmaps/{roadmap_id}/send-back", data={"message": message, "version": version}).status_code == 302
    assert status_of(app, roadmap_id) == "returned"
