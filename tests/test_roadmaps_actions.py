"""The actions of a roadmap (issue 6, point 1): who may add, change and
delete them in each status of the roadmap, the form's French errors beside
their field, toolbox documents limited to those the person may open, the
roadmap page showing each action under its priority and axis, and two people
editing at once never silently overwriting each other."""

import html as html_lib
import io
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from extranet.auth.models import User
from extranet.extensions import db
from extranet.plan.models import Axis
from extranet.roadmaps import content, services
from extranet.roadmaps.models import ActionOrigin, ActionStatus, Roadmap, RoadmapAction
from extranet.toolbox import services as toolbox
from extranet.toolbox.models import Document, DocumentType, Visibility
from tests.helpers import errors_beside, french, parse

pytest_plugins = ["tests.roadmap_fixtures"]

STATUSES = ("draft", "returned", "submitted", "validated")
EDITORS = ("coordinator", "editor")
EDITABLE = ("draft", "returned")


@pytest.fixture
def cast(app, make_user):
    """Lyon's coordinator; a member of Lyon and one its coordinator allows to
    edit (once ``allow()`` is called); the coordinator of Nantes; the national team."""
    return {
        "coordinator": make_user("coordinator", territory="lyon"),
        "editor": make_user("member", territory="lyon"),
        "member": make_user("member", territory="lyon"),
        "other_territory": make_user("coordinator", territory="nantes"),
        "national": make_user("admin"),
    }


@pytest.fixture
def make_document(app):
    """make_document(author, title, visibility="network") -> id, published through the toolbox."""

    def factory(author, title, visibility="network"):
        with app.app_context(), app.test_request_context():
            upload = toolbox.receive_upload(io.BytesIO(f"Note : {title}".encode()), "note.txt", 10**6)
            document = toolbox.publish(
                db.session.get(User, author.id), title=title, summary="", type=DocumentType.MINUTES,
                axis_ids=[db.session.scalar(select(Axis.id).where(Axis.number == 12))], visibility=Visibility.NETWORK, upload=upload,
            )
            document.visibility = Visibility(visibility)
            db.session.commit()
            return document.id

    return factory


def allow(app, roadmap, user):
    with app.app_context():
        stored = db.session.get(Roadmap, roadmap.id)
        stored.editors.append(db.session.get(User, user.id))
        db.session.commit()


def axis_id(app, number: int) -> int:
    with app.app_context():
        return db.session.scalar(select(Axis.id).where(Axis.number == number))


def version_of(app, roadmap) -> int:
    with app.app_context():
        return db.session.get(Roadmap, roadmap.id).version


def actions_of(app, roadmap) -> list[RoadmapAction]:
    with app.app_context():
        actions = db.session.scalars(
            select(RoadmapAction).where(RoadmapAction.roadmap_id == roadmap.id).order_by(RoadmapAction.position)
        ).all()
        for action in actions:
            action.axis, action.documents  # noqa: B018 (loaded before leaving the session)
        db.session.expunge_all()
        return actions


def form_data(app, roadmap, **values) -> dict:
    data = {
        "axis": str(axis_id(app, 12)), "title": "Commission de prévention des expulsions locatives", "description": "",
        "origin": "new", "lead_organisation": "", "partners": "", "starts_on": "", "ends_on": "",
        "status": "to_start", "version": str(version_of(app, roadmap)),
    }
    data.update(values)
    return data


def field_value(html: str, field_id: str) -> str | None:
    node = next((n for n in parse(html).iter() if n.attrs.get("id") == field_id), None)
    assert node is not None, f"no {field_id!r} in the page"
    return node.text() if node.tag == "textarea" else node.attrs.get("value")


def documents_errors(html: str) -> list[str]:
    node = next(n for n in parse(html).iter() if n.attrs.get("id") == "documents-messages")
    return [p.text() for p in node.iter() if p.tag == "p"]


# --- Rights per role and status --------------------------------------------------------------------


RIGHTS_CASES = [(role, status) for role in EDITORS for status in STATUSES] + [
    # Those who never edit: one status they may read it in, and one more.
    ("member", "draft"), ("member", "submitted"),
    ("other_territory", "draft"), ("other_territory", "validated"),
    ("national", "draft"), ("national", "submitted"),
]


@pytest.mark.parametrize("role, status", RIGHTS_CASES)
def test_who_may_add_change_and_delete_actions(app, client, login, cast, make_roadmap, role, status):
    roadmap = make_roadmap(status=status)
    allow(app, roadmap, cast["editor"])
    login(cast[role])
    allowed = role in EDITORS and status in EDITABLE
    # An editor of a roadmap frozen since (submitted, validated) is told so, not refused: see test_roadmaps_locked.py.
    frozen = role in EDITORS and not allowed
    first, second = actions_of(app, roadmap)
    base = f"/roadmaps/{roadmap.id}/actions"
    reading, saving = (200, 302) if allowed else (302, 409) if frozen else (403, 403)

    assert client.get(f"{base}/new").status_code == reading
    assert client.post(f"{base}/new", data=form_data(app, roadmap)).status_code == saving
    assert client.get(f"{base}/{first.id}/edit").status_code == reading
    edited = client.post(f"{base}/{first.id}/edit", data=form_data(app, roadmap, title="Titre changé"))
    assert edited.status_code == saving
    deleted = client.post(f"{base}/{second.id}/delete", data={"version": version_of(app, roadmap)})
    assert deleted.status_code == (302 if allowed or frozen else 403)

    titles = [a.title for a in actions_of(app, roadmap)]
    if allowed:
        assert titles == ["Titre changé", "Commission de prévention des expulsions locatives"]
    else:
        assert titles == [first.title, second.title]


def test_a_member_the_coordinator_has_not_allowed_cannot_edit(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    login(cast["member"])
    assert client.get(f"/roadmaps/{roadmap.id}/actions/new").status_code == 403


@pytest.mark.parametrize("url", [
    "/roadmaps/999999/actions/new",
    "/roadmaps/{id}/actions/999999/edit",
    "/roadmaps/{id}/actions/{other}/edit",
    f"/roadmaps/{{id}}/actions/{2**40}/edit",
    f"/roadmaps/{2**40}/actions/new",
])
def test_unknown_roadmaps_and_actions_are_not_found(app, client, login, cast, make_roadmap, url):
    roadmap = make_roadmap()
    other = make_roadmap(territory="lyon", start_year=2025, end_year=2026)
    login(cast["coordinator"])
    url = url.format(id=roadmap.id, other=actions_of(app, other)[0].id)
    assert client.get(url).status_code == 404
    assert client.post(url, data=form_data(app, roadmap)).status_code == 404


def test_deleting_an_action_of_another_roadmap_is_not_found(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    other = make_roadmap(territory="lyon", start_year=2025, end_year=2026)
    login(cast["coordinator"])
    stranger = actions_of(app, other)[0]
    response = client.post(f"/roadmaps/{roadmap.id}/actions/{stranger.id}/delete", data={"version": version_of(app, roadmap)})
    assert response.status_code == 404
    assert len(actions_of(app, other)) == 2


# --- Adding an action with every field --------------------------------------------------------------


def test_an_action_with_every_field_is_stored_last_and_shown_under_its_axis(app, client, login, cast, make_roadmap, make_document):
    roadmap = make_roadmap()
    document = make_document(cast["national"], "Guide de la prévention des expulsions")
    login(cast["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/actions/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="documents-{document}"' in html  # offered
    select_axis = next(n for n in parse(html).iter() if n.attrs.get("id") == "axis")
    groups = [n for n in select_axis.children if getattr(n, "tag", None) == "optgroup"]
    assert [len([o for o in g.iter() if o.tag == "option"]) for g in groups] == [4, 4, 3, 3, 2]  # the plan's 16 axes

    response = client.post(f"/roadmaps/{roadmap.id}/actions/new", data=form_data(
        app, roadmap, axis=str(axis_id(app, 12)), title="Équipe mobile de prévention des expulsions",
        description="Aller vers les ménages **avant** l'audience.", origin="existing",
        lead_organisation="Métropole de Lyon", partners="CAF, CCAPEX, ADIL", starts_on="2023-03-01",
        ends_on="2024-06-30", status="in_progress", documents=[str(document)],
    ))
    assert response.status_code == 302
    action = actions_of(app, roadmap)[-1]
    assert response.headers["Location"].endswith(f"/roadmaps/{roadmap.id}#action-{action.id}")
    assert (action.axis.number, action.title, action.description, action.origin, action.lead_organisation,
            action.partners, action.starts_on, action.ends_on, action.status, [d.id for d in action.documents]) == (
        12, "Équipe mobile de prévention des expulsions", "Aller vers les ménages **avant** l'audience.",
        ActionOrigin.EXISTING, "Métropole de Lyon", "CAF, CCAPEX, ADIL", date(2023, 3, 1), date(2024, 6, 30),
        ActionStatus.IN_PROGRESS, [document],
    )
    assert action.position == 3  # after build_roadmap()'s two
    assert version_of(app, roadmap) > roadmap.version

    shown = client.get(f"/roadmaps/{roadmap.id}")
    assert shown.status_code == 200
    root = parse(shown.get_data(as_text=True))
    axis_block = next(n for n in root.iter() if n.attrs.get("id") == "actions-axis-12")
    text = axis_block.text()
    assert "Équipe mobile de prévention des expulsions" in text
    assert "Commission de prévention des expulsions" in text  # build_roadmap()'s action on axis 12
    assert "2 actions" in text
    for fact in ("Métropole de Lyon", "CAF, CCAPEX, ADIL", "1er mars 2023", "30 juin 2024", "En cours",
                 "Guide de la prévention des expulsions"):
        assert fact in text, fact
    assert "<strong>avant</strong>" in shown.get_data(as_text=True)
    other_axis = next(n for n in root.iter() if n.attrs.get("id") == "actions-axis-3")
    assert "Équipe mobile" not in other_axis.text()


def test_editing_shows_the_action_as_stored(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    action = actions_of(app, roadmap)[0]
    html = client.get(f"/roadmaps/{roadmap.id}/actions/{action.id}/edit").get_data(as_text=True)
    assert html_lib.unescape(field_value(html, "title")) == action.title
    assert field_value(html, "starts_on") == "2023-01-01" and field_value(html, "ends_on") == "2024-12-31"
    assert f'<option value="{action.axis_id}" selected>' in html
    assert 'id="origin-existing" name="origin" value="existing" checked' in html
    assert int(field_value(html, "version")) == roadmap.version


# --- Validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("values, field, message", [
    ({"title": "  "}, "title", "Enter the title of the action."),
    ({"title": "x" * 301}, "title", "The title has at most %(max)s characters."),
    ({"starts_on": "2024-05-01", "ends_on": "2024-04-30"}, "ends_on", "The action cannot end before it starts."),
    ({"starts_on": "le 3 mai"}, "starts_on", "Enter a date, for example 2024-03-31."),
    ({"axis": ""}, "axis", "Choose an axis of the plan from the list."),
    ({"axis": "douze"}, "axis", "Choose an axis of the plan from the list."),
    ({"axis": str(2**40)}, "axis", "Choose an axis of the plan from the list."),
    ({"status": "fini"}, "status", "Choose the status of the action."),
])
def test_errors_are_said_in_french_beside_their_field(app, client, login, cast, make_roadmap, values, field, message):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/actions/new", data=form_data(app, roadmap, description="Mon texte", **values))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    expected = french(app, message, max=300)
    assert expected != message or "%(" in message  # the catalogue has it
    assert errors_beside(html, field) == [expected]
    assert "Mon texte" in html  # nothing typed is lost
    assert len(actions_of(app, roadmap)) == 2


@pytest.mark.parametrize("field, typed", [
    ("starts_on", "0001-01-01"), ("ends_on", "9999-12-31"), ("starts_on", "1999-12-31"), ("ends_on", "2101-01-01"),
])
def test_dates_out_of_any_plan_are_refused_beside_their_field(app, client, login, cast, make_roadmap, field, typed):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/actions/new", data=form_data(app, roadmap, **{field: typed}))
    assert response.status_code == 400
    message = french(app, "Enter a date between %(min)s and %(max)s.", min=2000, max=2100)
    assert message == "Saisissez une date entre 2000 et 2100."
    assert errors_beside(response.get_data(as_text=True), field) == [message]
    assert len(actions_of(app, roadmap)) == 2


def test_an_action_may_start_before_the_roadmap_and_outlast_it(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()  # 2023–2024
    login(cast["coordinator"])
    data = form_data(app, roadmap, starts_on="2000-01-01", ends_on="2100-12-31")
    assert client.post(f"/roadmaps/{roadmap.id}/actions/new", data=data).status_code == 302
    added = actions_of(app, roadmap)[-1]
    assert (added.starts_on, added.ends_on) == (date(2000, 1, 1), date(2100, 12, 31))


def test_a_bad_origin_is_refused(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/actions/new", data=form_data(app, roadmap, origin="ancienne"))
    assert response.status_code == 400
    assert french(app, "Say whether the action is new or an existing one to strengthen.") in html_lib.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("which", ["national", "huge", "missing", "words"])
def test_documents_the_person_may_not_open_are_refused(app, client, login, cast, make_roadmap, make_document, which):
    roadmap = make_roadmap()
    hidden = make_document(cast["national"], "Note interne de la délégation", visibility="national")
    login(cast["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/actions/new").get_data(as_text=True)
    assert "Note interne de la délégation" not in page
    document = {"national": str(hidden), "huge": str(2**40), "missing": "999999", "words": "le guide"}[which]
    response = client.post(f"/roadmaps/{roadmap.id}/actions/new", data=form_data(app, roadmap, documents=[document]))
    assert response.status_code == 400
    assert documents_errors(response.get_data(as_text=True)) == [french(app, "Choose documents from the list.")]
    assert len(actions_of(app, roadmap)) == 2


def test_searching_documents_keeps_what_was_typed(app, client, login, cast, make_roadmap, make_document):
    roadmap = make_roadmap()
    wanted = make_document(cast["national"], "Charte de l'équipe mobile")
    other = make_document(cast["national"], "Compte rendu du club")
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/actions/new",
                           data=form_data(app, roadmap, title="Mon action", q="charte", find="1"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="documents-{wanted}"' in html and f'id="documents-{other}"' not in html
    assert field_value(html, "title") == "Mon action"
    assert not parse(html).text().count(french(app, "Enter the title of the action."))
    assert len(actions_of(app, roadmap)) == 2


def test_documents_linked_by_someone_else_that_the_editor_cannot_open_stay_linked(app, client, login, cast, make_roadmap, make_document):
    roadmap = make_roadmap()
    hidden = make_document(cast["national"], "Note interne de la délégation", visibility="national")
    action = actions_of(app, roadmap)[0]
    with app.app_context():
        stored = db.session.get(RoadmapAction, action.id)
        stored.documents.append(db.session.get(Document, hidden))
        db.session.commit()
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/actions/{action.id}/edit", data=form_data(app, roadmap, title="Titre changé"))
    assert response.status_code == 302
    assert [d.id for d in actions_of(app, roadmap)[0].documents] == [hidden]
    assert "Note interne de la délégation" not in client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)


def test_markdown_cannot_carry_a_script(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/actions/new", data=form_data(
        app, roadmap, title="<b>Titre</b>", description="<script>alert('x')</script>\n\n[lien](javascript:alert(1)) *ok*",
        partners="<img src=x onerror=alert(1)>",
    ))
    assert response.status_code == 302
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert 'href="javascript' not in html and "<img src=x" not in html
    assert "<b>Titre</b>" not in html and "&lt;b&gt;Titre&lt;/b&gt;" in html
    assert "<em>ok</em>" in html


# --- Two people at once -----------------------------------------------------------------------------


def someone_else_edits(app, roadmap, coordinator):
    with app.app_context():
        fresh = db.session.get(Roadmap, roadmap.id)
        services.update_summary(db.session.get(User, coordinator.id), fresh, fresh.version, context="Contexte revu")
        db.session.commit()


@pytest.mark.parametrize("editing", [False, True])
def test_a_conflict_keeps_the_text_and_saves_on_the_second_try(app, client, login, cast, make_roadmap, make_user, editing):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    action = actions_of(app, roadmap)[0]
    url = f"/roadmaps/{roadmap.id}/actions/{action.id}/edit" if editing else f"/roadmaps/{roadmap.id}/actions/new"
    read_at = int(field_value(client.get(url).get_data(as_text=True), "version"))
    someone_else_edits(app, roadmap, make_user("coordinator", territory="lyon", name="Camille Autre"))

    data = form_data(app, roadmap, title="Mon titre soigneusement rédigé", description="Trois paragraphes de texte",
                     version=str(read_at))
    response = client.post(url, data=data)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert field_value(html, "title") == "Mon titre soigneusement rédigé"
    assert "Trois paragraphes de texte" in html
    assert "Camille Autre" in html
    assert int(field_value(html, "version")) == version_of(app, roadmap) != read_at
    assert "Mon titre soigneusement rédigé" not in [a.title for a in actions_of(app, roadmap)]

    data["version"] = field_value(html, "version")
    assert client.post(url, data=data).status_code == 302
    titles = [a.title for a in actions_of(app, roadmap)]
    assert "Mon titre soigneusement rédigé" in titles
    assert len(titles) == 2 if editing else 3


def test_a_change_saved_between_reading_and_writing_conflicts_too(app, cast, make_roadmap):
    """The window expect_version() cannot see (another person saves while this
    request runs) is closed by the roadmap row's version: the UPDATE finds nothing."""
    roadmap = make_roadmap()
    with app.app_context(), app.test_request_context():
        mine = db.session.get(Roadmap, roadmap.id)
        actor = db.session.get(User, cast["coordinator"].id)
        read_at = mine.version
        with Session(db.engine) as other:
            theirs = other.get(Roadmap, roadmap.id)
            theirs.context = "Le contexte d'une autre personne"
            services.touch(theirs)
            other.commit()
        with pytest.raises(StaleDataError):
            content.create_action(actor, mine, read_at, axis_id=db.session.scalar(select(Axis.id).where(Axis.number == 12)),
                                  title="Action en même temps")
        db.session.rollback()
    assert "Action en même temps" not in [a.title for a in actions_of(app, roadmap)]


# --- Deleting ---------------------------------------------------------------------------------------


def test_deleting_asks_for_confirmation_then_removes_the_action(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    first, second = actions_of(app, roadmap)
    url = f"/roadmaps/{roadmap.id}/actions/{second.id}/delete"
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    dialog = next(n for n in parse(html).iter() if n.attrs.get("id") == f"delete-action-{second.id}")
    assert dialog.tag == "dialog"
    form = next(n for n in dialog.iter() if n.tag == "form")
    assert form.attrs["action"] == url
    hidden = {n.attrs.get("name"): n.attrs.get("value") for n in form.iter() if n.tag == "input"}
    assert hidden["version"] == str(roadmap.version)  # what the page showed is what gets deleted
    assert second.title in dialog.text()
    assert client.get(url).status_code == 405  # only a POST deletes

    stale = client.post(url, data={"version": roadmap.version - 1})
    assert stale.status_code == 302
    assert len(actions_of(app, roadmap)) == 2

    response = client.post(url, data={"version": roadmap.version})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/roadmaps/{roadmap.id}#section-actions")
    assert [a.id for a in actions_of(app, roadmap)] == [first.id]
    assert version_of(app, roadmap) > roadmap.version


# --- The section on the roadmap page ----------------------------------------------------------------


def test_the_section_shows_buttons_only_to_those_who_may_edit(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    action = actions_of(app, roadmap)[0]
    login(cast["coordinator"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    assert 'id="add-action"' in html and f'id="edit-action-{action.id}"' in html
    national = app.test_client()
    login(cast["national"], client=national)
    html = national.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    assert 'id="section-actions"' in html and action.title in html
    assert 'id="add-action"' not in html and f'id="edit-action-{action.id}"' not in html


def test_an_empty_roadmap_says_so(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(cast["coordinator"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    assert 'id="actions-empty"' in html and 'id="add-action"' in html



def test_the_printed_roadmap_shows_the_actions_without_buttons(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    action = actions_of(app, roadmap)[0]
    login(cast["coordinator"])
    response = client.get(f"/roadmaps/{roadmap.id}/print")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    section = next(n for n in parse(html).iter() if n.attrs.get("id") == "section-actions")
    assert action.title in section.text() and "Métropole" in section.text()
    assert not [n for n in section.iter() if n.tag in ("form", "button", "dialog")]
    assert 'id="add-action"' not in html and f'id="edit-action-{action.id}"' not in html


@pytest.mark.parametrize("documents", [["abc"], [str(2**40)], ["-1"]])
def test_searching_with_odd_ticks_is_no_error(app, client, login, cast, make_roadmap, documents):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/actions/new",
                           data=form_data(app, roadmap, q="x" * 500, find="1", documents=documents))
    assert response.status_code == 200
