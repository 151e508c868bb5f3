"""The roadmap pages: a territory's roadmap and its editing.

The blueprint ``roadmaps`` (``/roadmaps``) is shared by several modules, each
imported at the bottom of this one: ``content_views`` (actions),
``indicator_views`` (indicators and budget), ``review_views`` (submission,
review, comments, versions), ``library_views`` (library, axis view,
comparison of territories), ``network_views`` (the national team's indicator
view and the national list), ``export_views`` (print, PDF, CSV/XLSX).

Views load (404), check (403), validate, call one service, commit once and
redirect. Every edit form carries the roadmap's version it was read at; a
change made meanwhile by someone else gives :func:`edit_conflict` instead of
an overwrite.
"""

from flask import Blueprint, abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from extranet.extensions import db
from extranet.permissions import can_view_roadmap, require
from extranet.roadmaps.models import Roadmap

bp = Blueprint("roadmaps", __name__)


def _actor():
    return current_user._get_current_object()


def _roadmap(roadmap_id: int) -> Roadmap:
    """The roadmap, or 404; 403 for someone who may not read it."""
    roadmap = db.session.get(Roadmap, roadmap_id)
    if roadmap is None:
        abort(404)
    require(can_view_roadmap(_actor(), roadmap))
    return roadmap


def edit_conflict(form, roadmap: Roadmap) -> None:
    """After ``EditConflict``/``StaleDataError`` (and the rollback): keep what
    the person typed in ``form``, tell them, and let them post it again knowingly.

    The form is re-rendered with their text; its ``version`` field now holds the
    current version, so a second submission applies their text over the other
    person's change, which they have been shown the roadmap page link to read."""
    db.session.rollback()
    db.session.refresh(roadmap)
    flash(
        _(
            "Someone else changed this roadmap while you were editing it (by %(name)s). "
            "Your text is kept below: check the roadmap, then save again to apply it.",
            name=roadmap.updated_by.name if roadmap.updated_by else _("another person"),
        ),
        "warning",
    )
    if hasattr(form, "version"):
        form.version.data = roadmap.version
        form.version.raw_data = [str(roadmap.version)]


# The other pages of the blueprint (each module registers its routes on ``bp``).
from extranet.roadmaps import content_views  # noqa: E402,F401
from extranet.roadmaps import indicator_views  # noqa: E402,F401
from extranet.roadmaps import review_views  # noqa: E402,F401
from extranet.roadmaps import library_views  # noqa: E402,F401
from extranet.roadmaps import network_views  # noqa: E402,F401
from extranet.roadmaps import export_views  # noqa: E402,F401
