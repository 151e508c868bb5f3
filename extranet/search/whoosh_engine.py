"""The search engine of the platform, on Whoosh (pure Python, files in DATA_DIR).

The index lives in ``DATA_DIR/search-index``. Several gunicorn workers share
it: Whoosh lets one writer at a time hold the directory, so writes wait for
the lock and retry with a backoff instead of losing an update. Readers never
wait. An index that is missing or unreadable is rebuilt from the database.
"""

import fcntl
import html
import logging
import os
import random
import re
import shutil
import threading
import time
from collections import Counter
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
    return Schema(
        key=ID(unique=True, stored=True),
        kind=ID(stored=True, sortable=True),
        title=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["title"], stored=True),
        summary=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["summary"], stored=True),
        content=TEXT(analyzer=ANALYZER, stored=True),
        keywords=TEXT(analyzer=ANALYZER, field_boost=FIELD_BOOSTS["keywords"]),
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

    def format_fragment(self, fragment, replace=False):
        output = super().format_fragment(fragment, replace=replace)
        prefix = "… " if fragment.startchar > 0 else ""
        suffix = " …" if fragment.endchar < len(fragment.text) else ""
        return prefix + output + suffix


class FirstPassageFragmenter(highlight.ContextFragmenter):
    """The passage around the first match only: reading stops there, so a long
    document costs no more than its first match."""

    def fragment_tokens(self, text, tokens):
        for fragment in super().fragment_tokens(text, tokens):
            yield fragment
            return


# --- Query syntax ---------------------------------------------------------------

_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ET", "OU", "SAUF"}
_WORD = re.compile(r"\w+")


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


# --- The engine -------------------------------------------------------------------


class WhooshEngine(SearchEngine):
    # Kept from the content for the snippet: enough for the passage around a
    # match in the first pages, small enough to read fast.
    STORED_CONTENT_CHARS = 20_000
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
        return FileStorage(str(self.path), supports_mmap=False)

    def _open(self):
        with self._ix_lock:
            if self._ix is None:
                try:
                    self._ix = self._storage().open_index(schema=self.schema)
                except Exception as error:  # missing, empty or unreadable
                    self._recover(error)
            return self._ix

    def _recover(self, error: Exception, broken_generation: int | None = None) -> None:
        """Make a fresh index from the database, under a cross-process lock so
        that several workers finding the index broken rebuild it only once:
        whoever waited finds it repaired (a newer generation) and just opens it."""
        with self._ix_lock, self._exclusive():
            self._forget_searchers()
            self._ix = None
            try:
                ix = self._storage().open_index(schema=self.schema)
                if broken_generation is None or ix.latest_generation() != broken_generation:
                    with ix.searcher() as searcher:
                        searcher.search(query.Every(), limit=1)
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

    def _generation(self) -> int | None:
        try:
            return self._ix.latest_generation() if self._ix is not None else None
        except Exception:
            return None

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
            generation = self._generation()
            try:
                writer = self._writer(ix)
            except LockError:
                raise
            except Exception as error:
                if attempt == 2:
                    raise
                self._recover(error, generation)
                continue
            try:
                change(writer)
                writer.commit()
                return
            except Exception as error:
                writer.cancel()
                if attempt == 2:
                    raise
                self._recover(error, generation)

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
        entries = list(entries)
        if not entries:
            return

        def change(writer):
            for entry in entries:
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

    def _fresh(self):
        """An empty index in an emptied directory."""
        with self._ix_lock, self._exclusive():
            self._forget_searchers()
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
            ix = self._fresh()
            writer = self._writer(ix, limitmb=256)
        with self._ix_lock:
            self._ix = ix
        count = self._fill_writer(writer, entries, progress, clear=True)
        self._forget_searchers()
        return count

    # -- reading -------------------------------------------------------------------

    def _forget_searchers(self) -> None:
        searcher = getattr(self._local, "searcher", None)
        self._local.searcher = None
        if searcher is not None:
            try:
                searcher.close()
            except Exception:
                pass

    def _searcher(self):
        """This thread's searcher, reopened only when the index has changed."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._open().searcher()
        elif not searcher.up_to_date():
            # A whole new searcher, not searcher.refresh(): that one reuses
            # the readers of unchanged segments and so misses deletions.
            searcher.close()
            searcher = self._open().searcher()
        self._local.searcher = searcher
        return searcher

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
        results = SearchResults(query=text, total=0, page=page, per_page=per_page)
        q, results.plain_words = self.parse(text or "")
        if q is None or not access:
            results.facets = {name: [] for name in FACETS}
            return results
        restriction = [query.Or([query.Term("access", token) for token in sorted(access)])]
        for name, value in (filters or {}).items():
            if name in FACETS and value not in (None, ""):
                restriction.append(query.Term(name, str(value)))
        restriction = restriction[0] if len(restriction) == 1 else query.And(restriction)
        for attempt in (1, 2):
            generation = self._generation()
            try:
                return self._run(q, restriction, results)
            except Exception as error:
                if attempt == 2:
                    raise
                self._recover(error, generation)

    def _run(self, q, restriction, results: SearchResults) -> SearchResults:
        searcher = self._searcher()
        page, per_page = results.page, results.per_page
        hits = searcher.search(q, filter=restriction, limit=page * per_page, terms=True)
        matched = set(hits.docs())
        results.total = len(matched)
        results.facets = self._facets(searcher, matched)
        last = max(1, -(-results.total // per_page))
        if page > last:
            results.page = page = last
            hits = searcher.search(q, filter=restriction, limit=page * per_page, terms=True)
        hits.fragmenter = FirstPassageFragmenter(maxchars=240, surround=90)
        hits.formatter = EscapingFormatter()
        hits.order = highlight.FIRST
        for hit in hits[(page - 1) * per_page : page * per_page]:
            results.hits.append(self._hit(hit))
        return results

    def _facets(self, searcher, matched) -> dict:
        counters = {name: Counter() for name in FACETS}
        if matched:
            for name in ("kind", "type", "territory_id", "year"):
                counters[name] = self._column_counts(searcher, name, matched)
            reader = searcher.reader()
            for axis in reader.lexicon("axes"):
                docs = set(searcher.postings("axes", axis).all_ids())
                n = len(docs & matched) if len(docs) > len(matched) else sum(1 for d in docs if d in matched)
                if n:
                    counters["axes"][int(axis.decode())] = n
        facets = {}
        for name, counter in counters.items():
            values = []
            for value, count in counter.items():
                if value in (None, ""):
                    continue
                if name in ("territory_id", "year") and not isinstance(value, int):
                    value = int(value)
                values.append((value, count))
            values.sort(key=lambda vc: (-vc[1], str(vc[0])))
            facets[name] = values
        return facets

    @staticmethod
    def _column_counts(searcher, name, matched) -> Counter:
        counter = Counter()
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            if not reader.has_column(name):
                continue
            column = reader.column_reader(name, translate=True)
            last = offset + reader.doc_count_all()
            for docnum in matched:
                if offset <= docnum < last:
                    counter[column[docnum - offset]] += 1
        return counter

    def _hit(self, hit) -> SearchHit:
        fields = hit.fields()
        snippet = ""
        for name in ("content", "summary"):
            if fields.get(name):
                try:
                    snippet = hit.highlights(name, top=1)
                except Exception:
                    snippet = ""
                if snippet:
                    break
        if not snippet:
            plain = fields.get("summary") or fields.get("content") or ""
            snippet = html.escape(_shorten(plain, 240))
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


def _shorten(text: str, length: int) -> str:
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text.rfind(" ", 0, length)
    return text[: cut if cut > length // 2 else length] + " …"


__all__ = ["WhooshEngine", "fold", "french_analyzer", "make_schema", "syntax_problem", "datetime"]
