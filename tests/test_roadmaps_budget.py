"""The budget of a roadmap (issue 6, point 1, fiche 5): the six expense lines
with their totals on the roadmap page, amounts typed as French people write
them, the 50/50 co-financing of the coordinator post and a territory's share
above the total refused beside their field with nothing saved (who may edit
it: with the rights on indicators, in test_roadmaps_indicators.py), and an
edit from a stale read keeping what was typed."""

import re

import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.roadmaps import services
from extranet.roadmaps.models import BudgetLine, BudgetLineKind, Roadmap
from tests.helpers import errors_beside, parse

pytest_plugins = ["tests.roadmap_fixtures"]

KINDS = [kind.value for kind in BudgetLineKind]


@pytest.fixture
def cast(app, make_user):
    return {
        "coordinator": make_user("coordinator", territory="lyon"),
        "editor": make_user("member", territory="lyon"),
        "member": make_user("member", territory="lyon"),
        "other_territory": make_user("coordinator", territory="nantes"),
        "national": make_user("admin"),
    }


def version_of(app, roadmap) -> int:
    with app.app_context():
        return db.session.get(Roadmap, roadmap.id).version


def lines_of(app, roadmap) -> dict[str, tuple]:
    with app.app_context():
        return {
            str(line.kind): (line.actions, line.total_cost_cents, line.territory_share_cents)
            for line in db.session.scalars(select(BudgetLine).where(BudgetLine.roadmap_id == roadmap.id))
        }


def plain(text: str) -> str:
    """French figures with their narrow and non-breaking spaces made plain."""
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " "))


def budget_data(app, roadmap, **lines) -> dict:
    """The form as posted: every line empty but those given as kind=(actions, total, share)."""
    data = {"version": version_of(app, roadmap)}
    for kind in KINDS:
        actions, total, share = lines.get(kind, ("", "", ""))
        data.update({f"{kind}_actions": actions, f"{kind}_total": total, f"{kind}_share": share})
    return data


def node(html: str, id_: str):
    return next(n for n in parse(html).iter() if n.attrs.get("id") == id_)


def test_the_roadmap_page_shows_the_six_lines_and_their_totals_in_euros(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(status="validated")  # readable by every member of the network
    login(cast["other_territory"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    table = node(html, "budget-table")
    rows = [plain(r.text()) for r in table.iter() if r.tag == "tr"]
    # Header, the four lines filled in fiche 5's order (the two empty ones left out), total.
    assert len(rows) == 1 + 4 + 1
    assert rows[1].startswith("Poste de coordinateur / animateur")
    assert "60 000,00 € 30 000,00 € 30 000,00 €" in rows[1]
    assert rows[2].startswith("Ingénierie de projet")
    assert not any(r.startswith("Mesures d'intervention sociale") for r in rows)
    assert rows[3].startswith("Observation sociale") and "12 345,67 € 0,00 € 12 345,67 €" in rows[3]
    assert rows[4].startswith("Communication")
    assert rows[-1] == "Total 105 345,67 € 39 000,00 € 66 345,67 €"
    assert not any("budget-problem" in n.classes for n in parse(html).iter())
    assert 'id="edit-budget"' not in html


def test_a_stored_budget_that_breaks_the_rule_is_flagged_on_the_page(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    with app.app_context():
        line = db.session.scalar(select(BudgetLine).where(BudgetLine.roadmap_id == roadmap.id, BudgetLine.kind == BudgetLineKind.COORDINATOR))
        line.territory_share_cents = 10_000_00
        db.session.commit()
    login(cast["coordinator"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    warning = plain(node(html, "budget-problem-coordinator").text())
    assert "cofinancé à 50/50" in warning and "30 000,00 €" in warning and "10 000,00 €" in warning
    assert 'id="edit-budget"' in html


def test_amounts_typed_as_people_write_them(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    login(cast["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/budget").get_data(as_text=True)
    assert 'value="60000"' in page and 'value="12345,67"' in page  # stored amounts, ready to edit
    response = client.post(f"/roadmaps/{roadmap.id}/budget", data=budget_data(
        app, roadmap,
        coordinator=("Coordinatrice à temps plein", "60 000 €", "30000"),
        engineering=("Étude de préfiguration", "25\u202f000,50", "5 000.5"),
        social_intervention=("Équipe mobile", "100000", ""),
        # social_observation and communication left empty: removed
    ))
    assert response.status_code == 302 and response.location.endswith("#section-budget")
    assert lines_of(app, roadmap) == {
        "coordinator": ("Coordinatrice à temps plein", 6_000_000, 3_000_000),
        "engineering": ("Étude de préfiguration", 2_500_050, 500_050),
        "social_intervention": ("Équipe mobile", 10_000_000, 0),
    }
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    rows = [plain(r.text()) for r in node(html, "budget-table").iter() if r.tag == "tr"]
    assert rows[-1] == "Total 185 000,50 € 35 000,50 € 150 000,00 €"


def test_the_coordinator_post_must_be_cofinanced_50_50(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    before = lines_of(app, roadmap)
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/budget", data=budget_data(
        app, roadmap, coordinator=("Un poste", "60 000", "20 000"), engineering=("Étude", "1000", "0"),
    ))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    [message] = errors_beside(html, "coordinator_share")
    assert plain(message) == (
        "Le poste de coordinateur doit être cofinancé à 50/50 par l'État et la collectivité : "
        "la part de la collectivité devrait être de 30 000,00 €, et non de 20 000,00 €."
    )
    assert errors_beside(html, "engineering_share") == []
    assert 'value="20 000"' in html  # kept as typed
    assert lines_of(app, roadmap) == before  # nothing saved, not even the other line

    # One cent either way is accepted when the total is odd.
    response = client.post(f"/roadmaps/{roadmap.id}/budget", data=budget_data(
        app, roadmap, coordinator=("Un poste", "60 000,01", "30 000")))
    assert response.status_code == 302


def test_a_share_above_the_total_is_refused_beside_it(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    before = lines_of(app, roadmap)
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/budget", data=budget_data(
        app, roadmap, coordinator=("Un poste", "60000", "30000"), communication=("Site", "1 000", "1 500")))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert errors_beside(html, "communication_share") == ["La part de la collectivité ne peut pas dépasser le coût total."]
    assert errors_beside(html, "coordinator_share") == []
    assert lines_of(app, roadmap) == before


def test_amounts_that_are_not_amounts_are_refused_in_french(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    before = lines_of(app, roadmap)
    typed = {
        "engineering_total": ("-500", "Un montant ne peut pas être négatif."),
        "social_intervention_total": ("mille euros", "Saisissez un montant en euros, par exemple 60 000 ou 12 500,50."),
        "social_observation_share": ("12,345", "Saisissez un montant en euros, par exemple 60 000 ou 12 500,50."),
        "monitoring_evaluation_total": ("1000000000000", "Saisissez un montant inférieur à mille milliards d'euros."),
    }
    login(cast["coordinator"])
    data = budget_data(app, roadmap, coordinator=("Un poste", "60000", "30000"))
    data.update({field: text for field, (text, _message) in typed.items()})
    response = client.post(f"/roadmaps/{roadmap.id}/budget", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field, (text, message) in typed.items():
        assert errors_beside(html, field) == [message], field
        assert f'value="{text}"' in html
    assert errors_beside(html, "coordinator_total") == []
    assert lines_of(app, roadmap) == before


def test_a_budget_saved_from_a_stale_read_keeps_what_was_typed(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    stale = version_of(app, roadmap)
    with app.app_context():
        services.update_summary(db.session.get(User, cast["coordinator"].id), db.session.get(Roadmap, roadmap.id),
                                stale, budget_note="Crédits de droit commun : 200 000 €")
        db.session.commit()
    before = lines_of(app, roadmap)
    login(cast["coordinator"])
    data = budget_data(app, roadmap, coordinator=("Une coordinatrice tapée à la main", "70000", "35000"))
    data["version"] = stale
    response = client.post(f"/roadmaps/{roadmap.id}/budget", data=data)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Une coordinatrice tapée à la main" in html and 'value="70000"' in html
    assert lines_of(app, roadmap) == before
    current = node(html, "version").attrs["value"]
    assert int(current) == version_of(app, roadmap)
    data["version"] = current
    assert client.post(f"/roadmaps/{roadmap.id}/budget", data=data).status_code == 302
    assert lines_of(app, roadmap) == {"coordinator": ("Une coordinatrice tapée à la main", 7_000_000, 3_500_000)}


def test_a_roadmap_number_beyond_the_database_is_404(app, client, login, cast):
    login(cast["coordinator"])
    assert client.get(f"/roadmaps/{2**31}/budget").status_code == 404
    assert client.post(f"/roadmaps/{2**31 + 7}/budget", data={}).status_code == 404
