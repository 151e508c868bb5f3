"""The review workflow's pages: submitting a roadmap to the national team,
validating it or sending it back, comments per section, the list of
submissions and the comparison of two of them (or of one with the roadmap as
it is now).

The buttons live in ``_workflow.html`` and the comment forms in
``_comments.html``, both included in the roadmap's page; these routes only
act and go back to that page. The emails of each step are queued
(:mod:`extranet.roadmaps.notifications`) in the transaction of the change.
"""

import difflib
from datetime import date
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.http import MAX_INT
from extranet.permissions import (
    can_comment_roadmap,
    can_edit_roadmap,
    can_review_roadmap,
    can_submit_roadmap,
    can_view_document,
    can_view_roadmap_versions,
    require,
)
from extranet.plan.models import Axis
from extranet.roadmaps import notifications, services
from extranet.roadmaps.models import (
    ActionOrigin,
    ActionStatus,
    BudgetLineKind,
    Indicator,
    PartnerKind,
    Roadmap,
    RoadmapAction,
    RoadmapComment,
    RoadmapIndicator,
    RoadmapSection,
    RoadmapStatus,
    RoadmapVersion,
)
from extranet.roadmaps.review_forms import CommentForm, SendBackForm, VersionForm, posted_version
from extranet.roadmaps.views import _actor, _roadmap, bp, edit_conflict, show
from extranet.toolbox.models import Document, DocumentVersion


def _show(roadmap: Roadmap, anchor: str | None = None):
    url = url_for("roadmaps.show", roadmap_id=roadmap.id)
    return redirect(f"{url}#{anchor}" if anchor else url)


def _as_if(roadmap: Roadmap, status: RoadmapStatus):
    """The roadmap seen in another status: tells a person who may never do
    something (403) from one who may, but not now (a message)."""
    return SimpleNamespace(territory_id=roadmap.territory_id, status=status, editor_ids=roadmap.editor_ids)


def _refused(error: ServiceError) -> None:
    if error.message == "forbidden":
        abort(403)
    flash(str(error.message), "error")


def _stale(roadmap: Roadmap) -> None:
    db.session.rollback()
    db.session.refresh(roadmap)
    flash(
        _(
            "The roadmap has changed since you opened the page (by %(name)s): nothing was submitted. "
            "Read it again, then submit it.",
            name=roadmap.updated_by.name if roadmap.updated_by else _("another person"),
        ),
        "warning",
    )


@bp.app_template_global("roadmap_review")
def roadmap_review(roadmap: Roadmap) -> SimpleNamespace:
    """What ``_workflow.html`` shows: the latest submission, the message it
    was sent back with, and why it cannot be submitted yet (if so)."""
    _load_versions(roadmap)
    if can_view_roadmap_versions(_actor(), roadmap):
        _load_comments(roadmap)
    latest = services.latest_version(roadmap)
    returned = None
    if latest is not None and latest.decision == RoadmapStatus.RETURNED:
        returned = next((c for c in reversed(roadmap.comments)
                         if c.version_id == latest.id and c.section == RoadmapSection.GENERAL), None)
    # Told to whoever can fix them: the coordinators and the members allowed to edit.
    actor = _actor()
    fixes = can_submit_roadmap(actor, roadmap) or can_edit_roadmap(actor, roadmap)
    problems = services.submission_problems(roadmap) if fixes else []
    return SimpleNamespace(latest=latest, returned=returned, problems=problems)


def _load_comments(roadmap: Roadmap) -> None:
    """The roadmap's comments with their authors and versions in two queries,
    before ``_comments.html`` reads them section after section (otherwise one
    query per person who commented)."""
    if "comments" not in inspect(roadmap).unloaded:
        return
    comments = db.session.scalars(
        select(RoadmapComment).where(RoadmapComment.roadmap_id == roadmap.id)
        .options(selectinload(RoadmapComment.author), selectinload(RoadmapComment.version))
        .order_by(RoadmapComment.created_at, RoadmapComment.id)
    ).all()
    set_committed_value(roadmap, "comments", comments)


def _load_versions(roadmap: Roadmap) -> None:
    """The submissions with who submitted and decided, without their snapshots
    (the whole roadmap each, read only by a comparison)."""
    if "versions" not in inspect(roadmap).unloaded:
        return
    versions = db.session.scalars(
        select(RoadmapVersion).where(RoadmapVersion.roadmap_id == roadmap.id)
        .options(defer(RoadmapVersion.snapshot), selectinload(RoadmapVersion.submitted_by),
                 selectinload(RoadmapVersion.decided_by))
        .order_by(RoadmapVersion.number)
    ).all()
    set_committed_value(roadmap, "versions", versions)


def _load_whole(roadmap: Roadmap) -> None:
    """Every part :func:`services.snapshot` reads, in a few queries."""
    db.session.scalars(
        select(Roadmap).where(Roadmap.id == roadmap.id).options(
            selectinload(Roadmap.actions).selectinload(RoadmapAction.documents).selectinload(Document.current_version),
            selectinload(Roadmap.actions).selectinload(RoadmapAction.axis),
            selectinload(Roadmap.indicators).selectinload(RoadmapIndicator.targets),
            selectinload(Roadmap.indicators).selectinload(RoadmapIndicator.values),
            selectinload(Roadmap.budget_lines), selectinload(Roadmap.partners),
            selectinload(Roadmap.documents).selectinload(Document.current_version),
        )
    ).one()


# --- Workflow: submit, validate, send back ----------------------------------------------


@bp.post("/<int:roadmap_id>/submit")
def submit(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    actor = _actor()
    require(can_submit_roadmap(actor, _as_if(roadmap, RoadmapStatus.DRAFT)))
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        version = services.submit(actor, roadmap, posted_version(form))
        notifications.submitted(actor, roadmap, version)
        db.session.commit()
    except (services.EditConflict, StaleDataError):
        _stale(roadmap)
        return _show(roadmap)
    except ServiceError as error:
        db.session.rollback()
        _refused(error)
        return _show(roadmap)
    flash(_("The roadmap is submitted to the national team (version %(number)s). It can no longer be edited while they review it.",
            number=version.number), "success")
    return _show(roadmap)


@bp.post("/<int:roadmap_id>/validate")
def validate(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    actor = _actor()
    require(can_review_roadmap(actor, _as_if(roadmap, RoadmapStatus.SUBMITTED)))
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        version = services.validate(actor, roadmap, posted_version(form))
        notifications.decided(actor, roadmap, version)
        db.session.commit()
    except (services.EditConflict, StaleDataError):
        db.session.rollback()
        flash(_("The roadmap has changed since you opened the page: it was not validated. Read it again before deciding."), "warning")
        return _show(roadmap)
    except ServiceError as error:
        db.session.rollback()
        _refused(error)
        return _show(roadmap)
    flash(_("The roadmap is validated: the whole network can now read it. Its territory has been told."), "success")
    return _show(roadmap)


@bp.route("/<int:roadmap_id>/send-back", methods=["GET", "POST"])
def send_back(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    actor = _actor()
    require(can_review_roadmap(actor, _as_if(roadmap, RoadmapStatus.SUBMITTED)))
    form = SendBackForm()
    typed = request.method == "POST" and bool((form.message.data or "").strip())
    if not can_review_roadmap(actor, roadmap):
        if typed:
            # Decided meanwhile (a colleague validated it…): keep the message they wrote.
            return _send_back_refused(roadmap, form)
        flash(_("Only a submitted roadmap can be validated or sent back."), "error")
        return _show(roadmap)
    if request.method == "GET":
        form.version.data = roadmap.version
    elif form.validate_on_submit():
        try:
            version = services.send_back(actor, roadmap, form.message.data, posted_version(form))
            notifications.decided(actor, roadmap, version, message=form.message.data)
            db.session.commit()
        except (services.EditConflict, StaleDataError):
            edit_conflict(form, roadmap)
            if not can_review_roadmap(actor, roadmap):
                return _send_back_refused(roadmap, form)
            return render_template("roadmaps/send_back.html", roadmap=roadmap, form=form), 409
        except ServiceError as error:
            db.session.rollback()
            if error.field == "message":
                form.message.errors.append(str(error.message))
            elif error.message == "forbidden" or not typed:
                _refused(error)
                return _show(roadmap)
            else:
                db.session.refresh(roadmap)
                return _send_back_refused(roadmap, form)
        else:
            flash(_("The roadmap is sent back to its territory with your message."), "success")
            return _show(roadmap)
    return render_template("roadmaps/send_back.html", roadmap=roadmap, form=form)


def _send_back_refused(roadmap: Roadmap, form: SendBackForm):
    """The roadmap is no longer awaiting review: nothing is sent back, the
    message is shown again (409) to copy, or to add as a general comment."""
    latest = services.latest_version(roadmap)
    decider = latest.decided_by if latest is not None and latest.decided_by_id else roadmap.updated_by
    refusal = _(
        "While you were writing, %(name)s changed this roadmap: it is now “%(status)s”, so it can no longer be "
        "sent back and nothing was sent. Your message is kept below: add it as a general comment if it still applies.",
        name=decider.name if decider else _("another person"), status=roadmap.status.label,
    )
    comment_form = CommentForm(formdata=None, section=RoadmapSection.GENERAL.value, body=form.message.data)
    return render_template("roadmaps/send_back.html", roadmap=roadmap, form=form, refusal=refusal,
                           comment_form=comment_form), 409


# --- Comments per section ------------------------------------------------------------------


@bp.post("/<int:roadmap_id>/comments")
def comment(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    actor = _actor()
    require(can_comment_roadmap(actor, roadmap))
    form = CommentForm()
    section = form.section.data if form.section.data in {s.value for s in RoadmapSection} else None
    anchor = f"section-{section}" if section else None
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        if section is None:
            for error in form.section.errors:
                flash(str(error), "error")
            return _show(roadmap)
        if not form.body.data:
            # Nothing typed, nothing to keep: back to the box, its error beside it.
            for error in form.body.errors:
                flash(str(error), "error")
            url = url_for("roadmaps.show", roadmap_id=roadmap.id, comment_section=section)
            return redirect(f"{url}#{anchor}")
        return _comment_refused(roadmap, section, form.body.data, [str(e) for e in form.body.errors])
    try:
        item = services.comment(actor, roadmap, form.section.data, form.body.data)
        notifications.commented(actor, roadmap, item)
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        if error.message == "forbidden":
            abort(403)
        return _comment_refused(roadmap, section, form.body.data, [str(error.message)])
    flash(_("Your comment is added. The territory's coordinators have been told."), "success")
    return _show(roadmap, anchor)


def _comment_refused(roadmap: Roadmap, section: str, body: str | None, errors: list[str]):
    """The roadmap page again (400), the error beside the section's comment box
    and the typed text in it (autofocus brings the box into view): a redirect
    would have to carry the text in the session cookie, too small for it."""
    g.roadmap_comment = {"section": section, "body": body or "", "errors": errors}
    return show(roadmap.id), 400


# --- Versions and their comparison ------------------------------------------------------------

CURRENT = "current"


def _version_choices(roadmap: Roadmap) -> list[tuple[str, str]]:
    choices = [
        (str(v.number), _("Version %(number)s — submitted on %(date)s", number=v.number, date=format_date(v.submitted_at, "medium")))
        for v in reversed(roadmap.versions)
    ]
    choices.insert(0, (CURRENT, _("The roadmap as it is now")))
    return choices


def _default_pair(roadmap: Roadmap) -> tuple[str, str] | None:
    numbers = [str(v.number) for v in roadmap.versions]
    if not numbers:
        return None
    if len(numbers) == 1:
        return numbers[0], CURRENT
    return numbers[-2], numbers[-1]


@bp.route("/<int:roadmap_id>/versions")
def versions(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    require(can_view_roadmap_versions(_actor(), roadmap))
    _load_versions(roadmap)
    _load_comments(roadmap)
    # The message a version was sent back with: the general comment made on it.
    messages = {}
    for item in roadmap.comments:
        if item.section == RoadmapSection.GENERAL and item.version_id is not None:
            messages[item.version_id] = item
    # The files each version was submitted with, as they were then (one query for the snapshots).
    snapshots = dict(db.session.execute(
        select(RoadmapVersion.id, RoadmapVersion.snapshot).where(RoadmapVersion.roadmap_id == roadmap.id)
    ).all())
    files = {
        version_id: [{"id": e} if isinstance(e, int) else e for e in snap.get("documents") or []]
        for version_id, snap in snapshots.items()
    }
    return render_template(
        "roadmaps/versions.html",
        roadmap=roadmap,
        versions=list(reversed(roadmap.versions)),
        messages=messages,
        files=files,
        show=_Presenter(_actor(), *({"documents": entries} for entries in files.values())),
        choices=_version_choices(roadmap),
        pair=_default_pair(roadmap),
    )


def _side(roadmap: Roadmap, name: str) -> tuple[str, dict, RoadmapVersion | None]:
    """``?a=`` or ``?b=``: a version number, or "current"; anything else is a 404."""
    value = (request.args.get(name) or "").strip()
    if value == CURRENT:
        _load_whole(roadmap)
        return CURRENT, services.snapshot(roadmap), None
    if not value.isdigit() or not 1 <= int(value) <= MAX_INT:
        abort(404)
    version = db.session.scalar(
        select(RoadmapVersion).where(RoadmapVersion.roadmap_id == roadmap.id, RoadmapVersion.number == int(value))
    )
    if version is None:
        abort(404)
    return str(version.number), version.snapshot, version


@bp.route("/<int:roadmap_id>/versions/compare")
def compare_versions(roadmap_id):
    roadmap = _roadmap(roadmap_id)
    actor = _actor()
    require(can_view_roadmap_versions(actor, roadmap))
    _load_versions(roadmap)
    if "a" not in request.args and "b" not in request.args:
        pair = _default_pair(roadmap)
        if pair is None:
            abort(404)
        return redirect(url_for("roadmaps.compare_versions", roadmap_id=roadmap.id, a=pair[0], b=pair[1]))
    a, old, version_a = _side(roadmap, "a")
    b, new, version_b = _side(roadmap, "b")
    changes = services.diff(old, new)
    return render_template(
        "roadmaps/compare_versions.html",
        roadmap=roadmap,
        a=a, b=b, version_a=version_a, version_b=version_b,
        changes=changes,
        has_changes=services.has_changes(changes),
        choices=_version_choices(roadmap),
        pair=(a, b),
        show=_Presenter(actor, old, new),
    )


# --- How the differences read ----------------------------------------------------------------

ROADMAP_FIELD_LABELS = {
    "start_year": _l("First year of the period"),
    "end_year": _l("Last year of the period"),
    "context": _l("Context"),
    "strategy": _l("Strategic summary"),
    "budget_note": _l("Ordinary funding used besides the call"),
}
ACTION_FIELD_LABELS = {
    "axis": _l("Axis"),
    "title": _l("Title"),
    "description": _l("Description"),
    "origin": _l("New or existing action"),
    "lead_organisation": _l("Lead organisation"),
    "partners": _l("Partners of the action"),
    "starts_on": _l("Start"),
    "ends_on": _l("End"),
    "status": _l("Progress"),
    "position": _l("Position in the list"),
    "documents": _l("Linked documents"),
}
INDICATOR_FIELD_LABELS = {
    "indicator_id": _l("National indicator"),
    "name": _l("Name"),
    "unit": _l("Unit"),
    "objective": _l("Objective measured"),
    "position": _l("Position in the list"),
}
BUDGET_FIELD_LABELS = {
    "actions": _l("Planned actions"),
    "total_cost_cents": _l("Total cost over 12 months"),
    "territory_share_cents": _l("Territory's share"),
}
VALUE_FIELD_LABELS = {
    "value": _l("Value reached"),
    "period_label": _l("Name of the period"),
    "comment": _l("Comment"),
}
LONG_TEXT = {"context", "strategy", "budget_note", "description", "partners", "objective", "actions"}
FIELD_LABELS = {
    "roadmap": ROADMAP_FIELD_LABELS, "action": ACTION_FIELD_LABELS,
    "indicator": INDICATOR_FIELD_LABELS, "budget": BUDGET_FIELD_LABELS,
}


def text_changes(old: str | None, new: str | None, context: int = 1) -> list[tuple[str, str]]:
    """A line diff of two texts: ("same" | "removed" | "added" | "gap", line),
    unchanged lines kept only around the changes."""
    old_lines, new_lines = (old or "").splitlines(), (new or "").splitlines()
    pieces = []
    for group in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_grouped_opcodes(context):
        if pieces:
            pieces.append(("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                pieces.extend(("same", line) for line in old_lines[i1:i2])
                continue
            pieces.extend(("removed", line) for line in old_lines[i1:i2])
            pieces.extend(("added", line) for line in new_lines[j1:j2])
    return pieces


def _document_entries(snap: dict) -> list[dict]:
    entries = list(snap.get("documents") or [])
    for action in snap.get("actions") or []:
        entries.extend(action.get("documents") or [])
    return [{"id": entry} if isinstance(entry, int) else entry for entry in entries]


class _Presenter:
    """Labels and values of a comparison as a reader reads them: axes by
    number and name, statuses and kinds by their labels, amounts in euros,
    documents by the title and file frozen at submission (only those the
    reader may open, linked to that very file while the toolbox keeps it)."""

    def __init__(self, actor, *snapshots: dict):
        self.actor = actor
        self.axes = {a.number: a for a in db.session.scalars(select(Axis))}
        indicator_ids, document_ids, version_ids = set(), set(), set()
        for snap in snapshots:
            for entry in _document_entries(snap):
                document_ids.add(entry["id"])
                if entry.get("version_id"):
                    version_ids.add(entry["version_id"])
            indicator_ids.update(i["indicator_id"] for i in snap.get("indicators") or [] if i.get("indicator_id"))
        self.documents = {d.id: d for d in db.session.scalars(select(Document).where(Document.id.in_(document_ids)))} if document_ids else {}
        # The frozen files still kept (a version goes only with its document).
        self.versions = set(db.session.execute(
            select(DocumentVersion.id, DocumentVersion.document_id).where(DocumentVersion.id.in_(version_ids))
        ).all()) if version_ids else set()
        self.indicators = {i.id: i for i in db.session.scalars(select(Indicator).where(Indicator.id.in_(indicator_ids)))} if indicator_ids else {}

    def label(self, kind: str, field: str) -> str:
        return str(FIELD_LABELS[kind].get(field, field))

    def value_label(self, field: str) -> str:
        return str(VALUE_FIELD_LABELS.get(field, field))

    def is_long(self, field: str) -> bool:
        return field in LONG_TEXT

    text_changes = staticmethod(text_changes)

    def axis(self, number) -> str:
        axis = self.axes.get(number)
        if axis is None:
            return _("Axis %(n)s", n=number) if number is not None else _("No axis")
        return _("Axis %(n)s — %(title)s", n=axis.number, title=axis.title)

    def _readable(self, entry) -> tuple[dict, Document | None]:
        entry = {"id": entry} if isinstance(entry, int) else entry
        document = self.documents.get(entry["id"])
        if document is not None and not can_view_document(self.actor, document):
            document = None
        return entry, document

    def document(self, entry) -> str:
        """The title frozen at submission (format 1 froze none: today's), and its version."""
        entry, document = self._readable(entry)
        if document is None:
            return _("A deleted document") if entry["id"] not in self.documents else _("A document you may not open")
        title = entry.get("title") or document.title
        if entry.get("number"):
            return _("%(title)s (version %(number)s, %(filename)s)", title=title, number=entry["number"],
                     filename=entry.get("filename") or "")
        return title

    def document_link(self, entry):
        """The very file frozen, else the document's page; None when the reader may not open it."""
        entry, document = self._readable(entry)
        if document is None:
            return None
        if (entry.get("version_id"), document.id) in self.versions:
            return url_for("toolbox.download_version", document_id=document.id, version_id=entry["version_id"])
        return url_for("toolbox.detail", document_id=document.id)

    def partner(self, partner: dict) -> str:
        label = self._enum(PartnerKind, partner.get("kind"))
        return f"{label} — {partner['name']}" if partner.get("name") else label

    def budget_line(self, kind) -> str:
        return self._enum(BudgetLineKind, kind)

    def number(self, value) -> str:
        if value is None:
            return "—"
        try:
            return format_decimal(Decimal(value))
        except (InvalidOperation, TypeError, ValueError):
            return str(value)

    euros = staticmethod(services.euros)

    @staticmethod
    def _enum(kind, value) -> str:
        try:
            return str(kind(value).label)
        except ValueError:
            return str(value or "—")

    def value(self, field: str, value) -> str:
        """One field's value, as text (the template escapes it)."""
        if value is None or value == "" or value == []:
            return _("(empty)")
        if field == "axis":
            return self.axis(value)
        if field == "origin":
            return self._enum(ActionOrigin, value)
        if field == "status":
            return self._enum(ActionStatus, value)
        if field in ("starts_on", "ends_on"):
            try:
                return format_date(date.fromisoformat(value), "long")
            except (TypeError, ValueError):
                return str(value)
        if field == "documents":
            return ", ".join(self.document(d) for d in value)
        if field.endswith("_cents"):
            return self.euros(value)
        if field == "indicator_id":
            indicator = self.indicators.get(value)
            return indicator.name if indicator else _("A national indicator no longer listed")
        return str(value)

    def own_or_national(self, indicator: dict) -> str:
        return _("National indicator") if indicator.get("indicator_id") else _("Own indicator")
