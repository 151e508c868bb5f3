"""The library of roadmaps: the list with its filters, one axis across the
territories ("what do other territories do on axis 12?") and the comparison
of two to four territories axis by axis. Every page shows only what the
reader may open (:func:`extranet.roadmaps.library.visible_roadmaps_clause`)
and runs a bounded number of queries (bench/ times them at network size)."""

import re

from flask import abort, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _

from extranet.extensions import db
from extranet.http import int_arg, page_arg
from extranet.markdown import excerpt
from extranet.permissions import can_create_roadmap
from extranet.roadmaps import library as queries
from extranet.roadmaps import services
from extranet.roadmaps.models import RoadmapStatus
from extranet.roadmaps.views import _actor, bp
from extranet.territories.models import WAVES


# What may make Markdown anywhere in a line, and at its start (lists, headings,
# quotations, setext underlines). Text with neither is its own plain text.
_MARKUP_ANYWHERE = re.compile(r"[\\`*_\[\]<>&|~@!\x00]")
_MARKUP_LINE_START = re.compile(r"^[ \t]*(?:[-+=#>]|[0-9]+[.)])", re.MULTILINE)


@bp.app_template_filter("markdown_excerpt")
def markdown_excerpt(text: str | None, length: int = 300) -> str:
    """``extranet.markdown.excerpt`` of a description, without parsing the prose that
    has no Markdown (most descriptions): the axis view shows hundreds of actions, and
    parsing each one was most of its time. The same result either way (a test checks)."""
    if not text or length <= 1:
        return excerpt(text, length)
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # line ends as Markdown reads them
    if _MARKUP_ANYWHERE.search(text) or _MARKUP_LINE_START.search(text):
        return excerpt(text, length)
    words = " ".join(text.split())
    if len(words) <= length:
        return words
    cut = words[: length - 1]
    space = cut.rfind(" ")
    if space > length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def _wave_arg() -> int | None:
    wave = int_arg("wave")
    return wave if wave in WAVES else None


def _period_arg(periods: list[int]) -> int | None:
    """A start year among those the reader may open; anything else filters nothing."""
    period = int_arg("period")
    return period if period in periods else None


@bp.route("/")
def library():
    user = _actor()
    axes = queries.all_axes()
    territories = queries.all_territories()
    periods, statuses = queries.readable_periods_and_statuses(user)
    slug, axis_number, status = request.args.get("territory"), int_arg("axis"), request.args.get("status")
    filters = queries.LibraryFilters(
        territory=next((t for t in territories if t.slug == slug), None),
        wave=_wave_arg(),
        axis=next((a for a in axes if a.number == axis_number), None),
        status=next((s for s in statuses if s.value == status), None),
        period=_period_arg(periods),
    )
    # A status the reader may not see (drafts of another territory) filters nothing, as
    # anything else unknown, but a real status is named so the reader knows why.
    refused_status = None
    if status and filters.status is None:
        refused_status = next((s for s in RoadmapStatus if s.value == status), None)
    page = db.paginate(queries.library_query(user, filters), page=page_arg(), per_page=queries.ROADMAPS_PER_PAGE,
                       error_out=False)
    # A coordinator whose territory has no roadmap yet is shown where to start it.
    territory = user.territory
    first_roadmap_for = (territory if territory is not None and can_create_roadmap(user, territory)
                         and not queries.has_roadmap(territory.id) else None)
    return render_template(
        "roadmaps/library.html",
        page=page,
        first_roadmap_for=first_roadmap_for,
        counts=queries.action_counts([r.id for r in page.items]),
        filters=filters,
        filter_args=filters.args(),
        axes_by_priority=queries.axes_by_priority(axes),
        territories=territories,
        periods=periods,
        statuses=statuses,
        refused_status=refused_status,
        waves=WAVES,
    )


@bp.route("/axes/")
def axes():
    """The library's "what do the territories do on the axis…" choice, sent by a GET form."""
    number = int_arg("number")
    if number is None:
        return redirect(url_for("roadmaps.library"))
    return redirect(url_for("roadmaps.axis", number=number))


@bp.route("/axes/<int:number>")
def axis(number: int):
    user = _actor()
    axes = queries.all_axes()
    current = next((a for a in axes if a.number == number), None)
    if current is None:
        abort(404)
    periods = queries.readable_periods(user)
    wave, period = _wave_arg(), _period_arg(periods)
    page = db.paginate(queries.axis_territories_query(user, current, wave, period), page=page_arg(),
                       per_page=queries.TERRITORIES_PER_PAGE, error_out=False)
    position = axes.index(current)
    filter_args = {name: value for name, value in (("wave", wave), ("period", period)) if value is not None}
    return render_template(
        "roadmaps/axis.html",
        axis=current,
        page=page,
        roadmaps_by_territory=queries.axis_actions(user, current, [t.id for t in page.items], wave, period),
        previous=axes[position - 1] if position > 0 else None,
        following=axes[position + 1] if position + 1 < len(axes) else None,
        axes_by_priority=queries.axes_by_priority(axes),
        wave=wave,
        period=period,
        periods=periods,
        waves=WAVES,
        filter_args=filter_args,
    )


@bp.route("/compare")
def compare_territories():
    user = _actor()
    territories = queries.all_territories()
    periods = queries.readable_periods(user)
    period = _period_arg(periods)
    slugs = list(dict.fromkeys(s.strip() for s in request.args.getlist("territory") if s.strip()))
    by_slug = {t.slug: t for t in territories}
    error = comparison = None
    if "territory" in request.args:
        unknown = [s for s in slugs if s not in by_slug]
        if not queries.COMPARE_MIN <= len(slugs) <= queries.COMPARE_MAX:
            error = _("Choose between %(min)s and %(max)s different territories to compare.",
                      min=queries.COMPARE_MIN, max=queries.COMPARE_MAX)
        elif unknown:
            error = _("Unknown territory: %(names)s. Choose the territories in the lists.", names=", ".join(s[:80] for s in unknown))
        else:
            comparison = queries.compare(user, [by_slug[s] for s in slugs], period)
    chosen = [by_slug.get(s) for s in slugs][: queries.COMPARE_MAX]
    return render_template(
        "roadmaps/compare.html",
        territories=territories,
        chosen=chosen + [None] * (queries.COMPARE_MAX - len(chosen)),
        periods=periods,
        period=period,
        error=error,
        comparison=comparison,
        axes_by_priority=queries.axes_by_priority(queries.all_axes()) if comparison else [],
        euros=services.euros,
        number=format_decimal,
        validated=RoadmapStatus.VALIDATED,
    ), 400 if error else 200
