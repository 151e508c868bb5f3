"""The search engine of the platform, on Whoosh (pure Python, files in DATA_DIR).

The index lives in ``DATA_DIR/search-index``. Several gunicorn workers share
it: Whoosh lets one writer at a time hold the directory, so writes wait for
the lock and retry with a backoff instead of losing an update. Readers never
wait. An index that is missing or unreadable is rebuilt from the database.
"""

import fcntl
import html
import itertools
import logging
import os
import random
import re
import shutil
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from markupsafe import Markup
from whoosh import highlight, index, qparser, query
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.lang import stopwords_for_language
from whoosh.reading import SegmentReader
from whoosh.support.charset import accent_map
from whoosh.writing import CLEAR

from extranet.search.engine import FACETS, SearchEngine, SearchHit, SearchResults
from extranet.search.entries import SearchEntry

log = logging.getLogger(__name__)

# --- French text ------------------------------------------------------------------

# Accents are folded *before* stemming: the French stemmer treats "é" as a
# vowel and "e" as another letter, so "sécurité" and "securite" would not meet
# if folding came after it. Ligatures are spelled out ("œuvre" = "oeuvre").
_FOLD = dict(accent_map)
_FOLD.update({ord("œ"): "oe", ord("æ"): "ae", ord("Œ"): "oe", ord("Æ"): "ae"})


def fold(text: str) -> str:
    """Lowercase without accents, as the index stores words."""
    return text.lower().translate(_FOLD)


# Whoosh's list lacks a few of the commonest words ("les" would stem to "le").
FRENCH_STOPWORDS = frozenset(fold(w) for w in stopwords_for_language("fr")) | {"les", "a", "ou", "cet", "cette", "dont", "si", "ni"}


def french_analyzer():
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | CharsetFilter(_FOLD)
        | StopFilter(stoplist=FRENCH_STOPWORDS)
        | StemFilter(lang="fr", cachesize=100_000)
    )


ANALYZER = french_analyzer()

SEARCH_FIELDS = ("title", "summary", "content", "keywords")
FIELD_BOOSTS = {"title": 3.0, "summary": 2.0, "content": 1.0, "keywords": 2.0}


def make_schema() -> Schema:
    # A word the analyser splits ("sans-abri", "co-financement") is searched
    # as a phrase: multitoken_query="phrase" on the searched fields.
    return Schema(
        key=ID(unique=True, stored=True),
        kind=ID(stored=True, sortable=True),
        title=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["title"], stored=True, multitoken_query="phrase"),
        summary=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["summary"], stored=True, multitoken_query="phrase"),
        content=TEXT(analyzer=ANALYZER, stored=True, multitoken_query="phrase"),
        keywords=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["keywords"], multitoken_query="phrase"),
        type=ID(stored=True, sortable=True),
        axes=KEYWORD(commas=True, stored=True),
        territory_id=ID(stored=True, sortable=True),
        year=ID(stored=True, sortable=True),
        access=KEYWORD(commas=True),
        url=STORED(),
        date=DATETIME(stored=True, sortable=True),
    )


# --- Snippets -------------------------------------------------------------------


class EscapingFormatter(highlight.Formatter):
    """Everything from the document is HTML-escaped; only <mark> is added."""

    between = " … "

    def _text(self, text):
        return html.escape(text, quote=True)

    def format_token(self, text, token, replace=False):
        return "<mark>" + html.escape(highlight.get_text(text, token, replace), quote=True) + "</mark>"


class FirstPassageFragmenter(highlight.ContextFragmenter):
    """The passage around the first match only: reading stops there."""

    def fragment_tokens(self, text, tokens):
        for fragment in super().fragment_tokens(text, tokens):
            yield fragment
            return


# Folding that keeps every character in place, to find where a word may be
# in the original text with one regular expression (C speed) before Whoosh
# analyses only the few hundred characters around it.
_LOCATE = {code: (value[0] if value else " ") for code, value in _FOLD.items()}
PASSAGE_CHARS = 240
_WINDOW_BEFORE, _WINDOW_AFTER = 160, 320


def _word_start(window: str, position: int, cut: bool) -> int:
    space = max(window.rfind(" ", 0, position), window.rfind("\n", 0, position))
    if space == -1:
        if not cut:
            return 0
        space = window.find(" ", position)  # the window begins inside a word
        return space + 1 if space != -1 else position
    return space + 1 if position - space <= 6 else position


def _word_end(window: str, position: int, cut: bool) -> int:
    spaces = [i for i in (window.find(" ", position), window.find("\n", position)) if i != -1]
    if not spaces:
        if not cut:
            return len(window)
        space = window.rfind(" ", 0, position)  # the window ends inside a word
        return space if space != -1 else position
    return min(spaces) if min(spaces) - position <= 6 else position


def passage(text: str, words: frozenset[str], *, tries: int = 8) -> str:
    """An HTML passage of ``text`` around its first word whose analysed form
    is in ``words``, that word in <mark>; "" when none is found."""
    if not text or not words:
        return ""
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")")
    folded = text.lower().translate(_LOCATE)
    if len(folded) != len(text):  # a character whose lowercase is longer: locate in the text as it is
        folded = text
    formatter = EscapingFormatter()
    for match in itertools.islice(pattern.finditer(folded), tries):
        start = max(0, match.start() - _WINDOW_BEFORE)
        end = min(len(text), match.start() + _WINDOW_AFTER)
        window = text[start:end]
        tokens = ANALYZER(window, chars=True, positions=True, mode="index", removestops=False)
        tokens = highlight.set_matched_filter(tokens, words)
        fragmenter = FirstPassageFragmenter(maxchars=PASSAGE_CHARS, surround=PASSAGE_CHARS // 3)
        fragment = next(iter(fragmenter.fragment_tokens(window, tokens)), None)
        if fragment is None:
            continue
        # Tokens leave out punctuation around them: take it back, up to the
        # neighbouring spaces; a word cut by the window's edge is dropped.
        fragment.startchar = _word_start(window, fragment.startchar, cut=start > 0)
        fragment.endchar = _word_end(window, fragment.endchar, cut=end < len(text))
        body = formatter.format_fragment(fragment).strip()
        prefix = "… " if text[: start + fragment.startchar].strip() else ""
        suffix = " …" if text[start + fragment.endchar :].strip() else ""
        return prefix + body + suffix
    return ""


# --- Query syntax ---------------------------------------------------------------

_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ET", "OU", "SAUF"}
_WORD = re.compile(r"\w+")


# A wildcard needs this many letters before it, and reads at most this many words.
MIN_WILDCARD_PREFIX = 3
MAX_WILDCARD_EXPANSION = 500


def syntax_problem(text: str) -> bool:
    """True when ``text`` is not a query a person meant as written: an unmatched
    quote or bracket, an operator with nothing on one side, a bare wildcard."""
    if text.count('"') % 2:
        return True
    depth = 0
    for char in text.replace('"', " "):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return True
    if depth:
        return True
    outside_quotes = re.sub(r'"[^"]*"', " x ", text)
    tokens = re.findall(r"\(|\)|[^\s()]+", outside_quotes)
    previous = None
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if token in _OPERATORS:
            binary = token not in ("NOT", "SAUF")
            if nxt is None or nxt in _OPERATORS - {"NOT", "SAUF"} or nxt == ")":
                return True
            if binary and (previous is None or previous in _OPERATORS or previous == "("):
                return True
        elif token not in ("(", ")"):
            bare = token.lstrip("+-")
            if not _WORD.search(bare):
                return True  # "*", "-", "+", "?" alone
            if bare[0] in "*?":
                return True  # a leading wildcard would read the whole lexicon
            if ("*" in bare or "?" in bare) and len(re.split(r"[*?]", bare, maxsplit=1)[0]) < MIN_WILDCARD_PREFIX:
                return True  # "a*" or "de?" would read most of it
        elif token == "(" and nxt == ")":
            return True
        previous = token
    return False


def make_parser(schema: Schema) -> qparser.QueryParser:
    parser = qparser.MultifieldParser(list(SEARCH_FIELDS), schema, fieldboosts=FIELD_BOOSTS, group=qparser.AndGroup)
    for plugin in (qparser.SingleQuotePlugin, qparser.FieldsPlugin, qparser.RangePlugin, qparser.BoostPlugin, qparser.EveryPlugin):
        parser.remove_plugin_class(plugin)
    parser.replace_plugin(
        qparser.OperatorsPlugin(
            And=r"(?<=\s)(AND|ET)(?=\s)",
            Or=r"(?<=\s)(OR|OU)(?=\s)",
            AndNot=r"(?<=\s)ANDNOT(?=\s)",
            Not=r"(^|(?<=(\s|[()])))(NOT|SAUF)(?=\s)",
        )
    )
    # "-hôtel" excludes, "+hôtel" requires; a hyphen inside a word ("sans-abri") is no operator.
    parser.add_plugin(qparser.PlusMinusPlugin(plusexpr=r"(^|(?<=[\s(]))\+(?=[^\s+])", minusexpr=r"(^|(?<=[\s(]))-(?=[^\s-])"))
    return parser


def _stem(word: str) -> str:
    tokens = [t.text for t in ANALYZER(word, removestops=False)]
    return tokens[0] if tokens else fold(word)


def _fold_wildcards(q):
    """Whoosh takes the text of ``accompagn*`` as typed, while the index holds
    folded stems: fold it, and also try its stem (``hébergem*`` meets "heberg")."""
    if isinstance(q, query.Prefix):
        text = fold(q.text)
        stem = _stem(text)
        if stem != text and len(stem) >= 3:
            return query.Or([query.Prefix(q.fieldname, text, boost=q.boost), query.Prefix(q.fieldname, stem, boost=q.boost)])
        return query.Prefix(q.fieldname, text, boost=q.boost)
    if isinstance(q, query.Wildcard):
        return query.Wildcard(q.fieldname, fold(q.text), boost=q.boost)
    if q.is_leaf():
        return q
    return q.apply(_fold_wildcards)


def scoring_units(q) -> list:
    """The parts of ``q`` that add to a document's score (what NOT and
    exclusions name adds nothing)."""
    if isinstance(q, query.And | query.Or):
        return [unit for sub in q.subqueries for unit in scoring_units(sub)]
    if isinstance(q, query.AndNot | query.Require):
        return scoring_units(q.a)
    if isinstance(q, query.AndMaybe):
        return scoring_units(q.a) + scoring_units(q.b)
    if isinstance(q, query.Not) or isinstance(q, type(query.NullQuery)):
        return []
    return [q]


MERGE_FACTOR = 10


def merge_tiers(writer, segments):
    """Merge policy for commits of a few entries: segments are grouped by
    size (1-9 entries, 10-99, ...) and a group is merged only once it has
    MERGE_FACTOR segments, so each entry is rewritten a few times in its life
    instead of at almost every commit (Whoosh's default); a full reindex
    leaves a single segment."""
    tiers: dict[int, list] = {}
    for segment in segments:
        tiers.setdefault(len(str(max(1, segment.doc_count_all()))), []).append(segment)
    for tier in sorted(tiers):
        group = tiers[tier]
        if len(group) >= MERGE_FACTOR:
            for segment in group:
                reader = SegmentReader(writer.storage, writer.schema, segment)
                writer.add_reader(reader)
                reader.close()
            merged = {id(segment) for segment in group}
            return [segment for segment in segments if id(segment) not in merged]
    return segments


# --- The engine -------------------------------------------------------------------


class WhooshEngine(SearchEngine):
    # Kept from the content for the snippet: enough for the passage around a
    # match in the first pages, small enough to read fast.
    STORED_CONTENT_CHARS = 20_000
    USE_MMAP = False
    # The writer lock: how long one attempt waits, and how long in all.
    LOCK_TIMEOUT = 1.0
    WRITE_DEADLINE = 60.0

    def __init__(self, app, path: str | os.PathLike | None = None):
        self.app = app
        self.path = Path(path or Path(app.config["DATA_DIR"]) / "search-index")
        self.schema = make_schema()
        self.parser = make_parser(self.schema)
        self._ix = None
        self._ix_lock = threading.RLock()
        self._local = threading.local()
        self._exclusive_depth = 0
        # Bumped whenever the directory is replaced: every thread's searcher is then stale.
        self._epoch = 0

    # -- opening, and rebuilding what is missing or broken -----------------------

    @contextmanager
    def _exclusive(self):
        """One process at a time creates or repairs the directory (callers
        hold ``_ix_lock``, so the nesting count needs no lock of its own)."""
        if self._exclusive_depth:
            self._exclusive_depth += 1
            try:
                yield
            finally:
                self._exclusive_depth -= 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / (self.path.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._exclusive_depth = 1
            try:
                yield
            finally:
                self._exclusive_depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _storage(self) -> FileStorage:
        # No mmap: a file replaced under our feet then raises an error we
        # recover from instead of a SIGBUS that kills the worker.
        return FileStorage(str(self.path), supports_mmap=self.USE_MMAP)

    def _open(self):
        with self._ix_lock:
            if self._ix is None:
                try:
                    self._ix = self._storage().open_index(schema=self.schema)
                except Exception as error:  # missing, empty or unreadable
                    self._recover(error)
            return self._ix

    def _recover(self, error: Exception) -> None:
        """After ``error``: reopen the index if it reads well (another worker
        may have repaired it, or the error had another cause), else make a
        fresh one from the database. Under a cross-process lock, so that
        several workers finding it broken rebuild it only once."""
        with self._ix_lock, self._exclusive():
            self._forget_searchers()
            self._ix = None
            try:
                ix = self._storage().open_index(schema=self.schema)
                _check(ix)
                self._ix = ix
                return
            except Exception:
                pass
            log.warning("Search index at %s is missing or unreadable (%r): rebuilding it from the database", self.path, error)
            ix = self._fresh()
            try:
                count = self._fill(ix, self._entries_from_database())
            except BaseException:
                # No half-filled index that would look complete: try again next time.
                self._ix = None
                shutil.rmtree(self.path, ignore_errors=True)
                raise
            log.warning("Search index rebuilt from the database: %d entries", count)

    def _entries_from_database(self) -> Iterable[SearchEntry]:
        from extranet.extensions import db
        from extranet.search.entries import all_entries

        # A fresh application context: a session of its own, whatever the
        # caller is doing with theirs.
        with self.app.app_context():
            yield from all_entries(db.session)

    # -- writing -------------------------------------------------------------------

    def _writer(self, ix, **kwargs):
        """The writer lock, waited for with a growing, jittered pause: several
        workers commit at once and none may drop its update."""
        deadline = time.monotonic() + self.WRITE_DEADLINE
        pause = 0.02
        while True:
            try:
                return ix.writer(timeout=self.LOCK_TIMEOUT, delay=0.02, **kwargs)
            except LockError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(pause + random.uniform(0, pause))
                pause = min(pause * 2, 0.5)

    def _write(self, change: Callable) -> None:
        for attempt in (1, 2):
            ix = self._open()
            try:
                writer = self._writer(ix)
            except LockError:
                raise
            except Exception as error:
                if attempt == 2:
                    raise
                self._recover(error)
                continue
            try:
                change(writer)
                writer.commit(mergetype=merge_tiers)
                return
            except Exception as error:
                writer.cancel()
                if attempt == 2:
                    raise
                self._recover(error)

    def _document(self, entry: SearchEntry) -> dict:
        date = entry.date
        if date is not None and date.tzinfo is not None:
            date = date.astimezone(UTC).replace(tzinfo=None)
        doc = {
            "key": entry.key,
            "kind": entry.kind,
            "title": entry.title or "",
            "summary": entry.summary or "",
            "content": entry.content or "",
            "_stored_content": (entry.content or "")[: self.STORED_CONTENT_CHARS],
            "keywords": " ".join(entry.keywords),
            "axes": ",".join(str(a) for a in entry.axes),
            "access": ",".join(sorted(entry.access)),
            "url": entry.url,
        }
        if entry.type:
            doc["type"] = str(entry.type)
        if entry.territory_id is not None:
            doc["territory_id"] = str(entry.territory_id)
        if entry.year is not None:
            doc["year"] = str(entry.year)
        if date is not None:
            doc["date"] = date
        return doc

    def index(self, entries: Iterable[SearchEntry]) -> None:
        documents = [self._document(entry) for entry in entries]
        if not documents:
            return

        def change(writer):
            for document in documents:
                writer.update_document(**document)

        self._write(change)

    def refresh(self, keys: Iterable[str], load: Callable[[list[str]], dict]) -> None:
        keys = list(keys)
        if not keys:
            return

        def change(writer):
            # Read under the writer lock: see entries._apply.
            for key, entry in load(keys).items():
                if entry is None:
                    writer.delete_by_term("key", key)
                else:
                    writer.update_document(**self._document(entry))

        self._write(change)

    def remove(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not keys:
            return

        def change(writer):
            for key in keys:
                writer.delete_by_term("key", key)

        self._write(change)

    def _fill(self, ix, entries: Iterable[SearchEntry], progress=None, clear=False) -> int:
        return self._fill_writer(self._writer(ix, limitmb=256), entries, progress, clear)

    def _fill_writer(self, writer, entries, progress=None, clear=False) -> int:
        count = 0
        try:
            for entry in entries:
                writer.add_document(**self._document(entry))
                count += 1
                if progress is not None:
                    progress(1)
            # CLEAR drops every older segment in the same commit: readers see
            # the old index until the new one is complete, never an empty one.
            writer.commit(mergetype=CLEAR) if clear else writer.commit()
        except BaseException:
            writer.cancel()
            raise
        return count

    def _fresh(self, force=True):
        """An empty index in an emptied directory; without ``force``, an index
        another process has just created is kept (it may be filling it)."""
        with self._ix_lock, self._exclusive():
            if not force:
                try:
                    self._ix = self._storage().open_index(schema=self.schema)
                    return self._ix
                except Exception:
                    pass
            self._forget_searchers()
            self._epoch += 1
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir(parents=True, exist_ok=True)
            self._ix = self._storage().create_index(self.schema)
            return self._ix

    def rebuild(self, entries: Iterable[SearchEntry], progress: Callable[[int], None] | None = None) -> int:
        try:
            with self._ix_lock:
                ix = self._ix or self._storage().open_index(schema=self.schema)
            writer = self._writer(ix, limitmb=256)
        except LockError:
            raise
        except Exception as error:
            # Missing, or too broken to write in: start from an empty directory.
            if not isinstance(error, index.EmptyIndexError):
                log.warning("Search index at %s unusable (%r): rebuilding it in an empty directory", self.path, error)
            ix = self._fresh(force=not isinstance(error, index.EmptyIndexError))
            writer = self._writer(ix, limitmb=256)
        with self._ix_lock:
            self._ix = ix
        count = self._fill_writer(writer, entries, progress, clear=True)
        self._forget_searchers()
        return count

    # -- reading -------------------------------------------------------------------

    def _forget_searchers(self) -> None:
        state = getattr(self._local, "state", None)
        self._local.state = None
        if state is not None:
            try:
                state.searcher.close()
            except Exception:
                pass

    def _state(self) -> "_SearcherState":
        """This thread's searcher (and what was computed over it), reopened
        only when the index has changed."""
        state = getattr(self._local, "state", None)
        if state is not None and (state.epoch != self._epoch or not state.searcher.up_to_date()):
            # A whole new searcher, not searcher.refresh(): that one reuses
            # the readers of unchanged segments and so misses deletions.
            self._forget_searchers()
            state = None
        if state is None:
            epoch = self._epoch
            state = self._local.state = _SearcherState(self._open().searcher())
            state.epoch = epoch
        return state

    def parse(self, text: str) -> tuple[query.Query | None, bool]:
        """The query for ``text`` and whether only its plain words were kept."""
        plain = syntax_problem(text)
        q = None
        if not plain:
            try:
                q = _fold_wildcards(self.parser.parse(text))
            except Exception:
                plain = True
        if plain:
            words = " ".join(w.lower() for w in _WORD.findall(text) if w not in _OPERATORS)
            q = self.parser.parse(words) if words else None
        if q is not None and q is query.NullQuery:
            q = None
        return q, plain

    def query(self, text, *, access, filters=None, page=1, per_page=20) -> SearchResults:
        page = max(1, int(page))
        results = SearchResults(query=text, total=0, page=page, per_page=per_page, facets={name: [] for name in FACETS})
        q, results.plain_words = self.parse(text or "")
        if q is None or not access:
            return results
        wanted = {name: str(value) for name, value in (filters or {}).items() if name in FACETS and value not in (None, "")}
        for attempt in (1, 2):
            try:
                return self._run(q, frozenset(access), wanted, results)
            except Exception as error:
                if attempt == 2:
                    raise
                self._recover(error)

    def _run(self, q, access: frozenset, filters: dict, results: SearchResults) -> SearchResults:
        state = self._state()
        # Every permitted match, as a set of document numbers: the count and
        # the facets come from it, and only the page's hits are scored in order.
        matched = state.docs(q) & state.allowed(access, filters)
        results.total = len(matched)
        results.facets = state.facets(matched)
        if not matched:
            return results
        per_page = results.per_page
        results.page = page = min(results.page, -(-results.total // per_page))
        # On documents known to match the whole query, the sum of the scores
        # of its positive parts is the score of the query itself; Whoosh
        # walks a flat union of them several times faster than nested groups.
        units = scoring_units(q)
        scored = query.Or(units) if len(units) > 1 else (units[0] if units else q)
        hits = state.searcher.search(scored, filter=matched, limit=page * per_page)
        words = {}
        for name in ("content", "summary"):
            words[name] = frozenset(text.decode("utf-8") for field, text in hits.query_terms(expand=True, fieldname=name) if field == name)
        for hit in hits[(page - 1) * per_page : page * per_page]:
            results.hits.append(self._hit(hit, words))
        return results

    def _hit(self, hit, words: dict[str, frozenset]) -> SearchHit:
        fields = hit.fields()
        snippet = ""
        for name in ("content", "summary"):
            snippet = passage(fields.get(name) or "", words.get(name, frozenset()))
            if snippet:
                break
        if not snippet:
            snippet = html.escape(_shorten(fields.get("summary") or fields.get("content") or "", PASSAGE_CHARS))
        axes = tuple(int(a) for a in (fields.get("axes") or "").split(",") if a.strip().isdigit())
        return SearchHit(
            key=fields["key"],
            kind=fields["kind"],
            title=fields.get("title", ""),
            url=fields.get("url", ""),
            snippet=Markup(snippet),
            type=fields.get("type") or None,
            axes=axes,
            territory_id=int(fields["territory_id"]) if fields.get("territory_id") else None,
            year=int(fields["year"]) if fields.get("year") else None,
            score=float(hit.score or 0.0),
        )


class _SearcherState:
    """A searcher, and what a query needs that depends only on the index:
    the documents each access set may see, the facet values of every
    document. Computed once per version of the index, then reused."""

    MAX_CACHED_ACCESS_SETS = 64
    MAX_CACHED_DOC_NUMBERS = 500_000

    def __init__(self, searcher):
        self.searcher = searcher
        self.epoch = 0
        self._terms: OrderedDict = OrderedDict()
        self._terms_size = 0
        self._allowed: dict = {}
        self._values: dict[str, list] = {}
        self._axes: dict[int, set] | None = None
        self._live: set | None = None

    def live(self) -> set:
        if self._live is None:
            self._live = set(self.searcher.reader().all_doc_ids())
        return self._live

    def term_docs(self, fieldname: str, text) -> frozenset:
        if fieldname not in self.searcher.schema:
            return frozenset()
        btext = text if isinstance(text, bytes) else self.searcher.schema[fieldname].to_bytes(text)
        key = (fieldname, btext)
        docs = self._terms.get(key)
        if docs is not None:
            self._terms.move_to_end(key)
            return docs
        found = set()
        for sub, offset in self.searcher.leaf_searchers():
            reader = sub.reader()
            if key not in reader:
                continue
            ids = reader.postings(fieldname, btext).all_ids()
            found.update(ids if not offset else (i + offset for i in ids))
        docs = frozenset(found)
        # The words people search for again (and the access tokens) stay at
        # hand, within a bounded number of document numbers.
        self._terms[key] = docs
        self._terms_size += len(docs)
        while self._terms_size > self.MAX_CACHED_DOC_NUMBERS and len(self._terms) > 1:
            _, dropped = self._terms.popitem(last=False)
            self._terms_size -= len(dropped)
        return docs

    def docs(self, q) -> set:
        """The documents matching ``q``, with set operations where possible
        (much cheaper than letting Whoosh walk its matchers)."""
        if isinstance(q, query.Term):
            return self.term_docs(q.fieldname, q.text)
        if isinstance(q, query.Or):
            docs = set()
            for sub in q.subqueries:
                docs |= self.docs(sub)
            return docs
        if isinstance(q, query.And):
            parts = sorted((self.docs(sub) for sub in q.subqueries), key=len)
            if not parts:
                return set()
            docs = parts[0]
            for part in parts[1:]:
                docs = docs & part
            return docs
        if isinstance(q, query.AndNot):
            return self.docs(q.a) - self.docs(q.b)
        if isinstance(q, query.Require):
            return self.docs(q.a) & self.docs(q.b)
        if isinstance(q, query.AndMaybe):
            return self.docs(q.a)
        if isinstance(q, query.Not):
            return self.live() - self.docs(q.query)
        if isinstance(q, query.Prefix | query.Wildcard):
            docs = set()
            for n, btext in enumerate(q._btexts(self.searcher.reader())):
                if n >= MAX_WILDCARD_EXPANSION:
                    break  # bounded work for one word of a query
                docs |= self.term_docs(q.fieldname, btext)
            return docs
        if isinstance(q, type(query.NullQuery)):
            return set()
        return set(self.searcher.docs_for_query(q))

    def allowed(self, access: frozenset, filters: dict) -> set:
        key = (access, tuple(sorted(filters.items())))
        docs = self._allowed.get(key)
        if docs is None:
            docs = set()
            for token in access:
                docs |= self.term_docs("access", token)
            docs &= self.live()
            for name, value in filters.items():
                docs &= self.term_docs(name, value)
            if len(self._allowed) >= self.MAX_CACHED_ACCESS_SETS:
                self._allowed.clear()
            self._allowed[key] = docs
        return docs

    def _column(self, name: str) -> list:
        values = self._values.get(name)
        if values is None:
            values = []
            for sub, _ in self.searcher.leaf_searchers():
                reader = sub.reader()
                if reader.has_column(name):
                    values.extend(reader.column_reader(name, translate=True))
                else:
                    values.extend([None] * reader.doc_count_all())
            self._values[name] = values
        return values

    def facets(self, matched: set) -> dict:
        counters = {}
        for name in ("kind", "type", "territory_id", "year"):
            values = self._column(name)
            counters[name] = Counter(values[d] for d in matched)
        if self._axes is None:
            self._axes = {}
            for btext in self.searcher.reader().lexicon("axes"):
                self._axes[int(btext.decode())] = self.term_docs("axes", btext)
        counters["axes"] = Counter({axis: len(docs & matched) for axis, docs in self._axes.items()})
        facets = {}
        for name in FACETS:
            values = []
            for value, count in counters[name].items():
                if value in (None, "") or not count:
                    continue
                if name in ("territory_id", "year"):
                    value = int(value)
                values.append((value, count))
            values.sort(key=lambda vc: (-vc[1], str(vc[0])))
            facets[name] = values
        return facets


def _check(ix) -> None:
    """Read a little of every kind of file of the index; raises if one is damaged."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        count = searcher.doc_count_all()
        for docnum in {0, count - 1} if count else ():
            searcher.stored_fields(docnum)
        for fieldname in ("key", "access", "content"):
            for btext in itertools.islice(reader.lexicon(fieldname), 3):
                list(reader.postings(fieldname, btext).all_ids())
        for name in ("kind", "date"):
            if reader.has_column(name) and count:
                reader.column_reader(name)[count - 1]


def _shorten(text: str, length: int) -> str:
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text.rfind(" ", 0, length)
    return text[: cut if cut > length // 2 else length] + " …"


__all__ = ["WhooshEngine", "fold", "french_analyzer", "make_schema", "syntax_problem", "datetime"]
