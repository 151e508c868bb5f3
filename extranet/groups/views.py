"""The working group pages: directory, group page, membership and join
requests, threads, messages, attachments.

Views load (404), check (403), validate, call one service, commit once and
redirect. The discussions of a closed group answer 403 to those who may not
read them; its name and description stay visible, so that people can ask to
join. Reading a thread page is a GET that writes one piece of bookkeeping:
how far the reader has read.

The unsubscribe pages are public (the signed link in an email stands for the
person), see :mod:`extranet.groups.notifications`.
"""

import logging
import re

from contextlib import nullcontext

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from extranet import storage, tokens
from extranet.auth.services import ServiceError
from extranet.errors import render_error
from extranet.extensions import csrf, db
from extranet.groups import mentions, services
from extranet.groups import notifications as notices
from extranet.groups.forms import EditMessageForm, GroupForm, JoinRequestForm, MoveThreadForm, NotificationForm, ReplyForm, ThreadForm
from extranet.groups.models import Group, JoinRequest, MessageAttachment
from extranet.http import int_arg, page_arg
from extranet.markdown import excerpt, mention, quote
from extranet.permissions import (
    can_create_group,
    can_create_thread,
    can_decide_join_request,
    can_delete_message,
    can_download_attachment,
    can_edit_group,
    can_edit_message,
    can_join_group,
    can_leave_group,
    can_lock_thread,
    can_moderate_group,
    can_move_thread,
    can_pin_thread,
    can_read_group,
    can_read_thread,
    can_reply_to_thread,
    can_request_to_join_group,
    can_view_group,
    can_view_message_history,
    is_group_member,
    require,
)
from extranet.search.views import Pages
from extranet.toolbox import services as toolbox_services

log = logging.getLogger(__name__)

bp = Blueprint("groups", __name__)


def _actor():
    return current_user._get_current_object()


def _max_bytes() -> int:
    return current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024


@bp.app_template_global()
def markdown_excerpt(text: str, length: int = 200) -> str:
    return excerpt(text, length)


@bp.errorhandler(RequestEntityTooLarge)
def request_too_large(error):
    return render_error(
        413,
        _("Files too large"),
        _("The attached files weigh more than %(mb)s MB in all, the most a message accepts. Go back and attach fewer or smaller files.",
          mb=current_app.config["MAX_UPLOAD_MB"]),
    )


# --- Loading ---------------------------------------------------------------------------


def _group(slug: str) -> Group:
    group = services.load_group(slug)
    if group is None:
        abort(404)
    require(can_view_group(current_user, group))
    return group


def _readable_group(slug: str) -> Group:
    group = _group(slug)
    require(can_read_group(current_user, group))
    return group


def _thread(thread_id: int):
    thread = services.load_thread(thread_id)
    if thread is None:
        abort(404)
    require(can_read_thread(current_user, thread))
    return thread


def _message(message_id: int):
    message = services.load_message(message_id)
    if message is None:
        abort(404)
    require(can_read_thread(current_user, message.thread))
    return message


def _message_url(message) -> str:
    page = services.page_of(message.number)
    return url_for("groups.thread", thread_id=message.thread_id, page=page if page > 1 else None) + f"#message-{message.id}"


def _add_error(field, message) -> None:
    field.errors = list(field.errors or ()) + [message]


def _service_error(form, error: ServiceError, default_field: str) -> None:
    db.session.rollback()
    if error.message == "forbidden":
        abort(403)
    field = getattr(form, error.field or default_field, None) or getattr(form, default_field)
    _add_error(field, services.SERVICE_MESSAGES.get(error.message, _("This could not be saved.")))


# --- Directory ----------------------------------------------------------------------------


def _directory(*, mine: bool):
    archived = not mine and request.args.get("archived") == "1"
    query = services.groups_query(archived=archived, member=current_user if mine else None)
    page = db.paginate(query, page=page_arg(), per_page=services.GROUPS_PER_PAGE, error_out=False)
    return render_template(
        "groups/index.html",
        page=page,
        mine=mine,
        archived=archived,
        stats=services.group_stats(current_user, page.items),
        my_group_ids=current_user.group_ids,
    )


@bp.route("/")
def index():
    return _directory(mine=False)


@bp.route("/mine")
def mine():
    return _directory(mine=True)


# --- Group page ------------------------------------------------------------------------------


@bp.route("/<slug>")
def detail(slug):
    group = _group(slug)
    readable = can_read_group(current_user, group)
    member = services.membership(current_user, group)
    context = dict(group=group, member=member, readable=readable, threads=None, unread=set(), documents=[], document_total=0,
                   member_total=0, any_unread=False)
    if readable:
        threads = db.paginate(services.threads_query(group), page=page_arg(), per_page=services.THREADS_PER_PAGE, error_out=False)
        marks = services.read_marks(current_user, threads.items) if member else {}
        documents, document_total = services.group_documents(current_user, group)
        context.update(
            threads=threads,
            unread={t.id for t in threads.items if member and services.is_unread(t, max(marks.get(t.id, 0), member.read_up_to_message_id))},
            documents=documents,
            document_total=document_total,
            member_total=services.member_count(group),
            # Unread threads may all be on other pages: "mark everything as read" is still offered.
            any_unread=services.has_unread(current_user, group),
        )
    return render_template(
        "groups/detail.html",
        pending_count=services.pending_request_count(group) if can_moderate_group(current_user, group) else 0,
        own_request=services.pending_request(current_user, group) if can_request_to_join_group(current_user, group) else None,
        notification_form=NotificationForm(notification=member.notification) if member else None,
        **context,
    )


@bp.route("/<slug>/members")
def members(slug):
    group = _readable_group(slug)
    page = db.paginate(services.members_query(group), page=page_arg(), per_page=services.MEMBERS_PER_PAGE, error_out=False)
    return render_template("groups/members.html", group=group, page=page)


# --- Creating and editing groups -----------------------------------------------------------------


def _set_group_choices(form: GroupForm) -> None:
    axes = services.all_axes()
    form.axes.choices = [SelectChoice(a.id, f"{a.number}. {a.title}") for a in axes]
    form.axes_by_priority = _axes_by_priority(axes)
    form.animators.choices = [
        SelectChoice(u.id, " — ".join(part for part in (u.name, u.organisation or (u.territory.name if u.territory else "")) if part))
        for u in services.animator_candidates()
    ]


def _axes_by_priority(axes):
    groups = []
    for axis in axes:
        if not groups or groups[-1][0] != axis.priority:
            groups.append((axis.priority, []))
        groups[-1][1].append(axis)
    return groups


def _group_values(form: GroupForm) -> dict:
    return dict(
        name=form.name.data,
        description=form.description.data or "",
        axis_ids=form.axes.data or [],
        is_open=form.access.data == "open",
        animator_ids=form.animators.data or [],
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    require(can_create_group(current_user))
    form = GroupForm()
    _set_group_choices(form)
    if request.method == "GET":
        form.access.data = "open"
        return render_template("groups/form.html", form=form, group=None)
    if form.validate_on_submit():
        try:
            group = services.create_group(_actor(), **_group_values(form))
        except ServiceError as error:
            _service_error(form, error, "name")
        else:
            db.session.commit()
            flash(_("The group “%(name)s” is created.", name=group.name), "success")
            return redirect(url_for("groups.detail", slug=group.slug))
    return render_template("groups/form.html", form=form, group=None), 400


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug):
    group = _group(slug)
    require(can_edit_group(current_user, group))
    if request.method == "GET":
        form = GroupForm(data=dict(
            name=group.name,
            description=group.description,
            axes=[a.id for a in group.axes],
            access="open" if group.is_open else "closed",
            animators=[m.user_id for m in group.animator_memberships],
            archived=group.is_archived,
        ))
        _set_group_choices(form)
        return render_template("groups/form.html", form=form, group=group)
    form = GroupForm()
    _set_group_choices(form)
    if form.validate_on_submit():
        try:
            changed = services.update_group(_actor(), group, archived=form.archived.data, **_group_values(form))
        except ServiceError as error:
            _service_error(form, error, "name")
        else:
            db.session.commit()
            flash(_("The group is saved.") if changed else _("Nothing to save: the group is unchanged."), "success" if changed else "info")
            return redirect(url_for("groups.detail", slug=group.slug))
    return render_template("groups/form.html", form=form, group=group), 400


# --- Membership ------------------------------------------------------------------------------------


@bp.post("/<slug>/join")
def join(slug):
    group = _group(slug)
    require(can_join_group(current_user, group))
    services.join(_actor(), group)
    db.session.commit()
    flash(_("You are now a member of “%(name)s”.", name=group.name), "success")
    return redirect(url_for("groups.detail", slug=group.slug))


@bp.post("/<slug>/leave")
def leave(slug):
    group = _group(slug)
    require(can_leave_group(current_user, group))
    services.leave(_actor(), group)
    db.session.commit()
    flash(_("You have left “%(name)s”.", name=group.name), "success")
    return redirect(url_for("groups.detail", slug=group.slug))


@bp.route("/<slug>/join-request", methods=["GET", "POST"])
def join_request(slug):
    group = _group(slug)
    require(can_request_to_join_group(current_user, group))
    pending = services.pending_request(current_user, group)
    form = JoinRequestForm()
    if request.method == "POST" and pending is None and form.validate_on_submit():
        try:
            services.request_to_join(_actor(), group, form.message.data or "")
        except ServiceError:
            # The group was archived a moment ago.
            db.session.rollback()
            abort(403)
        db.session.commit()
        flash(_("Your request is sent to the animators of the group. You will get an email when they have answered."), "success")
        return redirect(url_for("groups.detail", slug=group.slug))
    status = 400 if request.method == "POST" and pending is None else 200
    return render_template("groups/join_request.html", group=group, form=form, pending=pending), status


@bp.post("/<slug>/join-request/withdraw")
def withdraw_request(slug):
    group = _group(slug)
    pending = services.pending_request(current_user, group)
    if pending is None:
        abort(404)
    services.withdraw_request(_actor(), pending)
    db.session.commit()
    flash(_("Your request is withdrawn."), "success")
    return redirect(url_for("groups.detail", slug=group.slug))


@bp.route("/<slug>/requests")
def requests(slug):
    group = _group(slug)
    require(can_moderate_group(current_user, group))
    page = db.paginate(services.pending_requests_query(group), page=page_arg(), per_page=services.MEMBERS_PER_PAGE, error_out=False)
    return render_template("groups/requests.html", group=group, page=page)


def _decide(slug, request_id, accept: bool):
    group = _group(slug)
    join_request = db.session.get(JoinRequest, request_id)
    if join_request is None or join_request.group_id != group.id:
        abort(404)
    require(can_moderate_group(current_user, group))
    if group.is_archived:
        flash(services.SERVICE_MESSAGES["archived"], "error")
        return redirect(url_for("groups.requests", slug=group.slug))
    require(can_decide_join_request(current_user, join_request))
    if not join_request.is_pending:
        flash(services.SERVICE_MESSAGES["decided"], "info")
        return redirect(url_for("groups.requests", slug=group.slug))
    try:
        services.decide(_actor(), join_request, accept=accept)
    except ServiceError as error:
        # Another animator answered it a moment ago, or the group was just archived.
        db.session.rollback()
        if error.message == "forbidden":
            abort(403)
        flash(services.SERVICE_MESSAGES[error.message], "info" if error.message == "decided" else "error")
        return redirect(url_for("groups.requests", slug=group.slug))
    db.session.commit()
    name = join_request.user.name
    if accept:
        flash(_("%(name)s is now a member of the group; they are told by email.", name=name), "success")
    else:
        flash(_("The request of %(name)s is refused; they are told by email.", name=name), "success")
    return redirect(url_for("groups.requests", slug=group.slug))


@bp.post("/<slug>/requests/<int:request_id>/accept")
def accept_request(slug, request_id):
    return _decide(slug, request_id, accept=True)


@bp.post("/<slug>/requests/<int:request_id>/refuse")
def refuse_request(slug, request_id):
    return _decide(slug, request_id, accept=False)


@bp.post("/<slug>/notifications")
def notifications(slug):
    group = _group(slug)
    require(is_group_member(current_user, group))
    form = NotificationForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_notification(_actor(), group, form.notification.data)
    db.session.commit()
    flash(_("Your email preference for this group is saved."), "success")
    return redirect(url_for("groups.detail", slug=group.slug))


@bp.get("/<slug>/mentions")
def mention_candidates(slug):
    """Who the editor offers after "@" and a few letters (``q``): people who may read the group's discussions."""
    group = _readable_group(slug)
    users = mentions.candidates(current_user, group, request.args.get("q", ""))
    return jsonify(results=[{"id": u.id, "name": u.name, "detail": mentions.describe(u), "mention": mention(u.name, u.id)} for u in users])


@bp.post("/<slug>/read-all")
def read_all(slug):
    group = _readable_group(slug)
    require(is_group_member(current_user, group))
    services.mark_group_read(_actor(), group)
    db.session.commit()
    flash(_("Every thread of the group is marked as read."), "success")
    return redirect(url_for("groups.detail", slug=group.slug))


# --- Attachments kept aside ---------------------------------------------------------------------
#
# Files cannot be put back into a file field: when a message is refused for
# another reason, the accepted files wait in temporary storage, named by a
# signed token in the form, and go with the message when it is sent again.

_TEMP_NAME = re.compile(r"upload-[A-Za-z0-9_]{1,64}")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="groups-attachments")


def _keep_aside(form, uploads) -> None:
    files = [{"temp": u.path.name, "name": u.filename} for u in uploads]
    form.upload_token.data = _serializer().dumps({"user": current_user.id, "files": files}) if files else ""
    form.kept_uploads = uploads


def _restore(token: str) -> list:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return []
    if not isinstance(data, dict) or data.get("user") != current_user.id or not isinstance(data.get("files"), list):
        return []
    uploads = []
    for item in data["files"][: services.MAX_ATTACHMENTS]:
        if not isinstance(item, dict) or not _TEMP_NAME.fullmatch(str(item.get("temp"))):
            continue
        staged = storage.restage(item["temp"])
        if staged is None:
            continue
        try:
            uploads.append(toolbox_services.check_staged(staged, str(item.get("name", ""))))
        except toolbox_services.UploadRefused:
            continue
    return uploads


def _refusal(reason: str, name: str) -> str:
    if reason == "too_large":
        return _("“%(name)s” is larger than %(mb)s MB, the limit.", name=name, mb=current_app.config["MAX_UPLOAD_MB"])
    if reason == "empty":
        return _("“%(name)s” is empty.", name=name)
    return _("“%(name)s” is not of an accepted type (its content was checked, not only its name).", name=name)


def _uploads(form) -> tuple[list, bool]:
    """The files of the form (sent now, or kept from a previous try) and whether
    they are all acceptable; a refused file is never kept, with an error beside the field."""
    uploads = _restore(form.upload_token.data) if form.upload_token.data else []
    ok = True
    for sent in form.attachments.data or []:
        if not getattr(sent, "filename", ""):
            continue
        try:
            uploads.append(toolbox_services.receive_upload(sent.stream, sent.filename, _max_bytes()))
        except toolbox_services.UploadRefused as refusal:
            _add_error(form.attachments, _refusal(refusal.reason, sent.filename))
            ok = False
    if len(uploads) > services.MAX_ATTACHMENTS:
        _add_error(form.attachments, services.SERVICE_MESSAGES["attachments"])
        for upload in uploads:
            upload.discard()
        return [], False
    return uploads, ok


# --- Threads -------------------------------------------------------------------------------------


@bp.route("/<slug>/threads/new", methods=["GET", "POST"])
def new_thread(slug):
    group = _readable_group(slug)
    require(can_create_thread(current_user, group))
    form = ThreadForm()
    if request.method == "GET":
        return render_template("groups/thread_new.html", group=group, form=form)
    valid = form.validate_on_submit()
    uploads, files_ok = _uploads(form)
    if valid and files_ok:
        try:
            thread = services.open_thread(_actor(), group, title=form.title.data, body=form.body.data, uploads=uploads)
        except ServiceError as error:
            _service_error(form, error, "body")
        else:
            db.session.commit()
            flash(_("Your thread is online."), "success")
            return redirect(url_for("groups.thread", thread_id=thread.id))
    _keep_aside(form, uploads)
    return render_template("groups/thread_new.html", group=group, form=form), 400


def _render_thread(thread, page_number: int, form=None, status: int = 200, kept=None):
    total = thread.message_count
    pages = Pages(page_number, services.MESSAGES_PER_PAGE, total)
    messages = services.thread_messages(thread, page_number)
    point = services.read_point(current_user, thread)
    first_unread = services.first_unread(thread, point)
    member = services.membership(current_user, thread.group)
    if form is None and kept is None and can_reply_to_thread(current_user, thread):
        form = ReplyForm()
        quoted = int_arg("quote")
        if quoted is not None:
            message = next((m for m in messages if m.id == quoted), None) or services.load_message(quoted)
            if message is not None and message.thread_id == thread.id and not message.is_deleted:
                form.body.data = quote(message.author.name if message.author else _("Former account"), message.body)
    response = render_template(
        "groups/thread.html",
        thread=thread,
        group=thread.group,
        messages=messages,
        pages=pages,
        new_ids={m.id for m in messages if point is not None and m.id > point},
        first_unread=first_unread,
        first_unread_url=(url_for("groups.thread", thread_id=thread.id, page=services.page_of(first_unread[1]))
                          + f"#message-{first_unread[0]}") if first_unread else None,
        form=form,
        kept=kept,
        member=member,
        following=services.is_following(current_user, thread) if member else False,
        mention_url=mentions.links(m.body for m in messages if not m.is_deleted),
    )
    # Bookkeeping: the reader has now seen this page.
    if member is not None and messages and point is not None and messages[-1].id > point:
        services.mark_read(current_user, thread, messages[-1].id)
        db.session.commit()
    return response, status


@bp.route("/threads/<int:thread_id>")
def thread(thread_id):
    thread = _thread(thread_id)
    pages = max(1, -(-thread.message_count // services.MESSAGES_PER_PAGE))
    page_number = page_arg()
    if page_number > pages:
        return redirect(url_for("groups.thread", thread_id=thread.id, page=pages))
    return _render_thread(thread, page_number)


def _why_not_written(thread) -> str:
    """Why the person may not write in ``thread`` (any more), to say beside the text they lose otherwise."""
    group = thread.group
    if not can_read_thread(current_user, thread):
        return _("You can no longer read this thread: it may have been moved to a closed group you are not a member of.")
    if group.is_archived:
        return _("The group “%(name)s” has been archived: its discussions can be read, not continued.", name=group.name)
    if services.membership(current_user, group) is None:
        return _("Only the members of the group “%(name)s” can write in this thread: it may have been moved to this group, "
                 "or you are no longer a member.", name=group.name)
    if thread.locked:
        return _("An animator has locked this thread: it takes no new message.")
    return _("You may not write in this thread.")


def _sent_file_names(form) -> list[str]:
    """The names of the files sent with a refused message (now, or kept from a previous try), never stored."""
    names = [sent.filename for sent in form.attachments.data or [] if getattr(sent, "filename", "")]
    if form.upload_token.data:
        try:
            data = _serializer().loads(form.upload_token.data)
        except BadSignature:
            data = None
        if isinstance(data, dict) and data.get("user") == current_user.id and isinstance(data.get("files"), list):
            names += [str(item.get("name", "")) for item in data["files"] if isinstance(item, dict) and item.get("name")]
    return names


def _not_written(thread, kept: dict, render):
    """A message refused because the thread was locked or moved, or its group
    archived, while it was being written: the page again, the reason, and the text."""
    kept["reason"] = _why_not_written(thread)
    if not can_read_thread(current_user, thread):
        return render_template("groups/not_posted.html", kept=kept), 403
    return render(kept)


@bp.post("/threads/<int:thread_id>/reply")
def reply(thread_id):
    thread = services.load_thread(thread_id)
    if thread is None:
        abort(404)
    form = ReplyForm()
    if not can_reply_to_thread(current_user, thread):
        kept = dict(title=_("Your reply was not sent"), text=form.body.data or "", files=_sent_file_names(form))
        last_page = max(1, -(-thread.message_count // services.MESSAGES_PER_PAGE))
        return _not_written(thread, kept, lambda kept: _render_thread(thread, last_page, status=403, kept=kept))
    valid = form.validate_on_submit()
    uploads, files_ok = _uploads(form)
    if valid and files_ok:
        try:
            message = services.reply(_actor(), thread, body=form.body.data, uploads=uploads)
        except ServiceError as error:
            _service_error(form, error, "body")
        else:
            db.session.commit()
            return redirect(_message_url(message))
    _keep_aside(form, uploads)
    last_page = max(1, -(-thread.message_count // services.MESSAGES_PER_PAGE))
    return _render_thread(thread, last_page, form=form, status=400)


def _moderation(thread_id, check, action, message):
    thread = _thread(thread_id)
    require(check(current_user, thread))
    action(_actor(), thread)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("groups.thread", thread_id=thread.id))


@bp.post("/threads/<int:thread_id>/pin")
def pin(thread_id):
    return _moderation(thread_id, can_pin_thread, lambda a, t: services.set_pinned(a, t, True),
                       _("The thread is pinned at the top of the group."))


@bp.post("/threads/<int:thread_id>/unpin")
def unpin(thread_id):
    return _moderation(thread_id, can_pin_thread, lambda a, t: services.set_pinned(a, t, False), _("The thread is no longer pinned."))


@bp.post("/threads/<int:thread_id>/lock")
def lock(thread_id):
    return _moderation(thread_id, can_lock_thread, lambda a, t: services.set_locked(a, t, True),
                       _("The thread is locked: only animators can still write in it."))


@bp.post("/threads/<int:thread_id>/unlock")
def unlock(thread_id):
    return _moderation(thread_id, can_lock_thread, lambda a, t: services.set_locked(a, t, False), _("The thread is open to replies again."))


@bp.post("/threads/<int:thread_id>/follow")
def follow(thread_id):
    thread = _thread(thread_id)
    require(is_group_member(current_user, thread.group))
    services.set_subscription(_actor(), thread, True)
    db.session.commit()
    flash(_("You follow this thread: its new messages concern you."), "success")
    return redirect(url_for("groups.thread", thread_id=thread.id))


@bp.post("/threads/<int:thread_id>/unfollow")
def unfollow(thread_id):
    thread = _thread(thread_id)
    require(is_group_member(current_user, thread.group))
    services.set_subscription(_actor(), thread, False)
    db.session.commit()
    flash(_("You no longer follow this thread."), "success")
    return redirect(url_for("groups.thread", thread_id=thread.id))


@bp.route("/threads/<int:thread_id>/move", methods=["GET", "POST"])
def move(thread_id):
    thread = _thread(thread_id)
    require(can_move_thread(current_user, thread))
    targets = services.movable_to(current_user, thread)
    form = MoveThreadForm()
    form.group.choices = [SelectChoice("", _("— Choose a group —"))] + [SelectChoice(g.id, g.name) for g in targets]
    if request.method == "POST" and form.validate_on_submit():
        target = next((g for g in targets if g.id == form.group.data), None)
        if target is None:
            abort(403)
        services.move_thread(_actor(), thread, target)
        db.session.commit()
        flash(_("The thread is now in the group “%(name)s”.", name=target.name), "success")
        return redirect(url_for("groups.thread", thread_id=thread.id))
    return render_template("groups/thread_move.html", thread=thread, group=thread.group, form=form, targets=targets), (
        400 if request.method == "POST" else 200
    )


# --- Messages -------------------------------------------------------------------------------------


@bp.route("/messages/<int:message_id>")
def message(message_id):
    """A message's lasting address: its page of the thread, at its place."""
    return redirect(_message_url(_message(message_id)))


@bp.route("/messages/<int:message_id>/edit", methods=["GET", "POST"])
def edit_message(message_id):
    message = services.load_message(message_id)
    if message is None:
        abort(404)
    if request.method == "POST" and message.author_id == current_user.id and not can_edit_message(current_user, message):
        # Its author was allowed when the page was opened: give the new text back with the reason.
        kept = dict(title=_("Your changes were not saved"), text=EditMessageForm().body.data or "", files=[])

        def page(kept):
            return render_template("groups/message_edit.html", message=message, thread=message.thread, group=message.thread.group,
                                   form=None, kept=kept), 403

        if message.is_deleted and can_read_thread(current_user, message.thread):
            kept["reason"] = _("This message has been deleted in the meantime.")
            return page(kept)
        return _not_written(message.thread, kept, page)
    require(can_read_thread(current_user, message.thread))
    require(can_edit_message(current_user, message))
    form = EditMessageForm(data={"body": message.body} if request.method == "GET" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            changed = services.edit_message(_actor(), message, form.body.data)
        except ServiceError as error:
            _service_error(form, error, "body")
        else:
            db.session.commit()
            flash(_("Your message is saved.") if changed else _("Nothing to save: the message is unchanged."), "success" if changed else "info")
            return redirect(_message_url(message))
    status = 400 if request.method == "POST" else 200
    return render_template("groups/message_edit.html", message=message, thread=message.thread, group=message.thread.group, form=form), status


@bp.post("/messages/<int:message_id>/delete")
def delete_message(message_id):
    message = _message(message_id)
    require(can_delete_message(current_user, message))
    services.delete_message(_actor(), message)
    db.session.commit()
    flash(_("The message is deleted."), "success")
    return redirect(_message_url(message))


@bp.route("/messages/<int:message_id>/history")
def message_history(message_id):
    message = _message(message_id)
    require(can_view_message_history(current_user, message))
    return render_template("groups/message_history.html", message=message, thread=message.thread, group=message.thread.group,
                           mention_url=mentions.links([message.body, *(r.body for r in message.revisions)]))


@bp.route("/attachments/<int:attachment_id>")
def attachment(attachment_id):
    attachment = db.session.get(MessageAttachment, attachment_id)
    if attachment is None:
        abort(404)
    require(can_download_attachment(current_user, attachment))
    path = storage.path_for(attachment.sha256)
    if not path.is_file():
        log.error("Stored file %s of attachment %s is missing", attachment.sha256, attachment.id)
        abort(404)
    response = send_file(path, mimetype=attachment.mimetype, as_attachment=True, download_name=attachment.filename,
                         conditional=True, etag=attachment.sha256, last_modified=attachment.created_at)
    # Never shown inline nor guessed from the content (nosniff is on every response), never cached.
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- Unsubscribing from emails (public) -----------------------------------------------------------


def _unsubscription(token: str):
    """What the link is about, or the page saying why it cannot be used."""
    try:
        return notices.read_unsubscribe_token(token), None
    except tokens.InvalidToken as error:
        if error.expired:
            message = _("This unsubscribe link is more than %(days)s days old and no longer works. Log in and choose which emails "
                        "you receive on the page of each of your groups.", days=notices.UNSUBSCRIBE_MAX_AGE.days)
            return None, render_error(400, _("Expired unsubscribe link"), message)
        message = _("This unsubscribe link is not valid: it may have been cut or changed when it was copied. Open it again from the "
                    "email, or log in and choose which emails you receive on the page of each of your groups.")
        return None, render_error(400, _("Invalid unsubscribe link"), message)


def _language_of(user):
    # A visitor who has not chosen a language reads the page in the language of the email they come from.
    if current_user.is_authenticated or session.get("language"):
        return nullcontext()
    return force_locale(user.language or "fr")


def _unsubscribed(unsubscription):
    return render_template("groups/unsubscribed.html", unsubscription=unsubscription)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token):
    """The page an email's unsubscribe link opens: one button to confirm (a form, with its CSRF token)."""
    unsubscription, refusal = _unsubscription(token)
    if refusal:
        return refusal
    with _language_of(unsubscription.user):
        if request.method == "POST":
            notices.unsubscribe(unsubscription.user, unsubscription.groups)
            db.session.commit()
            return _unsubscribed(unsubscription)
        return render_template("groups/unsubscribe.html", unsubscription=unsubscription, token=token)


# RFC 8058 one-click unsubscribe: the address of the List-Unsubscribe header.
# Mail clients and providers POST "List-Unsubscribe=One-Click" to it, from
# their servers, with no cookie and so no session and no CSRF token: it is
# exempt from CSRF on purpose. That is safe because the signed token in the
# address is itself the proof that the request comes from the email's
# recipient (a forger cannot make one), and all it can do is stop one
# person's emails from the groups it names. A GET (a client that only opens
# the address) shows the confirmation page and changes nothing.
@bp.route("/unsubscribe/<token>/one-click", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_one_click(token):
    if request.method == "GET":
        return redirect(url_for("groups.unsubscribe", token=token))
    unsubscription, refusal = _unsubscription(token)
    if refusal:
        return refusal
    with _language_of(unsubscription.user):
        notices.unsubscribe(unsubscription.user, unsubscription.groups)
        db.session.commit()
        return _unsubscribed(unsubscription)
