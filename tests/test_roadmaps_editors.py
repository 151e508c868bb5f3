"""Members a coordinator allows to edit a roadmap (issue 6, point 2): the
coordinators add and remove them, the member added is told by email in their
language, an allowed member edits the draft and a removed one no longer can."""

import html as html_lib

import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.roadmaps.models import Roadmap

from .helpers import database, errors_beside, parse

pytest_plugins = ["tests.roadmap_fixtures"]


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True)).replace("\u00a0", " ")


def editor_ids(app, roadmap_id) -> set[int]:
    with database(app) as session:
        return set(session.get(Roadmap, roadmap_id).editor_ids)


def version_of(app, roadmap_id) -> int:
    with database(app) as session:
        return session.get(Roadmap, roadmap_id).version


def choices(response) -> set[str]:
    select_ = next(n for n in parse(response.get_data(as_text=True)).iter() if n.attrs.get("id") == "user_id")
    return {n.attrs.get("value") for n in select_.iter() if n.tag == "option" and n.attrs.get("value")}


@pytest.fixture
def cast(make_user):
    return {
        "coordinator": make_user("coordinator", territory="lyon", name="Claire Coordinatrice"),
        "co_coordinator": make_user("coordinator", territory="lyon", name="Colette Cocoordinatrice"),
        "member": make_user("member", territory="lyon", name="Alice Adhérente"),
        "english_member": make_user("member", territory="lyon", name="Emma English", language="en"),
        "inactive_member": make_user("member", territory="lyon", name="Ines Inactive", active=False),
        "other_territory_member": make_user("member", territory="nantes", name="Nina Nantaise"),
        "other_coordinator": make_user("coordinator", territory="nantes"),
        "national": make_user("admin"),
    }


def test_a_coordinator_allows_a_member_who_is_told_and_may_edit_until_removed(app, client, login, cast, make_roadmap, mailbox):
    roadmap = make_roadmap()
    member = cast["member"]
    member_client = app.test_client()
    login(member, client=member_client)
    assert member_client.get(f"/roadmaps/{roadmap.id}/summary").status_code == 403

    login(cast["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/editors")
    assert page.status_code == 200
    assert 'id="editors-empty"' in page.get_data(as_text=True)
    # Members of the territory who are not coordinators, active, of this territory.
    assert choices(page) == {str(member.id), str(cast["english_member"].id)}

    mailbox.clear()
    response = client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(member.id)})
    assert response.status_code == 302
    assert editor_ids(app, roadmap.id) == {member.id}
    page = client.get(response.headers["Location"])
    assert "Alice Adhérente peut désormais modifier cette feuille de route" in text(page)
    assert 'id="editor-%s"' % member.id in page.get_data(as_text=True)
    assert choices(page) == {str(cast["english_member"].id)}

    # The email, in French, with the link to the roadmap.
    [message] = mailbox.to(member.email)
    assert message["Subject"] == "Vous pouvez désormais modifier la feuille de route Métropole de Lyon 2023–2024"
    body = mailbox.body(message)
    assert "Claire Coordinatrice" in body
    assert mailbox.link(message).endswith(f"/roadmaps/{roadmap.id}")

    # The allowed member edits the summary.
    form = member_client.get(f"/roadmaps/{roadmap.id}/summary")
    assert form.status_code == 200
    saved = member_client.post(f"/roadmaps/{roadmap.id}/summary", data={
        "version": version_of(app, roadmap.id), "context": "Écrit par Alice", "strategy": "", "budget_note": "",
    })
    assert saved.status_code == 302
    page = member_client.get(f"/roadmaps/{roadmap.id}")
    assert "Écrit par Alice" in text(page) and "Vous pouvez modifier ce brouillon" in text(page)
    # …but does not manage the editors.
    assert member_client.get(f"/roadmaps/{roadmap.id}/editors").status_code == 403

    # Removed (after confirmation): no longer.
    response = client.post(f"/roadmaps/{roadmap.id}/editors/{member.id}/remove")
    assert response.status_code == 302
    assert "Alice Adhérente ne peut plus modifier cette feuille de route" in text(client.get(response.headers["Location"]))
    assert editor_ids(app, roadmap.id) == set()
    assert member_client.get(f"/roadmaps/{roadmap.id}/summary").status_code == 403
    assert member_client.post(f"/roadmaps/{roadmap.id}/summary", data={
        "version": version_of(app, roadmap.id), "context": "Encore Alice",
    }).status_code == 403
    with database(app) as session:
        assert session.get(Roadmap, roadmap.id).context == "Écrit par Alice"
    # Removing someone who is not an editor: 404.
    assert client.post(f"/roadmaps/{roadmap.id}/editors/{member.id}/remove").status_code == 404
    assert client.post(f"/roadmaps/{roadmap.id}/editors/{2**31 + 5}/remove").status_code == 404


def test_a_double_click_allows_the_member_once(app, client, login, cast, make_roadmap, mailbox):
    """The second click, once the first is saved, is told it is done: no error, no second email."""
    roadmap = make_roadmap()
    member = cast["member"]
    login(cast["coordinator"])
    mailbox.clear()
    first = client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(member.id)})
    second = client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(member.id)})
    assert first.status_code == 302 and second.status_code == 302
    assert "Alice Adhérente est déjà autorisé·e à modifier cette feuille de route" in text(client.get(second.headers["Location"]))
    assert editor_ids(app, roadmap.id) == {member.id}
    assert len(mailbox.to(member.email)) == 1


def test_two_clicks_at_the_same_moment_allow_the_member_once(app, client, login, cast, make_roadmap, mailbox, monkeypatch):
    """Both requests read "not allowed yet"; the other one saves first, this one
    meets the primary key: told it is done, not a 500, and no second email."""
    from extranet.extensions import db
    from extranet.roadmaps import editing
    from extranet.roadmaps.models import roadmap_editor

    roadmap = make_roadmap()
    member = cast["member"]
    real_add_editor = editing.add_editor

    def add_editor_after_the_other_click(actor, roadmap_, user):
        # The other request's transaction, committed while this one has already read the editors.
        with db.engine.begin() as connection:
            connection.execute(roadmap_editor.insert().values(roadmap_id=roadmap_.id, user_id=user.id))
        return real_add_editor(actor, roadmap_, user)

    monkeypatch.setattr(editing, "add_editor", add_editor_after_the_other_click)
    login(cast["coordinator"])
    mailbox.clear()
    response = client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(member.id)})
    assert response.status_code == 302
    assert "Alice Adhérente est déjà autorisé·e à modifier cette feuille de route" in text(client.get(response.headers["Location"]))
    assert editor_ids(app, roadmap.id) == {member.id}
    assert mailbox.to(member.email) == []


@pytest.mark.parametrize("status, says", [
    ("draft", "C'est un brouillon : vous pouvez la modifier dès maintenant"),
    ("returned", "L'équipe nationale l'a renvoyée pour modifications : vous pouvez la modifier dès maintenant"),
    ("submitted", "L'équipe nationale est en train de l'examiner : personne ne peut la modifier d'ici là"),
    ("validated", "Elle est validée : son contenu ne change plus, mais vous pouvez renseigner les valeurs"),
])
def test_the_email_says_when_the_member_may_edit(app, client, login, cast, make_roadmap, mailbox, status, says):
    roadmap = make_roadmap(status=status)
    login(cast["coordinator"])
    mailbox.clear()
    assert client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(cast["member"].id)}).status_code == 302
    [message] = mailbox.to(cast["member"].email)
    body = " ".join(mailbox.body(message).replace("\u00a0", " ").split())
    assert says in body
    assert "chaque fois qu'elle est à l'état de brouillon ou renvoyée pour modifications" in body


def test_the_email_speaks_the_members_language(app, client, login, cast, make_roadmap, mailbox):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    mailbox.clear()
    assert client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(cast["english_member"].id)}).status_code == 302
    [message] = mailbox.to(cast["english_member"].email)
    assert message["Subject"] == "You may now edit the roadmap Métropole de Lyon 2023–2024"


@pytest.mark.parametrize("who", ["co_coordinator", "other_territory_member", "national", "inactive_member", "coordinator"])
def test_only_members_of_the_territory_may_be_allowed(app, client, login, cast, make_roadmap, who, mailbox):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    mailbox.clear()
    response = client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(cast[who].id)})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "user_id") == ["Choisissez un membre dans la liste."]
    assert editor_ids(app, roadmap.id) == set()
    assert mailbox.messages == []
    for value in ("", "abc", str(2**40)):
        response = client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": value})
        assert response.status_code == 400 and errors_beside(response.get_data(as_text=True), "user_id")


@pytest.mark.parametrize("who", ["member", "other_coordinator", "national"])
def test_only_the_coordinators_manage_editors(app, client, login, cast, make_roadmap, who, mailbox):
    roadmap = make_roadmap(status="validated")
    with database(app) as session:
        row = session.get(Roadmap, roadmap.id)
        row.editors.append(session.get(User, cast["english_member"].id))
        session.commit()
    login(cast[who])
    assert client.get(f"/roadmaps/{roadmap.id}/editors").status_code == 403
    assert client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(cast["member"].id)}).status_code == 403
    assert client.post(f"/roadmaps/{roadmap.id}/editors/{cast['english_member'].id}/remove").status_code == 403
    assert editor_ids(app, roadmap.id) == {cast["english_member"].id}
    assert 'id="manage-editors"' not in client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)


def test_an_allowed_member_cannot_edit_once_submitted(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(status="submitted")
    login(cast["coordinator"])
    # The coordinators may still choose who will edit it when it comes back.
    assert client.post(f"/roadmaps/{roadmap.id}/editors", data={"user_id": str(cast["member"].id)}).status_code == 302
    member_client = app.test_client()
    login(cast["member"], client=member_client)
    # Frozen: the form sends them back to the roadmap page, told why (see test_roadmaps_locked.py).
    frozen = member_client.get(f"/roadmaps/{roadmap.id}/summary")
    assert frozen.status_code == 302 and frozen.headers["Location"].endswith(f"/roadmaps/{roadmap.id}")
    assert 'id="edit-summary"' not in member_client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    with database(app) as session:
        assert session.scalar(select(Roadmap.status).where(Roadmap.id == roadmap.id)) == "submitted"
