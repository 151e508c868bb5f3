"""A roadmap's exports: the printable page, its PDF, its actions and
indicators as CSV or XLSX.

Whoever may read the roadmap may export it (``views._roadmap``: a validated
roadmap is the network's, a draft its territory's and the national team's).
Files are never cached: they hold what only some people may read.
"""

import time

from flask import abort, current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import defer

from extranet import exports as spreadsheets
from extranet import mail
from extranet.extensions import db
from extranet.roadmaps import exports
from extranet.roadmaps.models import RoadmapVersion
from extranet.roadmaps.views import _actor, _roadmap, bp
from extranet.timeutil import utcnow


def _last_submission(roadmap):
    # Without its snapshot: the whole roadmap as JSON, not needed to say when it was submitted.
    return db.session.scalar(
        select(RoadmapVersion).where(RoadmapVersion.roadmap_id == roadmap.id)
        .options(defer(RoadmapVersion.snapshot)).order_by(RoadmapVersion.number.desc()).limit(1)
    )


def _print_page(roadmap, for_pdf: bool) -> str:
    return render_template(
        "roadmaps/print.html",
        roadmap=roadmap,
        editable=False,
        printing=True,
        for_pdf=for_pdf,
        submitted=_last_submission(roadmap),
        printed_at=utcnow(),
        address=mail.external_url("roadmaps.show", roadmap_id=roadmap.id),
    )


@bp.route("/<int:roadmap_id>/print", endpoint="print")
def print_page(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    response = current_app.make_response(_print_page(roadmap, for_pdf=False))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:roadmap_id>.pdf")
def pdf(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    html = _print_page(roadmap, for_pdf=True)
    started = time.perf_counter()
    body, refused = exports.pdf(html, request.url_root)
    current_app.logger.info("roadmap %s: PDF in %.2f s, %d address(es) refused", roadmap.id,
                            time.perf_counter() - started, len(refused))
    return spreadsheets.download(body, "application/pdf", exports.filename(roadmap) + ".pdf")


@bp.route("/<int:roadmap_id>/export/<what>.<fmt>")
def export(roadmap_id, what, fmt):
    if what not in exports.TABLES or fmt not in exports.FORMATS:
        abort(404)
    roadmap = _roadmap(roadmap_id)
    header, rows = exports.table(_actor(), roadmap, what)
    name = exports.filename(roadmap, {"actions": "actions", "indicators": "indicateurs"}[what]) + "." + fmt
    if fmt == "csv":
        return spreadsheets.download(spreadsheets.to_csv(header, rows), spreadsheets.CSV_MIMETYPE, name)
    sheet = exports.sheet_name(roadmap, what)
    return spreadsheets.download(spreadsheets.to_xlsx(header, rows, sheet), spreadsheets.XLSX_MIMETYPE, name)
