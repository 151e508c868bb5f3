"""The small interface the rest of the platform uses to search."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from markupsafe import Markup

from extranet.search.entries import SearchEntry

# The facets the results page offers, in this order.
FACETS = ("kind", "type", "axes", "territory_id", "year")


@dataclass
class SearchHit:
    key: str
    kind: str
    title: str
    url: str
    snippet: Markup  # a passage around the match, <mark> on the matched words, everything else escaped
    type: str | None = None
    axes: tuple[int, ...] = ()
    territory_id: int | None = None
    year: int | None = None
    score: float = 0.0


@dataclass
class SearchResults:
    query: str
    total: int
    page: int
    per_page: int
    hits: list[SearchHit] = field(default_factory=list)
    # facet name -> [(value, count)], counted over every hit the user may see
    facets: dict[str, list[tuple[object, int]]] = field(default_factory=dict)
    # True when the query syntax was invalid and the plain words were searched instead
    plain_words: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class SearchEngine(ABC):
    @abstractmethod
    def index(self, entries: Iterable[SearchEntry]) -> None:
        """Add or replace these entries (by key)."""

    @abstractmethod
    def remove(self, keys: Iterable[str]) -> None:
        """Forget these keys; unknown keys are ignored."""

    @abstractmethod
    def refresh(self, load: Callable[[], dict], *, wait: bool = True) -> bool:
        """Replace the keys ``load()`` returns by their entries ({key: entry, or
        None to remove}), calling it while holding the index's write lock.
        Without ``wait``, returns False at once, having called nothing, when
        another writer holds the lock."""

    @abstractmethod
    def query(
        self,
        text: str,
        *,
        access: set[str],
        filters: dict | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> SearchResults:
        """Hits whose access tokens meet ``access``; ``filters`` maps facet names
        to one value each. Nothing outside ``access`` shows, not even in a count."""

    @abstractmethod
    def rebuild(self, entries: Iterable[SearchEntry], progress: Callable[[int], None] | None = None) -> int:
        """Replace the whole index by these entries; returns how many."""


def init_app(app) -> None:
    app.extensions["search"] = None  # created on first use, in the data directory


def get_engine(app) -> SearchEngine:
    engine = app.extensions.get("search")
    if engine is None:
        from extranet.search.tantivy_engine import TantivyEngine

        engine = app.extensions["search"] = TantivyEngine(app)
    return engine
