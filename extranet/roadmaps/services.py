"""The rules of roadmaps, as pure functions (budget of fiche 5, the 50/50
co-financing of the coordinator post, snapshots of a submission and their
comparison), the optimistic-locking helpers, and the workflow services:
create, edit, submit (a frozen version), comment, validate or send back.

Snapshots are plain JSON data (``RoadmapVersion.snapshot``): amounts as
integer cents, indicator figures as decimal strings (exact, JSON-safe), dates
as ISO strings. Items are matched between two snapshots by their id (actions,
indicators), their kind (budget lines) or their content (partners, documents).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from flask_babel import format_currency, gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.permissions import (
    can_be_roadmap_editor,
    can_comment_roadmap,
    can_create_roadmap,
    can_edit_roadmap,
    can_review_roadmap,
    can_submit_roadmap,
)
from extranet.roadmaps.models import (
    BudgetLineKind,
    Roadmap,
    RoadmapComment,
    RoadmapSection,
    RoadmapStatus,
    RoadmapVersion,
)
from extranet.timeutil import utcnow
from extranet.toolbox.models import Visibility

# 2: documents frozen with their file (version, sha256), values with their comment.
SNAPSHOT_FORMAT = 2

ROADMAP_FIELDS = ("start_year", "end_year", "context", "strategy", "budget_note")
ACTION_FIELDS = (
    "axis", "title", "description", "origin", "lead_organisation", "partners",
    "starts_on", "ends_on", "status", "position", "documents",
)
INDICATOR_FIELDS = ("indicator_id", "name", "unit", "objective", "position")
BUDGET_FIELDS = ("actions", "total_cost_cents", "territory_share_cents")


# --- Optimistic locking ---------------------------------------------------------


class EditConflict(StaleDataError):
    """Someone else changed the roadmap since the form was read."""


def expect_version(roadmap: Roadmap, expected: int | None) -> None:
    """Refuse a change made from a form read at another version of the roadmap.

    (The UPDATE itself is guarded too, by ``version_id_col``: this catches the
    longer window between reading the form and posting it.)"""
    if expected is None or int(expected) != roadmap.version:
        raise EditConflict(f"roadmap {roadmap.id} is at version {roadmap.version}, the form was read at {expected}")


def touch(roadmap: Roadmap, user=None) -> None:
    """Record a change of the roadmap or of any of its parts: updates the
    roadmap row, so that its version grows and concurrent edits conflict."""
    roadmap.updated_at = utcnow()
    if user is not None:
        roadmap.updated_by_id = user.id


# --- Budget (fiche 5) -----------------------------------------------------------


@dataclass(frozen=True)
class BudgetRow:
    kind: BudgetLineKind
    actions: str
    total_cost_cents: int
    territory_share_cents: int

    @property
    def state_share_cents(self) -> int:
        """What is asked of the State under the call ("demandé dans le cadre de l'AMI")."""
        return self.total_cost_cents - self.territory_share_cents


@dataclass(frozen=True)
class BudgetTotals:
    rows: tuple[BudgetRow, ...]  # the six lines, in fiche 5's order; zero where absent
    total_cost_cents: int
    territory_share_cents: int

    @property
    def state_share_cents(self) -> int:
        return self.total_cost_cents - self.territory_share_cents

    def row(self, kind: BudgetLineKind) -> BudgetRow:
        return next(r for r in self.rows if r.kind == kind)


def _get(line, name, default=None):
    return line.get(name, default) if isinstance(line, dict) else getattr(line, name, default)


def budget_totals(lines: Iterable) -> BudgetTotals:
    """The six lines of fiche 5 and their totals, from ``BudgetLine`` rows or
    snapshot dicts. A line given twice adds up (the database forbids it)."""
    by_kind: dict[BudgetLineKind, list] = {kind: ["", 0, 0] for kind in BudgetLineKind}
    for line in lines:
        entry = by_kind[BudgetLineKind(_get(line, "kind"))]
        actions = _get(line, "actions") or ""
        entry[0] = f"{entry[0]}\n{actions}".strip() if entry[0] else actions
        entry[1] += int(_get(line, "total_cost_cents") or 0)
        entry[2] += int(_get(line, "territory_share_cents") or 0)
    rows = tuple(BudgetRow(kind, *by_kind[kind]) for kind in BudgetLineKind)
    return BudgetTotals(
        rows=rows,
        total_cost_cents=sum(r.total_cost_cents for r in rows),
        territory_share_cents=sum(r.territory_share_cents for r in rows),
    )


def euros(cents) -> str:
    """Cents as the reader's language writes euros: "60 000,00 €" (the one
    formatter of roadmap amounts: pages, template filter ``roadmap_euros``, messages)."""
    return format_currency(Decimal(int(cents or 0)) / 100, "EUR")


def coordinator_cofinancing_problem(total_cost_cents: int, territory_share_cents: int) -> LazyString | None:
    """The coordinator / facilitator post is co-financed 50% by the State and
    50% by the territory (fiche 5). None when it is (or when there is no post);
    otherwise what is wrong, in the reader's language. An odd number of cents
    cannot split evenly: one cent either way is accepted."""
    total, share = int(total_cost_cents or 0), int(territory_share_cents or 0)
    if total == 0 and share == 0:
        return None
    if abs(2 * share - total) <= 1:
        return None
    return LazyString(
        lambda: gettext(
            "The coordinator post must be co-financed 50/50 by the State and the territory: "
            "the territory's share should be %(expected)s, not %(actual)s.",
            expected=euros(total // 2), actual=euros(share),
        )
    )


def budget_line_problem(kind: BudgetLineKind, total_cost_cents: int, territory_share_cents: int) -> LazyString | None:
    """What is wrong with one budget line, or None."""
    total, share = int(total_cost_cents or 0), int(territory_share_cents or 0)
    if total < 0 or share < 0:
        return LazyString(lambda: gettext("Amounts cannot be negative."))
    if share > total:
        return LazyString(lambda: gettext("The territory's share cannot exceed the total cost."))
    if BudgetLineKind(kind) == BudgetLineKind.COORDINATOR:
        return coordinator_cofinancing_problem(total, share)
    return None


def budget_problems(lines: Iterable) -> dict[BudgetLineKind, LazyString]:
    """The problems of a budget, per line (empty when it is sound)."""
    problems = {}
    for row in budget_totals(lines).rows:
        problem = budget_line_problem(row.kind, row.total_cost_cents, row.territory_share_cents)
        if problem is not None:
            problems[row.kind] = problem
    return problems


# --- Snapshots and their comparison --------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value) -> str | None:
    """A decimal figure as a canonical string: 150, 12.5 (never 150.00 nor 1.5E+2)."""
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return text


def _document(document) -> dict:
    """An attached document as submitted: its title and the very file (version)
    it had then, so that a later version in the toolbox shows as a change."""
    version = document.current_version
    return {
        "id": document.id,
        "title": document.title,
        "version_id": version.id if version else None,
        "number": version.number if version else None,
        "sha256": version.sha256 if version else None,
        "filename": version.filename if version else None,
    }


def _documents(documents) -> list[dict]:
    return sorted((_document(d) for d in documents), key=lambda d: d["id"])


def snapshot(roadmap: Roadmap) -> dict:
    """The whole roadmap as structured JSON data, as frozen in a RoadmapVersion."""
    return {
        "format": SNAPSHOT_FORMAT,
        "roadmap": {
            "id": roadmap.id,
            "territory_id": roadmap.territory_id,
            "period": roadmap.period_label,
            **{field: getattr(roadmap, field) for field in ROADMAP_FIELDS},
        },
        "actions": [
            {
                "id": a.id,
                "axis": a.axis.number if a.axis is not None else None,
                "title": a.title,
                "description": a.description or "",
                "origin": str(a.origin) if a.origin else None,
                "lead_organisation": a.lead_organisation or "",
                "partners": a.partners or "",
                "starts_on": _iso(a.starts_on),
                "ends_on": _iso(a.ends_on),
                "status": str(a.status) if a.status else None,
                "position": a.position or 0,
                "documents": _documents(a.documents),
            }
            for a in roadmap.actions
        ],
        "indicators": [
            {
                "id": i.id,
                "indicator_id": i.indicator_id,
                "name": i.name,
                "unit": i.unit or "",
                "objective": i.objective or "",
                "position": i.position or 0,
                "targets": {str(t.year): _number(t.value) for t in sorted(i.targets, key=lambda t: t.year)},
                "values": [
                    {
                        "period_label": v.period_label,
                        "period_start": _iso(v.period_start),
                        "period_end": _iso(v.period_end),
                        "value": _number(v.value),
                        "comment": v.comment or "",
                    }
                    for v in sorted(i.values, key=lambda v: (v.period_start, v.period_end))
                ],
            }
            for i in roadmap.indicators
        ],
        "budget": [
            {
                "kind": str(line.kind),
                "actions": line.actions or "",
                "total_cost_cents": int(line.total_cost_cents or 0),
                "territory_share_cents": int(line.territory_share_cents or 0),
            }
            for line in sorted(roadmap.budget_lines, key=lambda b: list(BudgetLineKind).index(BudgetLineKind(b.kind)))
        ],
        "partners": sorted(({"kind": str(p.kind), "name": p.name or ""} for p in roadmap.partners),
                           key=lambda p: (p["kind"], p["name"])),
        "documents": _documents(roadmap.documents),
    }


def _changes(old: dict, new: dict, fields: Iterable[str]) -> dict:
    return {f: {"old": old.get(f), "new": new.get(f)} for f in fields if old.get(f) != new.get(f)}


def _added_removed(old: list, new: list) -> dict:
    return {"added": [x for x in new if x not in old], "removed": [x for x in old if x not in new]}


def _value_key(value: dict) -> str:
    return f"{value['period_start']}/{value['period_end']}"


# What a reported value says besides its dates. Format-1 snapshots have no
# comment: a comment is compared only when both sides froze one.
VALUE_FIELDS = ("value", "period_label", "comment")


def _value_changes(before: dict | None, after: dict | None) -> dict:
    if before is None or after is None:
        return {"value": {"old": (before or {}).get("value"), "new": (after or {}).get("value")}}
    return {
        field: {"old": before.get(field), "new": after.get(field)}
        for field in VALUE_FIELDS
        if (field in before and field in after or field != "comment") and before.get(field) != after.get(field)
    }


def _normalised_documents(entries) -> list[dict]:
    """Documents of a snapshot as dicts: format 1 froze bare ids."""
    return [{"id": entry} if isinstance(entry, int) else entry for entry in entries or []]


def _document_changes(old, new) -> dict:
    """Documents added, removed, and replaced: the same document with another
    file than the one frozen (known only when both sides froze its file)."""
    old, new = _normalised_documents(old), _normalised_documents(new)
    old_by_id, new_by_id = {d["id"]: d for d in old}, {d["id"]: d for d in new}
    replaced = [
        {"id": d["id"], "old": old_by_id[d["id"]], "new": d}
        for d in new
        if d["id"] in old_by_id and d.get("sha256") and old_by_id[d["id"]].get("sha256")
        and d["sha256"] != old_by_id[d["id"]]["sha256"]
    ]
    return {
        "added": [d for d in new if d["id"] not in old_by_id],
        "removed": [d for d in old if d["id"] not in new_by_id],
        "replaced": replaced,
    }


def _indicator_changes(old: dict, new: dict) -> dict:
    changes = _changes(old, new, INDICATOR_FIELDS)
    targets = {
        year: {"old": old["targets"].get(year), "new": new["targets"].get(year)}
        for year in sorted(set(old["targets"]) | set(new["targets"]))
        if old["targets"].get(year) != new["targets"].get(year)
    }
    old_values = {_value_key(v): v for v in old["values"]}
    new_values = {_value_key(v): v for v in new["values"]}
    values = []
    for key in sorted(set(old_values) | set(new_values)):
        before, after = old_values.get(key), new_values.get(key)
        value_changes = _value_changes(before, after)
        if any(change["old"] != change["new"] for change in value_changes.values()):
            values.append({
                "period_label": (after or before)["period_label"],
                "period_start": (after or before)["period_start"],
                "period_end": (after or before)["period_end"],
                "old": before["value"] if before else None,
                "new": after["value"] if after else None,
                "changes": value_changes,
            })
    return {"changes": changes, "targets": targets, "values": values}


def diff(old: dict, new: dict) -> dict:
    """What changed from snapshot ``old`` to snapshot ``new``.

    Returns ``{"roadmap": {field: {old, new}}, "actions": {added, removed,
    changed}, "indicators": {added, removed, changed}, "budget": {changed},
    "partners": {added, removed}, "documents": {added, removed, replaced}}``;
    a changed action carries ``changes`` per field, a changed indicator its
    field ``changes``, ``targets`` per year and ``values`` per reporting period
    (each with ``changes`` of its value, period label and comment). Documents
    are dicts (``id``, and from format 2 the ``title`` and file frozen); a
    replaced one has its ``old`` and ``new`` file. Reads snapshots of format 1 too."""
    result = {"roadmap": _changes(old["roadmap"], new["roadmap"], ROADMAP_FIELDS)}

    old_actions = {a["id"]: a for a in old["actions"]}
    new_actions = {a["id"]: a for a in new["actions"]}
    changed_actions = []
    for a in new["actions"]:
        if a["id"] in old_actions:
            before = old_actions[a["id"]]
            changes = _changes(before, a, [f for f in ACTION_FIELDS if f != "documents"])
            documents = _document_changes(before.get("documents"), a.get("documents"))
            if any(documents.values()):
                changes["documents"] = {"old": _normalised_documents(before.get("documents")),
                                        "new": _normalised_documents(a.get("documents")), **documents}
            if changes:
                changed_actions.append({"id": a["id"], "title": a["title"], "axis": a["axis"], "changes": changes})
    result["actions"] = {
        "added": [a for a in new["actions"] if a["id"] not in old_actions],
        "removed": [a for a in old["actions"] if a["id"] not in new_actions],
        "changed": changed_actions,
    }

    old_indicators = {i["id"]: i for i in old["indicators"]}
    new_indicators = {i["id"]: i for i in new["indicators"]}
    changed_indicators = []
    for i in new["indicators"]:
        if i["id"] in old_indicators:
            change = _indicator_changes(old_indicators[i["id"]], i)
            if change["changes"] or change["targets"] or change["values"]:
                changed_indicators.append({"id": i["id"], "name": i["name"], "unit": i["unit"], **change})
    result["indicators"] = {
        "added": [i for i in new["indicators"] if i["id"] not in old_indicators],
        "removed": [i for i in old["indicators"] if i["id"] not in new_indicators],
        "changed": changed_indicators,
    }

    # A line absent from a snapshot is an empty line: fiche 5 always has six.
    old_budget = {row.kind: row for row in budget_totals(old["budget"]).rows}
    new_budget = {row.kind: row for row in budget_totals(new["budget"]).rows}
    budget_changed = []
    for kind in BudgetLineKind:
        changes = _changes(vars(old_budget[kind]), vars(new_budget[kind]), BUDGET_FIELDS)
        if changes:
            budget_changed.append({"kind": str(kind), "changes": changes})
    result["budget"] = {"changed": budget_changed}

    result["partners"] = _added_removed(old["partners"], new["partners"])
    result["documents"] = _document_changes(old.get("documents"), new.get("documents"))
    return result


def has_changes(changes: dict) -> bool:
    """Whether a :func:`diff` found anything."""
    if changes["roadmap"] or changes["budget"]["changed"]:
        return True
    return any(items for key in ("actions", "indicators", "partners", "documents") for items in changes[key].values())


# --- Workflow -------------------------------------------------------------------------
#
# Services take the acting user, check the same predicates as the views, change
# the models and flush; the view commits. Every change of the roadmap itself
# goes through expect_version() (the form's version) and touch() (the row's
# version grows), so two people editing at once conflict instead of
# overwriting each other. Comments and decisions are the national team's and
# do not conflict with the territory's edits of the text.
# No mail yet: telling the territory of a decision belongs with the pages.

YEAR_MIN, YEAR_MAX = 2000, 2100
SUMMARY_FIELDS = ("context", "strategy", "budget_note")


def create_roadmap(actor, territory, start_year: int, end_year: int) -> Roadmap:
    if not can_create_roadmap(actor, territory):
        raise ServiceError("forbidden")
    try:
        start_year, end_year = int(start_year), int(end_year)
    except (TypeError, ValueError):
        raise ServiceError(_l("Enter the years of the period as numbers, e.g. 2023."), field="start_year") from None
    if not (YEAR_MIN <= start_year <= YEAR_MAX and YEAR_MIN <= end_year <= YEAR_MAX):
        raise ServiceError(_l("Enter years between 2000 and 2100."), field="start_year")
    if end_year < start_year:
        raise ServiceError(_l("The period cannot end before it starts."), field="end_year")
    # One roadmap per year and territory: overlapping periods would count the
    # same year's targets and values twice in the network's totals.
    overlapping = db.session.scalar(
        select(Roadmap).where(
            Roadmap.territory_id == territory.id, Roadmap.start_year <= end_year, Roadmap.end_year >= start_year,
        ).order_by(Roadmap.start_year).limit(1)
    )
    if overlapping is not None:
        raise ServiceError(
            LazyString(lambda: gettext(
                "This territory already has a roadmap for %(period)s: periods cannot overlap.",
                period=overlapping.period_label,
            )),
            field="start_year",
        )
    roadmap = Roadmap(
        territory_id=territory.id, start_year=start_year, end_year=end_year,
        status=RoadmapStatus.DRAFT, created_by_id=actor.id, updated_by_id=actor.id,
    )
    # The members who wrote the previous period's roadmap usually write the next
    # one: they keep the right, if they still may have it (same territory, active).
    previous = db.session.scalar(
        select(Roadmap).where(Roadmap.territory_id == territory.id, Roadmap.start_year < start_year)
        .order_by(Roadmap.start_year.desc()).limit(1)
    )
    if previous is not None:
        roadmap.editors = [user for user in previous.editors if can_be_roadmap_editor(user, roadmap)]
    db.session.add(roadmap)
    db.session.flush()
    return roadmap


def update_summary(actor, roadmap: Roadmap, expected_version, **values) -> Roadmap:
    """Context, strategic summary and budget note (Markdown)."""
    if not can_edit_roadmap(actor, roadmap):
        raise ServiceError("forbidden")
    expect_version(roadmap, expected_version)
    for name in SUMMARY_FIELDS:
        if name in values:
            setattr(roadmap, name, (values[name] or "").strip())
    touch(roadmap, actor)
    db.session.flush()
    return roadmap


def latest_version(roadmap: Roadmap) -> RoadmapVersion | None:
    return roadmap.versions[-1] if roadmap.versions else None


class _StatusView:
    """The roadmap seen with another status, to tell "not now" from "never" in refusals."""

    def __init__(self, roadmap, status):
        self.territory_id, self.status = roadmap.territory_id, status


def _with_status(roadmap, status):
    return _StatusView(roadmap, status)


def submission_problems(roadmap: Roadmap) -> list[LazyString]:
    """Why the roadmap cannot be submitted as it stands (empty when it can):
    the State commits to actions, and to a budget that follows fiche 5."""
    problems = []
    if not roadmap.actions:
        problems.append(_l("The roadmap has no action yet: add at least one before submitting it."))
    for kind, problem in budget_problems(roadmap.budget_lines).items():
        problems.append(LazyString(lambda kind=kind, problem=problem: gettext(
            "Budget, %(line)s: %(problem)s", line=kind.label, problem=problem)))
    return problems


def submit(actor, roadmap: Roadmap, expected_version) -> RoadmapVersion:
    """Freeze the roadmap as it stands into a new version, for the national team to review."""
    if not can_submit_roadmap(actor, roadmap):
        if roadmap.status not in (RoadmapStatus.DRAFT, RoadmapStatus.RETURNED) and can_edit_roadmap(
            actor, _with_status(roadmap, RoadmapStatus.DRAFT)
        ):
            if roadmap.status == RoadmapStatus.VALIDATED:
                raise ServiceError(_l("This roadmap is validated: it can no longer be changed."))
            raise ServiceError(_l("This roadmap has been submitted and awaits the national team's review."))
        raise ServiceError("forbidden")
    expect_version(roadmap, expected_version)
    problems = submission_problems(roadmap)
    if problems:
        raise ServiceError(LazyString(lambda: " ".join(
            [gettext("This roadmap cannot be submitted yet."), *(str(p) for p in problems)])))
    previous = latest_version(roadmap)
    now = utcnow()
    version = RoadmapVersion(
        roadmap=roadmap,
        number=(previous.number if previous else 0) + 1,
        submitted_at=now,
        submitted_by_id=actor.id,
        snapshot=snapshot(roadmap),
    )
    roadmap.status = RoadmapStatus.SUBMITTED
    roadmap.submitted_at = now
    touch(roadmap, actor)
    db.session.add(version)
    db.session.flush()
    return version


def _decide(actor, roadmap: Roadmap, decision: RoadmapStatus, expected_version) -> RoadmapVersion:
    if not can_review_roadmap(actor, roadmap):
        if roadmap.status != RoadmapStatus.SUBMITTED and can_review_roadmap(actor, _with_status(roadmap, RoadmapStatus.SUBMITTED)):
            raise ServiceError(_l("Only a submitted roadmap can be validated or sent back."))
        raise ServiceError("forbidden")
    if expected_version is not None:
        expect_version(roadmap, expected_version)
    version = latest_version(roadmap)
    now = utcnow()
    version.decision = decision
    version.decided_at = now
    version.decided_by_id = actor.id
    roadmap.status = decision
    if decision == RoadmapStatus.VALIDATED:
        roadmap.validated_at = now
    touch(roadmap, actor)
    db.session.flush()
    return version


def validate(actor, roadmap: Roadmap, expected_version=None) -> RoadmapVersion:
    """The national team validates the submitted version: the roadmap joins the
    network's library, and with it its annexes kept to its territory while it
    was a draft (the roadmap's and its actions' documents of visibility
    "territory" of this territory) become the whole network's."""
    version = _decide(actor, roadmap, RoadmapStatus.VALIDATED, expected_version)
    for document in {d for d in roadmap.documents} | {d for a in roadmap.actions for d in a.documents}:
        if document.visibility == Visibility.TERRITORY and document.territory_id == roadmap.territory_id:
            document.visibility = Visibility.NETWORK
    db.session.flush()
    return version


def send_back(actor, roadmap: Roadmap, message: str, expected_version=None) -> RoadmapVersion:
    """The national team returns the submitted version with what to change; the
    territory edits it again and submits a new version."""
    body = (message or "").strip()
    if can_review_roadmap(actor, roadmap) and not body:
        raise ServiceError(_l("Say what the territory should change."), field="message")
    version = _decide(actor, roadmap, RoadmapStatus.RETURNED, expected_version)
    db.session.add(RoadmapComment(
        roadmap=roadmap, version_id=version.id, section=RoadmapSection.GENERAL, body=body, author_id=actor.id,
    ))
    db.session.flush()
    return version


def comment(actor, roadmap: Roadmap, section, body: str) -> RoadmapComment:
    """A comment of the national team on one section, on the latest submission if there is one."""
    if not can_comment_roadmap(actor, roadmap):
        raise ServiceError("forbidden")
    try:
        section = RoadmapSection(section)
    except ValueError:
        raise ServiceError(_l("Choose a section of the roadmap."), field="section") from None
    body = (body or "").strip()
    if not body:
        raise ServiceError(_l("Write your comment."), field="body")
    version = latest_version(roadmap)
    item = RoadmapComment(
        roadmap=roadmap, version_id=version.id if version else None, section=section, body=body, author_id=actor.id,
    )
    db.session.add(item)
    db.session.flush()
    return item


def compare(version_a: RoadmapVersion, version_b: RoadmapVersion) -> dict:
    """What changed from ``version_a`` to ``version_b`` (see :func:`diff`)."""
    return diff(version_a.snapshot, version_b.snapshot)
