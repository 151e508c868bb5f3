import json
from pathlib import Path

from sqlalchemy import select

from extranet.extensions import db
from extranet.territories.models import Territory, TerritoryKind

DATA_FILE = Path(__file__).parent / "data" / "territories.json"

# Facts that come from the reference file; name, description and contacts are
# the administrators' and a reload leaves them as edited.
REFERENCE_FIELDS = ("kind", "wave", "selection_year", "extension_year", "extension_note", "region", "timezone")


def load_territories(path: Path = DATA_FILE) -> dict:
    """Create missing territories and refresh the reference facts of existing ones (idempotent)."""
    rows = json.loads(path.read_text(encoding="utf-8"))["territories"]
    existing = {t.slug: t for t in db.session.scalars(select(Territory))}
    created = 0
    for row in rows:
        territory = existing.get(row["slug"])
        if territory is None:
            territory = Territory(slug=row["slug"], name=row["name"])
            db.session.add(territory)
            created += 1
        for field in REFERENCE_FIELDS:
            value = row.get(field, "" if field == "extension_note" else None)
            setattr(territory, field, TerritoryKind(value) if field == "kind" else value)
    db.session.flush()
    return {"created": created, "total": len(rows)}


def update_territory(actor, territory: Territory, *, name: str, description: str, contact_email: str, website: str) -> None:
    territory.name = name
    territory.description = description
    territory.contact_email = contact_email
    territory.website = website
    db.session.flush()
