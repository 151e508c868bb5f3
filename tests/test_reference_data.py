"""`flask --app wsgi extranet load-reference-data`: the 46 territories and the
plan's 5 priorities and 16 axes, loaded as an operator would."""

from collections import Counter

import pytest
from sqlalchemy import delete, func, select

from extranet.plan.models import Axis, Priority
from extranet.territories.models import WAVES, Territory, TerritoryKind

from .helpers import database

OVERSEAS = {
    "dembeni-mamoudzou": ("Mayotte", "Indian/Mayotte"),
    "espace-sud-martinique": ("Martinique", "America/Martinique"),
    "centre-littoral-guyane": ("Guyane", "America/Cayenne"),
    "la-reunion": ("La Réunion", "Indian/Reunion"),
}


def load(runner):
    result = runner.invoke(args=["extranet", "load-reference-data"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def counts(app):
    with database(app) as session:
        return tuple(session.scalar(select(func.count(model.id))) for model in (Territory, Priority, Axis))


@pytest.fixture
def empty_reference(app):
    """A database without reference data, as right after the migrations."""
    with database(app) as session:
        for model in (Axis, Priority, Territory):
            session.execute(delete(model))
        session.commit()
    assert counts(app) == (0, 0, 0)


def territories(app) -> dict:
    with database(app) as session:
        found = {t.slug: t for t in session.scalars(select(Territory))}
        session.expunge_all()
        return found


def test_load_on_an_empty_database(app, runner, empty_reference):
    output = load(runner)
    assert counts(app) == (46, 5, 16)
    assert "46" in output


def test_loading_twice_changes_nothing(app, runner, empty_reference):
    load(runner)
    before = territories(app)
    output = load(runner)
    assert counts(app) == (46, 5, 16)
    assert "0 created" in output
    after = territories(app)
    assert {slug: t.id for slug, t in after.items()} == {slug: t.id for slug, t in before.items()}


def test_reload_keeps_an_administrators_edits_and_repairs_the_facts(app, runner, make_user):
    member = make_user(territory="lyon")
    with database(app) as session:
        lyon = session.scalar(select(Territory).where(Territory.slug == "lyon"))
        lyon.name = "Métropole de Lyon (Grand Lyon)"
        lyon.description = "Chef de file : la Métropole."
        lyon.contact_email = "logementdabord@grandlyon.example"
        lyon.website = "https://www.grandlyon.com"
        lyon.wave = 2
        lyon.region = "Bretagne"
        session.commit()

    load(runner)
    lyon = territories(app)["lyon"]
    assert lyon.name == "Métropole de Lyon (Grand Lyon)"
    assert lyon.description == "Chef de file : la Métropole."
    assert lyon.contact_email == "logementdabord@grandlyon.example"
    assert lyon.website == "https://www.grandlyon.com"
    assert (lyon.wave, lyon.selection_year, lyon.region) == (1, 2018, "Auvergne-Rhône-Alpes")
    # The people of the territory are still attached to it.
    with database(app) as session:
        assert session.scalar(select(Territory.slug).where(Territory.id == member.territory_id)) == "lyon"


def test_overseas_territories_have_their_time_zones(app):
    found = territories(app)
    for slug, (region, timezone) in OVERSEAS.items():
        assert (found[slug].region, found[slug].timezone) == (region, timezone), slug
        assert found[slug].is_overseas
    others = [t for slug, t in found.items() if slug not in OVERSEAS]
    assert len(others) == 42
    assert {t.timezone for t in others} == {"Europe/Paris"}


def test_waves(app):
    found = territories(app)
    assert len(found) == 46
    for t in found.values():
        assert WAVES[t.wave] == t.selection_year, t.slug
        assert isinstance(t.kind, TerritoryKind)
    assert sum(t.in_wave(1) for t in found.values()) >= 23
    assert sum(t.in_wave(2) for t in found.values()) >= 23
    assert Counter(t.wave for t in found.values()) == {1: 24, 2: 22}

    pas_de_calais = found["pas-de-calais"]
    assert (pas_de_calais.wave, pas_de_calais.selection_year, pas_de_calais.extension_year) == (1, 2018, 2021)
    assert pas_de_calais.extension_note
    assert pas_de_calais.in_wave(1) and pas_de_calais.in_wave(2)
    assert [t.slug for t in found.values() if t.extension_year] == ["pas-de-calais"]
    assert sum("Pas-de-Calais" in t.name for t in found.values()) == 1


def test_kinds_match_the_names(app):
    found = territories(app)
    assert found["la-reunion"].kind == TerritoryKind.DEPARTMENT
    assert found["paris"].kind == TerritoryKind.COMMUNE
    assert found["lyon"].kind == TerritoryKind.METROPOLE
    assert found["loudeac"].kind == TerritoryKind.COMMUNITY_OF_COMMUNES
    for t in found.values():
        if t.name.startswith("Département"):
            assert t.kind == TerritoryKind.DEPARTMENT, t.slug
        if t.name.startswith("Ville"):
            assert t.kind == TerritoryKind.COMMUNE, t.slug
        if t.name.startswith("Communauté urbaine"):
            assert t.kind == TerritoryKind.URBAN_COMMUNITY, t.slug
        if t.name.startswith("Communauté d'agglomération"):
            assert t.kind == TerritoryKind.AGGLOMERATION, t.slug


def test_plan_has_16_axes_numbered_across_5_priorities(app, runner):
    load(runner)
    with database(app) as session:
        priorities = list(session.scalars(select(Priority).order_by(Priority.number)))
        assert [p.number for p in priorities] == [1, 2, 3, 4, 5]
        assert [p.roman for p in priorities] == ["I", "II", "III", "IV", "V"]
        assert [len(p.axes) for p in priorities] == [4, 4, 3, 3, 2]
        numbers = [a.number for p in priorities for a in p.axes]
        assert numbers == list(range(1, 17))
        assert all(p.title for p in priorities)
        assert all(a.title for p in priorities for a in p.axes)
        axis_16 = session.scalar(select(Axis).where(Axis.number == 16))
        assert axis_16.priority.number == 5
