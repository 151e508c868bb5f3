"""Toolbox documents shared with a working group: who may choose which group,
who then reads the document (list, page, download, search, the group page),
and what an edit of its visibility changes.

Accounts made here speak English, so assertions read the source strings,
except where the French page itself is the point.
"""

import io
import re

import pytest
from sqlalchemy import select

from extranet.extensions import db
from extranet.groups.models import Group
from extranet.toolbox.models import Document, Visibility

from . import files as make
from .helpers import french
from .test_toolbox import document_id_from, errors_beside, form_data, stored_files, text_of

# The make_group and add_member fixtures.
pytest_plugins = ["tests.group_fixtures"]

NOT_MY_GROUP = "Choose one of your working groups: a document can be shared only with a group you belong to."
NO_GROUP = "Choose the working group to share the document with."


def logout(client):
    client.post("/auth/logout")


def publish(client, app, **overrides):
    data = form_data(app, **overrides)
    data["file"] = (io.BytesIO(make.pdf()), "Compte rendu.pdf")
    return client.post("/toolbox/new", data=data, content_type="multipart/form-data")


def edit(client, app, document_id, **overrides):
    data = form_data(app, **overrides)
    return client.post(f"/toolbox/{document_id}/edit", data=data)


def document_row(app, document_id) -> Document | None:
    with app.app_context():
        document = db.session.get(Document, document_id)
        if document is not None:
            db.session.expunge(document)
        return document


def group_options(html: str) -> dict[str, str]:
    """The options of the group select: value -> label."""
    found = re.search(r'<select[^>]*name="group_id"[^>]*>(.*?)</select>', html, re.S)
    if not found:
        return {}
    return {value: label.strip() for value, label in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', found.group(1))}


def search_titles(client, query) -> str:
    response = client.get(f"/search?q={query}")
    assert response.status_code == 200
    return text_of(response)


def archive(app, group):
    from extranet.timeutil import utcnow

    with app.app_context():
        db.session.get(Group, group.id).archived_at = utcnow()
        db.session.commit()


# --- Choosing the group ----------------------------------------------------------------------


def test_the_form_offers_my_groups_only(app, client, person, login, make_group):
    me = person("member")
    mine = make_group("Prévention des expulsions", members=[me])
    closed = make_group("Observation sociale", is_open=False, members=[me])
    make_group("Santé mentale")  # not mine
    archived = make_group("Ancien groupe", members=[me])
    archive(app, archived)
    login(me)
    page = client.get("/toolbox/new").get_data(as_text=True)
    assert 'value="group"' in page
    options = group_options(page)
    assert {label for value, label in options.items() if value} == {"Prévention des expulsions", "Observation sociale"}
    assert set(options) == {"", str(mine.id), str(closed.id)}


def test_without_a_group_the_choice_is_not_offered_and_is_refused(app, client, as_):
    as_("member")
    page = client.get("/toolbox/new").get_data(as_text=True)
    assert 'value="group"' not in page and 'name="group_id"' not in page
    response = publish(client, app, visibility="group", group_id="1")
    assert response.status_code == 400
    assert "Choose who can see the document." in errors_beside(response, "visibility")


def test_the_national_team_may_share_with_any_group(app, client, person, login, make_group):
    group = make_group("Observation sociale", is_open=False)
    animator = person("animator")
    login(animator)
    assert str(group.id) in group_options(client.get("/toolbox/new").get_data(as_text=True))
    document_id = document_id_from(publish(client, app, visibility="group", group_id=str(group.id)))
    document = document_row(app, document_id)
    assert (document.visibility, document.group_id) == (Visibility.GROUP, group.id)


@pytest.mark.parametrize("case", ["not-a-member", "archived", "unknown", "missing", "not-a-number"])
def test_a_group_one_may_not_share_with_is_refused_beside_the_field(app, client, person, login, make_group, case):
    me = person("member")
    make_group("Mon groupe", members=[me])
    other = make_group("Un autre groupe", members=[] if case == "not-a-member" else [me])
    if case == "archived":
        archive(app, other)
    login(me)
    group_id = {"unknown": "999999", "missing": "", "not-a-number": "x"}.get(case, str(other.id))
    response = publish(client, app, visibility="group", group_id=group_id)
    assert response.status_code == 400
    expected = {"missing": NO_GROUP, "not-a-number": NOT_MY_GROUP}.get(case, NOT_MY_GROUP)
    assert expected in errors_beside(response, "group_id")
    with app.app_context():
        assert db.session.scalar(select(Document.id)) is None
    assert stored_files(app) == []
    # The file waits aside: the form shown again says so.
    assert 'name="upload_token"' in response.get_data(as_text=True) and "File received" in text_of(response)


def test_the_error_beside_the_group_is_in_french(app, client, make_user, login, make_group):
    me = make_user("member", language="fr")
    make_group("Mon groupe", members=[me])
    other = make_group("Un autre groupe")
    login(me)
    response = publish(client, app, visibility="group", group_id=str(other.id))
    assert response.status_code == 400
    message = french(app, NOT_MY_GROUP)
    assert message != NOT_MY_GROUP and message in errors_beside(response, "group_id")


def test_a_group_chosen_with_another_visibility_is_not_kept(app, client, person, login, make_group):
    me = person("member")
    group = make_group("Mon groupe", members=[me])
    login(me)
    document_id = document_id_from(publish(client, app, visibility="network", group_id=str(group.id)))
    document = document_row(app, document_id)
    assert (document.visibility, document.group_id) == (Visibility.NETWORK, None)


# --- Who reads a group document -----------------------------------------------------------------


@pytest.mark.parametrize("is_open", [True, False], ids=["open-group", "closed-group"])
def test_members_of_the_group_read_it_everywhere_and_others_nowhere(app, client, person, login, make_group, is_open):
    author, fellow, outsider, animator = person("member"), person("member"), person("member"), person("animator")
    group = make_group("Prévention des expulsions", is_open=is_open, members=[author, fellow])
    login(author)
    document_id = document_id_from(publish(client, app, title="Compte rendu de la commission ccapex", visibility="group",
                                           group_id=str(group.id)))
    page = text_of(client.get(f"/toolbox/{document_id}"))
    assert re.search(r'id="document-group"', client.get(f"/toolbox/{document_id}").get_data(as_text=True))
    assert f'href="/groups/{group.slug}"' in client.get(f"/toolbox/{document_id}").get_data(as_text=True)
    assert "The working group Prévention des expulsions" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    # The national team edits every document it reads; a fellow member reads only.
    for reader, sees, edit_status in ((fellow, True, 403), (animator, True, 200), (outsider, False, 404)):
        logout(client)
        login(reader)
        status = 200 if sees else 404
        assert client.get(f"/toolbox/{document_id}").status_code == status
        assert client.get(f"/toolbox/{document_id}/download").status_code == status
        assert ("Compte rendu de la commission ccapex" in text_of(client.get("/toolbox/"))) == sees
        assert ("Compte rendu de la commission ccapex" in text_of(client.get("/toolbox/?visibility=group"))) == sees
        assert "Compte rendu de la commission ccapex" not in text_of(client.get("/toolbox/?visibility=network"))
        assert ("Compte rendu de la commission ccapex" in search_titles(client, "ccapex")) == sees
        assert ("Compte rendu de la commission ccapex" in text_of(client.get(f"/groups/{group.slug}"))) == sees
        assert client.get(f"/toolbox/{document_id}/edit").status_code == edit_status


def test_the_list_badge_names_the_group(app, client, person, login, make_group):
    me = person("member")
    group = make_group("Observation sociale", members=[me])
    login(me)
    publish(client, app, title="Tableau de bord", visibility="group", group_id=str(group.id))
    assert "Group: Observation sociale" in text_of(client.get("/toolbox/"))


def test_sharing_from_the_group_page_chooses_the_group(app, client, person, login, make_group):
    me, outsider = person("member"), person("member")
    group = make_group("Observation sociale", members=[me])
    login(me)
    page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    link = re.search(r'<a[^>]*id="share-document"[^>]*href="([^"]+)"|<a[^>]*href="([^"]+)"[^>]*id="share-document"', page)
    assert link
    form = client.get(html_unescape(link.group(1) or link.group(2))).get_data(as_text=True)
    assert re.search(r'<input[^>]*value="group"[^>]*checked|<input[^>]*checked[^>]*value="group"', form)
    assert re.search(rf'<option[^>]*selected[^>]*value="{group.id}"|<option[^>]*value="{group.id}"[^>]*selected', form)
    # Someone who may not share with the group gets neither the button nor the choice.
    logout(client)
    login(outsider)
    assert 'id="share-document"' not in client.get(f"/groups/{group.slug}").get_data(as_text=True)
    form = client.get(f"/toolbox/new?group={group.id}").get_data(as_text=True)
    assert 'value="group"' not in form


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


# --- Editing -------------------------------------------------------------------------------------


def test_from_group_to_network_and_back_the_search_follows(app, client, person, login, make_group):
    author, outsider = person("member"), person("member")
    group = make_group("Prévention des expulsions", is_open=False, members=[author])
    login(author)
    document_id = document_id_from(publish(client, app, title="Charte de la commission ccapex", visibility="group",
                                           group_id=str(group.id)))
    form = client.get(f"/toolbox/{document_id}/edit").get_data(as_text=True)
    assert re.search(rf'<option[^>]*selected[^>]*value="{group.id}"|<option[^>]*value="{group.id}"[^>]*selected', form)
    logout(client)
    login(outsider)
    assert "Charte de la commission ccapex" not in search_titles(client, "ccapex")

    logout(client)
    login(author)
    response = edit(client, app, document_id, title="Charte de la commission ccapex", visibility="network", group_id=str(group.id))
    assert response.status_code == 302
    document = document_row(app, document_id)
    assert (document.visibility, document.group_id) == (Visibility.NETWORK, None)
    logout(client)
    login(outsider)
    assert "Charte de la commission ccapex" in search_titles(client, "ccapex")
    assert client.get(f"/toolbox/{document_id}").status_code == 200

    logout(client)
    login(author)
    assert edit(client, app, document_id, title="Charte de la commission ccapex", visibility="group",
                group_id=str(group.id)).status_code == 302
    logout(client)
    login(outsider)
    assert "Charte de la commission ccapex" not in search_titles(client, "ccapex")
    assert client.get(f"/toolbox/{document_id}").status_code == 404


def test_moving_to_another_of_my_groups_changes_its_readers(app, client, person, login, make_group):
    author, first_reader, second_reader = person("member"), person("member"), person("member")
    first = make_group("Premier groupe", members=[author, first_reader])
    second = make_group("Second groupe", members=[author, second_reader])
    login(author)
    document_id = document_id_from(publish(client, app, title="Fiche pratique bail glissant", visibility="group", group_id=str(first.id)))
    assert edit(client, app, document_id, title="Fiche pratique bail glissant", visibility="group",
                group_id=str(second.id)).status_code == 302
    for reader, status in ((first_reader, 404), (second_reader, 200)):
        logout(client)
        login(reader)
        assert client.get(f"/toolbox/{document_id}").status_code == status
        assert ("Fiche pratique bail glissant" in search_titles(client, "glissant")) == (status == 200)


def test_an_author_who_left_the_group_may_keep_it_but_not_choose_it_again(app, client, person, login, make_group):
    author = person("member")
    group = make_group("Prévention des expulsions", members=[author])
    elsewhere = make_group("Autre groupe", members=[author])
    login(author)
    document_id = document_id_from(publish(client, app, title="Note", visibility="group", group_id=str(group.id)))
    client.post(f"/groups/{group.slug}/leave")
    # Still theirs: they edit its description, the group stays.
    assert edit(client, app, document_id, title="Note revue", visibility="group", group_id=str(group.id)).status_code == 302
    document = document_row(app, document_id)
    assert (document.title, document.group_id) == ("Note revue", group.id)
    # Once moved to another group, the one they left cannot be chosen again.
    assert edit(client, app, document_id, title="Note revue", visibility="group", group_id=str(elsewhere.id)).status_code == 302
    response = edit(client, app, document_id, title="Note revue", visibility="group", group_id=str(group.id))
    assert response.status_code == 400 and NOT_MY_GROUP in errors_beside(response, "group_id")
    assert document_row(app, document_id).group_id == elsewhere.id


def test_the_service_checks_the_group_too(app, person, make_group):
    """A form can be posted by hand: the service refuses a group the actor may not share with."""
    from extranet.auth.models import User
    from extranet.auth.services import ServiceError
    from extranet.plan.models import Axis
    from extranet.toolbox import services

    me = person("member")
    make_group("Mon groupe", members=[me])
    other = make_group("Un autre groupe")
    with app.app_context(), app.test_request_context():
        actor = db.session.get(User, me.id)
        upload = services.receive_upload(io.BytesIO(make.txt("Texte")), "note.txt", 10**6)
        axis_ids = [db.session.scalar(select(Axis.id).where(Axis.number == 3))]
        with pytest.raises(ServiceError) as refused:
            services.publish(actor, title="Note", summary="Résumé", type="guide", axis_ids=axis_ids,
                             visibility=Visibility.GROUP, group_id=other.id, upload=upload)
        assert refused.value.field == "group_id"
        upload.discard()
