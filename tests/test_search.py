"""Platform-wide search: the index follows the database, survives a lost or
damaged directory, and the /search page shows only what the user may read."""

import logging
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from extranet.extensions import db
from extranet.search import entries as search_entries
from extranet.search.engine import get_engine
from extranet.search.entries import SearchEntry, register, register_kind
from extranet.territories.models import Territory, TerritoryKind

from .helpers import browser_login, database, french, h1, parse


def territory_entry(territory):
    return SearchEntry(
        key=f"territory:{territory.id}",
        kind="territory",
        title=territory.name,
        content=territory.description or "",
        url=f"/territories/{territory.slug}",
        access=frozenset({"network"}),
        type=territory.kind.value,
        territory_id=territory.id,
    )


@pytest.fixture
def territories_indexed(app):
    """Territories as a searchable kind for the time of a test (no test-only
    table is needed: an existing model is registered, then the registry restored)."""
    saved_registry, saved_kinds = dict(search_entries._registry), dict(search_entries.KINDS)
    register_kind("territory", "Territoire", {TerritoryKind.DEPARTMENT.value: "Département"})
    register(Territory, key=lambda t: f"territory:{t.id}", to_entry=territory_entry)
    yield
    search_entries._registry.clear()
    search_entries._registry.update(saved_registry)
    search_entries.KINDS.clear()
    search_entries.KINDS.update(saved_kinds)


@pytest.fixture
def kinds():
    """Kinds and type labels for entries indexed directly by a test."""
    saved = dict(search_entries.KINDS)
    register_kind("note", "Fiche", {"guide": "Guide pratique", "report": "Rapport"})
    register_kind("meeting", "Réunion", {})
    yield
    search_entries.KINDS.clear()
    search_entries.KINDS.update(saved)


def found(app, text, access=frozenset({"network"})) -> list[str]:
    with app.app_context():
        return [hit.key for hit in get_engine(app).query(text, access=set(access), per_page=100).hits]


def territory_id(app, slug) -> int:
    with database(app) as session:
        return session.scalar(select(Territory.id).filter_by(slug=slug))


def set_description(app, slug, text, *, commit=True):
    with database(app) as session:
        territory = session.scalar(select(Territory).filter_by(slug=slug))
        territory.description = text
        session.flush()
        session.commit() if commit else session.rollback()


# --- The index follows the database ----------------------------------------------


def test_commit_indexes_rollback_drops_delete_removes(app, territories_indexed):
    lyon = f"territory:{territory_id(app, 'lyon')}"
    set_description(app, "lyon", "Une colocation solidaire ouverte à Villeurbanne.")
    assert found(app, "colocation") == [lyon]

    # Flushed, then rolled back: the index never hears of it.
    set_description(app, "lyon", "Une pension de famille.", commit=False)
    assert found(app, "pension") == []
    assert found(app, "colocation") == [lyon]

    with database(app) as session:
        session.add(Territory(slug="essai", name="Territoire d'essai", kind=TerritoryKind.COMMUNE, wave=2, selection_year=2021, region="Bretagne", description="Maraude hivernale"))
        session.commit()
    essai = f"territory:{territory_id(app, 'essai')}"
    assert found(app, "maraude") == [essai]
    with database(app) as session:
        session.delete(session.scalar(select(Territory).filter_by(slug="essai")))
        session.commit()
    assert found(app, "maraude") == []
    assert found(app, "essai") == []


def test_changes_made_while_the_index_is_locked_are_not_lost(app, territories_indexed):
    """A full rebuild holds the index for minutes: commits meanwhile do not
    wait for it; their changes are spooled, and the next writer applies them."""
    from extranet.search import get_engine

    set_description(app, "lyon", "Une colocation solidaire.")
    spool = Path(app.config["DATA_DIR"]) / "search-spool"
    with app.app_context():
        engine = get_engine(app)
        engine.wait_for_merges()  # the last commit's merges hold the lock for a moment
        holder = engine._open().writer(heap_size=engine.WRITER_HEAP, num_threads=1)  # as `reindex` in another process
    try:
        started = time.monotonic()
        set_description(app, "lyon", "Une pension de famille.")
        set_description(app, "cher", "Un bail glissant.")
        assert time.monotonic() - started < engine.WRITE_DEADLINE / 10  # the requests did not wait for the lock
        assert len(list(spool.glob("*.json"))) == 2
    finally:
        holder.wait_merging_threads()  # gives the lock back
    assert found(app, "pension") == [] and found(app, "bail") == []
    # The next write takes the spooled changes with it.
    set_description(app, "paris", "Un accueil de jour.")
    assert found(app, "pension") == [f"territory:{territory_id(app, 'lyon')}"]
    assert found(app, "bail") == [f"territory:{territory_id(app, 'cher')}"]
    assert found(app, "accueil") == [f"territory:{territory_id(app, 'paris')}"]
    assert found(app, "colocation") == []
    assert list(spool.iterdir()) == []


def test_a_failed_index_write_keeps_the_changes_for_the_next_one(app, territories_indexed, monkeypatch, caplog):
    from extranet.search import get_engine

    with app.app_context():
        engine = get_engine(app)

    def broken(load, *, wait=True):
        load()  # claims the spooled files, as a real write does before failing
        raise OSError("disk full")

    monkeypatch.setattr(engine, "refresh", broken)
    set_description(app, "lyon", "Une pension de famille.")
    assert any("spooled for the next write" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    set_description(app, "cher", "Un bail glissant.")
    assert found(app, "pension") == [f"territory:{territory_id(app, 'lyon')}"]


def test_reindex_applies_the_changes_spooled_during_the_rebuild(app, territories_indexed, runner):
    from extranet.search import get_engine

    set_description(app, "lyon", "Une colocation solidaire.")
    with app.app_context():
        engine = get_engine(app)
        engine.wait_for_merges()  # the last commit's merges hold the lock for a moment
        holder = engine._open().writer(heap_size=engine.WRITER_HEAP, num_threads=1)
    try:
        set_description(app, "lyon", "Une pension de famille.")
    finally:
        holder.wait_merging_threads()  # gives the lock back
    result = runner.invoke(args=["extranet", "reindex"])
    assert result.exit_code == 0, result.output
    assert "1 change(s) made meanwhile" in result.output
    assert found(app, "pension") == [f"territory:{territory_id(app, 'lyon')}"]


def break_index(directory: Path, how: str) -> None:
    if how == "deleted":
        shutil.rmtree(directory)
    else:
        for path in directory.rglob("*"):
            if path.is_file() and not path.name.endswith(".lock"):
                path.write_bytes(b"\x00garbage\xff" * 7)


@pytest.mark.parametrize("how", ["deleted", "corrupted"])
@pytest.mark.parametrize("fresh_process", [False, True], ids=["same-process", "new-process"])
def test_lost_or_damaged_index_is_rebuilt_from_the_database(app, territories_indexed, client, logged_in, caplog, how, fresh_process):
    set_description(app, "lyon", "Une colocation solidaire.")
    assert len(found(app, "colocation")) == 1
    directory = Path(app.config["DATA_DIR"]) / "search-index"
    break_index(directory, how)
    if fresh_process:
        app.extensions["search"] = None  # as a worker started after the damage
    logged_in("member")
    with caplog.at_level(logging.WARNING, logger="extranet.search"):
        response = client.get("/search?q=colocation")
    assert response.status_code == 200
    assert "Métropole de Lyon" in response.get_data(as_text=True)
    assert any("rebuilding it from the database" in r.getMessage() for r in caplog.records)
    # And it keeps following the database afterwards.
    set_description(app, "lyon", "Un bail glissant.")
    assert len(found(app, "glissant")) == 1 and found(app, "colocation") == []


def test_reindex_command_rebuilds_from_the_database(app, territories_indexed, runner):
    set_description(app, "lyon", "Intermédiation locative.")
    shutil.rmtree(Path(app.config["DATA_DIR"]) / "search-index", ignore_errors=True)
    app.extensions["search"] = None
    with app.app_context():
        expected = len(list(search_entries.all_entries(db.session)))
    result = runner.invoke(args=["extranet", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexing" in result.output
    assert f"Search index rebuilt: {expected} entries." in result.output
    assert expected >= 46
    assert len(found(app, "intermediation")) == 1


# --- The page ------------------------------------------------------------------------


def add(app, *entries):
    with app.app_context():
        get_engine(app).index(entries)


def note(key, title, content="", *, access=("network",), kind="note", **fields):
    return SearchEntry(key=key, kind=kind, title=title, content=content, url=f"/notes/{key}", access=frozenset(access), **fields)


def test_search_needs_an_account(client):
    response = client.get("/search?q=logement")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_empty_query_explains_how_to_search(client, logged_in):
    logged_in("member")
    response = client.get("/search")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert h1(html) == french(client.application, "Search")
    assert "accompagn*" in html
    assert 'role="status"' not in html


def test_header_has_a_labelled_search_bar(client, logged_in):
    logged_in("member")
    root = parse(client.get("/").get_data(as_text=True))
    form = next(n for n in root.iter() if n.tag == "form" and "fr-search-bar" in n.classes)
    assert form.attrs["action"] == "/search" and form.attrs.get("method", "get").lower() == "get"
    field = next(n for n in form.iter() if n.tag == "input")
    assert field.attrs["name"] == "q"
    label = next(n for n in form.iter() if n.tag == "label")
    assert label.attrs["for"] == field.attrs["id"] and label.text()


def test_results_mix_kinds_with_labels_snippets_and_facets(app, client, logged_in, kinds):
    lyon, doubs = territory_id(app, "lyon"), territory_id(app, "doubs")
    add(
        app,
        note("n1", "Guide de la colocation", "Monter une colocation avec un bailleur social.", type="guide", axes=(3,), territory_id=lyon, year=2023),
        note("n2", "Bilan annuel", "La colocation progresse dans le Nord.", type="report", axes=(3, 7), territory_id=doubs, year=2024),
        note("m1", "Réunion colocation", "Compte rendu.", kind="meeting", year=2024),
        note("other", "Autre sujet", "Rien à voir."),
    )
    logged_in("member")
    html = client.get("/search?q=colocation").get_data(as_text=True)
    root = parse(html)
    status = next(n for n in root.iter() if n.attrs.get("role") == "status")
    assert status.attrs.get("aria-live") == "polite" and "3" in status.text()
    hits = [n for n in root.iter() if "extranet-search-hit" in n.classes]
    assert len(hits) == 3
    guide = next(h.text() for h in hits if "Guide de la colocation" in h.text())
    assert "Fiche" in guide and "Guide pratique" in guide
    assert any("Réunion" in h.text() for h in hits)
    assert "<mark>colocation</mark>" in html
    facets = next(n for n in root.iter() if "extranet-search-facets" in n.classes).text()
    for expected in ("Fiche (2)", "Réunion (1)", "Guide pratique (1)", "Rapport (1)", "2024 (2)", "2023 (1)", "Métropole de Lyon (1)"):
        assert expected in facets, expected
    assert french(app, "Axis %(number)s", number=3) + " (2)" in facets
    assert french(app, "Axis %(number)s", number=7) + " (1)" in facets
    assert "Département du Doubs (1)" in facets


def test_facet_links_filter_and_pages_keep_the_filters(app, client, logged_in, kinds):
    add(app, *[note(f"p{i:02}", f"Pension de famille {i}", "pension", axes=(2,) if i % 2 else (5,)) for i in range(50)])
    logged_in("member")
    root = parse(client.get("/search?q=pension").get_data(as_text=True))
    axis_link = next(n for n in root.iter() if n.tag == "a" and n.text().startswith(french(app, "Axis %(number)s", number=2)))
    assert "axis=2" in axis_link.attrs["href"] and "q=pension" in axis_link.attrs["href"]
    filtered = client.get(axis_link.attrs["href"]).get_data(as_text=True)
    root = parse(filtered)
    assert len([n for n in root.iter() if "extranet-search-hit" in n.classes]) == 20
    assert "25" in next(n for n in root.iter() if n.attrs.get("role") == "status").text()
    next_page = next(n for n in root.iter() if n.tag == "a" and "fr-pagination__link--next" in n.classes)
    assert "axis=2" in next_page.attrs["href"] and "page=2" in next_page.attrs["href"]
    second = parse(client.get(next_page.attrs["href"]).get_data(as_text=True))
    assert len([n for n in second.iter() if "extranet-search-hit" in n.classes]) == 5
    # The active filter can be removed.
    remove = next(n for n in second.iter() if n.tag == "a" and "fr-tag" in n.classes)
    assert "axis" not in remove.attrs["href"]


def test_only_what_the_user_may_read_shows(app, client, logged_in, login, make_user, kinds):
    add(
        app,
        note("open", "Rapport ouvert", "hébergement", territory_id=territory_id(app, "lyon")),
        note("secret", "Rapport national confidentiel", "hébergement", access=("national",), territory_id=territory_id(app, "doubs"), year=2020),
    )
    logged_in("member")
    html = client.get("/search?q=hebergement").get_data(as_text=True)
    assert "Rapport ouvert" in html
    assert "confidentiel" not in html and "Département du Doubs" not in html and "2020" not in html
    assert client.get("/search?q=confidentiel").get_data(as_text=True).count("extranet-search-hit") == 0
    national = app.test_client()
    login(make_user("animator"), client=national)
    html = national.get("/search?q=hebergement").get_data(as_text=True)
    assert "Rapport ouvert" in html and "Rapport national confidentiel" in html


def test_nothing_from_the_index_runs_as_html(app, client, logged_in, kinds):
    add(app, note("x", "<script>alert('titre')</script> logement", "<img src=x onerror=alert(1)> logement <b>accompagné</b>", type="<i>t</i>"))
    logged_in("member")
    html = client.get("/search?q=logement").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>accompagné</b>" not in html and "<i>t</i>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html


def test_invalid_syntax_and_no_results_are_explained(app, client, logged_in, kinds):
    add(app, note("e", "Prévention des expulsions", "expulsions locatives"))
    logged_in("member")
    response = client.get('/search?q="expulsions+((')
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Prévention des expulsions" in html
    assert "the words alone were searched" in html or french(app, "Some quotes, brackets or operators of your search could not be understood: the words alone were searched.") in html
    response = client.get("/search?q=zzzyyx&axis=3")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "fr-callout" in html and "search-status" in html
    assert 'href="/search?q=zzzyyx"' in html  # try again without the filters


@pytest.mark.parametrize(
    "query_string",
    ["q=*", "q=((", "q=AND", "q=-", "q=x&axis=abc", "q=x&axis=99", "q=x&territory=99999999999", "q=x&year=-1", "q=x&page=0", "q=x&page=999999", "q=" + "mot+" * 400, "q=x&kind=" + "k" * 500],
)
def test_odd_requests_never_fail(client, logged_in, query_string):
    logged_in("member")
    assert client.get("/search?" + query_string).status_code == 200


@pytest.mark.browser
def test_search_from_the_header_in_a_browser(app, live_server, page, make_user, kinds):

    add(app, note("b1", "Guide de la colocation", "Une colocation <script>window.pwned = 1</script> solidaire.", type="guide", year=2024))
    user = make_user("member")
    browser_login(page, live_server, user)

    field = page.locator("#header-search-input")
    assert field.is_visible()
    field.fill("colocation")
    field.press("Enter")
    page.wait_for_url("**/search?q=colocation")
    assert page.get_by_role("status").inner_text().startswith("1")
    assert page.locator("mark").first.inner_text() == "colocation"
    assert page.evaluate("window.pwned") is None
    page.get_by_role("link", name="2024 (1)").click()
    page.wait_for_url("**year=2024**")
    assert page.locator(".extranet-search-hit").count() == 1
    assert page.csp_violations == []


def test_an_index_left_by_an_older_engine_is_rebuilt(app, territories_indexed, client, logged_in):
    """An installation upgraded from the Whoosh engine has its files in the
    same directory: they are replaced by an index of the database."""
    set_description(app, "lyon", "Une colocation solidaire.")
    directory = Path(app.config["DATA_DIR"]) / "search-index"
    shutil.rmtree(directory)
    directory.mkdir()
    (directory / "_MAIN_1.toc").write_bytes(b"whoosh table of contents")
    app.extensions["search"] = None
    logged_in("member")
    html = client.get("/search?q=colocation").get_data(as_text=True)
    assert "Métropole de Lyon" in html
    assert not (directory / "_MAIN_1.toc").exists()
