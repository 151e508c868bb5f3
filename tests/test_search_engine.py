"""The search engine on its own: French words, query syntax, ranking, permissions,
facets, snippets, pagination, and several processes writing at once.

No database here: each test builds its index from SearchEntry values."""

import multiprocessing
from datetime import UTC, datetime

import pytest

from extranet import create_app
from extranet.search.entries import SearchEntry
from extranet.search.query import syntax_problem
from extranet.search.tantivy_engine import TantivyEngine

NETWORK = {"network", "user:1"}


def entry(key, *, title="", summary="", content="", access=("network",), kind="document", **fields):
    return SearchEntry(key=key, kind=kind, title=title, url=f"/items/{key}", access=frozenset(access), summary=summary, content=content, **fields)


def bare_app(data_dir):
    return create_app({"ENV": "testing", "DATA_DIR": str(data_dir), "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})


@pytest.fixture
def engine(tmp_path):
    """make an engine over these entries: engine(*entries) -> TantivyEngine."""
    app = bare_app(tmp_path)

    def build(*entries):
        eng = TantivyEngine(app)
        eng.rebuild(entries)
        return eng

    return build


def keys(results):
    return [hit.key for hit in results.hits]


CORPUS = [
    entry("heb", title="Guide de l'hébergement d'urgence", content="Le 115 et le SIAO orientent les personnes vers un hébergement."),
    entry("exp", title="Prévenir les expulsions locatives", content="La commission de coordination des actions de prévention des expulsions locatives (CCAPEX)."),
    entry("apart", title="Note", content="Une expulsion a eu lieu. Les aides locatives ont été versées."),
    entry("sda", title="Personnes sans-abri", content="Maraudes auprès des personnes sans-abri en hiver."),
    entry("acc", title="Accompagnement social", summary="Les ménages accompagnés vers le logement.", content="Accompagner chaque ménage."),
    entry("hotel", title="Hôtel social", content="Les nuitées d'hôtel coûtent cher ; l'hébergement en hôtel recule."),
    entry("secu", title="Sécurité", content="La sécurité des personnes en hébergement collectif."),
]


# --- French words ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hebergement", {"heb", "hotel", "secu"}),
        ("HÉBERGEMENT", {"heb", "hotel", "secu"}),
        ("expulsion", {"exp", "apart"}),
        ("sans abri", {"sda"}),
        ("sans-abri", {"sda"}),
        ("securite", {"secu"}),
        ("hotel", {"hotel"}),
    ],
)
def test_accents_plurals_and_case_do_not_matter(engine, text, expected):
    results = engine(*CORPUS).query(text, access=NETWORK)
    assert set(keys(results)) == expected
    assert not results.plain_words


def test_quoted_phrase_needs_the_words_together(engine):
    eng = engine(*CORPUS)
    assert set(keys(eng.query('"expulsions locatives"', access=NETWORK))) == {"exp"}
    assert set(keys(eng.query("expulsions locatives", access=NETWORK))) == {"exp", "apart"}


@pytest.mark.parametrize("text", ["accompagn*", "Accompagn*", "ACCOMPAGNÉ*"])
def test_prefix_search_folds_case_and_accents(engine, text):
    assert set(keys(engine(*CORPUS).query(text, access=NETWORK))) == {"acc"}


def test_or_and_exclusion(engine):
    eng = engine(*CORPUS)
    assert set(keys(eng.query("maraudes OR CCAPEX", access=NETWORK))) == {"sda", "exp"}
    assert set(keys(eng.query("hébergement -hôtel", access=NETWORK))) == {"heb", "secu"}
    assert set(keys(eng.query("hébergement NOT hôtel", access=NETWORK))) == {"heb", "secu"}
    assert set(keys(eng.query("hébergement AND hôtel", access=NETWORK))) == {"hotel"}
    # Words are combined with AND by default.
    assert set(keys(eng.query("hébergement urgence", access=NETWORK))) == {"heb"}


@pytest.mark.parametrize("text", ['"expulsions locatives', "expulsion AND", "OR expulsion", "expulsion ((", "((", "*", "expulsion )", "NOT", "- expulsion", '"'])
def test_invalid_syntax_searches_the_plain_words(engine, text):
    assert syntax_problem(text)
    results = engine(*CORPUS).query(text, access=NETWORK)
    assert results.plain_words
    if "expulsion" in text:
        assert set(keys(results)) == {"exp", "apart"}
    else:
        assert results.total == 0 and results.hits == []


@pytest.mark.parametrize("text", ["expulsion", '"expulsions locatives"', "accompagn*", "a OR b", "a -b", "NOT a", "(a OR b) c", "sans-abri"])
def test_valid_syntax_is_not_flagged(text):
    assert not syntax_problem(text)


def test_stop_words_alone_find_nothing_without_error(engine):
    results = engine(*CORPUS).query("le la les", access=NETWORK)
    assert results.total == 0


# --- Ranking ----------------------------------------------------------------------


def test_title_weighs_more_than_summary_more_than_content(engine):
    eng = engine(
        entry("in-content", title="Compte rendu", summary="Réunion du club", content="Il a été question de la colocation."),
        entry("in-title", title="La colocation", summary="Réunion du club", content="Compte rendu de séance."),
        entry("in-summary", title="Compte rendu", summary="Retour sur la colocation", content="Séance du club."),
    )
    assert keys(eng.query("colocation", access=NETWORK)) == ["in-title", "in-summary", "in-content"]


# --- Permissions --------------------------------------------------------------------


def test_nothing_outside_the_users_tokens_shows_not_even_in_counts(engine):
    eng = engine(
        entry("open", title="Rapport public", content="bilan", type="report", axes=(1,), territory_id=3, year=2022),
        entry("national", title="Rapport confidentiel", content="bilan", access=("national",), type="study", axes=(2,), territory_id=4, year=2023, kind="roadmap"),
        entry("group", title="Rapport du groupe", content="bilan", access=("group:7", "national"), type="minutes", axes=(2,), territory_id=4, year=2024),
        entry("mine", title="Mon brouillon", content="bilan", access=("user:1",)),
    )
    results = eng.query("bilan OR confidentiel", access=NETWORK)
    assert set(keys(results)) == {"open", "mine"}
    assert results.total == 2
    assert results.facets["kind"] == [("document", 2)]
    assert results.facets["type"] == [("report", 1)]
    assert results.facets["axes"] == [(1, 1)]
    assert results.facets["territory_id"] == [(3, 1)]
    assert results.facets["year"] == [(2022, 1)]
    assert eng.query("confidentiel", access=NETWORK).total == 0
    assert set(keys(eng.query("bilan", access={"network", "group:7"}))) == {"open", "group"}
    assert eng.query("bilan", access={"network", "national"}).total == 3
    assert eng.query("bilan", access=set()).total == 0


# --- Facets and filters -------------------------------------------------------------


def corpus_with_facets():
    return [
        entry("a", title="Plan d'action", content="logement", type="guide", axes=(1, 3), territory_id=5, year=2022),
        entry("b", title="Plan local", content="logement", type="guide", axes=(3,), territory_id=6, year=2023),
        entry("c", title="Bilan", content="logement", type="report", axes=(3, 4), territory_id=5, year=2023),
        entry("d", title="Fil de discussion", content="logement", kind="discussion", year=2023),
        entry("e", title="Autre chose", content="jardin", type="guide", axes=(3,), territory_id=5, year=2023),
    ]


def test_facets_count_every_matching_hit(engine):
    results = engine(*corpus_with_facets()).query("logement", access=NETWORK, per_page=1)
    assert results.total == 4 and len(results.hits) == 1
    assert dict(results.facets["kind"]) == {"document": 3, "discussion": 1}
    assert dict(results.facets["type"]) == {"guide": 2, "report": 1}
    assert dict(results.facets["axes"]) == {1: 1, 3: 3, 4: 1}
    assert dict(results.facets["territory_id"]) == {5: 2, 6: 1}
    assert dict(results.facets["year"]) == {2022: 1, 2023: 3}


def test_filters_narrow_and_combine(engine):
    eng = engine(*corpus_with_facets())
    assert set(keys(eng.query("logement", access=NETWORK, filters={"axes": 3}))) == {"a", "b", "c"}
    assert set(keys(eng.query("logement", access=NETWORK, filters={"axes": "3", "territory_id": 5}))) == {"a", "c"}
    narrowed = eng.query("logement", access=NETWORK, filters={"axes": 3, "territory_id": 5, "year": 2023})
    assert keys(narrowed) == ["c"]
    assert dict(narrowed.facets["type"]) == {"report": 1}
    assert set(keys(eng.query("logement", access=NETWORK, filters={"kind": "discussion"}))) == {"d"}
    assert eng.query("logement", access=NETWORK, filters={"type": "nothing"}).total == 0


# --- Snippets ----------------------------------------------------------------------


def test_snippet_marks_the_words_and_escapes_everything_else(engine):
    eng = engine(entry("x", title="Piège", content='Avant <script>alert(1)</script> & "guillemets" puis hébergement <b>gras</b>.'))
    snippet = str(eng.query("hebergement", access=NETWORK).hits[0].snippet)
    assert "<mark>hébergement</mark>" in snippet
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snippet
    assert "&amp;" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_snippet_is_a_passage_around_the_match(engine):
    long_text = "Introduction sans intérêt. " * 200 + "Le bail glissant sécurise l'accès au logement. " + "Conclusion. " * 200
    hit = engine(entry("long", title="Rapport", content=long_text)).query("glissant", access=NETWORK).hits[0]
    assert "<mark>glissant</mark>" in hit.snippet
    assert len(hit.snippet) < 500
    assert hit.snippet.startswith("…")


def test_snippet_falls_back_to_the_summary(engine):
    eng = engine(entry("s", title="Colocation", summary="Une <i>synthèse</i> courte", content=""))
    assert eng.query("colocation", access=NETWORK).hits[0].snippet == "Une &lt;i&gt;synthèse&lt;/i&gt; courte"


# --- Pagination, updates --------------------------------------------------------------


def test_pages(engine):
    eng = engine(*[entry(f"n{i:02}", title=f"Fiche {i}", content="pension de famille") for i in range(45)])
    first = eng.query("pension", access=NETWORK, page=1, per_page=20)
    third = eng.query("pension", access=NETWORK, page=3, per_page=20)
    assert (first.total, first.pages, len(first.hits)) == (45, 3, 20)
    assert len(third.hits) == 5 and third.page == 3
    seen = set(keys(first)) | set(keys(eng.query("pension", access=NETWORK, page=2, per_page=20))) | set(keys(third))
    assert len(seen) == 45
    beyond = eng.query("pension", access=NETWORK, page=99, per_page=20)
    assert beyond.page == 3 and keys(beyond) == keys(third)


def test_index_replaces_by_key_and_remove_forgets(engine):
    eng = engine(entry("k", title="Ancien titre"))
    eng.index([entry("k", title="Nouveau titre", date=datetime(2024, 5, 1, 12, tzinfo=UTC))])
    assert eng.query("ancien", access=NETWORK).total == 0
    assert keys(eng.query("nouveau", access=NETWORK)) == ["k"]
    eng.remove(["k", "unknown"])
    assert eng.query("nouveau", access=NETWORK).total == 0


def test_a_second_engine_sees_the_writes_of_the_first(engine, tmp_path):
    first = engine(entry("one", title="Premier"))
    second = TantivyEngine(first.app)
    assert keys(second.query("premier", access=NETWORK)) == ["one"]
    first.index([entry("two", title="Deuxième")])
    assert keys(second.query("deuxieme", access=NETWORK)) == ["two"]


# --- Several processes -------------------------------------------------------------


def _index_in_another_process(data_dir, worker, count):
    eng = TantivyEngine(bare_app(data_dir))
    for i in range(count):
        # One commit per entry, as after each web request: as many lock fights as possible.
        eng.index([entry(f"w{worker}-{i}", title=f"Travailleur{worker} fiche {i}", content="concurrence")])


def test_processes_writing_at_once_lose_nothing(tmp_path):
    app = bare_app(tmp_path)
    TantivyEngine(app).rebuild([])
    workers, count = 4, 12
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_index_in_another_process, args=(str(tmp_path), w, count)) for w in range(workers)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * workers
    eng = TantivyEngine(app)
    results = eng.query("concurrence", access=NETWORK, per_page=100)
    assert results.total == workers * count
    assert set(keys(results)) == {f"w{w}-{i}" for w in range(workers) for i in range(count)}


def test_many_small_commits_keep_few_segments(engine):
    eng = engine()
    for i in range(35):
        eng.index([entry(f"s{i}", title=f"Fiche {i}", content="segment")])
    eng.index([entry("s3", title="Fiche remplacée", content="autre")])
    eng.remove(["s4"])
    eng.wait_for_merges()
    # Tantivy merges eight segments of a size into one.
    assert eng._open().searcher().num_segments <= 8
    results = eng.query("segment", access=NETWORK, per_page=100)
    assert results.total == 33 and {"s3", "s4"}.isdisjoint(keys(results))


@pytest.mark.parametrize("text", ["a*", "de?", "a* OR b* OR c* OR d*", "l* p*"])
def test_short_wildcards_are_searched_as_plain_words(text):
    """A wildcard on one or two letters would read most of the index: the
    words are searched as typed instead (bounded work, still an answer)."""
    assert syntax_problem(text)
    assert not syntax_problem("accompagn*")


def test_an_exclusion_alone_reads_as_not(engine):
    eng = engine(*CORPUS)
    everything_but_hotels = set(keys(eng.query("NOT hôtel", access=NETWORK)))
    assert everything_but_hotels == {"heb", "exp", "apart", "sda", "acc", "secu"}
    assert set(keys(eng.query("-hôtel", access=NETWORK))) == everything_but_hotels


def test_snippet_finds_the_word_in_any_case_and_accent(engine):
    eng = engine(entry("u", title="Note", content="Rappel. LES ŒUVRES SOCIALES ET L'HÉBERGEMENT D'URGENCE."))
    snippet = str(eng.query("oeuvre hebergement", access=NETWORK).hits[0].snippet)
    assert "<mark>ŒUVRES</mark>" in snippet and "<mark>HÉBERGEMENT</mark>" in snippet


def test_snippet_marks_the_words_a_prefix_found(engine):
    eng = engine(*CORPUS)
    assert "<mark>Accompagner</mark>" in str(eng.query("accompagn*", access=NETWORK).hits[0].snippet)
