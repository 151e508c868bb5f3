"""A roadmap frozen while someone was editing it (issue 6: "two people editing
at once never silently overwrite each other ... their text kept"). An allowed
editor opens one of the roadmap's forms, the coordinator submits the roadmap
meanwhile (or the national team validates it), the editor posts: they are told
why in French and get their text back to copy (409), nothing is saved, and no
button offers to save it. Those who could never edit the roadmap are still
refused (403)."""

import html as html_lib

import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.plan.models import Axis
from extranet.roadmaps import services
from extranet.roadmaps.models import (
    BudgetLine,
    IndicatorValue,
    Roadmap,
    RoadmapAction,
    RoadmapIndicator,
    RoadmapPartner,
    RoadmapStatus,
)
from tests.helpers import database, french, parse

pytest_plugins = ["tests.roadmap_fixtures"]

TYPED = "Texte soigneusement tapé pendant une heure"
SUBMITTED_KEPT = ("This roadmap has been submitted meanwhile: it can no longer be changed while the national team "
                  "reviews it. Your text is kept below so that you can copy it.")
VALIDATED_KEPT = ("This roadmap has been validated meanwhile: it can no longer be changed. "
                  "Your text is kept below so that you can copy it.")
SUBMITTED = "This roadmap has been submitted: it can no longer be changed while the national team reviews it."


@pytest.fixture
def cast(app, make_user):
    """Lyon's coordinator; a member of Lyon allowed to edit (once ``allow()`` is
    called) and one not allowed; Nantes' coordinator; the national team."""
    return {
        "coordinator": make_user("coordinator", territory="lyon"),
        "editor": make_user("member", territory="lyon"),
        "member": make_user("member", territory="lyon"),
        "other_territory": make_user("coordinator", territory="nantes"),
        "national": make_user("admin"),
    }


def allow(app, roadmap, user):
    with database(app) as session:
        stored = session.get(Roadmap, roadmap.id)
        stored.editors.append(session.get(User, user.id))
        session.commit()


def ids(app, roadmap) -> dict:
    """The rows the URLs name: build_roadmap()'s first action, its own
    indicator, and the value reported on its shared indicator."""
    with database(app) as session:
        rid = roadmap.id
        return {
            "id": rid,
            "action": session.scalar(select(RoadmapAction.id).where(RoadmapAction.roadmap_id == rid)
                                     .order_by(RoadmapAction.position)),
            "own": session.scalar(select(RoadmapIndicator.id).where(
                RoadmapIndicator.roadmap_id == rid, RoadmapIndicator.indicator_id.is_(None))),
            "shared": session.scalar(select(RoadmapIndicator.id).where(
                RoadmapIndicator.roadmap_id == rid, RoadmapIndicator.indicator_id.is_not(None))),
            "value": session.scalar(select(IndicatorValue.id).join(RoadmapIndicator).where(RoadmapIndicator.roadmap_id == rid)),
            "axis": session.scalar(select(Axis.id).where(Axis.number == 12)),
        }


def stored(app, roadmap) -> tuple:
    """What the roadmap holds that these forms change: its version and every text."""
    with database(app) as session:
        found = session.get(Roadmap, roadmap.id)
        texts = [found.context, found.strategy, found.budget_note]
        texts += session.scalars(select(RoadmapPartner.name).where(RoadmapPartner.roadmap_id == roadmap.id)).all()
        texts += session.scalars(select(RoadmapAction.title).where(RoadmapAction.roadmap_id == roadmap.id)).all()
        for indicator in session.scalars(select(RoadmapIndicator).where(RoadmapIndicator.roadmap_id == roadmap.id)):
            texts += [indicator.name, indicator.objective] + [v.comment for v in indicator.values]
        texts += session.scalars(select(BudgetLine.actions).where(BudgetLine.roadmap_id == roadmap.id)).all()
        return found.version, str(found.status), sorted(str(t) for t in texts if t)


def action_data(ids) -> dict:
    return {"axis": str(ids["axis"]), "title": TYPED, "description": "", "origin": "new", "lead_organisation": "",
            "partners": "", "starts_on": "", "ends_on": "", "status": "to_start"}


def budget_data(ids) -> dict:
    data = {f"{kind}_{part}": "" for kind in ("coordinator", "engineering", "social_observation", "social_intervention",
                                               "communication", "other") for part in ("actions", "total", "share")}
    data.update({"coordinator_actions": TYPED, "coordinator_total": "60000", "coordinator_share": "30000"})
    return data


# (URL, what the editor typed): every form of the roadmap with text in it.
FORMS = {
    "summary": ("/roadmaps/{id}/summary", lambda ids: {"context": TYPED, "strategy": "", "budget_note": ""}),
    "partners": ("/roadmaps/{id}/partners", lambda ids: {"kind_siao": "y", "names_siao": TYPED}),
    "new_action": ("/roadmaps/{id}/actions/new", action_data),
    "edit_action": ("/roadmaps/{id}/actions/{action}/edit", action_data),
    "new_indicator": ("/roadmaps/{id}/indicators/new",
                      lambda ids: {"shared": "", "name": TYPED, "unit": "ménages", "objective": "", "target_2023": "10"}),
    "edit_indicator": ("/roadmaps/{id}/indicators/{own}/edit",
                       lambda ids: {"name": TYPED, "unit": "%", "objective": "", "target_2023": "30"}),
    "values": ("/roadmaps/{id}/indicators/{shared}/values",
               lambda ids: {"period_kind": "quarter", "quarter": "2024-2", "value": "12", "comment": TYPED}),
    "edit_value": ("/roadmaps/{id}/indicators/{shared}/values/{value}/edit",
                   lambda ids: {"period_kind": "quarter", "quarter": "2023-1", "value": "41", "comment": TYPED}),
    "budget": ("/roadmaps/{id}/budget", budget_data),
}


def page_text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def alerts(response) -> str:
    """The flashed messages, spaces made plain."""
    return plain(" ".join(n.text() for n in parse(response.get_data(as_text=True)).iter() if "fr-alert" in n.classes))


def save_buttons(response, url):
    form = next(n for n in parse(response.get_data(as_text=True)).iter() if n.tag == "form" and n.attrs.get("action") == url)
    return [n for n in form.iter() if n.tag == "button" and n.attrs.get("type") == "submit"]


def read_version(response) -> str:
    node = next(n for n in parse(response.get_data(as_text=True)).iter() if n.attrs.get("name") == "version")
    return node.attrs["value"]


@pytest.mark.parametrize("name", FORMS)
def test_an_editor_overtaken_by_the_submission_keeps_their_text(app, client, login, cast, make_roadmap, name):
    roadmap = make_roadmap()
    allow(app, roadmap, cast["editor"])
    known = ids(app, roadmap)
    path, typed = FORMS[name]
    url = path.format(**known)

    login(cast["editor"])
    opened = client.get(url)
    assert opened.status_code == 200
    data = {**typed(known), "version": read_version(opened)}

    # Meanwhile, the coordinator submits it through the roadmap page.
    coordinator = app.test_client()
    login(cast["coordinator"], client=coordinator)
    assert coordinator.post(f"/roadmaps/{roadmap.id}/submit", data={"version": data["version"]}).status_code == 302
    before = stored(app, roadmap)
    assert before[1] == "submitted"

    response = client.post(url, data=data)
    assert response.status_code == 409
    assert plain(french(app, SUBMITTED_KEPT)) in alerts(response)
    assert "Votre texte est conservé ci-dessous" in alerts(response)
    assert TYPED in page_text(response)
    buttons = save_buttons(response, url)
    assert buttons and all("disabled" in b.attrs for b in buttons)
    assert stored(app, roadmap) == before
    assert TYPED not in str(before)

    # Opening the form again leads to the roadmap page, which says why.
    reopened = client.get(url)
    assert reopened.status_code == 302 and reopened.headers["Location"].endswith(f"/roadmaps/{roadmap.id}")
    assert plain(french(app, SUBMITTED)) in alerts(client.get(f"/roadmaps/{roadmap.id}"))

    # Those who could never edit it are refused, as before (a member of the
    # territory the coordinator did not allow: they read the roadmap, no more).
    outsider = app.test_client()
    login(cast["member"], client=outsider)
    assert outsider.get(url).status_code == 403
    assert outsider.post(url, data=data).status_code == 403
    assert stored(app, roadmap) == before

    # Once sent back, the copied text saves (the form's data was right all along).
    with app.app_context(), app.test_request_context():
        services.send_back(db.session.get(User, cast["national"].id), db.session.get(Roadmap, roadmap.id), "Précisez.")
        db.session.commit()
    data["version"] = str(stored(app, roadmap)[0])
    assert client.post(url, data=data).status_code == 302
    assert TYPED in str(stored(app, roadmap))


def test_validated_meanwhile_says_so(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(status="submitted")
    allow(app, roadmap, cast["editor"])
    with app.app_context(), app.test_request_context():
        services.send_back(db.session.get(User, cast["national"].id), db.session.get(Roadmap, roadmap.id), "Précisez.")
        db.session.commit()
    login(cast["editor"])
    url = f"/roadmaps/{roadmap.id}/summary"
    data = {"context": TYPED, "strategy": "", "budget_note": "", "version": read_version(client.get(url))}
    with app.app_context(), app.test_request_context():
        found = db.session.get(Roadmap, roadmap.id)
        services.submit(db.session.get(User, cast["coordinator"].id), found, found.version)
        services.validate(db.session.get(User, cast["national"].id), found)
        db.session.commit()
    before = stored(app, roadmap)

    response = client.post(url, data=data)
    assert response.status_code == 409
    assert plain(french(app, VALIDATED_KEPT)) in alerts(response)
    assert TYPED in page_text(response)
    assert stored(app, roadmap) == before


def test_values_are_still_reported_on_a_validated_roadmap(app, client, login, cast, make_roadmap):
    """Only the review freezes the values reached: once validated they are reported again."""
    roadmap = make_roadmap(status="validated")
    allow(app, roadmap, cast["editor"])
    known = ids(app, roadmap)
    login(cast["editor"])
    url = FORMS["values"][0].format(**known)
    data = {**FORMS["values"][1](known), "version": read_version(client.get(url))}
    assert client.post(url, data=data).status_code == 302
    assert TYPED in str(stored(app, roadmap))


@pytest.mark.parametrize("what", ["action", "indicator", "value"])
def test_a_deletion_after_the_submission_is_explained_not_refused(app, client, login, cast, make_roadmap, what):
    roadmap = make_roadmap()
    allow(app, roadmap, cast["editor"])
    known = ids(app, roadmap)
    url = {
        "action": "/roadmaps/{id}/actions/{action}/delete",
        "indicator": "/roadmaps/{id}/indicators/{own}/delete",
        "value": "/roadmaps/{id}/indicators/{shared}/values/{value}/delete",
    }[what].format(**known)
    with app.app_context(), app.test_request_context():
        found = db.session.get(Roadmap, roadmap.id)
        services.submit(db.session.get(User, cast["coordinator"].id), found, found.version)
        db.session.commit()
    before = stored(app, roadmap)

    login(cast["editor"])
    response = client.post(url, data={"version": before[0]})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/roadmaps/{roadmap.id}")
    assert plain(french(app, SUBMITTED)) in alerts(client.get(f"/roadmaps/{roadmap.id}"))
    assert stored(app, roadmap) == before
    with database(app) as session:
        assert session.get({"action": RoadmapAction, "indicator": RoadmapIndicator, "value": IndicatorValue}[what],
                           known[{"action": "action", "indicator": "own", "value": "value"}[what]]) is not None

    outsider = app.test_client()
    login(cast["member"], client=outsider)
    assert outsider.post(url, data={"version": before[0]}).status_code == 403


def test_the_coordinator_is_overtaken_too(app, client, login, cast, make_user, make_roadmap):
    """A second coordinator of the territory submits while the first edits."""
    roadmap = make_roadmap()
    second = make_user("coordinator", territory="lyon")
    login(cast["coordinator"])
    url = f"/roadmaps/{roadmap.id}/actions/new"
    known = ids(app, roadmap)
    data = {**action_data(known), "version": read_version(client.get(url))}
    with app.app_context(), app.test_request_context():
        found = db.session.get(Roadmap, roadmap.id)
        services.submit(db.session.get(User, second.id), found, found.version)
        db.session.commit()
    assert stored(app, roadmap)[1] == str(RoadmapStatus.SUBMITTED)
    response = client.post(url, data=data)
    assert response.status_code == 409
    assert TYPED in page_text(response)


@pytest.mark.parametrize("role", ["other_territory", "national"])
def test_those_who_never_edit_are_still_refused(app, client, login, cast, make_roadmap, role):
    roadmap = make_roadmap(status="submitted")
    known = ids(app, roadmap)
    before = stored(app, roadmap)
    login(cast[role])
    for name, (path, typed) in FORMS.items():
        url = path.format(**known)
        assert client.get(url).status_code == 403, name
        assert client.post(url, data={**typed(known), "version": before[0]}).status_code == 403, name
    assert stored(app, roadmap) == before
