"""The library of roadmaps (being written: for now the list of roadmaps the reader may open)."""

from flask import render_template
from sqlalchemy import select

from extranet.extensions import db
from extranet.permissions import can_view_roadmap
from extranet.roadmaps.models import Roadmap
from extranet.roadmaps.views import _actor, bp


@bp.route("/")
def library():
    user = _actor()
    roadmaps = [r for r in db.session.scalars(select(Roadmap).order_by(Roadmap.start_year.desc())) if can_view_roadmap(user, r)]
    return render_template("roadmaps/library.html", roadmaps=roadmaps)
