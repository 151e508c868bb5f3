"""Who gets which email in the roadmap workflow.

Called by the views after the service and before the commit: the mails sit in
the outbox of the same transaction, so a refused or rolled-back decision mails
nobody. Each person reads the mail in their own language; inactive accounts
get nothing.

- a submission: the national team (active admins and animators), to review it;
- a decision (validated, sent back with the message) and each comment: the
  territory's coordinators and the members allowed to edit the roadmap.
"""

from sqlalchemy import select

from extranet import mail
from extranet.auth.models import User
from extranet.extensions import db
from extranet.roadmaps.models import Roadmap, RoadmapComment, RoadmapStatus, RoadmapVersion
from extranet.roles import Role


def _link(roadmap: Roadmap, anchor: str | None = None) -> str:
    link = mail.external_url("roadmaps.show", roadmap_id=roadmap.id)
    return f"{link}#{anchor}" if anchor else link


def national_team() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role.in_([Role.ADMIN, Role.ANIMATOR]), User.active.is_(True)).order_by(User.id)
    ))


def territory_team(roadmap: Roadmap) -> list[User]:
    """The territory's coordinators and the roadmap's editors still of that territory."""
    coordinators = db.session.scalars(
        select(User).where(
            User.role == Role.COORDINATOR, User.territory_id == roadmap.territory_id, User.active.is_(True),
        ).order_by(User.id)
    )
    people = {user.id: user for user in coordinators}
    for editor in roadmap.editors:
        if editor.active and editor.territory_id == roadmap.territory_id:
            people.setdefault(editor.id, editor)
    return list(people.values())


def _send(people, actor, template: str, **context) -> int:
    sent = 0
    for user in people:
        if actor is not None and user.id == actor.id:
            continue
        mail.queue(user.email, template, language=user.language, recipient=user, actor=actor, **context)
        sent += 1
    return sent


def submitted(actor, roadmap: Roadmap, version: RoadmapVersion) -> int:
    compare_link = None
    if version.number > 1:
        compare_link = mail.external_url("roadmaps.compare_versions", roadmap_id=roadmap.id,
                                         a=version.number - 1, b=version.number)
    return _send(national_team(), actor, "roadmap_submitted", roadmap=roadmap, version=version,
                 link=_link(roadmap), compare_link=compare_link)


def decided(actor, roadmap: Roadmap, version: RoadmapVersion, message: str = "") -> int:
    template = "roadmap_validated" if version.decision == RoadmapStatus.VALIDATED else "roadmap_returned"
    return _send(territory_team(roadmap), actor, template, roadmap=roadmap, version=version, message=message,
                 link=_link(roadmap))


def commented(actor, roadmap: Roadmap, comment: RoadmapComment) -> int:
    return _send(territory_team(roadmap), actor, "roadmap_commented", roadmap=roadmap, comment=comment,
                 link=_link(roadmap, f"section-{comment.section.value}"))
