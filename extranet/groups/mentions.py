"""Mentions in discussions: who the editor offers after "@", and where a
mention leads once rendered.

The text stores a mention as ``@[Name](user:12)`` (see extranet.markdown);
who is told of it is decided in :mod:`extranet.groups.notifications`.
"""

from collections.abc import Callable, Iterable

from flask import url_for
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from extranet.auth.models import User
from extranet.extensions import db
from extranet.groups.models import Group, GroupMembership
from extranet.markdown import mention_ids
from extranet.permissions import can_read_group
from extranet.roles import Role
from extranet.territories.models import Territory
from extranet.text import fold

QUERY_MIN_LETTERS = 2
QUERY_MAX = 60
MAX_CANDIDATES = 10


def candidates(viewer, group: Group, typed: str, limit: int = MAX_CANDIDATES) -> list[User]:
    """Active accounts that may read ``group``'s discussions whose name has a
    word starting with what was typed (accents, case and punctuation aside):
    members first, then by name; never the viewer. Nothing before two letters."""
    needle = fold((typed or "")[:QUERY_MAX])
    if sum(c.isalnum() for c in needle) < QUERY_MIN_LETTERS:
        return []
    is_member = GroupMembership.id.is_not(None)
    query = (
        select(User.id, User.name, is_member)
        .outerjoin(GroupMembership, and_(GroupMembership.user_id == User.id, GroupMembership.group_id == group.id))
        .where(User.active.is_(True), User.id != viewer.id)
    )
    if not group.is_open:
        # Who may read a closed group (permissions.group_tokens): narrows the names to compare.
        query = query.where(or_(is_member, User.role.in_((Role.ADMIN, Role.ANIMATOR))))
    # Names are compared in Python: folding accents the same way on SQLite and
    # PostgreSQL (without the unaccent extension) is not possible in SQL. The
    # rows are two short columns; a network of a few thousand accounts is folded
    # in a few milliseconds.
    found = []
    for user_id, name, member in db.session.execute(query):
        folded = fold(name)
        if f" {folded}".find(f" {needle}") >= 0:
            found.append((not member, folded, user_id))
    found.sort()
    # A few spare ones, in case the permission check below drops some.
    order = [user_id for _, _, user_id in found[: limit * 2]]
    if not order:
        return []
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_(order)).options(selectinload(User.memberships), selectinload(User.territory))
    )}
    return [users[i] for i in order if i in users and can_read_group(users[i], group)][:limit]


def describe(user: User) -> str:
    """What tells two people of the same name apart in the list."""
    return user.organisation or (user.territory.name if user.territory else "")


def links(texts: Iterable[str]) -> Callable[[int], str | None]:
    """``mention_url`` for ``markdown.render``: a mention leads to the person's
    entry in the directory (their territory's page), loaded in one query for
    all the texts; None (plain text) for an account that is gone, deactivated,
    or has no entry there (the national team)."""
    ids = set()
    for text in texts:
        ids |= mention_ids(text)
    slugs = {}
    if ids:
        slugs = dict(db.session.execute(
            select(User.id, Territory.slug)
            .join(Territory, Territory.id == User.territory_id)
            # Who the territory page lists (territories.views.detail).
            .where(User.id.in_(ids), User.active.is_(True), User.role.in_((Role.COORDINATOR, Role.MEMBER)))
        ).all())

    def mention_url(user_id: int) -> str | None:
        slug = slugs.get(user_id)
        return url_for("territories.detail", slug=slug, _anchor=f"person-{user_id}") if slug else None

    return mention_url
