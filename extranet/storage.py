"""Stored files.

Every file lives under ``DATA_DIR/files/``, named by the SHA-256 of its
content (``files/3f/3fa2…``), never by the name a user gave it: no name can
reach outside the folder, two uploads of the same content take the space of
one, and a stored file never changes. The database keeps the user's name.

A file is first written to a temporary file in the same folder
(:func:`stage`), checked by the caller, then moved into place with a rename
(:meth:`StagedFile.keep`), which is atomic: nobody ever reads half a file.
Removing files waits for the commit, like mail (:func:`remove_after_commit`).
"""

import hashlib
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from extranet.extensions import db

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEMP_PREFIX = "upload-"
# Staged files nobody kept nor discarded (a crash between the two) are swept after this.
STALE_TEMP_SECONDS = 24 * 3600
_REMOVE_KEY = "storage_remove"


class TooLarge(Exception):
    """The stream is longer than the limit; nothing was kept."""


def root() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "files"


def _temp_dir() -> Path:
    # Inside the same folder, so that keeping a file is a rename on one file system.
    return root() / ".tmp"


def path_for(sha256: str) -> Path:
    if not _SHA256.fullmatch(sha256 or ""):
        raise ValueError(f"not a SHA-256: {sha256!r}")
    return root() / sha256[:2] / sha256


def exists(sha256: str) -> bool:
    return path_for(sha256).is_file()


@dataclass
class StagedFile:
    """A file written to a temporary place, its hash and size known."""

    path: Path
    sha256: str
    size: int

    def keep(self) -> Path:
        """Move the file into place; when the same content is already stored,
        the copy is dropped. Returns the stored file's path."""
        target = path_for(self.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            self.discard()
            # Marks the file as in use: a deletion committing meanwhile leaves
            # recent files alone (see _remove_after_commit).
            os.utime(target)
        else:
            os.replace(self.path, target)
        return target

    def discard(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def stage(stream, max_bytes: int | None = None) -> StagedFile:
    """Copy ``stream`` (a binary file object) to a temporary file, hashing it.
    Raises :class:`TooLarge` as soon as more than ``max_bytes`` arrived, and
    then keeps nothing."""
    directory = _temp_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _sweep_stale(directory)
    digest = hashlib.sha256()
    size = 0
    handle, name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=directory)
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedFile(path=path, sha256=digest.hexdigest(), size=size)


def restage(name: str) -> StagedFile | None:
    """A file staged earlier (by a previous request) and neither kept nor
    discarded, found by the name of its temporary file; None when it is gone."""
    if not re.fullmatch(re.escape(_TEMP_PREFIX) + r"[A-Za-z0-9_]{1,64}", name or ""):
        return None
    path = _temp_dir() / name
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                size += len(chunk)
                digest.update(chunk)
        os.utime(path)  # not swept while in use
    except OSError:
        return None
    return StagedFile(path=path, sha256=digest.hexdigest(), size=size)


def store_bytes(data: bytes) -> str:
    """Store ``data`` at once (tests, imports); returns its hash."""
    import io

    staged = stage(io.BytesIO(data))
    staged.keep()
    return staged.sha256


def _sweep_stale(directory: Path) -> None:
    limit = time.time() - STALE_TEMP_SECONDS
    try:
        for entry in os.scandir(directory):
            if entry.name.startswith(_TEMP_PREFIX) and entry.stat().st_mtime < limit:
                Path(entry.path).unlink(missing_ok=True)
    except OSError:
        pass


# --- Who refers to stored files ---------------------------------------------------
#
# Several features keep files here (toolbox versions, message attachments), and
# two of them may hold the same content: a file may go only when no column of
# any of them names it any more. Each feature registers its columns in its models
# module (toolbox.models, groups.models): a column left out loses its files to
# clean-files and to the other features' deletions.

_referrers: list = []


def register_referrer(column) -> None:
    """``column`` (a mapped attribute, such as ``DocumentVersion.sha256``) holds hashes of stored files."""
    if column not in _referrers:
        _referrers.append(column)


def still_referenced(sha256s) -> set[str]:
    """Those of these hashes that some row still refers to."""
    from sqlalchemy import select

    wanted = set(sha256s)
    used: set[str] = set()
    for column in _referrers if wanted else ():
        used.update(db.session.scalars(select(column).where(column.in_(wanted)).distinct()))
    return used


def referenced() -> set[str]:
    """Every hash some row refers to."""
    from sqlalchemy import select

    used: set[str] = set()
    for column in _referrers:
        used.update(db.session.scalars(select(column).distinct()))
    return used


def remove_unreferenced_after_commit(sha256s) -> None:
    """Delete, once the transaction commits, those of these files nothing refers to any more (call after the flush)."""
    sha256s = set(sha256s)
    if sha256s:
        remove_after_commit(sha256s - still_referenced(sha256s))


def remove_after_commit(sha256s) -> None:
    """Delete these stored files once the current transaction commits (never
    if it rolls back). The caller checks that nothing else refers to them."""
    db.session.info.setdefault(_REMOVE_KEY, set()).update(sha256s)


# A stored file kept or reused this recently may belong to an upload not yet
# committed; its removal is left to `flask toolbox clean-files`.
IN_USE_SECONDS = 3600


@event.listens_for(Session, "after_commit")
def _remove_after_commit(session):
    for sha256 in session.info.pop(_REMOVE_KEY, ()):
        try:
            path = path_for(sha256)
            if path.is_file() and time.time() - path.stat().st_mtime >= IN_USE_SECONDS:
                path.unlink(missing_ok=True)
        except (OSError, ValueError):
            log.exception("Could not remove stored file %s", sha256)


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session):
    session.info.pop(_REMOVE_KEY, None)
