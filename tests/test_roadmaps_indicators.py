"""Objectives and indicators of a roadmap (issue 6, point 1, fiche 4): who may
add, change and delete indicators and report their values in each status
(values also on a validated roadmap, without a new submission); targets and
values typed with a decimal comma; quarters and their dates; one value per
period; the roadmap page adding up what was reached against the year's target;
an edit from a stale read keeps what was typed."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.roadmaps import indicators, services
from extranet.roadmaps.models import (
    Aggregation,
    Indicator,
    IndicatorTarget,
    IndicatorValue,
    Roadmap,
    RoadmapIndicator,
    RoadmapStatus,
)
from tests.helpers import errors_beside, parse

pytest_plugins = ["tests.roadmap_fixtures"]

STATUSES = ("draft", "returned", "submitted", "validated")
ROLES = ("coordinator", "editor", "member", "other_territory", "national")
EDITORS = ("coordinator", "editor")
HUGE = 2**31 + 5


@pytest.fixture
def cast(app, make_user):
    """Lyon's coordinator; a member of Lyon its coordinator allows to edit (once
    ``allow()`` is called) and one not allowed; the coordinator of Nantes; the national team."""
    return {
        "coordinator": make_user("coordinator", territory="lyon"),
        "editor": make_user("member", territory="lyon"),
        "member": make_user("member", territory="lyon"),
        "other_territory": make_user("coordinator", territory="nantes"),
        "national": make_user("admin"),
    }


def allow(app, roadmap, user):
    with app.app_context():
        stored = db.session.get(Roadmap, roadmap.id)  # held: the session keeps objects weakly
        stored.editors.append(db.session.get(User, user.id))
        db.session.commit()


def version_of(app, roadmap) -> int:
    with app.app_context():
        return db.session.get(Roadmap, roadmap.id).version


def shared_indicator_id(app, roadmap) -> int:
    """The roadmap's indicator of the national list (build_roadmap's first)."""
    with app.app_context():
        return db.session.scalar(select(RoadmapIndicator.id).where(
            RoadmapIndicator.roadmap_id == roadmap.id, RoadmapIndicator.indicator_id.is_not(None)))


def own_indicator_id(app, roadmap) -> int:
    with app.app_context():
        return db.session.scalar(select(RoadmapIndicator.id).where(
            RoadmapIndicator.roadmap_id == roadmap.id, RoadmapIndicator.indicator_id.is_(None)))


def values_of(app, indicator_id) -> list[tuple]:
    with app.app_context():
        return [
            (v.period_label, v.period_start, v.period_end, v.value, v.comment)
            for v in db.session.scalars(select(IndicatorValue).where(IndicatorValue.roadmap_indicator_id == indicator_id)
                                        .order_by(IndicatorValue.period_start))
        ]


def text_of(html: str) -> str:
    """The page's text with French spaces made plain, for reading figures."""
    return re.sub(r"\s+", " ", parse(html).text().replace("\u202f", " ").replace("\u00a0", " "))


def section(html: str, name: str):
    return next(n for n in parse(html).iter() if n.attrs.get("id") == f"section-{name}")


# --- Rights per role and status -------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_who_edits_indicators_and_the_budget_and_who_reports_values(app, client, login, cast, make_roadmap, status):
    """Per status, each role in turn (those refused first: what they try must change nothing)."""
    roadmap = make_roadmap(status=status)
    allow(app, roadmap, cast["editor"])
    indicator_id = own_indicator_id(app, roadmap)
    with app.app_context():
        budget_before = [(str(b.kind), b.total_cost_cents) for b in db.session.get(Roadmap, roadmap.id).budget_lines]
    reported = 0
    for role, quarter in zip(("member", "other_territory", "national", "editor", "coordinator"), ("2023-1", "2023-2", "2023-3", "2023-4", "2024-1")):
        login(cast[role])
        may_edit = role in EDITORS and status in ("draft", "returned")
        may_report = role in EDITORS and status in ("draft", "returned", "validated")
        # Editors of a roadmap frozen meanwhile are told so, not refused (test_roadmaps_locked.py).
        frozen = role in EDITORS
        pages = {
            f"/roadmaps/{roadmap.id}/indicators/new": may_edit,
            f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/edit": may_edit,
            f"/roadmaps/{roadmap.id}/budget": may_edit,
            f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values": may_report,
        }
        for url, allowed in pages.items():
            assert client.get(url).status_code == (200 if allowed else 302 if frozen else 403), (role, url)

        # Posting is refused the same way, and changes nothing.
        response = client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values", data={
            "version": version_of(app, roadmap), "period_kind": "quarter", "quarter": quarter, "value": "12",
        })
        assert response.status_code == (302 if may_report else 409 if frozen else 403), role
        reported += may_report
        assert len(values_of(app, indicator_id)) == reported
        response = client.post(f"/roadmaps/{roadmap.id}/budget", data={
            "version": version_of(app, roadmap), "communication_total": "10", "communication_share": "5",
            "coordinator_total": "60000", "coordinator_share": "30000",
        })
        assert response.status_code == (302 if may_edit else 409 if frozen else 403), role
        if role != "editor":  # the coordinator comes last: then the indicator may go
            assert client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/delete").status_code == (302 if may_edit or frozen else 403)
        with app.app_context():
            stored = db.session.get(Roadmap, roadmap.id)
            assert stored.status == RoadmapStatus(status)  # whatever happened
            if not may_edit:
                assert [(str(b.kind), b.total_cost_cents) for b in stored.budget_lines] == budget_before
                assert db.session.get(RoadmapIndicator, indicator_id) is not None
        client.post("/auth/logout")
    with app.app_context():
        assert (db.session.get(RoadmapIndicator, indicator_id) is None) == (status in ("draft", "returned"))


def test_the_roadmap_page_shows_edit_links_only_to_who_may_use_them(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(status="validated")
    login(cast["coordinator"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    links = [n.attrs.get("href", "") for n in section(html, "indicators").iter() if n.tag == "a"]
    assert any(link.endswith("/values") for link in links)
    assert not any("/edit" in link or link.endswith("/indicators/new") for link in links)

    client.post("/auth/logout")
    login(cast["other_territory"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    links = [n.attrs.get("href", "") for n in section(html, "indicators").iter() if n.tag == "a"]
    assert not any("/indicators/" in link for link in links)


def test_reporting_on_a_validated_roadmap_keeps_it_validated_and_its_versions_frozen(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(status="validated")
    indicator_id = shared_indicator_id(app, roadmap)
    with app.app_context():
        stored = db.session.get(Roadmap, roadmap.id)
        frozen = [dict(v.snapshot) for v in stored.versions]
        before = stored.version
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values", data={
        "version": before, "period_kind": "quarter", "quarter": "2023-2", "value": "35", "comment": "Chiffres du SIAO",
    })
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Roadmap, roadmap.id)
        assert stored.status == RoadmapStatus.VALIDATED
        assert stored.version > before  # concurrent edits still conflict
        assert stored.updated_by_id == cast["coordinator"].id
        assert [v.snapshot for v in stored.versions] == frozen
        assert len(stored.versions) == 1  # no new submission
        live = services.snapshot(stored)
        reported = next(i for i in live["indicators"] if i["id"] == indicator_id)["values"]
        assert [v["value"] for v in reported] == ["40", "35"]


# --- Indicators: own and national, targets --------------------------------------------------------


def test_an_own_indicator_with_targets_typed_with_a_comma(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(cast["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/indicators/new").get_data(as_text=True)
    assert {"target_2023", "target_2024"} <= {n.attrs.get("id") for n in parse(page).iter()}
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/new", data={
        "version": version_of(app, roadmap), "shared": "", "name": "Places en intermédiation locative",
        "unit": "places", "objective": "Développer l'IML dans le parc privé.",
        "target_2023": "1 500,5", "target_2024": "2000.25",
    })
    assert response.status_code == 302 and response.location.endswith("#section-indicators")
    with app.app_context():
        indicator = db.session.scalar(select(RoadmapIndicator).where(RoadmapIndicator.roadmap_id == roadmap.id))
        assert (indicator.name, indicator.unit, indicator.indicator_id) == ("Places en intermédiation locative", "places", None)
        assert {t.year: t.value for t in indicator.targets} == {2023: Decimal("1500.5"), 2024: Decimal("2000.25")}
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    shown = text_of(section(html, "indicators").text())
    assert "Places en intermédiation locative" in shown and "1 500,5" in shown and "2 000,25" in shown
    assert "indicateur national" not in shown


def test_targets_that_are_not_numbers_are_refused_beside_their_field(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(filled=False, start_year=2021, end_year=2026)
    typed = {
        "target_2021": ("-3", "Saisissez un nombre supérieur ou égal à zéro."),
        "target_2022": ("cent", "Saisissez un nombre, par exemple 150 ou 12,5 (deux décimales au plus)."),
        "target_2023": ("1e5", "Saisissez un nombre, par exemple 150 ou 12,5 (deux décimales au plus)."),
        "target_2024": ("12,345", "Saisissez un nombre, par exemple 150 ou 12,5 (deux décimales au plus)."),
        "target_2025": ("1000000000000", "Saisissez un nombre inférieur à mille milliards."),
    }
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/new", data={
        "version": version_of(app, roadmap), "name": "Expulsions évitées", "target_2026": "10",
        **{field: text for field, (text, _message) in typed.items()},
    })
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field, (text, message) in typed.items():
        assert errors_beside(html, field) == [message], field
        assert f'value="{text}"' in html  # kept as typed
    assert errors_beside(html, "target_2026") == []
    with app.app_context():
        assert db.session.scalar(select(RoadmapIndicator.id).where(RoadmapIndicator.roadmap_id == roadmap.id)) is None


def test_an_own_indicator_needs_a_name(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/new", data={"version": version_of(app, roadmap), "name": "  "})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "name") == [
        "Choisissez un indicateur de la liste nationale ou saisissez le nom du vôtre."
    ]


def test_an_indicator_of_the_national_list_keeps_its_name_and_unit(app, client, login, cast, make_roadmap):
    with app.app_context():
        db.session.add_all([
            Indicator(name="Logements mobilisés en intermédiation locative", unit="logements", position=1),
            Indicator(name="Indicateur retiré de la liste", unit="x", is_shared=False, position=2),
        ])
        db.session.commit()
        national_id = db.session.scalar(select(Indicator.id).filter_by(name="Logements mobilisés en intermédiation locative"))
    roadmap = make_roadmap()  # already has "Ménages accédant au logement depuis la rue"
    login(cast["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/indicators/new").get_data(as_text=True)
    offered = [n.text() for n in parse(page).iter() if n.tag == "option"]
    assert any("Logements mobilisés" in o for o in offered)
    assert not any("Ménages accédant" in o or "retiré" in o for o in offered)

    response = client.post(f"/roadmaps/{roadmap.id}/indicators/new", data={
        "version": version_of(app, roadmap), "shared": str(national_id), "name": "Autre nom", "unit": "autre",
        "target_2023": "80",
    })
    assert response.status_code == 302
    with app.app_context():
        added = db.session.scalar(select(RoadmapIndicator).where(
            RoadmapIndicator.roadmap_id == roadmap.id, RoadmapIndicator.indicator_id == national_id))
        assert (added.name, added.unit) == ("Logements mobilisés en intermédiation locative", "logements")
        added_id = added.id
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    block = next(n for n in parse(html).iter() if n.attrs.get("id") == f"indicator-{added_id}")
    assert "indicateur national" in block.text()

    # Editing it changes its objective and targets, never its name nor unit.
    page = client.get(f"/roadmaps/{roadmap.id}/indicators/{added_id}/edit").get_data(as_text=True)
    assert 'id="name"' not in page and "Logements mobilisés en intermédiation locative" in page
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/{added_id}/edit", data={
        "version": version_of(app, roadmap), "name": "Renommé", "unit": "u", "objective": "Mobiliser 80 logements.",
        "target_2023": "90", "target_2024": "",
    })
    assert response.status_code == 302
    with app.app_context():
        edited = db.session.get(RoadmapIndicator, added_id)
        assert (edited.name, edited.unit, edited.objective) == (
            "Logements mobilisés en intermédiation locative", "logements", "Mobiliser 80 logements.")
        assert {t.year: t.value for t in edited.targets} == {2023: Decimal(90)}

    # The same national indicator twice: refused beside the list, not a database error.
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/new", data={
        "version": version_of(app, roadmap), "shared": str(national_id),
    })
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "shared") == ["Choisissez un indicateur dans la liste."]


def test_editing_an_own_indicator_and_deleting_it(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    indicator_id = own_indicator_id(app, roadmap)
    login(cast["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/edit").get_data(as_text=True)
    assert 'value="32,5"' in page  # the stored target, as French people write it
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/edit", data={
        "version": version_of(app, roadmap), "name": "Taux de sortie vers le logement pérenne", "unit": "%",
        "target_2023": "35", "target_2024": "40,5",
    })
    assert response.status_code == 302
    with app.app_context():
        edited = db.session.get(RoadmapIndicator, indicator_id)
        assert edited.name == "Taux de sortie vers le logement pérenne"
        assert {t.year: t.value for t in edited.targets} == {2023: Decimal(35), 2024: Decimal("40.5")}
    assert client.get(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/delete").status_code == 405
    assert client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(RoadmapIndicator, indicator_id) is None


def test_an_indicator_edit_from_a_stale_read_keeps_what_was_typed(app, client, login, cast, make_roadmap, make_user):
    roadmap = make_roadmap()
    colleague = make_user("coordinator", territory="lyon", name="Camille Collègue")
    indicator_id = own_indicator_id(app, roadmap)
    stale = version_of(app, roadmap)
    with app.app_context():
        services.update_summary(db.session.get(User, colleague.id), db.session.get(Roadmap, roadmap.id),
                                stale, strategy="Changée entre-temps")
        db.session.commit()
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/edit", data={
        "version": stale, "name": "Mon nouveau nom tapé", "unit": "%", "objective": "Un objectif tapé longuement",
        "target_2023": "33",
    })
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Mon nouveau nom tapé" in html and "Un objectif tapé longuement" in html
    warnings = [n.text() for n in parse(html).iter() if "fr-alert--warning" in n.classes]
    assert any("Camille Collègue" in w for w in warnings)  # who changed it meanwhile
    with app.app_context():
        assert db.session.get(RoadmapIndicator, indicator_id).name == "Taux de sortie vers le logement"
    # Posted again knowingly (with the version the page now carries), it applies.
    version = re.search(r'name="version" type="hidden" value="(\d+)"|name="version" value="(\d+)"', html)
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/edit", data={
        "version": next(g for g in version.groups() if g), "name": "Mon nouveau nom tapé", "unit": "%",
    })
    assert response.status_code == 302


# --- Values per reporting period -----------------------------------------------------------


def test_quarters_and_their_dates(app, make_roadmap):
    assert indicators.quarter_period(2023, 1) == ("T1 2023", date(2023, 1, 1), date(2023, 3, 31))
    assert indicators.quarter_period(2024, 2) == ("T2 2024", date(2024, 4, 1), date(2024, 6, 30))
    assert indicators.quarter_period(2024, 3) == ("T3 2024", date(2024, 7, 1), date(2024, 9, 30))
    assert indicators.quarter_period(2024, 4) == ("T4 2024", date(2024, 10, 1), date(2024, 12, 31))
    roadmap = make_roadmap(filled=False)
    labels = [label for _value, label in indicators.quarters(roadmap)]
    assert labels == ["T1 2023", "T2 2023", "T3 2023", "T4 2023", "T1 2024", "T2 2024", "T3 2024", "T4 2024"]
    assert indicators.parse_quarter("2023-5") is None and indicators.parse_quarter("x") is None


def test_values_per_quarter_add_up_against_the_year_target(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()  # the shared indicator: target 150 in 2023, 40 reached in T1 2023
    indicator_id = shared_indicator_id(app, roadmap)
    login(cast["coordinator"])
    url = f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values"
    response = client.post(url, data={
        "version": version_of(app, roadmap), "period_kind": "quarter", "quarter": "2023-2", "value": "60,5",
        "comment": "Dont 12 familles",
    })
    assert response.status_code == 302
    response = client.post(url, data={
        "version": version_of(app, roadmap), "period_kind": "custom", "label": "Été 2024",
        "period_start": "2024-06-01", "period_end": "2024-08-31", "value": "20",
    })
    assert response.status_code == 302, [n.text() for n in parse(response.get_data(as_text=True)).iter() if "fr-message--error" in n.classes]
    assert values_of(app, indicator_id) == [
        ("T1 2023", date(2023, 1, 1), date(2023, 3, 31), Decimal(40), ""),
        ("T2 2023", date(2023, 4, 1), date(2023, 6, 30), Decimal("60.5"), "Dont 12 familles"),
        ("Été 2024", date(2024, 6, 1), date(2024, 8, 31), Decimal(20), ""),
    ]
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    block = next(n for n in parse(html).iter() if n.attrs.get("id") == f"indicator-{indicator_id}")
    years = next(n for n in block.iter() if n.attrs.get("id") == f"indicator-{indicator_id}-years")
    rows = [text_of(r.text()) for r in years.iter() if r.tag == "tr"][1:]
    assert rows[0].startswith("2023 150 100,5") and "67 %" in rows[0]  # 100.5 of 150
    assert rows[1].startswith("2024 200 20") and "10 %" in rows[1]
    listed = text_of(next(n for n in block.iter() if n.attrs.get("id") == f"indicator-{indicator_id}-values").text())
    assert "T2 2023 du 01/04/2023 au 30/06/2023 60,5 Dont 12 familles" in listed


def test_the_same_period_twice_is_refused_beside_the_field(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    indicator_id = shared_indicator_id(app, roadmap)  # has T1 2023 already
    login(cast["coordinator"])
    url = f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values"
    message = "Une valeur est déjà saisie pour cette période : modifiez-la plutôt."  # spaces read plain
    response = client.post(url, data={"version": version_of(app, roadmap), "period_kind": "quarter", "quarter": "2023-1", "value": "5"})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "quarter") == [message]
    response = client.post(url, data={
        "version": version_of(app, roadmap), "period_kind": "custom", "label": "Premier trimestre",
        "period_start": "2023-01-01", "period_end": "2023-03-31", "value": "5",
    })
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "period_start") == [message]
    assert len(values_of(app, indicator_id)) == 1


@pytest.mark.parametrize("data, field, message", [
    ({"period_kind": "custom", "label": "Hiver", "period_start": "2024-03-01", "period_end": "2024-01-31", "value": "3"},
     "period_end", "La période ne peut pas se terminer avant de commencer."),
    ({"period_kind": "custom", "label": "", "period_start": "2024-01-01", "period_end": "2024-01-31", "value": "3"},
     "label", "Nommez la période, par exemple « 1er semestre 2023 »."),
    ({"period_kind": "custom", "label": "Hiver", "period_start": "31/01/2024", "period_end": "2024-03-01", "value": "3"},
     "period_start", "Saisissez une date, par exemple 2023-03-31."),
    ({"period_kind": "quarter", "quarter": "2031-1", "value": "3"}, "quarter", "Choisissez un trimestre de la période de la feuille de route."),
    ({"period_kind": "quarter", "quarter": "2023-3", "value": ""}, "value", "Saisissez la valeur atteinte."),
])
def test_a_value_that_makes_no_sense_is_refused_beside_its_field(app, client, login, cast, make_roadmap, data, field, message):
    roadmap = make_roadmap()
    indicator_id = own_indicator_id(app, roadmap)
    login(cast["coordinator"])
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values",
                           data={"version": version_of(app, roadmap), **data})
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), field) == [message]  # non-breaking spaces read plain
    assert values_of(app, indicator_id) == []


def test_changing_and_removing_a_value(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    indicator_id = shared_indicator_id(app, roadmap)
    with app.app_context():
        value_id = db.session.scalar(select(IndicatorValue.id).where(IndicatorValue.roadmap_indicator_id == indicator_id))
    login(cast["coordinator"])
    url = f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values/{value_id}/edit"
    page = client.get(url).get_data(as_text=True)
    selected = [n.attrs.get("value") for n in parse(page).iter() if n.tag == "option" and "selected" in n.attrs]
    assert "2023-1" in selected and 'value="40"' in page
    response = client.post(url, data={
        "version": version_of(app, roadmap), "period_kind": "quarter", "quarter": "2023-1", "value": "42,75",
        "comment": "Corrigé après relecture",
    })
    assert response.status_code == 302
    assert values_of(app, indicator_id) == [("T1 2023", date(2023, 1, 1), date(2023, 3, 31), Decimal("42.75"), "Corrigé après relecture")]
    response = client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values/{value_id}/delete")
    assert response.status_code == 302
    assert values_of(app, indicator_id) == []


def test_numbers_beyond_the_database_and_parts_of_other_roadmaps_are_404(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap()
    other = make_roadmap(territory="lyon", start_year=2025, end_year=2026)
    indicator_id = shared_indicator_id(app, roadmap)
    foreign_id = shared_indicator_id(app, other)
    login(cast["coordinator"])
    for url in (
        f"/roadmaps/{HUGE}/indicators/new",
        f"/roadmaps/{roadmap.id}/indicators/{HUGE}/edit",
        f"/roadmaps/{roadmap.id}/indicators/{HUGE}/values",
        f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values/{HUGE}/edit",
        f"/roadmaps/{roadmap.id}/indicators/{foreign_id}/edit",
        f"/roadmaps/{roadmap.id}/indicators/{foreign_id}/values",
        f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values/999999/edit",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/roadmaps/{roadmap.id}/indicators/{HUGE}/delete").status_code == 404
    assert client.post(f"/roadmaps/{roadmap.id}/indicators/{indicator_id}/values/{HUGE}/delete").status_code == 404


def test_an_empty_section_says_so(app, client, login, cast, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(cast["coordinator"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    block = section(html, "indicators")
    assert any(n.attrs.get("id") == "indicators-empty" for n in block.iter())
    assert any(n.attrs.get("id") == "add-indicator" for n in block.iter())


def test_numbers_as_people_type_them():
    from extranet.forms import NumberError, euros_to_cents, parse_number

    assert parse_number("12 500,50") == Decimal("12500.50")
    assert parse_number("12\u202f500.5") == Decimal("12500.5")
    assert parse_number(" 60 000 € ") == Decimal(60000)
    assert parse_number("") is None and parse_number("  ") is None
    assert euros_to_cents("60 000,01") == 6_000_001
    for typed, reason in (("-1", "negative"), ("1,2,3", "format"), ("60,000", "format"), ("1e3", "format"),
                          ("NaN", "format"), ("1000000000000", "too_large")):
        with pytest.raises(NumberError) as refused:
            parse_number(typed)
        assert refused.value.reason == reason, typed


def test_a_rate_is_not_added_up_over_the_year(app, make_roadmap):
    roadmap = make_roadmap()
    indicator_id = own_indicator_id(app, roadmap)  # "Taux de sortie vers le logement", in %, target 32.5 in 2023
    with app.app_context():
        indicator = db.session.get(RoadmapIndicator, indicator_id)
        for quarter, value in ((1, "30"), (2, "34.5")):
            label, start, end = indicators.quarter_period(2023, quarter)
            indicator.values.append(IndicatorValue(period_label=label, period_start=start, period_end=end, value=Decimal(value)))
        db.session.flush()
        year_2023, year_2024 = indicators.progress(indicator, indicator.roadmap)
        assert (year_2023.reached, year_2023.periods, year_2023.percent) == (Decimal("34.5"), 2, 106)
        assert (year_2024.target, year_2024.reached, year_2024.percent) == (None, None, None)
        db.session.rollback()


@pytest.mark.parametrize("aggregation, reached_2023", [
    (Aggregation.FLOW, Decimal(81)),  # 40 (the fixture's T1) + 12 + 14 + 15 + 0: the periods add up
    (Aggregation.STOCK, Decimal(14)),  # places open at the end of the latest period
    (Aggregation.RATE, Decimal(14)),
])
def test_progress_follows_how_the_national_indicator_adds_up(app, make_roadmap, aggregation, reached_2023):
    roadmap = make_roadmap()
    with app.app_context():
        shared = db.session.scalar(select(RoadmapIndicator).where(
            RoadmapIndicator.roadmap_id == roadmap.id, RoadmapIndicator.indicator_id.is_not(None)))
        shared.indicator.aggregation = aggregation
        for quarter, value in ((2, "12"), (4, "14"), (3, "15")):  # reported out of order
            label, start, end = indicators.quarter_period(2023, quarter)
            shared.values.append(IndicatorValue(period_label=label, period_start=start, period_end=end, value=Decimal(value)))
        # A month ending with the last quarter: the quarter, the longer period, stands for a stock or a rate.
        shared.values.append(IndicatorValue(period_label="Décembre 2023", period_start=date(2023, 12, 1),
                                            period_end=date(2023, 12, 31), value=Decimal(0)))
        db.session.flush()
        year_2023, _year_2024 = indicators.progress(shared, roadmap)
        assert (year_2023.target, year_2023.reached, year_2023.periods) == (Decimal(150), reached_2023, 5)
        db.session.rollback()


@pytest.mark.parametrize("unit, aggregation", [
    ("%", Aggregation.RATE), (" % ", Aggregation.RATE), ("pourcentage", Aggregation.RATE), ("Taux", Aggregation.RATE),
    ("mois", Aggregation.RATE), ("jours", Aggregation.RATE), ("ménages", Aggregation.FLOW), ("logements", Aggregation.FLOW),
    ("personnes", Aggregation.FLOW), ("animations", Aggregation.FLOW), ("jours d'attente", Aggregation.RATE), ("", Aggregation.FLOW),
])
def test_an_own_indicator_in_a_unit_of_ratio_or_time_is_read_like_a_rate(unit, aggregation):
    assert RoadmapIndicator(name="x", unit=unit).aggregation == aggregation


def test_the_section_reads_every_indicator_in_a_bounded_number_of_queries(app, client, login, cast, make_roadmap):
    from tests.helpers import queries_for

    roadmap = make_roadmap()
    login(cast["coordinator"])
    url = f"/roadmaps/{roadmap.id}"
    queries_for(app, client, url)  # warm up what is read once per process
    before = queries_for(app, client, url)
    with app.app_context():
        stored = db.session.get(Roadmap, roadmap.id)
        for n in range(10):
            label, start, end = indicators.quarter_period(2023, 1 + n % 4)
            # Half of them from the national list, each its own: how it adds up is read with the others.
            national = Indicator(name=f"National {n}", aggregation=tuple(Aggregation)[n % 3]) if n % 2 else None
            stored.indicators.append(RoadmapIndicator(
                indicator=national, name=f"Indicateur {n}", position=10 + n,
                targets=[IndicatorTarget(year=2023, value=Decimal(n))],
                values=[IndicatorValue(period_label=label, period_start=start, period_end=end, value=Decimal(n))],
            ))
        db.session.commit()
    assert queries_for(app, client, url) == before
