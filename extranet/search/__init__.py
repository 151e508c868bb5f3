"""Platform-wide full-text search.

Each feature tells, once, how its models become search entries
(:func:`register`); the index then follows the database by itself through
SQLAlchemy events (see :mod:`extranet.search.entries`). Views talk to the
engine only through :class:`extranet.search.engine.SearchEngine`, so another
engine can replace Tantivy (which replaced Whoosh) without touching them.
"""

from extranet.search.engine import SearchEngine, SearchHit, SearchResults, get_engine, init_app
from extranet.search.entries import KINDS, SearchEntry, all_entries, register, register_dependent, register_kind

__all__ = [
    "KINDS",
    "register_kind",
    "SearchEngine",
    "SearchEntry",
    "SearchHit",
    "SearchResults",
    "all_entries",
    "get_engine",
    "init_app",
    "register",
    "register_dependent",
]
