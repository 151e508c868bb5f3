"""Roadmaps in the platform's search (issue 6, point 6): a roadmap and each of
its actions are found by their French words under the kind "Feuille de
route"; a draft, submitted or returned roadmap only by its territory and the
national team — in hits, facet counts and after a rebuild — and the index
follows edits, validation and deletion."""

from sqlalchemy import select

from extranet import permissions
from extranet.auth.models import User
from extranet.extensions import db
from extranet.roadmaps import services
from extranet.roadmaps.models import Roadmap, RoadmapAction
from extranet.search import all_entries, get_engine

from .group_helpers import search_keys, settled, text_of
from .helpers import parse

pytest_plugins = ["tests.roadmap_fixtures"]

EXPULSIONS = "Commission de prévention des expulsions"  # an action of build_roadmap(), on axis 12


def action_key(app, roadmap, title=EXPULSIONS) -> str:
    with app.app_context():
        action_id = db.session.scalar(
            select(RoadmapAction.id).where(RoadmapAction.roadmap_id == roadmap.id, RoadmapAction.title == title)
        )
        return f"roadmap_action:{action_id}"


def facets(app, user, text) -> dict:
    settled(app)
    with app.app_context():
        reader = db.session.get(User, user.id)
        results = get_engine(app).query(text, access=permissions.access_tokens(reader), per_page=100)
        return {name: dict(values) for name, values in results.facets.items()}


def test_a_draft_is_found_by_its_territory_and_the_national_team_only(app, make_user, make_roadmap):
    roadmap = make_roadmap("lyon", "draft")
    key = action_key(app, roadmap)
    lyon, nantes = make_user("member", territory="lyon"), make_user("coordinator", territory="nantes")
    animator = make_user("animator")
    for reader in (lyon, animator):
        assert search_keys(app, reader, "prévention des expulsions") == [key]
        assert f"roadmap:{roadmap.id}" in search_keys(app, reader, "hébergement")  # the context's words
        # Partners by their name and by their kind's French label.
        assert search_keys(app, reader, '"Grand Lyon Habitat"') == [f"roadmap:{roadmap.id}"]
        assert search_keys(app, reader, "bailleurs") == [f"roadmap:{roadmap.id}"]
    assert search_keys(app, nantes, "expulsions") == []
    assert search_keys(app, nantes, "hébergement") == []
    # Not even counted in the facets.
    assert facets(app, nantes, "expulsions").get("kind", {}) == {}
    assert facets(app, lyon, "expulsions")["kind"] == {"roadmap": 1}
    assert facets(app, lyon, "expulsions")["axes"] == {12: 1}


def test_validation_opens_the_roadmap_and_its_actions_to_the_network(app, client, login, make_user, make_roadmap):
    roadmap = make_roadmap("lyon", "submitted")
    key = action_key(app, roadmap)
    nantes = make_user("member", territory="nantes")
    admin = make_user("admin")
    assert search_keys(app, nantes, "expulsions") == []
    with app.app_context(), app.test_request_context():
        services.validate(db.session.get(User, admin.id), db.session.get(Roadmap, roadmap.id))
        db.session.commit()
    assert search_keys(app, nantes, "expulsions") == [key]
    assert f"roadmap:{roadmap.id}" in search_keys(app, nantes, "urbain")
    # The results page names the kind as a roadmap and leads to the action on its roadmap's page.
    assert login(nantes).status_code == 302
    response = client.get("/search", query_string={"q": "expulsions"})
    assert response.status_code == 200
    links = [n.attrs.get("href") for n in parse(response.get_data(as_text=True)).iter() if n.tag == "a"]
    assert f"/roadmaps/{roadmap.id}#action-{key.split(':')[1]}" in links
    assert "Feuille de route" in text_of(response)


def test_the_index_follows_edits_and_deletions(app, make_user, make_roadmap):
    roadmap = make_roadmap("lyon", "draft")
    key = action_key(app, roadmap)
    member = make_user("member", territory="lyon")
    with app.app_context():
        action = db.session.get(RoadmapAction, int(key.split(":")[1]))
        action.title = "Équipe mobile de maintien dans le logement"
        services.touch(action.roadmap)
        db.session.commit()
    assert search_keys(app, member, "maintien") == [key]
    assert search_keys(app, member, "commission") == []
    with app.app_context():
        action = db.session.get(RoadmapAction, int(key.split(":")[1]))
        parent = action.roadmap
        parent.actions.remove(action)
        services.touch(parent)
        db.session.commit()
    assert search_keys(app, member, "maintien") == []
    # The roadmap's own entry no longer lists axis 12 (it had no other action there).
    assert facets(app, member, "urbain")["axes"] == {3: 1}
    with app.app_context():
        db.session.delete(db.session.get(Roadmap, roadmap.id))
        db.session.commit()
    assert search_keys(app, member, "urbain") == [] and search_keys(app, member, "captation") == []


def test_a_rebuild_keeps_the_same_rules(app, make_roadmap):
    draft, validated = make_roadmap("lyon", "draft"), make_roadmap("nantes", "validated")
    with app.app_context():
        entries = {entry.key: entry for entry in all_entries(db.session)}
        lyon_action = entries[action_key(app, draft)]
        nantes_action = entries[action_key(app, validated)]
        lyon_territory = db.session.get(Roadmap, draft.id).territory_id
    assert lyon_action.access == {permissions.territory_token(lyon_territory), permissions.NATIONAL}
    assert nantes_action.access == {permissions.NETWORK}
    assert entries[f"roadmap:{draft.id}"].kind == "roadmap" and lyon_action.type == "action"


def test_a_deactivated_or_territoryless_account_holds_no_territory_token(app, make_user):
    with app.app_context():
        member = db.session.get(User, make_user("member", territory="lyon").id)
        assert permissions.territory_token(member.territory_id) in permissions.access_tokens(member)
        animator = db.session.get(User, make_user("animator").id)
        assert not any(t.startswith("territory:") for t in permissions.access_tokens(animator))
        member.active = False
        assert permissions.access_tokens(member) == set()


def test_a_renamed_territory_is_found_under_its_new_name(app, make_user, make_roadmap):
    roadmap = make_roadmap("lyon", "validated")
    key = action_key(app, roadmap)
    reader = make_user("member", territory="nantes")
    with app.app_context():
        db.session.get(Roadmap, roadmap.id).territory.name = "Métropole de Lugdunum"
        db.session.commit()
    # The roadmap by its title, its actions by the name they carry beside their own.
    assert set(search_keys(app, reader, "Lugdunum")) >= {f"roadmap:{roadmap.id}", key}
    assert search_keys(app, reader, "Lugdunum expulsions") == [key]
