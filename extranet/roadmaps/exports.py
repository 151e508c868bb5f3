"""A roadmap's exports: its actions and indicators as tables (written as CSV
or XLSX by :mod:`extranet.exports`), and its printable page as a PDF.

Tables read a bounded number of statements whatever the roadmap's size: the
actions with their axis, priority and documents; the indicators with their
targets and values.

The PDF is the print page rendered by WeasyPrint on the server. WeasyPrint
fetches what the page refers to (stylesheets, images, fonts): here only the
platform's static files, read from disk. Anything else is refused, so that an
image a person put in a roadmap's Markdown never makes the server call
another site (nor one of our own pages, with nobody's rights).
"""

import mimetypes
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extranet.exports import ascii_slug
from extranet.extensions import db
from extranet.markdown import excerpt
from extranet.permissions import can_view_document
from extranet.plan.models import Axis
from extranet.roadmaps.models import Roadmap, RoadmapAction, RoadmapIndicator

# Excel keeps at most 32,767 characters in a cell.
CELL_MAX = 32_000
TABLES = ("actions", "indicators")
FORMATS = ("csv", "xlsx")


def filename(roadmap: Roadmap, suffix: str = "") -> str:
    """``feuille-de-route-lyon-2023-2024`` (+ ``-actions``…): ASCII, the same in every language."""
    return ascii_slug("feuille de route", roadmap.territory.slug, roadmap.start_year, roadmap.end_year, suffix)


def _actions(roadmap: Roadmap) -> list[RoadmapAction]:
    return list(
        db.session.scalars(
            select(RoadmapAction)
            .join(Axis, Axis.id == RoadmapAction.axis_id)
            .where(RoadmapAction.roadmap_id == roadmap.id)
            .options(selectinload(RoadmapAction.axis).selectinload(Axis.priority), selectinload(RoadmapAction.documents))
            .order_by(Axis.number, RoadmapAction.position, RoadmapAction.id)
        )
    )


def actions_table(actor, roadmap: Roadmap) -> tuple[list[str], list[list]]:
    """One row per action, in the plan's order (priority, axis). Only the
    documents ``actor`` may see are named: the export is theirs."""
    header = [
        _("Priority"), _("Axis number"), _("Axis"), _("Title"), _("Origin"), _("Lead organisation"), _("Partners"),
        _("Start"), _("End"), _("Status"), _("Description"), _("Documents"),
    ]
    rows = []
    for action in _actions(roadmap):
        priority = action.axis.priority
        rows.append([
            f"{priority.roman} — {priority.title}",
            action.axis.number,
            action.axis.title,
            action.title,
            str(action.origin.label),
            action.lead_organisation,
            action.partners,
            action.starts_on,
            action.ends_on,
            str(action.status.label),
            excerpt(action.description, CELL_MAX),
            "; ".join(document.title for document in action.documents if can_view_document(actor, document)),
        ])
    return header, rows


def _indicators(roadmap: Roadmap) -> list[RoadmapIndicator]:
    return list(
        db.session.scalars(
            select(RoadmapIndicator)
            .where(RoadmapIndicator.roadmap_id == roadmap.id)
            .options(selectinload(RoadmapIndicator.targets), selectinload(RoadmapIndicator.values))
            .order_by(RoadmapIndicator.position, RoadmapIndicator.id)
        )
    )


def indicators_table(roadmap: Roadmap) -> tuple[list[str], list[list]]:
    """One row per target (a year) and per value reached (a reporting period)
    of each indicator, so that a spreadsheet filters and adds them up; an
    indicator with neither still has its row."""
    header = [
        _("Indicator"), _("National or own"), _("Unit"), _("Objective"), _("Kind"), _("Period"), _("Start"), _("End"),
        _("Value"), _("Comment"),
    ]
    rows = []
    for indicator in _indicators(roadmap):
        first = [
            indicator.name,
            _("National") if indicator.is_shared else _("Own"),
            indicator.unit,
            excerpt(indicator.objective, CELL_MAX),
        ]
        for target in indicator.targets:
            rows.append([*first, _("Target"), str(target.year), date(target.year, 1, 1), date(target.year, 12, 31),
                         target.value, ""])
        for value in indicator.values:
            rows.append([*first, _("Value reached"), value.period_label, value.period_start, value.period_end,
                         value.value, (value.comment or "")[:CELL_MAX]])  # plain text, not Markdown
        if not indicator.targets and not indicator.values:
            rows.append([*first, "", "", None, None, None, ""])
    return header, rows


def sheet_name(roadmap: Roadmap, what: str) -> str:
    return _("Actions") if what == "actions" else _("Indicators")


def table(actor, roadmap: Roadmap, what: str) -> tuple[list[str], list[list]]:
    if what == "actions":
        return actions_table(actor, roadmap)
    return indicators_table(roadmap)


# --- PDF ----------------------------------------------------------------------------


def _static_fetcher(base_url: str, static_folder: str, static_url_path: str):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    base = urlsplit(base_url)
    root = Path(static_folder).resolve()
    prefix = static_url_path.rstrip("/") + "/"

    class StaticFiles(URLFetcher):
        """Serves the platform's static files from disk; refuses every other address."""

        def __init__(self):
            super().__init__(allowed_protocols=())
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            path = unquote(parts.path)
            local = None
            if (parts.scheme, parts.netloc) == (base.scheme, base.netloc) and path.startswith(prefix):
                candidate = (root / path[len(prefix):]).resolve()
                if candidate.is_relative_to(root) and candidate.is_file():
                    local = candidate
            if local is None:
                self.refused.append(url)
                raise ValueError(f"not a static file of the platform: {url}")
            mimetype = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, local.read_bytes(), {"Content-Type": mimetype})

    return StaticFiles()


def pdf(html: str, base_url: str) -> tuple[bytes, list[str]]:
    """The PDF of a page, and the addresses it referred to that were refused.

    ``base_url`` is the address the page was rendered for (relative links and
    ``/static/…`` resolve against it)."""
    import weasyprint

    app = current_app
    fetcher = _static_fetcher(base_url, app.static_folder, app.static_url_path)
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher, media_type="print")
    return document.write_pdf(), fetcher.refused
