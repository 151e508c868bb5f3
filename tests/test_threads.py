"""Discussion threads: opening and replying (Markdown rendered safely,
attachments through the toolbox rules, quotes), pagination and the first
unread message, unread marks and "mark everything as read", editing with
earlier versions, deletion that keeps the thread coherent, pinning, locking
and moving, each right per role, and the search entries of discussions.

Accounts made here speak English, so assertions read the source strings
whatever the French catalog says.
"""

import io
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from extranet import storage
from extranet.extensions import db
from extranet.groups.models import Message, MessageAttachment, MessageRevision, Thread, ThreadSubscription

from . import files as make
from .group_helpers import anchors, bulk_replies, message_ids, search_keys, text_of
from .helpers import browser_login, errors_beside, french, parse
from .test_markdown import assert_safe

# The make_group, add_member and make_thread fixtures.
pytest_plugins = ["tests.group_fixtures"]

PASSWORD = "un mot de passe solide"


def logout(client):
    client.post("/auth/logout")


def thread_row(app, thread_id) -> Thread:
    with app.app_context():
        thread = db.session.get(Thread, thread_id)
        db.session.expunge(thread)
        return thread


def message_row(app, message_id) -> Message:
    with app.app_context():
        message = db.session.get(Message, message_id)
        message.attachments, message.revisions  # noqa: B018 (load before leaving)
        db.session.expunge_all()
        return message


def new_thread(client, group, title="Un fil", body="Le premier message", files=()):
    data = {"title": title, "body": body}
    if files:
        data["attachments"] = list(files)
    return client.post(f"/groups/{group.slug}/threads/new", data=data, content_type="multipart/form-data")


def thread_id_from(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    found = re.fullmatch(r"/groups/threads/(\d+)", urlsplit(response.headers["Location"]).path)
    assert found, response.headers["Location"]
    return int(found.group(1))


def stored_files(app) -> list:
    from pathlib import Path

    root = Path(app.config["DATA_DIR"]) / "files"
    return sorted(p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts) if root.exists() else []


def age_files(app, hours):
    import os
    import time

    for path in stored_files(app):
        then = time.time() - hours * 3600
        os.utime(path, (then, then))


def message_html(html: str, message_id: int) -> str:
    found = re.search(rf'<article[^>]*id="message-{message_id}".*?</article>', html, re.S)
    assert found, f"message {message_id} not in the page"
    return found.group(0)


def markdown_of(html: str, message_id: int) -> str:
    found = re.search(r'<div class="extranet-markdown">(.*?)</div>\s*(?:<ul|</article>)', message_html(html, message_id), re.S)
    assert found
    return found.group(1)


# --- Opening and replying --------------------------------------------------------------


def test_a_member_opens_a_thread_and_others_reply(app, client, as_, person, login, make_group):
    author = as_("member", name="Alice Autrice")
    replier = person("member", name="Bruno Répondant")
    group = make_group("Prévention des expulsions", members=[author, replier])
    assert client.get(f"/groups/{group.slug}/threads/new").status_code == 200
    thread_id = thread_id_from(new_thread(client, group, title="Les CCAPEX en 2024", body="Qui a un **bilan** ?\n\n- Lyon\n- Nantes"))
    page = client.get(f"/groups/threads/{thread_id}")
    html = page.get_data(as_text=True)
    assert "<strong>bilan</strong>" in html and "<li>Lyon</li>" in html
    assert "Your thread is online." in text_of(page) and "Alice Autrice" in text_of(page)

    logout(client)
    login(replier)
    response = client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Voici le nôtre."}, content_type="multipart/form-data")
    assert response.status_code == 302
    second = message_ids(app, thread_id)[1]
    assert response.headers["Location"] == f"/groups/threads/{thread_id}#message-{second}"
    page = text_of(client.get(f"/groups/threads/{thread_id}"))
    assert "Voici le nôtre." in page and "Bruno Répondant" in page and "2 messages" in page
    thread = thread_row(app, thread_id)
    assert (thread.message_count, thread.last_message_id) == (2, second)
    # Both follow the thread: the author, and whoever replied.
    with app.app_context():
        followers = dict(db.session.execute(select(ThreadSubscription.user_id, ThreadSubscription.reason)).all())
    assert {k: v.value for k, v in followers.items()} == {author.id: "author", replier.id: "participant"}
    # The group page lists it, with its count and last author.
    listing = text_of(client.get(f"/groups/{group.slug}"))
    assert "Les CCAPEX en 2024" in listing and "by Bruno Répondant" in listing


@pytest.mark.parametrize("data, field, message", [
    ({"title": "", "body": "texte"}, "title", "Enter the title of the thread."),
    ({"title": "Titre", "body": "   "}, "body", "Write your message."),
    ({"title": "x" * 201, "body": "texte"}, "title", "The title has at most 200 characters."),
    ({"title": "Titre", "body": "x" * 20_001}, "body", "A message has at most 20000 characters."),
])
def test_thread_form_errors_are_beside_their_field(app, client, as_, make_group, data, field, message):
    me = as_("member")
    group = make_group(members=[me])
    response = client.post(f"/groups/{group.slug}/threads/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in errors_beside(response.get_data(as_text=True), field)
    with app.app_context():
        assert db.session.scalar(select(func.count(Thread.id))) == 0


def test_an_empty_reply_is_refused_beside_the_field_and_nothing_is_lost(app, client, as_, make_group, make_thread):
    me = as_("member")
    group = make_group(members=[me])
    thread_id = make_thread(group, me)
    response = client.post(f"/groups/threads/{thread_id}/reply", data={"body": " ", "attachments": [(io.BytesIO(make.pdf()), "Bilan.pdf")]},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Write your message." in errors_beside(html, "body")
    # The accepted file waits, and goes with the message sent again.
    assert "Files already received, which will be attached to your message" in text_of(response) and "Bilan.pdf" in html
    token = re.search(r'name="upload_token" type="hidden" value="([^"]+)"|id="upload_token" name="upload_token" type="hidden" value="([^"]+)"', html)
    token = next(g for g in token.groups() if g)
    again = client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Avec le fichier", "upload_token": token},
                        content_type="multipart/form-data")
    assert again.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(MessageAttachment.filename)).all() == ["Bilan.pdf"]


# --- Markdown, safely ---------------------------------------------------------------------

PAYLOADS = [
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    "[clic](javascript:alert(1))",
    "![espion](https://tracker.example/pixel.png)",
    '<a href="https://evil.example" onclick="alert(1)">lien</a>',
    "[x](JaVaScRiPt:alert(1)) et <iframe src=//evil.example></iframe>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_messages_are_rendered_safely(app, client, as_, make_group, payload):
    me = as_("member")
    group = make_group(members=[me])
    thread_id = thread_id_from(new_thread(client, group, title="<b>titre</b>", body=payload))
    html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    first = message_ids(app, thread_id)[0]
    assert_safe(markdown_of(html, first))
    assert "<b>titre</b>" not in html and "&lt;b&gt;titre&lt;/b&gt;" in html
    assert "tracker.example/pixel.png\"" not in html.replace('href="https://tracker.example/pixel.png"', "")
    # Where the page shows it as text (the group page, the search results), it is text.
    assert "<script>alert" not in client.get(f"/groups/{group.slug}").get_data(as_text=True)


# --- Attachments -----------------------------------------------------------------------------


def test_attachments_follow_the_toolbox_rules_and_download_as_attachments(app, client, as_, person, login, make_group):
    me = as_("member")
    group = make_group(members=[me])
    content = make.pdf("Ordre du jour")
    thread_id = thread_id_from(new_thread(client, group, files=[(io.BytesIO(content), "Ordre du jour.pdf"),
                                                                 (io.BytesIO(make.png()), "photo.png")]))
    with app.app_context():
        attachments = db.session.execute(select(MessageAttachment.id, MessageAttachment.filename).order_by(MessageAttachment.id)).all()
    assert [name for _, name in attachments] == ["Ordre du jour.pdf", "photo.png"]
    html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    assert f'href="/groups/attachments/{attachments[0][0]}"' in html
    response = client.get(f"/groups/attachments/{attachments[0][0]}")
    assert response.status_code == 200 and response.data == content
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Ordre" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert client.get("/groups/attachments/999999").status_code == 404


@pytest.mark.parametrize("name, content, message", [
    ("programme.pdf", bytes(range(256)) * 4, "is not of an accepted type"),
    ("vide.txt", b"", "is empty"),
])
def test_refused_attachments_get_an_error_and_nothing_is_stored(app, client, as_, make_group, name, content, message):
    me = as_("member")
    group = make_group(members=[me])
    response = new_thread(client, group, files=[(io.BytesIO(content), name)])
    assert response.status_code == 400
    assert message in " ".join(errors_beside(response.get_data(as_text=True), "attachments"))
    assert stored_files(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Thread.id))) == 0


def test_at_most_five_attachments(app, client, as_, make_group):
    me = as_("member")
    group = make_group(members=[me])
    response = new_thread(client, group, files=[(io.BytesIO(make.txt(f"fichier {n}")), f"f{n}.txt") for n in range(6)])
    assert response.status_code == 400
    assert "At most 5 files per message." in errors_beside(response.get_data(as_text=True), "attachments")
    assert stored_files(app) == []


# --- Quotes ----------------------------------------------------------------------------------


def test_quote_prefills_the_reply(app, client, as_, person, make_group, make_thread):
    me = as_("member")
    other = person("member", name="Claire Citée")
    group = make_group(members=[me, other])
    thread_id = make_thread(group, other, body="Une phrase à citer.\n\n> une citation plus ancienne")
    first = message_ids(app, thread_id)[0]
    html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    assert f'href="/groups/threads/{thread_id}?quote={first}#reply"' in html
    page = parse(client.get(f"/groups/threads/{thread_id}?quote={first}").get_data(as_text=True))
    textarea = next(n for n in page.iter() if n.tag == "textarea" and n.attrs.get("name") == "body")
    prefilled = textarea.text()
    assert prefilled.startswith("> **Claire Citée** wrote:") and "> Une phrase à citer." in prefilled
    assert "une citation plus ancienne" not in prefilled  # no pyramid of quotes
    # A message of another thread, or an odd value, quotes nothing.
    for odd in ("999999", "abc"):
        page = parse(client.get(f"/groups/threads/{thread_id}?quote={odd}").get_data(as_text=True))
        assert next(n for n in page.iter() if n.tag == "textarea").text() == ""


# --- Pagination and unread state --------------------------------------------------------------


def test_long_threads_are_paginated_with_a_link_to_the_first_unread_message(app, client, as_, person, make_group, make_thread):
    me = as_("member")
    other = person("member")
    group = make_group(members=[me, other])
    thread_id = make_thread(group, other, title="Un long fil")
    bulk_replies(app, thread_id, other, 24)  # 25 messages: two pages
    page1 = client.get(f"/groups/threads/{thread_id}")
    html = page1.get_data(as_text=True)
    ids = message_ids(app, thread_id)
    assert anchors(html) == [f"message-{i}" for i in ids[:20]]
    assert "page 1 of 2" in text_of(page1)
    # Everything was new: the first unread message is the first one.
    assert f'href="/groups/threads/{thread_id}?page=1#message-{ids[0]}"' in html
    # Page 1 is now read, page 2 is not.
    again = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    assert f'id="first-unread" href="/groups/threads/{thread_id}?page=2#message-{ids[20]}"' in again or \
        f'href="/groups/threads/{thread_id}?page=2#message-{ids[20]}" id="first-unread"' in again
    assert "extranet-message--new" not in again
    page2 = client.get(f"/groups/threads/{thread_id}?page=2").get_data(as_text=True)
    assert anchors(page2) == [f"message-{i}" for i in ids[20:]]
    assert page2.count("extranet-message--new") == 5
    assert 'id="first-unread"' not in client.get(f"/groups/threads/{thread_id}?page=2").get_data(as_text=True)
    # A page past the end goes to the last one; a message's address to its page.
    assert client.get(f"/groups/threads/{thread_id}?page=9").headers["Location"] == f"/groups/threads/{thread_id}?page=2"
    assert client.get(f"/groups/messages/{ids[22]}").headers["Location"] == f"/groups/threads/{thread_id}?page=2#message-{ids[22]}"
    assert client.get(f"/groups/messages/{ids[3]}").headers["Location"] == f"/groups/threads/{thread_id}#message-{ids[3]}"


def test_unread_threads_and_mark_everything_as_read(app, client, as_, person, login, make_group, make_thread):
    me = as_("member")
    other = person("member")
    group = make_group("Groupe suivi", members=[me, other])
    first = make_thread(group, other, title="Premier sujet")
    second = make_thread(group, other, title="Second sujet")

    def unread_titles():
        html = client.get(f"/groups/{group.slug}").get_data(as_text=True)
        rows = re.findall(r'<tr class="extranet-unread">.*?</tr>', html, re.S)
        return sorted(re.search(r'href="/groups/threads/\d+"[^>]*>([^<]+)</a>', row).group(1) for row in rows)

    assert unread_titles() == ["Premier sujet", "Second sujet"]
    assert "2 threads with new messages" in text_of(client.get("/groups/mine"))
    client.get(f"/groups/threads/{first}")
    assert unread_titles() == ["Second sujet"]
    # A new reply makes it unread again, for me and not for its author.
    logout(client)
    login(other)
    client.post(f"/groups/threads/{first}/reply", data={"body": "Du nouveau"}, content_type="multipart/form-data")
    assert 'class="extranet-unread"' not in client.get(f"/groups/{group.slug}").get_data(as_text=True)
    logout(client)
    login(me)
    assert unread_titles() == ["Premier sujet", "Second sujet"]
    assert client.get(f"/groups/{group.slug}/read-all").status_code == 405
    response = client.post(f"/groups/{group.slug}/read-all", follow_redirects=True)
    assert "Every thread of the group is marked as read." in text_of(response)
    assert unread_titles() == []
    assert "with new messages" not in text_of(client.get("/groups/mine"))
    assert 'id="mark-all-read"' not in client.get(f"/groups/{group.slug}").get_data(as_text=True)
    # Only what came after counts as new.
    make_thread(group, other, title="Troisième sujet")
    assert unread_titles() == ["Troisième sujet"]
    assert second  # read by "mark everything as read", never opened


def test_mark_everything_as_read_is_offered_when_the_unread_threads_are_on_another_page(app, client, as_, person, make_group):
    from .group_helpers import bulk_threads

    me = as_("member")
    other = person("member")
    group = make_group("Groupe très actif", members=[me, other])
    bulk_threads(app, group, other, 21)  # all new to me, the oldest on page 2
    first_page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    with app.app_context(), app.test_request_context():
        from extranet.auth.models import User
        from extranet.groups import services

        reader = db.session.get(User, me.id)
        for thread_id in {int(i) for i in re.findall(r'href="/groups/threads/(\d+)"', first_page)}:
            thread = db.session.get(Thread, thread_id)
            services.mark_read(reader, thread, thread.last_message_id)
        db.session.commit()
    first_page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert 'class="extranet-unread"' not in first_page and 'id="mark-all-read"' in first_page
    assert 'class="extranet-unread"' in client.get(f"/groups/{group.slug}?page=2").get_data(as_text=True)
    client.post(f"/groups/{group.slug}/read-all")
    assert 'id="mark-all-read"' not in client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert 'class="extranet-unread"' not in client.get(f"/groups/{group.slug}?page=2").get_data(as_text=True)


def test_joining_a_group_does_not_make_its_past_unread(app, client, as_, person, make_group, make_thread):
    other = person("member")
    group = make_group(members=[other])
    make_thread(group, other, title="Ancien sujet")
    as_("member")
    client.post(f"/groups/{group.slug}/join")
    assert 'class="extranet-unread"' not in client.get(f"/groups/{group.slug}").get_data(as_text=True)


def test_non_members_get_no_unread_marks_and_write_no_bookkeeping(app, client, as_, person, make_group, make_thread):
    from extranet.groups.models import ThreadRead

    other = person("member")
    group = make_group(members=[other])
    thread_id = make_thread(group, other)
    as_("member")
    html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    assert "extranet-message--new" not in html and 'id="first-unread"' not in html
    with app.app_context():
        assert db.session.scalar(select(func.count(ThreadRead.id))) == 1  # the author's own


# --- Editing -------------------------------------------------------------------------------------


def test_authors_edit_their_messages_and_moderators_see_earlier_versions(app, client, as_, person, login, make_group, make_thread):
    animator = person("member")
    me = as_("member")
    group = make_group(members=[me], animators=[animator])
    thread_id = make_thread(group, me, body="Premier jet")
    first = message_ids(app, thread_id)[0]
    form = client.get(f"/groups/messages/{first}/edit")
    assert form.status_code == 200 and "Premier jet" in text_of(form)
    response = client.post(f"/groups/messages/{first}/edit", data={"body": "Version **corrigée**"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#message-{first}")
    html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    article = message_html(html, first)
    assert "<strong>corrigée</strong>" in article and "edited" in article
    assert f"/groups/messages/{first}/history" not in article  # the author does not see the history link
    assert client.get(f"/groups/messages/{first}/history").status_code == 403
    # Saving the same text again is no edit.
    client.post(f"/groups/messages/{first}/edit", data={"body": "Version **corrigée**"})
    message = message_row(app, first)
    assert [r.body for r in message.revisions] == ["Premier jet"] and message.edited_at is not None

    logout(client)
    login(animator)
    html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    assert f'href="/groups/messages/{first}/history"' in message_html(html, first)
    history = text_of(client.get(f"/groups/messages/{first}/history"))
    assert "Premier jet" in history and "corrigée" in history
    assert client.get(f"/groups/messages/{first}/edit").status_code == 403  # animators do not edit others' words


def test_edit_form_errors(app, client, as_, make_group, make_thread):
    me = as_("member")
    group = make_group(members=[me])
    first = message_ids(app, make_thread(group, me))[0]
    response = client.post(f"/groups/messages/{first}/edit", data={"body": ""})
    assert response.status_code == 400 and "Write your message." in errors_beside(response.get_data(as_text=True), "body")


# --- Rights per role -------------------------------------------------------------------------------

# Who is acting, in a group where "author" wrote message #2 of a thread opened by "opener".
ACTORS = ("author", "other_member", "group_animator", "national_animator", "admin", "outsider")

RIGHTS = {
    # action: (method, url, statuses by actor when allowed/refused)
    "edit": {"author": True, "other_member": False, "group_animator": False, "national_animator": False, "admin": False, "outsider": False},
    "delete": {"author": True, "other_member": False, "group_animator": True, "national_animator": True, "admin": True, "outsider": False},
    "history": {"author": False, "other_member": False, "group_animator": True, "national_animator": True, "admin": True, "outsider": False},
    "pin": {"author": False, "other_member": False, "group_animator": True, "national_animator": True, "admin": True, "outsider": False},
    "lock": {"author": False, "other_member": False, "group_animator": True, "national_animator": True, "admin": True, "outsider": False},
    "move": {"author": False, "other_member": False, "group_animator": True, "national_animator": True, "admin": True, "outsider": False},
}


@pytest.fixture
def discussion(app, person, make_group, make_thread):
    opener, author, other, animator = (person("member") for _ in range(4))
    group = make_group("Groupe modéré", members=[opener, author, other], animators=[animator])
    target = make_group("Groupe d'arrivée", animators=[animator])
    thread_id = make_thread(group, opener, replies=[(author, "Ma réponse")])
    first, second = message_ids(app, thread_id)
    # A message edited once, so that its history exists.
    with app.app_context():
        message = db.session.get(Message, second)
        message.revisions.append(MessageRevision(body="avant"))
        message.edited_at = message.created_at
        db.session.commit()
    return dict(group=group, target=target, thread_id=thread_id, message_id=second,
                people={"author": author, "other_member": other, "group_animator": animator})


def _login_actor(person, login, discussion, actor):
    user = discussion["people"].get(actor) or {
        "national_animator": lambda: person("animator"),
        "admin": lambda: person("admin"),
        "outsider": lambda: person("coordinator", territory="nantes"),
    }[actor]()
    login(user)
    return user


@pytest.mark.parametrize("action", list(RIGHTS))
@pytest.mark.parametrize("actor", ACTORS)
def test_edit_delete_pin_lock_move_rights(app, client, person, login, discussion, actor, action):
    _login_actor(person, login, discussion, actor)
    allowed = RIGHTS[action][actor]
    thread_id, message_id = discussion["thread_id"], discussion["message_id"]
    if action == "edit":
        assert client.get(f"/groups/messages/{message_id}/edit").status_code == (200 if allowed else 403)
        response = client.post(f"/groups/messages/{message_id}/edit", data={"body": "réécrit"})
        assert response.status_code == (302 if allowed else 403)
        assert (message_row(app, message_id).body == "réécrit") == allowed
    elif action == "delete":
        assert client.post(f"/groups/messages/{message_id}/delete").status_code == (302 if allowed else 403)
        assert (message_row(app, message_id).deleted_at is not None) == allowed
    elif action == "history":
        assert client.get(f"/groups/messages/{message_id}/history").status_code == (200 if allowed else 403)
    elif action == "pin":
        assert client.post(f"/groups/threads/{thread_id}/pin").status_code == (302 if allowed else 403)
        assert thread_row(app, thread_id).pinned == allowed
        if allowed:
            assert client.post(f"/groups/threads/{thread_id}/unpin").status_code == 302
            assert not thread_row(app, thread_id).pinned
    elif action == "lock":
        assert client.post(f"/groups/threads/{thread_id}/lock").status_code == (302 if allowed else 403)
        assert thread_row(app, thread_id).locked == allowed
    elif action == "move":
        target = discussion["target"]
        assert client.get(f"/groups/threads/{thread_id}/move").status_code == (200 if allowed else 403)
        response = client.post(f"/groups/threads/{thread_id}/move", data={"group": str(target.id)})
        assert response.status_code == (302 if allowed else 403)
        assert (thread_row(app, thread_id).group_id == target.id) == allowed
    # What the page offers matches what the server allows.
    if action in ("edit", "delete", "history") and actor != "outsider":
        html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
        if not (action == "delete" and allowed):
            article = message_html(html, message_id)
            marker = {"edit": f"/groups/messages/{message_id}/edit", "delete": f"/groups/messages/{message_id}/delete",
                      "history": f"/groups/messages/{message_id}/history"}[action]
            assert (marker in article) == allowed


def test_a_locked_thread_takes_replies_from_animators_only(app, client, person, login, discussion):
    thread_id = discussion["thread_id"]
    login(discussion["people"]["group_animator"])
    client.post(f"/groups/threads/{thread_id}/lock")
    assert "The thread is locked: as an animator, you can still write in it." in text_of(client.get(f"/groups/threads/{thread_id}"))
    assert client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Je conclus."}).status_code == 302
    logout(client)
    login(discussion["people"]["author"])
    page = text_of(client.get(f"/groups/threads/{thread_id}"))
    assert "This thread is locked by an animator" in page and "Je conclus." in page
    assert client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Encore"}).status_code == 403
    assert client.get(f"/groups/messages/{discussion['message_id']}/edit").status_code == 403


# --- Refused because things changed while the person was writing -----------------------------------------


def kept_text(html: str) -> str:
    import html as html_lib

    found = re.search(r'<textarea[^>]*id="kept-text"[^>]*>(.*?)</textarea>', html, re.S)
    assert found, "the text is not given back"
    return html_lib.unescape(found.group(1)).strip("\n")


def test_a_reply_to_a_thread_locked_meanwhile_gives_the_text_back(app, client, person, login, discussion):
    thread_id = discussion["thread_id"]
    author = discussion["people"]["author"]
    with app.app_context():
        from extranet.auth.models import User

        db.session.get(User, author.id).language = "fr"
        db.session.commit()
    login(discussion["people"]["group_animator"])
    client.post(f"/groups/threads/{thread_id}/lock")
    logout(client)
    login(author)  # the page was open before the thread was locked
    body = "Une longue réponse <pesée> & mûrie\n\nsur deux paragraphes."
    response = client.post(f"/groups/threads/{thread_id}/reply", content_type="multipart/form-data", data={
        "body": body, "attachments": [(io.BytesIO(make.pdf("annexe")), "Annexe.pdf")]})
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert kept_text(html) == body
    page = text_of(response)
    assert french(app, "An animator has locked this thread: it takes no new message.") in page
    assert "Annexe.pdf" in re.search(r'<p id="not-posted-files">(.*?)</p>', html, re.S).group(1)
    assert "Ma réponse" in page  # the thread is shown again
    assert stored_files(app) == [] and len(message_ids(app, thread_id)) == 2


def test_a_reply_or_an_edit_in_a_group_archived_meanwhile_gives_the_text_back(app, client, as_, person, login, make_group, make_thread):
    member = person("member")
    group = make_group("Groupe bientôt archivé", members=[member])
    thread_id = make_thread(group, member, body="Mon premier texte")
    first = message_ids(app, thread_id)[0]
    as_("admin")
    client.post(f"/groups/{group.slug}/edit", data={"name": group.name, "description": "", "access": "open", "archived": "y"})
    logout(client)
    login(member)
    reply = client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Ma réponse tardive"}, content_type="multipart/form-data")
    assert reply.status_code == 403 and kept_text(reply.get_data(as_text=True)) == "Ma réponse tardive"
    assert "The group “Groupe bientôt archivé” has been archived" in text_of(reply)
    edit = client.post(f"/groups/messages/{first}/edit", data={"body": "Mon texte corrigé"})
    assert edit.status_code == 403 and kept_text(edit.get_data(as_text=True)) == "Mon texte corrigé"
    assert "Your changes were not saved" in text_of(edit) and "has been archived" in text_of(edit)
    assert message_row(app, first).body == "Mon premier texte"
    # Someone else's message still gets a plain refusal.
    logout(client)
    login(person("member"))
    assert "kept-text" not in client.post(f"/groups/messages/{first}/edit", data={"body": "x"}).get_data(as_text=True)


def test_a_reply_to_a_thread_moved_meanwhile_gives_the_text_back(app, client, person, login, discussion, make_group):
    thread_id, animator, author = discussion["thread_id"], discussion["people"]["group_animator"], discussion["people"]["author"]
    login(animator)
    client.post(f"/groups/threads/{thread_id}/move", data={"group": str(discussion["target"].id)})  # open, author not a member
    logout(client)
    login(author)
    response = client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Réponse déplacée"}, content_type="multipart/form-data")
    assert response.status_code == 403 and kept_text(response.get_data(as_text=True)) == "Réponse déplacée"
    assert "Only the members of the group “Groupe d'arrivée” can write in this thread" in text_of(response)
    # Moved on to a closed group: the thread is no longer shown, the text still is.
    closed = make_group("Cercle fermé", is_open=False, animators=[animator])
    logout(client)
    login(animator)
    client.post(f"/groups/threads/{thread_id}/move", data={"group": str(closed.id)})
    logout(client)
    login(author)
    response = client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Toujours là"}, content_type="multipart/form-data")
    assert response.status_code == 403 and kept_text(response.get_data(as_text=True)) == "Toujours là"
    page = text_of(response)
    assert "You can no longer read this thread" in page and "Ma réponse" not in page and "Cercle fermé" not in page
    edit = client.post(f"/groups/messages/{discussion['message_id']}/edit", data={"body": "Corrigé"})
    assert edit.status_code == 403 and kept_text(edit.get_data(as_text=True)) == "Corrigé"


def test_moving_a_thread_makes_the_members_of_its_new_group_follow_it(app, client, person, login, discussion, add_member):
    from extranet.groups import services

    thread_id, animator, target = discussion["thread_id"], discussion["people"]["group_animator"], discussion["target"]
    newcomer = person("member")
    add_member(target, newcomer)
    login(animator)
    client.post(f"/groups/threads/{thread_id}/move", data={"group": str(target.id)})
    with app.app_context():
        assert newcomer.id in {u.id for u in services.subscribers(db.session.get(Thread, thread_id))}
        reason = db.session.scalar(select(ThreadSubscription.reason).filter_by(thread_id=thread_id, user_id=newcomer.id))
    assert reason == "group"


def test_pinned_threads_come_first_then_the_latest_activity(app, client, as_, person, make_group, make_thread):
    me = as_("member")
    animator = person("member")
    group = make_group(members=[me], animators=[animator])
    old = make_thread(group, me, title="Ancien")
    pinned = make_thread(group, me, title="Épinglé")
    recent = make_thread(group, me, title="Récent")
    make_thread  # noqa: B018
    with app.app_context():
        db.session.get(Thread, pinned).pinned = True
        db.session.commit()
    client.post(f"/groups/threads/{old}/reply", data={"body": "remonte"}, content_type="multipart/form-data")
    html = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    titles = re.findall(r'href="/groups/threads/\d+"[^>]*>([^<]+)</a>', html)
    assert titles == ["Épinglé", "Ancien", "Récent"], titles
    assert recent


# --- Deletion ----------------------------------------------------------------------------------------


def test_deleting_a_message_keeps_the_thread_coherent(app, client, as_, person, login, make_group, make_thread):
    me = as_("member")
    other = person("member")
    group = make_group(members=[me, other])
    thread_id = thread_id_from(new_thread(client, group, title="Fil du lamantin", body="Ouverture"))
    client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Message du lamantin à effacer",
                "attachments": [(io.BytesIO(make.pdf("annexe unique")), "Annexe.pdf")]}, content_type="multipart/form-data")
    ids = message_ids(app, thread_id)
    with app.app_context():
        attachment_id = db.session.scalar(select(MessageAttachment.id))
    client.post(f"/groups/messages/{ids[1]}/edit", data={"body": "Message du lamantin à effacer, corrigé"})
    logout(client)
    login(other)
    client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Dernier mot"}, content_type="multipart/form-data")
    ids = message_ids(app, thread_id)
    # The thread is found by its title once, not once per reply; the reply by its own words.
    assert sorted(search_keys(app, other, "lamantin")) == [f"message:{ids[1]}", f"thread:{thread_id}"]
    logout(client)
    login(me)

    age_files(app, hours=2)  # files used by no upload in progress
    html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    assert f'action="/groups/messages/{ids[1]}/delete"' in html and 'id="confirm-delete-' in html  # behind a confirmation
    response = client.post(f"/groups/messages/{ids[1]}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#message-{ids[1]}")
    page = client.get(f"/groups/threads/{thread_id}")
    html = page.get_data(as_text=True)
    assert anchors(html) == [f"message-{i}" for i in ids]  # still in its place
    assert "Message deleted" in message_html(html, ids[1]) and "lamantin à effacer" not in html
    assert "Dernier mot" in html and "3 messages" in text_of(page)
    thread = thread_row(app, thread_id)
    assert (thread.message_count, thread.last_message_id) == (3, ids[2])
    message = message_row(app, ids[1])
    assert message.body == "" and message.revisions == [] and message.attachments == [] and message.deleted_by_id == me.id
    # The attachment and its file are gone, the search entry too.
    assert client.get(f"/groups/attachments/{attachment_id}").status_code == 404
    with app.app_context():
        assert db.session.get(MessageAttachment, attachment_id) is None
    assert stored_files(app) == []
    assert search_keys(app, other, "lamantin") == [f"thread:{thread_id}"]
    # Deleting twice is refused.
    assert client.post(f"/groups/messages/{ids[1]}/delete").status_code == 403


def test_a_file_shared_with_the_toolbox_survives_the_deletion_of_a_message(app, client, as_, make_group):
    me = as_("member")
    group = make_group(members=[me])
    content = make.pdf("contenu partagé")
    thread_id = thread_id_from(new_thread(client, group, files=[(io.BytesIO(content), "Partagé.pdf")]))
    data = {"title": "Guide", "summary": "Résumé", "type": "guide", "territory_id": "", "visibility": "network",
            "file": (io.BytesIO(content), "Guide.pdf")}
    from extranet.plan.models import Axis

    with app.app_context():
        data["axes"] = [str(db.session.scalar(select(Axis.id).where(Axis.number == 1)))]
    assert client.post("/toolbox/new", data=data, content_type="multipart/form-data").status_code == 302
    files_before = stored_files(app)
    assert len(files_before) == 1
    age_files(app, hours=2)
    client.post(f"/groups/messages/{message_ids(app, thread_id)[0]}/delete")
    assert stored_files(app) == files_before
    with app.app_context():
        assert storage.referenced() == {files_before[0].name}


# --- Moving -------------------------------------------------------------------------------------------


def test_moving_a_thread_to_a_closed_group_changes_who_reads_and_finds_it(app, client, person, login, make_group, make_thread):
    animator, member = person("member"), person("member")
    source = make_group("Groupe ouvert", members=[member], animators=[animator])
    target = make_group("Groupe fermé", is_open=False, animators=[animator])
    make_group("Groupe d'un autre")  # not animated by this animator: not offered
    thread_id = make_thread(source, member, title="Fil du narval", replies=[(member, "Réponse du narval")])
    outsider = person("member", territory="nantes")
    assert len(search_keys(app, outsider, "narval")) == 2
    login(animator)
    form = text_of(client.get(f"/groups/threads/{thread_id}/move"))
    assert "Groupe fermé" in form and "Groupe d'un autre" not in form
    response = client.post(f"/groups/threads/{thread_id}/move", data={"group": str(target.id)}, follow_redirects=True)
    assert "The thread is now in the group “Groupe fermé”." in text_of(response)
    assert search_keys(app, outsider, "narval") == []
    assert len(search_keys(app, animator, "narval")) == 2
    logout(client)
    login(outsider)
    assert client.get(f"/groups/threads/{thread_id}").status_code == 403
    assert "Fil du narval" not in text_of(client.get(f"/groups/{source.slug}"))
    # Moving to a group one does not animate is refused.
    logout(client)
    login(animator)
    other = make_group("Encore un autre")
    assert client.post(f"/groups/threads/{thread_id}/move", data={"group": str(other.id)}).status_code == 400


# --- Search entries ------------------------------------------------------------------------------------


def test_search_entries_of_discussions(app, person, make_group, make_thread):
    from extranet import permissions
    from extranet.groups.search import message_entry, thread_entry
    from extranet.search import KINDS

    member = person("member")
    group = make_group("Groupe indexé", is_open=False, members=[member], axes=(3, 7))
    thread_id = make_thread(group, member, title="Titre indexé", body="Le **premier** message", replies=[(member, "Une réponse")])
    first, second = message_ids(app, thread_id)
    with app.app_context():
        entry = thread_entry(db.session.get(Thread, thread_id))
        reply = message_entry(db.session.get(Message, second))
        assert message_entry(db.session.get(Message, first)) is None  # in the thread's entry
    assert entry.key == f"thread:{thread_id}" and entry.kind == "discussion" and entry.type == "thread"
    assert entry.url == f"/groups/threads/{thread_id}" and entry.title == "Titre indexé"
    assert entry.content == "Le premier message" and entry.axes == (3, 7)
    assert entry.access == frozenset({permissions.group_token(group.id), permissions.NATIONAL})
    assert reply.key == f"message:{second}" and reply.type == "reply" and reply.url == f"/groups/messages/{second}"
    assert reply.title == reply.content == "Une réponse" and reply.access == entry.access
    assert KINDS["discussion"]["type_labels"]["reply"]
    # The search page leads to the message.
    assert search_keys(app, member, "réponse") == [f"message:{second}"]


def test_search_follows_edits(app, client, as_, make_group, make_thread):
    me = as_("member")
    group = make_group(members=[me])
    thread_id = make_thread(group, me, body="Avant: dromadaire")
    first = message_ids(app, thread_id)[0]
    client.post(f"/groups/messages/{first}/edit", data={"body": "Après: chameau"})
    assert search_keys(app, me, "dromadaire") == []
    assert search_keys(app, me, "chameau") == [f"thread:{thread_id}"]


# --- Following --------------------------------------------------------------------------------------


def test_members_follow_the_threads_opened_in_their_group(app, client, as_, person, make_group, make_thread, add_member):
    from extranet.groups import services

    me, other = as_("member"), person("member")
    group = make_group(members=[me, other])
    thread_id = make_thread(group, other)
    assert "Stop following" in text_of(client.get(f"/groups/threads/{thread_id}"))
    late = person("member")
    add_member(group, late)  # joined after the thread was opened: not following it
    with app.app_context():
        thread = db.session.get(Thread, thread_id)
        assert {u.id for u in services.subscribers(thread)} == {me.id, other.id}
        reasons = dict(db.session.execute(select(ThreadSubscription.user_id, ThreadSubscription.reason)).all())
    assert reasons == {other.id: "author", me.id: "group"}
    # Replying makes "member of the group" a participant.
    client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Un mot"}, content_type="multipart/form-data")
    with app.app_context():
        assert db.session.scalar(select(ThreadSubscription.reason).filter_by(user_id=me.id)) == "participant"


def test_follow_and_stop_following_a_thread(app, client, as_, person, make_group, make_thread, add_member):
    from extranet.groups import services

    me = as_("member")
    other = person("member")
    group = make_group(members=[other])
    thread_id = make_thread(group, other)
    add_member(group, me)  # after the thread was opened: not following it yet
    assert "Follow this thread" in text_of(client.get(f"/groups/threads/{thread_id}"))
    client.post(f"/groups/threads/{thread_id}/follow")
    with app.app_context():
        assert {u.id for u in services.subscribers(db.session.get(Thread, thread_id))} == {other.id, me.id}
    client.post(f"/groups/threads/{thread_id}/unfollow")
    # Replying after choosing to stop does not subscribe again.
    client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Un mot"}, content_type="multipart/form-data")
    with app.app_context():
        assert [u.id for u in services.subscribers(db.session.get(Thread, thread_id))] == [other.id]
    assert "Follow this thread" in text_of(client.get(f"/groups/threads/{thread_id}"))


def test_posting_sends_the_message_posted_signal(app, client, as_, make_group):
    from extranet.groups.services import message_posted

    me = as_("member")
    group = make_group(members=[me])
    received = []

    def receiver(message, new_thread):
        received.append((message.number, new_thread))

    message_posted.connect(receiver)
    try:
        thread_id = thread_id_from(new_thread(client, group))
        client.post(f"/groups/threads/{thread_id}/reply", data={"body": "suite"}, content_type="multipart/form-data")
    finally:
        message_posted.disconnect(receiver)
    assert received == [(1, True), (2, False)]


# --- In a real browser --------------------------------------------------------------------------------


@pytest.mark.browser
def test_open_a_thread_and_reply_in_a_browser(live_server, page, person, app, make_group):

    user = person("member", territory="lyon")
    group = make_group("Prévention des expulsions", members=[user])
    browser_login(page, live_server, user)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Working groups").click()
    page.get_by_role("link", name="Prévention des expulsions").click()
    page.get_by_role("link", name="Start a thread").click()
    page.get_by_label("Title").fill("Premier fil depuis le navigateur")
    page.get_by_label("Message").fill("Bonjour **à tous**")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(r".*/groups/threads/\d+$"))
    assert page.locator("article strong").first.inner_text() == "à tous"
    page.get_by_role("link", name="Quote").first.click()
    assert "wrote:" in page.get_by_label("Your reply").input_value()
    page.get_by_label("Your reply").fill("Une réponse")
    page.get_by_role("button", name="Send my reply").click()
    # Waits for the new page: under load the click returns before it has loaded.
    expect(page.locator("#messages article")).to_have_count(2)
    assert page.csp_violations == []
    assert group.slug
