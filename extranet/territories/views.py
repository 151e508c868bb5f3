import re
from itertools import groupby

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.http import int_arg
from extranet.permissions import can_view_directory, require
from extranet.roles import Role
from extranet.territories.models import WAVES, Territory
from extranet.text import fold as _fold

bp = Blueprint("territories", __name__)

_SLUG = re.compile(r"[A-Za-z0-9_-]{1,80}")


@bp.route("/")
def index():
    require(can_view_directory(current_user))
    territories = list(db.session.scalars(select(Territory).order_by(Territory.region, Territory.name)))
    regions = sorted({t.region for t in territories}, key=_fold)

    query = request.args.get("q", "").strip()
    region = request.args.get("region", "")
    wave = int_arg("wave")
    if query:
        territories = [t for t in territories if _fold(query) in _fold(t.name)]
    if region:
        territories = [t for t in territories if t.region == region]
    if wave in WAVES:
        territories = [t for t in territories if t.in_wave(wave)]

    # Grouped by wave (a territory extended by the second call appears under its
    # first wave, or under the wave filtered on), then by region.
    def shown_wave(t):
        return wave if wave in WAVES else t.wave

    territories.sort(key=lambda t: (shown_wave(t), _fold(t.region), _fold(t.name)))
    groups = [
        (w, [(r, list(ts)) for r, ts in groupby(items, key=lambda t: t.region)])
        for w, items in ((w, list(items)) for w, items in groupby(territories, key=shown_wave))
    ]
    return render_template(
        "territories/index.html",
        groups=groups,
        count=len(territories),
        regions=regions,
        waves=WAVES,
        query=query,
        region=region,
        wave=wave,
    )


@bp.route("/<slug>")
def detail(slug):
    require(can_view_directory(current_user))
    # Slugs are plain ASCII; anything else (a NUL byte, which PostgreSQL refuses) cannot exist.
    territory = db.session.scalar(select(Territory).where(Territory.slug == slug)) if _SLUG.fullmatch(slug) else None
    if territory is None:
        abort(404)
    people = list(
        db.session.scalars(
            select(User).where(User.territory_id == territory.id, User.active.is_(True)).order_by(User.name)
        )
    )
    return render_template(
        "territories/detail.html",
        territory=territory,
        coordinators=[u for u in people if u.role == Role.COORDINATOR],
        members=[u for u in people if u.role == Role.MEMBER],
        waves=WAVES,
    )
