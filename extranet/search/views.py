"""The search page: one box for everything a user may read on the platform."""

import logging
import math

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from extranet.extensions import db
from extranet.http import int_arg, page_arg
from extranet.permissions import access_tokens
from extranet.search.engine import get_engine
from extranet.search.entries import KINDS

log = logging.getLogger(__name__)

bp = Blueprint("search", __name__)

PER_PAGE = 20
MAX_QUERY_CHARS = 300
AXES = range(1, 17)

# URL parameter -> facet of the engine, and the heading of its filter list.
FILTERS = {
    "kind": ("kind", _l("Kind of content")),
    "type": ("type", _l("Type")),
    "axis": ("axes", _l("Axis of the plan")),
    "territory": ("territory_id", _l("Territory")),
    "year": ("year", _l("Year")),
}


class Pages:
    """What macros/forms.html's pagination needs, for a list the engine paginated."""

    def __init__(self, page: int, per_page: int, total: int):
        self.page = page
        self.per_page = per_page
        self.total = total
        self.pages = max(1, math.ceil(total / per_page))

    has_prev = property(lambda self: self.page > 1)
    has_next = property(lambda self: self.page < self.pages)
    prev_num = property(lambda self: self.page - 1 if self.has_prev else None)
    next_num = property(lambda self: self.page + 1 if self.has_next else None)

    def iter_pages(self, *, left_edge=2, left_current=2, right_current=4, right_edge=2):
        shown_left = range(1, min(left_edge, self.pages) + 1)
        shown_middle = range(max(left_edge + 1, self.page - left_current), min(self.page + right_current, self.pages + 1))
        shown_right = range(max(self.pages - right_edge + 1, self.page + right_current), self.pages + 1)
        previous = 0
        for number in (*shown_left, *shown_middle, *shown_right):
            if number <= previous:
                continue
            if number != previous + 1:
                yield None
            yield number
            previous = number


def _filters_from_request() -> dict:
    """The filters of the address, each checked: an odd value filters nothing."""
    filters = {}
    kind = request.args.get("kind", "").strip()
    if kind and len(kind) <= 40:
        filters["kind"] = kind
    type_ = request.args.get("type", "").strip()
    if type_ and len(type_) <= 60:
        filters["type"] = type_
    axis = int_arg("axis")
    if axis in AXES:
        filters["axes"] = axis
    territory = int_arg("territory")
    if territory is not None:
        filters["territory_id"] = territory
    year = int_arg("year")
    if year is not None and 1900 <= year <= 2100:
        filters["year"] = year
    return filters


def kind_label(kind: str) -> str:
    spec = KINDS.get(kind)
    return spec["label"] if spec else kind


def type_label(kind: str | None, type_: str, among: list | tuple = ()) -> str:
    """The label of a type of ``kind``; without a kind, of the first kind
    ``among`` those shown that has this type."""
    for candidate in [kind] if kind else [*among, *KINDS]:
        spec = KINDS.get(candidate)
        if spec and type_ in spec["type_labels"]:
            return spec["type_labels"][type_]
    return type_


def _territory_names(results, filters) -> dict[int, str]:
    """Names of the territories the page shows, in one query."""
    from extranet.territories.models import Territory

    ids = {filters["territory_id"]} if "territory_id" in filters else set()
    if results:
        ids.update(value for value, _ in results.facets.get("territory_id", []))
        ids.update(hit.territory_id for hit in results.hits if hit.territory_id is not None)
    if not ids:
        return {}
    return dict(db.session.execute(select(Territory.id, Territory.name).where(Territory.id.in_(ids))).all())


def _link(**changes) -> str:
    """This search with some filters changed (None removes one), back to page 1."""
    args = {k: v for k, v in request.args.items() if k in ("q", *FILTERS)}
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value
    return url_for("search.index", **args)


@bp.route("")
def index():
    text = " ".join(request.args.get("q", "").split())[:MAX_QUERY_CHARS]
    filters = _filters_from_request()
    results = None
    failed = False
    if text:
        try:
            results = get_engine(current_app).query(
                text, access=access_tokens(current_user), filters=filters, page=page_arg(), per_page=PER_PAGE
            )
        except Exception:
            # The page still answers; the log says what went wrong.
            log.exception("Search failed for %r", text)
            failed = True
    names = _territory_names(results, filters)
    facets = []
    shown_kinds = [kind for kind, _ in results.facets.get("kind", [])] if results else []

    def facet_label(facet, value):
        if facet == "kind":
            return kind_label(value)
        if facet == "type":
            return type_label(filters.get("kind"), value, shown_kinds)
        if facet == "axes":
            return _l("Axis %(number)s", number=value)
        if facet == "territory_id":
            return names.get(value, str(value))
        return str(value)

    if results:
        for param, (facet, heading) in FILTERS.items():
            values = results.facets.get(facet, [])
            if facet == "axes":
                values = sorted(values)
            elif facet == "year":
                values = sorted(values, reverse=True)
            options = []
            for value, count in values:
                label = facet_label(facet, value)
                active = facet in filters and str(value) == str(filters[facet])
                options.append({"label": label, "count": count, "active": active, "url": _link(**{param: None if active else value})})
            if options:
                facets.append({"param": param, "heading": heading, "options": options})
    active_filters = []
    for param, (facet, heading) in FILTERS.items():
        if facet in filters:
            active_filters.append({"heading": heading, "label": facet_label(facet, filters[facet]), "url": _link(**{param: None})})
    return render_template(
        "search/index.html",
        query=text,
        results=results,
        failed=failed,
        pages=Pages(results.page, results.per_page, results.total) if results else None,
        facets=facets,
        active_filters=active_filters,
        clear_filters_url=url_for("search.index", q=text) if text else url_for("search.index"),
        territory_names=names,
        kind_label=kind_label,
        type_label=type_label,
    ), 503 if failed else 200

