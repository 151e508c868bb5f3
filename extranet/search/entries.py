"""What the index holds, and how it follows the database.

After each flush the keys of the changed rows of registered models are
collected in ``session.info``; they reach the index only after the commit
(see :func:`drain`), and are dropped on rollback, so the index never shows
something the database does not have.
"""

import importlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_PENDING_KEY = "search_pending"


@dataclass(frozen=True)
class SearchEntry:
    """One searchable thing, whatever its kind.

    ``access`` holds the permission tokens of the thing (see
    ``extranet.permissions``): a user finds it only when one of their own
    tokens is among them. The facet fields are optional: a kind fills those
    that make sense for it.
    """

    key: str  # unique across kinds, e.g. "document:12"
    kind: str  # "document", later "discussion", "agenda", "roadmap"
    title: str
    url: str
    access: frozenset[str]
    summary: str = ""
    content: str = ""
    keywords: tuple[str, ...] = ()
    type: str | None = None
    axes: tuple[int, ...] = ()
    territory_id: int | None = None
    year: int | None = None
    date: datetime | None = None
    extra: dict = field(default_factory=dict)


# model class -> (key of an instance, instance -> entry or None when it must leave the index)
_registry: dict[type, tuple[Callable[[object], str], Callable[[object], SearchEntry | None], Callable[[], Iterable]]] = {}
# model class -> [instance -> the registered objects whose entry it changes], one per feature
_dependents: dict[type, list[Callable[[object], Iterable[object]]]] = {}


# kind -> {"label": lazy string, "type_labels": {type value: lazy string}}, for the results page
KINDS: dict[str, dict] = {}


def register_kind(kind: str, label, type_labels: dict | None = None) -> None:
    """How the results page names a kind of content and its types."""
    KINDS[kind] = {"label": label, "type_labels": dict(type_labels or {})}


def register(model: type, *, key: Callable[[object], str], to_entry: Callable[[object], SearchEntry | None], query=None) -> None:
    """Index instances of ``model``. ``query`` returns the statement that loads
    them all, for a full rebuild (default: every row)."""
    _registry[model] = (key, to_entry, query or (lambda: select(model)))


def register_dependent(model: type, parents: Callable[[object], Iterable[object]]) -> None:
    """A change to an instance of ``model`` changes the entries of ``parents(instance)``
    (a new version changes its document's entry). Several features may each
    register theirs for one model (a group's discussions and its events)."""
    if parents not in _dependents.setdefault(model, []):
        _dependents[model].append(parents)


def _registered(obj) -> tuple | None:
    for model, spec in _registry.items():
        if isinstance(obj, model):
            return spec
    return None


def all_entries(session) -> Iterator[SearchEntry]:
    """Every entry the database holds now, for a rebuild."""
    for model, (_, to_entry, query) in _registry.items():
        for obj in session.scalars(query()).unique():
            entry = to_entry(obj)
            if entry is not None:
                yield entry


def count_all(session) -> int:
    from sqlalchemy import func

    return sum(session.scalar(select(func.count()).select_from(query().subquery())) for _, _, query in _registry.values())


@event.listens_for(Session, "after_flush")
def _collect(session, flush_context):
    """Note which registered rows changed: their model and primary key. Their
    entries are built after the commit, from the database (see _apply)."""
    if not _registry:
        return
    pending = session.info.setdefault(_PENDING_KEY, {})
    deleted = set(session.deleted)
    changed = list(session.new) + list(session.dirty) + list(deleted)
    for obj in list(changed):
        for model, all_parents in _dependents.items():
            if isinstance(obj, model):
                for parents in all_parents:
                    changed.extend(p for p in parents(obj) if p is not None)
    for obj in changed:
        spec = _registered(obj)
        if spec is None:
            continue
        # New rows are not "persistent" yet at this point, but their key is known.
        identity = tuple(inspect(obj).mapper.primary_key_from_instance(obj))
        if None not in identity:
            pending[spec[0](obj)] = (type(obj), identity)


# --- From the commit to the index ----------------------------------------------------
#
# Every commit writes the keys it changed to a spool directory, then whoever
# can take the index's write lock at once applies everything spooled, in one
# index commit. A request never waits for the index: while another worker
# (or a full rebuild) holds it, that holder takes the spooled changes with
# its own before letting go. Entries are read from the database under the
# lock, so the index never keeps an older state than the database.


def _spool_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "search-spool"


def _spool(pending: dict) -> None:
    directory = _spool_dir()
    directory.mkdir(parents=True, exist_ok=True)
    records = {key: [f"{model.__module__}:{model.__qualname__}", list(identity)] for key, (model, identity) in pending.items()}
    path = directory / f"{uuid.uuid4().hex}.json"
    path.with_suffix(".part").write_text(json.dumps(records))
    path.with_suffix(".part").rename(path)  # whole files only, for the readers


def _spooled() -> list[Path]:
    directory = _spool_dir()
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def _take_spooled() -> tuple[dict, list[Path]]:
    """Claim the spooled changes (a rename: one worker only gets each file)."""
    pending, taken = {}, []
    for path in _spooled():
        claimed = path.with_suffix(f".taken-{os.getpid()}-{uuid.uuid4().hex[:6]}")
        try:
            path.rename(claimed)
        except OSError:
            continue  # another worker took it
        taken.append(claimed)
        for key, (model_path, identity) in json.loads(claimed.read_text()).items():
            module, _, name = model_path.partition(":")
            pending[key] = (getattr(importlib.import_module(module), name), tuple(identity))
    return pending, taken


def _entries(pending: dict) -> dict:
    """The entries of these rows as the database holds them now (None: gone)."""
    from extranet.extensions import db

    entries = {}
    with Session(db.engine) as fresh:
        for key, (model, identity) in pending.items():
            obj = fresh.get(model, identity)
            entries[key] = _registered(obj)[1](obj) if obj is not None else None
    return entries


def drain() -> int:
    """Apply the spooled changes if this worker can take the write lock now;
    returns how many keys it applied. The loop ends when the spool is empty
    or another writer holds the lock: that one looks again after letting go."""
    from extranet.search.engine import get_engine

    engine = get_engine(current_app)
    applied = 0
    while _spooled():
        taken: list[Path] = []

        def load() -> dict:
            pending, paths = _take_spooled()
            taken.extend(paths)
            return _entries(pending)

        try:
            done = engine.refresh(load, wait=False)
        except Exception:
            for path in taken:  # back in the spool, for the next writer
                path.rename(path.with_suffix(".json"))
            raise
        if not done or not taken:
            break
        for path in taken:
            applied += len(json.loads(path.read_text()))
            path.unlink(missing_ok=True)
    return applied


@event.listens_for(Session, "after_commit")
def _apply(session):
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    _spool(pending)
    try:
        drain()
    except Exception:
        # The commit stands; the changes wait in the spool for the next write.
        log.exception("Search index not updated for %d change(s): spooled for the next write", len(pending))


@event.listens_for(Session, "after_rollback")
def _drop(session):
    session.info.pop(_PENDING_KEY, None)
