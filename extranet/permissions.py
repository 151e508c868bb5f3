"""Every permission decision of the platform.

Pure predicates ``can_<verb>_<noun>(user, obj) -> bool``: they read attributes
(``user.role``, ``user.territory_id``, ``obj.territory_id``...) and never the
request, so views (through :func:`require`), templates (as Jinja globals),
search and exports all decide with the same rules. This module imports no
feature package.
"""

from flask import abort

from extranet.roles import Role


def require(allowed: bool) -> None:
    """Stop the request with a 403 page unless ``allowed``."""
    if not allowed:
        abort(403)


def _active(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def is_active_account(user) -> bool:
    """Signed in with an account not deactivated: the first condition of every
    predicate, public for their SQL twins (the roadmaps library's visibility clause)."""
    return _active(user)


def _role(user, *roles: Role) -> bool:
    return _active(user) and user.role in roles


def _coordinator_of(user, territory_id) -> bool:
    return _role(user, Role.COORDINATOR) and territory_id is not None and user.territory_id == territory_id


def is_national(user) -> bool:
    return _role(user, Role.ADMIN, Role.ANIMATOR)


def is_admin(user) -> bool:
    return _role(user, Role.ADMIN)


def can_view_directory(user, obj=None) -> bool:
    return _active(user)


def can_access_admin(user, obj=None) -> bool:
    """The administration area: admins see everything, coordinators their territory."""
    return _role(user, Role.ADMIN, Role.COORDINATOR)


def can_view_audit_log(user, obj=None) -> bool:
    return is_admin(user)


def can_manage_outgoing_mail(user, obj=None) -> bool:
    """The outbox: mails not sent yet, their errors, "retry now". Recipients and
    subjects of the whole network: admins only."""
    return is_admin(user)


def can_send_invitations(user, obj=None) -> bool:
    """The invitation form itself: admins, and coordinators who have a territory to invite into."""
    return is_admin(user) or (_role(user, Role.COORDINATOR) and user.territory_id is not None)


def can_invite_user(user, invitation) -> bool:
    """``invitation`` has ``role`` and ``territory_id`` (a proposed or an existing invitation)."""
    if is_admin(user):
        return True
    return invitation.role == Role.MEMBER and _coordinator_of(user, invitation.territory_id)


def can_manage_invitation(user, invitation) -> bool:
    """Resend or revoke: the same people who may send that invitation."""
    return can_invite_user(user, invitation)


def can_view_user(user, target) -> bool:
    """The administration page of an account."""
    return is_admin(user) or _coordinator_of(user, target.territory_id)


def can_deactivate_user(user, target) -> bool:
    if not _active(user) or target.id == user.id:
        return False  # nobody locks themselves out
    if is_admin(user):
        return True
    return target.role == Role.MEMBER and _coordinator_of(user, target.territory_id)


def can_reactivate_user(user, target) -> bool:
    """The same people who may deactivate the account."""
    return can_deactivate_user(user, target)


def can_change_role_user(user, target) -> bool:
    """Role and territory of an account; never one's own, so an admin cannot demote the last admin by mistake."""
    return is_admin(user) and target.id != user.id


def can_edit_territory(user, territory) -> bool:
    return is_admin(user) or _coordinator_of(user, territory.id)


def can_edit_profile(user, target) -> bool:
    return _active(user) and user.id == target.id


# --- Reading content: access tokens ---------------------------------------------
#
# Who may read a piece of content is said with tokens: the content carries the
# tokens that open it, a user holds tokens, and one in common is enough. The
# search index stores the content's tokens and filters on the user's, so
# search, lists and pages apply exactly the same rule.

NETWORK = "network"  # every active account
NATIONAL = "national"  # the national team (admins and animators)


def user_token(user_id: int) -> str:
    return f"user:{user_id}"


def group_token(group_id: int) -> str:
    return f"group:{group_id}"


def territory_token(territory_id: int) -> str:
    return f"territory:{territory_id}"


def access_tokens(user) -> set[str]:
    """The tokens a user holds; none for an anonymous or deactivated account."""
    if not _active(user):
        return set()
    tokens = {NETWORK, user_token(user.id)}
    if is_national(user):
        tokens.add(NATIONAL)
    tokens.update(group_token(g) for g in getattr(user, "group_ids", ()) or ())
    if getattr(user, "territory_id", None) is not None:
        tokens.add(territory_token(user.territory_id))
    return tokens


def document_tokens(document) -> frozenset[str]:
    """The tokens that open a toolbox document: its visibility, and always its author."""
    tokens = {user_token(document.author_id)} if document.author_id is not None else set()
    visibility = str(document.visibility)
    if visibility == "network":
        tokens.add(NETWORK)
    elif visibility == "national":
        tokens.add(NATIONAL)
    elif visibility == "group" and document.group_id is not None:
        tokens.update({group_token(document.group_id), NATIONAL})
    elif visibility == "territory":
        # The people of the document's territory and the national team (a
        # roadmap's draft annexes); without a territory, the national team.
        tokens.add(NATIONAL)
        if document.territory_id is not None:
            tokens.add(territory_token(document.territory_id))
    return frozenset(tokens)


def can_view_document(user, document) -> bool:
    return bool(document_tokens(document) & access_tokens(user))


def can_create_document(user, obj=None) -> bool:
    return _active(user)


def can_edit_document(user, document) -> bool:
    """Metadata, new versions and deletion: the author, the coordinator of the
    document's territory, the national team."""
    if not can_view_document(user, document):
        return False
    return is_national(user) or user.id == document.author_id or _coordinator_of(user, document.territory_id)


def can_delete_document(user, document) -> bool:
    return can_edit_document(user, document)


def can_choose_visibility(user, visibility, document=None, territory_id=None) -> bool:
    """Anyone may share with the whole network or with the national team only,
    but not restrict to the national team someone else's document they could
    then no longer open (a coordinator editing a member's document). A working
    group is a choice for the national team and for members of a group; which
    groups, ``can_share_with_group`` says.

    "Its territory and the national team": for the national team, and for
    people of a territory about a document of their own territory (never to
    hide it from themselves in another one). ``territory_id`` is the territory
    the document will have; None while the form still offers the choice."""
    if not _active(user) or str(visibility) not in ("network", "national", "group", "territory"):
        return False
    if str(visibility) == "national" and document is not None and not is_national(user):
        return document.author_id == user.id
    if str(visibility) == "group":
        return is_national(user) or bool(getattr(user, "group_ids", ()))
    if str(visibility) == "territory":
        if is_national(user):
            return True
        own = getattr(user, "territory_id", None)
        return own is not None and (territory_id is None or territory_id == own)
    return True


# --- Working groups -------------------------------------------------------------
#
# ``group`` has ``id``, ``is_open`` and ``archived_at``; ``thread`` has ``group``
# and ``locked``; ``message`` has ``thread``, ``author_id`` and ``deleted_at``.
# Membership is read from ``user.group_ids`` and ``user.animated_group_ids``.


def group_tokens(group) -> frozenset[str]:
    """The tokens that open a group's threads, messages and attachments: the
    whole network for an open group, its members and the national team for a
    closed one."""
    if group.is_open:
        return frozenset({NETWORK})
    return frozenset({group_token(group.id), NATIONAL})


def event_tokens(event) -> frozenset[str]:
    """The search twin of can_view_event: an event of a working group opens like its group."""
    group = getattr(event, "group", None)
    return frozenset({NETWORK}) if group is None else group_tokens(group)


def is_group_member(user, group) -> bool:
    return _active(user) and group.id in (getattr(user, "group_ids", ()) or ())


def is_group_animator(user, group) -> bool:
    return _active(user) and group.id in (getattr(user, "animated_group_ids", ()) or ())


def can_create_group(user, obj=None) -> bool:
    return is_national(user)


def can_edit_group(user, group) -> bool:
    """Name, description, axes, open or closed, animators, archiving: the national team."""
    return is_national(user)


def can_view_group(user, group) -> bool:
    """The group's card and page header (name, description, animators): every
    account, so that anyone can find a closed group and ask to join it."""
    return _active(user)


def can_read_group(user, group) -> bool:
    """Its members, threads, messages, attachments and documents."""
    return bool(group_tokens(group) & access_tokens(user))


def can_join_group(user, group) -> bool:
    """Join at once: an open group, or any group for the national team."""
    if not _active(user) or group.archived_at is not None or is_group_member(user, group):
        return False
    return bool(group.is_open) or is_national(user)


def can_request_to_join_group(user, group) -> bool:
    """Ask to join a closed group (an animator decides)."""
    if not _active(user) or group.archived_at is not None or is_group_member(user, group):
        return False
    return not group.is_open and not is_national(user)


def can_leave_group(user, group) -> bool:
    return is_group_member(user, group)


def can_moderate_group(user, group) -> bool:
    """Decide join requests, pin, lock, move threads, delete any message, see
    earlier versions of messages: the group's animators and the national team."""
    return is_national(user) or is_group_animator(user, group)


def can_decide_join_request(user, join_request) -> bool:
    """Those who moderate the group, while it is not archived (it takes no member then)."""
    return join_request.group.archived_at is None and can_moderate_group(user, join_request.group)


def can_share_with_group(user, group) -> bool:
    """Share a toolbox document with the group (its members and the national
    team then read it): its members and the national team, while the group is
    not archived."""
    if not _active(user) or group.archived_at is not None:
        return False
    return is_national(user) or is_group_member(user, group)


def can_create_thread(user, group) -> bool:
    """Open a thread: members of a group that is not archived."""
    return group.archived_at is None and is_group_member(user, group)


def can_read_thread(user, thread) -> bool:
    return can_read_group(user, thread.group)


def can_reply_to_thread(user, thread) -> bool:
    """Members reply; in a locked thread, only those who moderate the group."""
    group = thread.group
    if group.archived_at is not None or not is_group_member(user, group):
        return False
    return not thread.locked or can_moderate_group(user, group)


def can_moderate_thread(user, thread) -> bool:
    return can_read_thread(user, thread) and can_moderate_group(user, thread.group)


def can_pin_thread(user, thread) -> bool:
    return can_moderate_thread(user, thread)


def can_lock_thread(user, thread) -> bool:
    return can_moderate_thread(user, thread)


def can_move_thread(user, thread) -> bool:
    """Move to another group: to one of the groups the user moderates, see ``can_receive_thread``."""
    return can_moderate_thread(user, thread)


def can_receive_thread(user, group) -> bool:
    """A group a thread may be moved into."""
    return group.archived_at is None and can_moderate_group(user, group)


def can_edit_message(user, message) -> bool:
    """Its author, while the message stands and they may still write in the thread."""
    if message.deleted_at is not None or not _active(user) or message.author_id != user.id:
        return False
    return can_reply_to_thread(user, message.thread)


def can_delete_message(user, message) -> bool:
    """Its author, or those who moderate the group."""
    if message.deleted_at is not None or not can_read_thread(user, message.thread):
        return False
    return message.author_id == user.id or can_moderate_group(user, message.thread.group)


def can_view_message_history(user, message) -> bool:
    """Earlier versions of an edited message: those who moderate the group."""
    return message.deleted_at is None and can_moderate_thread(user, message.thread)


def can_download_attachment(user, attachment) -> bool:
    message = attachment.message
    return message.deleted_at is None and can_read_thread(user, message.thread)


# --- Agenda ---------------------------------------------------------------------
#
# ``event`` has ``group_id``, ``status``, ``registration_opens_at`` and
# ``registration_deadline``; ``registration`` has ``event``, ``user_id`` and
# ``status``. ``now`` is naive UTC, passed in so that predicates stay pure.


def can_view_agenda(user, obj=None) -> bool:
    return _active(user)


def can_create_event(user, group=None) -> bool:
    """The national team; the animators of a working group for that group's events."""
    if is_national(user):
        return True
    if group is None:
        return _active(user) and bool(getattr(user, "animated_group_ids", ()))
    return group.archived_at is None and is_group_animator(user, group)


def can_create_event_for(user, group) -> bool:
    """Create an event in this group (``None``: an event of the whole network, for the national team only)."""
    if group is None:
        return is_national(user)
    return can_create_event(user, group)


def can_organise_event(user, event) -> bool:
    """Edit, see the registrants, cancel: the national team, and the animators of the event's group."""
    if is_national(user):
        return True
    return event.group_id is not None and _active(user) and event.group_id in (getattr(user, "animated_group_ids", ()) or ())


def can_edit_event(user, event) -> bool:
    return can_organise_event(user, event)


def can_view_event(user, event) -> bool:
    """An event of a closed working group is private like its discussions."""
    group = getattr(event, "group", None)
    return _active(user) and (group is None or can_read_group(user, group))


def can_see_joining_details(user, event, registration=None) -> bool:
    """The dial-in number or video link: the people registered (not waiting) and the organisers,
    while they may see the event (not someone who left its closed group)."""
    if not can_view_event(user, event):
        return False
    if can_organise_event(user, event):
        return True
    return (
        registration is not None
        and _active(user)
        and registration.user_id == user.id
        and str(registration.status) == "registered"
    )


def is_registration_open(event, now) -> bool:
    if str(event.status) != "scheduled" or event.starts_at <= now:
        return False
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        return False
    return event.registration_deadline is None or now < event.registration_deadline


def can_register_for_event(user, event, now) -> bool:
    return _active(user) and is_registration_open(event, now)


def can_register_member(user, event, member, now) -> bool:
    """A coordinator registers an active account of their own territory, while registration is open."""
    return (
        member is not None
        and member.id != getattr(user, "id", None)
        and bool(getattr(member, "active", False))
        and _coordinator_of(user, member.territory_id)
        and is_registration_open(event, now)
    )


def can_register_members(user, event, now) -> bool:
    """The coordinator's form to register members of their territory."""
    return _role(user, Role.COORDINATOR) and user.territory_id is not None and is_registration_open(event, now)


def can_edit_programme(user, event) -> bool:
    """The workshops of the event and how many one person may choose: its organisers."""
    return can_organise_event(user, event)


def can_edit_registration_questions(user, event) -> bool:
    return can_organise_event(user, event)


def can_change_registration(user, registration, now) -> bool:
    """Its holder changes their answers and workshops while registration is open
    (after the deadline organisers plan with the answers they have)."""
    return (
        _active(user)
        and registration.user_id == user.id
        and str(registration.status) != "cancelled"
        and is_registration_open(registration.event, now)
    )


def can_cancel_registration(user, registration, now) -> bool:
    """Its holder, the coordinator of the territory it counts for, or an
    organiser, before the event starts."""
    if not _active(user) or str(registration.status) == "cancelled" or registration.event.starts_at <= now:
        return False
    return (
        registration.user_id == user.id
        or _coordinator_of(user, registration.territory_id)
        or can_organise_event(user, registration.event)
    )


def can_view_registrants(user, event) -> bool:
    """The registrants, their answers and the exports: personal data, organisers only."""
    return can_organise_event(user, event)


def can_message_registrants(user, event) -> bool:
    return can_organise_event(user, event)


def check_in_opens_at(event):
    """Midnight, Paris time, on the day the event starts (naive UTC): marking
    people present before that day would be a mistake; after it, organisers
    may still correct the list from a paper sheet, so it never closes."""
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    day = event.starts_at.replace(tzinfo=UTC).astimezone(paris).date()
    return datetime.combine(day, time(), tzinfo=paris).astimezone(UTC).replace(tzinfo=None)


def can_check_in_registrants(user, event, now) -> bool:
    """Mark registered people present: organisers, from the day of the event, unless it is cancelled."""
    return can_organise_event(user, event) and str(event.status) == "scheduled" and now >= check_in_opens_at(event)


def can_cancel_event(user, event, now) -> bool:
    """Organisers, until the event has ended."""
    return can_organise_event(user, event) and str(event.status) == "scheduled" and event.ends_at > now


# --- Roadmaps -------------------------------------------------------------------
#
# ``roadmap`` has ``territory_id``, ``status`` (draft, submitted, validated,
# returned) and ``editor_ids``: members of the territory its coordinators allow
# to edit it. Editing covers every part of the draft; submitting commits the
# territory to the State, so it stays with the coordinators.

_ROADMAP_EDITABLE = ("draft", "returned")


def _of_territory(user, territory_id) -> bool:
    return _active(user) and territory_id is not None and user.territory_id == territory_id


def can_create_roadmap(user, territory) -> bool:
    """Start the roadmap of a new period: the territory's coordinators."""
    return _coordinator_of(user, territory.id)


def can_view_roadmap(user, roadmap) -> bool:
    """A validated roadmap is the network's library; before that, only its
    territory and the national team read it."""
    if str(roadmap.status) == "validated":
        return _active(user)
    return is_national(user) or _of_territory(user, roadmap.territory_id)


def can_manage_roadmap_editors(user, roadmap) -> bool:
    """Choose which members of the territory may edit: its coordinators."""
    return _coordinator_of(user, roadmap.territory_id)


def can_be_roadmap_editor(user, roadmap) -> bool:
    """Who a coordinator may allow: an active member of the same territory."""
    return _of_territory(user, roadmap.territory_id) and not _coordinator_of(user, roadmap.territory_id)


def can_edit_roadmap(user, roadmap) -> bool:
    """While it is a draft or sent back: the territory's coordinators and the
    members they allowed (frozen while the national team reviews it, and once
    validated)."""
    if str(roadmap.status) not in _ROADMAP_EDITABLE:
        return False
    if _coordinator_of(user, roadmap.territory_id):
        return True
    return _of_territory(user, roadmap.territory_id) and user.id in (getattr(roadmap, "editor_ids", ()) or ())


def can_report_roadmap_values(user, roadmap) -> bool:
    """Report the values an indicator reached (fiche 4's follow-up): the same
    people as :func:`can_edit_roadmap`, while it is a draft or sent back AND
    once it is validated. A validated roadmap is the territory's commitment for
    its whole period, and the follow-up of its indicators happens during that
    period: reporting a quarter changes no commitment (no new submission, the
    status stays validated; the frozen versions keep what was submitted). Not
    while it is submitted: the national team reviews what it reads, unchanged."""
    if str(roadmap.status) not in _ROADMAP_EDITABLE + ("validated",):
        return False
    if _coordinator_of(user, roadmap.territory_id):
        return True
    return _of_territory(user, roadmap.territory_id) and user.id in (getattr(roadmap, "editor_ids", ()) or ())


def can_submit_roadmap(user, roadmap) -> bool:
    return str(roadmap.status) in _ROADMAP_EDITABLE and _coordinator_of(user, roadmap.territory_id)


def can_review_roadmap(user, roadmap) -> bool:
    """Validate or send back a submitted roadmap: the national team."""
    return str(roadmap.status) == "submitted" and is_national(user)


def can_comment_roadmap(user, roadmap) -> bool:
    """Comments per section: the national team, whatever the status (a draft may get early advice)."""
    return is_national(user)


def roadmap_tokens(roadmap) -> frozenset[str]:
    """The search twin of can_view_roadmap, for a roadmap and each of its actions."""
    if str(roadmap.status) == "validated":
        return frozenset({NETWORK})
    return frozenset({territory_token(roadmap.territory_id), NATIONAL})


def can_view_roadmap_versions(user, roadmap) -> bool:
    """Earlier submissions and the comments on them: the territory and the national team."""
    return is_national(user) or _of_territory(user, roadmap.territory_id)


def can_view_network_indicators(user, obj=None) -> bool:
    """The shared indicators added up across territories, who is late in
    reporting, the network export: the national team (it animates the network;
    territories read each other's validated roadmaps instead)."""
    return is_national(user)


def can_manage_indicators(user, obj=None) -> bool:
    """Add, edit, take off or put back an indicator of the national list: the national team."""
    return is_national(user)


def template_globals() -> dict:
    """The predicates exposed to Jinja, so templates hide what views would refuse."""
    return {name: value for name, value in globals().items() if name.startswith(("can_", "is_"))}
