"""Mentions: the names the editor offers after "@", the email a mentioned
person gets (whatever their preference, never across a closed group's walls),
new mentions only when a message is edited, links to the directory, and the
whole thing in a real browser with the keyboard.

Accounts made here speak English (but in the browser), so assertions read the
source strings.
"""

import re

import pytest
from sqlalchemy import select, update

from extranet.extensions import db
from extranet.groups.models import GroupMembership, Message, NotificationPreference, ThreadSubscription
from extranet.markdown import mention

from .group_helpers import text_of
from .helpers import browser_login, parse

# The make_group, add_member and make_thread fixtures.
pytest_plugins = ["tests.group_fixtures"]


def logout(client):
    client.post("/auth/logout")


def reply(client, thread_id, body):
    response = client.post(f"/groups/threads/{thread_id}/reply", data={"body": body}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return response


def names(client, group, q):
    response = client.get(f"/groups/{group.slug}/mentions", query_string={"q": q})
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/json"
    return [r["name"] for r in response.get_json()["results"]]


def subscription_reason(app, user, thread_id):
    with app.app_context():
        reason = db.session.scalar(select(ThreadSubscription.reason).filter_by(user_id=user.id, thread_id=thread_id))
        return reason.value if reason else None


def recipients(messages) -> set[str]:
    return {m["To"] for m in messages}


# --- Who the editor offers --------------------------------------------------------------------------


@pytest.fixture
def closed_circle(person, make_group):
    me = person("member", name="Moi Même")
    people = dict(
        helene=person("member", name="Hélène Dupré", organisation="SIAO du Rhône"),
        emilie=person("member", name="Émilie Durand", territory="nantes"),
        jean_pierre=person("member", name="Jean-Pierre Martin"),
        inactive=person("member", name="Hélène Partie", active=False),
        outsider=person("member", name="Hélène Dehors"),
        national=person("animator", name="Hélène Nationale"),
    )
    group = make_group("Cercle fermé", is_open=False, members=[me, people["helene"], people["emilie"], people["jean_pierre"],
                                                                people["inactive"]])
    return dict(group=group, me=me, **people)


def test_the_editor_offers_readers_of_the_group_whatever_the_accents(client, login, closed_circle):
    c = closed_circle
    login(c["me"])
    group = c["group"]
    # Members first, then the national team (who read closed groups); never someone outside, nor a closed account.
    assert names(client, group, "hel") == ["Hélène Dupré", "Hélène Nationale"]
    assert names(client, group, "HÉLÈ") == names(client, group, "hele") == ["Hélène Dupré", "Hélène Nationale"]
    assert names(client, group, "emi") == ["Émilie Durand"]
    assert names(client, group, "dupre") == ["Hélène Dupré"]  # any word of the name
    assert names(client, group, "jean-p") == names(client, group, "pierre") == ["Jean-Pierre Martin"]
    assert names(client, group, "helene dup") == ["Hélène Dupré"]
    assert names(client, group, "lene") == []  # the start of a word, not the middle
    assert names(client, group, "h") == [] and names(client, group, "") == []  # two letters at least
    assert names(client, group, "moi") == []  # not oneself
    results = client.get(f"/groups/{group.slug}/mentions?q=hel").get_json()["results"]
    assert results[0] == {"id": c["helene"].id, "name": "Hélène Dupré", "detail": "SIAO du Rhône",
                          "mention": f"@[Hélène Dupré](user:{c['helene'].id})"}


def test_only_readers_of_the_group_may_ask(app, client, login, closed_circle):
    c = closed_circle
    login(c["outsider"])
    assert client.get(f"/groups/{c['group'].slug}/mentions?q=hel").status_code == 403
    logout(client)
    assert client.get(f"/groups/{c['group'].slug}/mentions?q=hel").status_code == 302  # to the login page
    assert client.get("/groups/no-such-group/mentions?q=hel").status_code == 302


def test_in_an_open_group_anyone_may_be_offered_members_first_and_ten_at_most(client, person, login, make_group):
    me = person("member", name="Moi Même")
    members = [person("member", name=f"Camille Membre {n:02d}") for n in range(6)]
    others = [person("coordinator", name=f"Camille Ailleurs {n:02d}", territory="nantes") for n in range(6)]
    group = make_group("Groupe ouvert", members=[me, *members])
    login(me)
    found = names(client, group, "camille")
    assert len(found) == 10
    assert found[:6] == [u.name for u in members] and found[6:] == [u.name for u in others[:4]]
    assert client.get(f"/groups/{group.slug}/mentions?q=" + "camille" * 100).status_code == 200


# --- The email of a mention ----------------------------------------------------------------------------


@pytest.fixture
def thread_case(app, person, make_group, make_thread, add_member):
    author = person("member", name="Alice Autrice", email="a@example.org")
    quiet = person("member", name="Denis Rien", email="d@example.org")
    keen = person("member", name="Bruno Chaque", email="b@example.org")
    group = make_group("Prévention des expulsions", members=[author, keen])
    thread_id = make_thread(group, author, title="Les CCAPEX en 2024")
    add_member(group, quiet)  # joined later: does not follow the thread
    with app.app_context():
        db.session.execute(update(GroupMembership).where(GroupMembership.user_id == quiet.id)
                           .values(notification=NotificationPreference.NONE))
        db.session.commit()
    return dict(group=group, thread_id=thread_id, author=author, quiet=quiet, keen=keen)


def test_a_mention_reaches_someone_who_wants_no_email_and_does_not_follow(app, client, login, thread_case, mailbox):
    t = thread_case
    mailbox.clear()
    login(t["author"])
    reply(client, t["thread_id"], f"{mention('Denis Rien', t['quiet'].id)}, {mention('Bruno Chaque', t['keen'].id)} : votre avis ?")
    mails = mailbox.messages
    # Each person once: Bruno, who follows the thread, gets the mention, not also the message.
    assert sorted(m["To"] for m in mails) == ["b@example.org", "d@example.org"]
    mail = mailbox.to("d@example.org")[0]
    assert mail["Subject"] == "Alice Autrice mentioned you in “Les CCAPEX en 2024”"
    body = mailbox.body(mail)
    assert "@Denis Rien, @Bruno Chaque : votre avis ?" in body
    with app.app_context():
        message_id = db.session.scalar(select(Message.id).order_by(Message.id.desc()).limit(1))
    assert re.search(rf"/groups/messages/{message_id}\b", mailbox.link(mail))
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # From now on Denis follows the thread; the mention did not change his preference.
    assert subscription_reason(app, t["quiet"], t["thread_id"]) == "mention"
    assert subscription_reason(app, t["keen"], t["thread_id"]) == "mention"


def test_no_mention_email_for_quotes_code_or_oneself(app, client, login, thread_case, mailbox):
    t = thread_case
    mailbox.clear()
    login(t["author"])
    quiet = mention("Denis Rien", t["quiet"].id)
    reply(client, t["thread_id"], f"> {quiet} avait dit\n\n`{quiet}` et {mention('Alice Autrice', t['author'].id)}")
    assert "d@example.org" not in recipients(mailbox.messages)
    assert "a@example.org" not in recipients(mailbox.messages)
    assert subscription_reason(app, t["quiet"], t["thread_id"]) is None


def test_a_message_mentioning_a_crowd_mails_only_so_many(app, client, login, person, thread_case, mailbox, monkeypatch):
    from extranet.groups import notifications

    monkeypatch.setattr(notifications, "MAX_MENTIONS_NOTIFIED", 2)
    t = thread_case
    crowd = [person("member", email=f"foule{n}@example.org") for n in range(3)]
    mailbox.clear()
    login(t["author"])
    reply(client, t["thread_id"], " ".join(mention(u.name, u.id) for u in crowd))
    assert recipients(mailbox.messages) == {"foule0@example.org", "foule1@example.org", "b@example.org"}


def test_a_mention_in_a_new_thread(app, client, login, thread_case, mailbox):
    t = thread_case
    mailbox.clear()
    login(t["author"])
    client.post(f"/groups/{t['group'].slug}/threads/new", data={"title": "Un nouveau fil", "body": f"Pour {mention('Denis', t['quiet'].id)}"},
                content_type="multipart/form-data")
    assert mailbox.to("d@example.org")[0]["Subject"] == "Alice Autrice mentioned you in “Un nouveau fil”"


def test_editing_mails_only_the_people_mentioned_for_the_first_time(app, client, login, person, thread_case, mailbox):
    t = thread_case
    third = person("member", name="Chloé Nouvelle", email="c@example.org")
    login(t["author"])
    reply(client, t["thread_id"], f"Bonjour {mention('Denis Rien', t['quiet'].id)}")
    with app.app_context():
        message_id = db.session.scalar(select(Message.id).order_by(Message.id.desc()).limit(1))
    mailbox.clear()
    body = f"Bonjour {mention('Denis Rien', t['quiet'].id)} et {mention('Chloé Nouvelle', third.id)}"
    assert client.post(f"/groups/messages/{message_id}/edit", data={"body": body}).status_code == 302
    assert recipients(mailbox.messages) == {"c@example.org"}  # an open group: a non-member may read it
    # Taking a mention out and putting it back does not mail again.
    client.post(f"/groups/messages/{message_id}/edit", data={"body": "Bonjour à tous"})
    client.post(f"/groups/messages/{message_id}/edit", data={"body": body})
    assert recipients(mailbox.messages) == {"c@example.org"} and len(mailbox.messages) == 1


def test_a_closed_group_mentions_nobody_outside(app, client, login, closed_circle, make_thread, mailbox):
    c = closed_circle
    thread_id = make_thread(c["group"], c["helene"], title="Fil confidentiel")
    mailbox.clear()
    login(c["me"])
    reply(client, thread_id, f"{mention('Hélène Dehors', c['outsider'].id)} et {mention('Hélène Nationale', c['national'].id)} : "
                             "le secret de l'ornithorynque")
    mails = mailbox.messages
    assert c["outsider"].email not in recipients(mails)
    assert subscription_reason(app, c["outsider"], thread_id) is None
    # The national team reads closed groups: it is told.
    assert c["national"].email in recipients(mails)
    # Whoever got an email about it may read it.
    readers = {u.email for u in (c["helene"], c["emilie"], c["jean_pierre"], c["national"])}
    assert recipients(mails) <= readers
    # Editing to mention the outsider again changes nothing.
    with app.app_context():
        message_id = db.session.scalar(select(Message.id).order_by(Message.id.desc()).limit(1))
    mailbox.clear()
    client.post(f"/groups/messages/{message_id}/edit", data={"body": f"Re {mention('Hélène Dehors', c['outsider'].id)}"})
    assert mailbox.messages == []


# --- Rendering -------------------------------------------------------------------------------------


def test_mentions_link_to_the_directory(app, client, as_, person, make_group, make_thread):
    me = as_("member")
    helene = person("member", name="Hélène Dupré", territory="lyon")
    national = person("animator", name="Nina Nationale")
    gone = person("member", name="Paul Parti", active=False)
    group = make_group(members=[me, helene])
    body = " ".join(mention(u.name, u.id) for u in (helene, national, gone)) + " " + mention("Personne", 999_999)
    thread_id = make_thread(group, me, body=body)
    html = client.get(f"/groups/threads/{thread_id}").get_data(as_text=True)
    links = {a.text(): a.attrs["href"] for a in parse(html).iter() if a.tag == "a" and "mention" in a.classes}
    assert links == {"@Hélène Dupré": f"/territories/lyon#person-{helene.id}"}
    page = text_of(client.get(f"/groups/threads/{thread_id}"))
    assert "@Nina Nationale" in page and "@Paul Parti" in page and "@Personne" in page  # plain text
    # The directory entry the link points at.
    directory = client.get("/territories/lyon").get_data(as_text=True)
    assert f'id="person-{helene.id}"' in directory


def test_the_text_areas_carry_the_mention_list(client, as_, make_group, make_thread):
    me = as_("member")
    group = make_group(members=[me])
    thread_id = make_thread(group, me)
    for url in (f"/groups/threads/{thread_id}", f"/groups/{group.slug}/threads/new"):
        html = client.get(url).get_data(as_text=True)
        assert f'data-mentions-url="/groups/{group.slug}/mentions"' in html, url
        assert '<script src="/static/js/mentions.js" defer></script>' in html


# --- In a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_mention_someone_with_the_keyboard_and_they_see_the_thread_unread(live_server, page, app, make_user, make_group, make_thread,
                                                                          mailbox):
    """User A joins a group, answers mentioning B chosen in the list with the
    keyboard; B sees the thread marked unread on the group page."""
    a = make_user("member", name="Alice Arrivante", territory="lyon")
    b = make_user("member", name="Béatrice Mentionnée", territory="nantes", email="beatrice@example.org")
    make_user("member", name="Bernard Dehors")  # not a member, but the group is open: offered too
    group = make_group("Prévention des expulsions", members=[b])
    thread_id = make_thread(group, b, title="Les CCAPEX en 2024", body="Qui a un bilan ?")

    def log_in(user):
        browser_login(page, live_server, user)

    log_in(a)
    page.goto(f"{live_server.url}/groups/{group.slug}")
    page.get_by_role("button", name="Rejoindre le groupe").click()
    page.get_by_role("link", name="Les CCAPEX en 2024").click()
    page.wait_for_url(f"**/groups/threads/{thread_id}")

    textarea = page.locator("#body")
    textarea.click()
    textarea.press_sequentially("Merci @bea")
    listbox = page.get_by_role("listbox")
    listbox.wait_for(state="visible")
    options = listbox.get_by_role("option")
    assert options.first.inner_text().startswith("Béatrice Mentionnée")
    # While the list is shown, the text area is a combobox controlling it.
    assert textarea.get_attribute("role") == "combobox" and textarea.get_attribute("aria-expanded") == "true"
    assert textarea.get_attribute("aria-autocomplete") == "list"
    assert textarea.get_attribute("aria-controls") == listbox.get_attribute("id")
    textarea.press("ArrowDown")
    active = textarea.get_attribute("aria-activedescendant")
    assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    textarea.press("Enter")
    assert listbox.is_hidden()
    assert textarea.get_attribute("role") is None and textarea.get_attribute("aria-expanded") is None
    textarea.press_sequentially("pour le bilan.")
    assert textarea.input_value() == f"Merci @[Béatrice Mentionnée](user:{b.id}) pour le bilan."
    # Home and End go to the first and last names; Escape closes the list without inserting anything.
    textarea.press_sequentially(" @be")
    listbox.wait_for(state="visible")
    options.nth(1).wait_for()
    count = options.count()
    textarea.press("End")
    assert textarea.get_attribute("aria-activedescendant") == options.nth(count - 1).get_attribute("id")
    assert options.nth(count - 1).get_attribute("aria-selected") == "true"
    textarea.press("Home")
    assert textarea.get_attribute("aria-activedescendant") == options.nth(0).get_attribute("id")
    textarea.press("Escape")
    assert listbox.is_hidden()
    assert textarea.get_attribute("aria-expanded") is None and textarea.get_attribute("aria-activedescendant") is None
    textarea.fill(f"Merci @[Béatrice Mentionnée](user:{b.id}) pour le bilan.")
    page.get_by_role("button", name="Envoyer ma réponse").click()
    page.wait_for_url(re.compile(r".*/groups/threads/\d+#message-\d+$"))
    mention_link = page.locator("#messages a.mention")
    assert mention_link.inner_text() == "@Béatrice Mentionnée"
    assert mention_link.get_attribute("href") == f"/territories/nantes#person-{b.id}"
    assert page.csp_violations == []

    page.get_by_role("button", name="Se déconnecter").click()
    log_in(b)
    page.goto(f"{live_server.url}/groups/{group.slug}")
    row = page.locator("#thread-list tr", has_text="Les CCAPEX en 2024")
    assert "extranet-unread" in (row.get_attribute("class") or "")
    assert row.get_by_text("Nouveaux messages").is_visible()
    assert page.csp_violations == []
    assert [m["Subject"] for m in mailbox.to("beatrice@example.org")] == ["Alice Arrivante vous mentionne dans «\u00a0Les CCAPEX en 2024\u00a0»"]
