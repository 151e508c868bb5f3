import json
from pathlib import Path

from sqlalchemy import select

from extranet.extensions import db
from extranet.plan.models import Axis, Priority

DATA_FILE = Path(__file__).parent / "data" / "plan.json"


def load_plan(path: Path = DATA_FILE) -> dict:
    """Create or update the priorities and axes from the data file (idempotent)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    priorities = {p.number: p for p in db.session.scalars(select(Priority))}
    axes = {a.number: a for a in db.session.scalars(select(Axis))}
    created = 0
    for p in data["priorities"]:
        priority = priorities.get(p["number"])
        if priority is None:
            priority = Priority(number=p["number"])
            db.session.add(priority)
            created += 1
        priority.title = p["title"]
        for a in p["axes"]:
            axis = axes.get(a["number"])
            if axis is None:
                axis = Axis(number=a["number"])
                db.session.add(axis)
                created += 1
            axis.title = a["title"]
            axis.priority = priority
    db.session.flush()
    return {"created": created, "total": len(data["priorities"]) + sum(len(p["axes"]) for p in data["priorities"])}
