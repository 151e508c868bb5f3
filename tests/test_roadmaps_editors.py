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
    assert member_client.get(f"/roadmaps/{roadmap.id}/summary").status_code == 403
    assert 'id="edit-summary"' not in member_client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    with database(app) as session:
        assert session.scalar(select(Roadmap.status).where(Roadmap.id == roadmap.id)) == "submitted"
