from flask import Blueprint, render_template
from flask_login import current_user

from extranet.permissions import can_access_admin, require

bp = Blueprint("admin", __name__)


@bp.route("/")
def index():
    require(can_access_admin(current_user))
    return render_template("admin/index.html")


@bp.route("/territories/<int:territory_id>/edit", methods=["GET", "POST"])
def edit_territory(territory_id):
    require(False)
