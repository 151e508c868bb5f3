"""Emails about discussions, received by the real SMTP test server through the
real outbox worker: an email for each message, the daily digest, nothing,
closed-group privacy, one-click unsubscribing (RFC 8058), and the digest in
the send-mail worker's loop.

Accounts made here speak English, so assertions read the source strings.
"""

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from extranet.extensions import db
from extranet.groups.models import GroupMembership, Message, NotificationPreference, ThreadSubscription
from extranet.timeutil import utcnow

from .group_helpers import text_of
from .helpers import french, run_mail_worker

# The make_group, add_member and make_thread fixtures.
pytest_plugins = ["tests.group_fixtures"]

PASSWORD = "un mot de passe solide"


def logout(client):
    client.post("/auth/logout")


def reply(client, thread_id, body):
    response = client.post(f"/groups/threads/{thread_id}/reply", data={"body": body}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return response


def set_preference(app, user, group, preference, digest_sent_at=None):
    with app.app_context():
        db.session.execute(
            update(GroupMembership)
            .where(GroupMembership.user_id == user.id, GroupMembership.group_id == group.id)
            .values(notification=NotificationPreference(preference), digest_sent_at=digest_sent_at)
        )
        db.session.commit()


def preference(app, user, group) -> str:
    with app.app_context():
        return db.session.scalar(select(GroupMembership.notification).filter_by(user_id=user.id, group_id=group.id)).value


def last_message_id(app, thread_id) -> int:
    with app.app_context():
        return db.session.scalar(select(Message.id).where(Message.thread_id == thread_id).order_by(Message.id.desc()).limit(1))


def recipients(messages) -> set[str]:
    return {m["To"] for m in messages}


def line_link(mailbox, message, label) -> str:
    """The address on the line of the body that starts with ``label``."""
    found = re.search(re.escape(label) + r"\s*(https?://\S+)", mailbox.body(message))
    assert found, f"no {label!r} link in:\n{mailbox.body(message)}"
    return found.group(1)


def one_click_url(message) -> str:
    found = re.fullmatch(r"<(https?://\S+)>", message["List-Unsubscribe"])
    assert found, message["List-Unsubscribe"]
    return found.group(1)


def path(url) -> str:
    return urlsplit(url).path


# --- An email for each message ----------------------------------------------------------------------


@pytest.fixture
def discussion(app, person, make_group, add_member, make_thread):
    """An open group: author A, and members who chose each (B, E), the digest (C),
    nothing (D); F joined after the thread was opened."""
    people = {key: person("member", name=name, email=f"{key.lower()}@example.org")
              for key, name in dict(A="Alice Autrice", B="Bruno Chaque", C="Chloé Résumé", D="Denis Rien", E="Emma Muette",
                                    F="Fanny Tardive").items()}
    group = make_group("Prévention des expulsions", members=[people[k] for k in "ABCDE"])
    set_preference(app, people["C"], group, "digest", digest_sent_at=utcnow())
    set_preference(app, people["D"], group, "none")
    thread_id = make_thread(group, people["A"], title="Les CCAPEX en 2024", body="Qui a un **bilan** ?")
    add_member(group, people["F"])
    return dict(group=group, thread_id=thread_id, **people)


def test_a_new_thread_is_mailed_to_the_members_who_chose_each_message(app, discussion, mailbox):
    mails = mailbox.messages
    assert recipients(mails) == {"b@example.org", "e@example.org"}
    mail = mailbox.to("b@example.org")[0]
    assert mail["Subject"] == "New thread in “Prévention des expulsions”: Les CCAPEX en 2024"
    body = mailbox.body(mail)
    assert "Alice Autrice started the thread “Les CCAPEX en 2024”" in body and "Qui a un bilan ?" in body


def test_each_new_message_goes_to_the_followers_who_chose_it_never_to_its_author(app, client, login, discussion, mailbox):
    d = discussion
    login(d["E"])
    client.post(f"/groups/threads/{d['thread_id']}/unfollow")
    logout(client)
    mailbox.clear()

    login(d["A"])
    reply(client, d["thread_id"], "Voici le **nôtre**, avec les chiffres de *Lyon*.")
    message_id = last_message_id(app, d["thread_id"])
    mails = mailbox.messages
    # C has a digest, D nothing, E stopped following, F joined after the thread was opened, A wrote it.
    assert recipients(mails) == {"b@example.org"}
    mail = mails[0]
    assert mail["Subject"] == "New message in “Les CCAPEX en 2024” (Prévention des expulsions)"
    body = mailbox.body(mail)
    assert "Hello Bruno Chaque," in body
    assert "Alice Autrice wrote in the thread “Les CCAPEX en 2024” of the working group “Prévention des expulsions”:" in body
    assert "Voici le nôtre, avec les chiffres de Lyon." in body  # an excerpt, without the Markdown
    link = mailbox.link(mail)
    assert path(link) == f"/groups/messages/{message_id}"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"/groups/unsubscribe/[^/]+/one-click", path(one_click_url(mail)))
    # On the wire, the address as it is (an RFC 2047 encoded word is no address for a mail client).
    raw = dict(mail.raw_items())["List-Unsubscribe"]
    assert raw == f"<{one_click_url(mail)}>" and "=?" not in raw
    assert path(line_link(mailbox, mail, "Stop the emails of this group:")).startswith("/groups/unsubscribe/")
    assert mail["List-Id"] == f"<{d['group'].slug}.groups.logement-dabord.extranet>"

    # The link leads the reader to the message.
    logout(client)
    login(d["B"])
    response = client.get(path(link))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#message-{message_id}")

    # B answers: A (who follows the thread they opened) hears of it, B does not.
    reply(client, d["thread_id"], "Merci !")
    assert recipients(mailbox.messages[1:]) == {"a@example.org"}


def test_switching_to_each_message_on_the_group_page(app, client, login, discussion, mailbox):
    d = discussion
    login(d["D"])
    client.post(f"/groups/{d['group'].slug}/notifications", data={"notification": "each"})
    logout(client)
    mailbox.clear()
    login(d["A"])
    reply(client, d["thread_id"], "Une suite.")
    assert "d@example.org" in recipients(mailbox.messages)


def test_no_email_to_someone_who_may_no_longer_read_the_thread(app, client, as_, person, login, make_group, make_thread, mailbox):
    """A thread moved into a closed group: its former followers no longer hear of it."""
    national = person("animator", email="animation@example.org")
    outsider = person("member", email="outsider@example.org")
    author = person("member", email="author@example.org")
    public = make_group("Groupe ouvert", members=[outsider, author])
    closed = make_group("Groupe fermé", is_open=False, members=[author])
    thread_id = make_thread(public, author, title="Fil bientôt confidentiel")
    login(national)
    assert client.post(f"/groups/threads/{thread_id}/move", data={"group": str(closed.id)}).status_code == 302
    logout(client)
    with app.app_context():
        assert db.session.scalar(select(ThreadSubscription.id).filter_by(user_id=outsider.id)) is not None  # still subscribed
    mailbox.clear()
    login(author)
    reply(client, thread_id, "Le secret du groupe fermé.")
    mails = mailbox.messages
    assert "outsider@example.org" not in recipients(mails)
    assert not any("secret" in mailbox.body(m) for m in mails if m["To"] != "author@example.org")


def test_deactivated_accounts_get_nothing(app, client, login, discussion, mailbox):
    d = discussion
    with app.app_context():
        from extranet.auth.models import User

        db.session.get(User, d["B"].id).active = False
        db.session.commit()
    mailbox.clear()
    login(d["A"])
    reply(client, d["thread_id"], "Encore un mot.")
    assert "b@example.org" not in recipients(mailbox.messages)


# --- Daily digest -------------------------------------------------------------------------------------


@pytest.fixture
def digest_case(app, client, person, login, make_group, make_thread, mailbox):
    """C chose the digest in two groups (yesterday); messages were written in both since."""
    author = person("member", name="Alice Autrice", email="a@example.org")
    reader = person("member", name="Chloé Résumé", email="c@example.org")
    first = make_group("Observation sociale", members=[author, reader])
    second = make_group("Accompagnement pluridisciplinaire", members=[author, reader])
    yesterday = utcnow() - timedelta(days=1, minutes=5)
    for group in (first, second):
        set_preference(app, reader, group, "digest", digest_sent_at=yesterday)
    t1 = make_thread(first, author, title="Les chiffres du 115", body="Premier **bilan** des appels.",
                     replies=[(author, "Et un complément."), (reader, "Ma propre réponse, hors du résumé.")])
    t2 = make_thread(second, author, title="Binômes travailleur social et infirmier", body="Qui a essayé ?")
    muted = make_thread(first, author, title="Fil que Chloé ne suit plus", body="Sans intérêt pour elle.")
    login(reader)
    client.post(f"/groups/threads/{muted}/unfollow")
    logout(client)
    mailbox.clear()
    return dict(author=author, reader=reader, first=first, second=second, t1=t1, t2=t2)


def test_the_digest_is_one_email_for_all_the_groups_and_is_sent_once_a_day(app, client, runner, login, digest_case, mailbox):
    case = digest_case
    result = runner.invoke(args=["extranet", "send-digests"])
    assert result.exit_code == 0, result.output
    assert "1 digest(s) queued, listing 3 new message(s)" in result.output
    mails = mailbox.messages
    assert recipients(mails) == {"c@example.org"} and len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == "Your working groups: 3 new messages"
    body = mailbox.body(mail)
    # Both groups, in alphabetical order, each with its threads; not the reader's own message, not the muted thread.
    assert body.index("== Accompagnement pluridisciplinaire ==") < body.index("== Observation sociale ==")
    assert "Les chiffres du 115 (new thread) — 2 new messages" in body
    assert "Alice Autrice: Premier bilan des appels." in body
    assert "Binômes travailleur social et infirmier (new thread) — 1 new message" in body
    assert "Ma propre réponse" not in body and "Fil que Chloé ne suit plus" not in body
    first_message = min(m for m in _message_ids(app, case["t1"]))
    assert f"/groups/messages/{first_message}" in body
    assert body.count("Stop the emails of this group:") == 2
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Run again the same day, even after a new message: nothing more.
    login(case["author"])
    reply(client, case["t2"], "Nouvelle réponse du jour.")
    mailbox.clear()
    again = runner.invoke(args=["extranet", "send-digests"])
    assert again.exit_code == 0 and mailbox.messages == []

    # The next day: only what is new since the last digest.
    send_digests(app, now=utcnow() + timedelta(days=1))
    mails = mailbox.messages
    assert len(mails) == 1 and mails[0]["Subject"] == "Your working groups: 1 new message"
    body = mailbox.body(mails[0])
    assert "Nouvelle réponse du jour." in body and "Premier bilan" not in body and "Observation sociale" not in body

    # A day with nothing new: no email.
    mailbox.clear()
    report = send_digests(app, now=utcnow() + timedelta(days=2))
    assert (report.sent, report.empty) == (0, 1)
    assert mailbox.messages == []


def test_the_digest_one_click_unsubscribes_from_all_its_groups(app, digest_case, mailbox, runner):
    case = digest_case
    runner.invoke(args=["extranet", "send-digests"])
    url = one_click_url(mailbox.messages[0])
    response = app.test_client().post(path(url), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert {preference(app, case["reader"], g) for g in (case["first"], case["second"])} == {"none"}


def test_a_member_who_just_chose_the_digest_gets_it_tomorrow(app, client, login, digest_case, runner, mailbox):
    case = digest_case
    login(case["reader"])
    for group in (case["first"], case["second"]):
        client.post(f"/groups/{group.slug}/notifications", data={"notification": "none"})
        client.post(f"/groups/{group.slug}/notifications", data={"notification": "digest"})
    runner.invoke(args=["extranet", "send-digests"])
    assert mailbox.messages == []  # what came before was not asked for


def test_digest_days_follow_paris_time():
    from extranet.groups.notifications import day_start, digest_day

    # Winter (UTC+1) and summer (UTC+2).
    assert digest_day(datetime(2024, 1, 15, 6, 30), hour=7) == datetime(2024, 1, 15).date()
    assert digest_day(datetime(2024, 1, 15, 5, 30), hour=7) is None
    assert digest_day(datetime(2024, 7, 1, 4, 59), hour=7) is None
    assert digest_day(datetime(2024, 7, 1, 23, 30), hour=1) == datetime(2024, 7, 2).date()  # 01:30 in Paris
    assert day_start(datetime(2024, 7, 1, 10, 0)) == datetime(2024, 6, 30, 22, 0)
    assert day_start(datetime(2024, 1, 15, 23, 30)) == datetime(2024, 1, 15, 23, 0)


def test_the_send_mail_worker_sends_the_digests_once_a_day(app, app_config, digest_case, mailbox):
    output = run_mail_worker(app_config, lambda: mailbox.received, EXTRANET_DIGEST_HOUR="0")  # due whatever the time the test runs
    assert [m["To"] for m in mailbox.received] == ["c@example.org"]  # once, though the loop went round several times
    assert "Digests: 1 digest(s) queued" in output and output.count("Digests:") == 1
    assert "https://extranet.example.gouv.fr/groups/messages/" in mailbox.body(mailbox.received[0])


def _message_ids(app, thread_id):
    with app.app_context():
        return list(db.session.scalars(select(Message.id).where(Message.thread_id == thread_id)))


def send_digests(app, now):
    from extranet.groups.notifications import send_digests as run

    return run(app, now=now)


# --- Unsubscribing ------------------------------------------------------------------------------------


def _each_mail(app, client, login, d, mailbox):
    mailbox.clear()
    login(d["A"])
    reply(client, d["thread_id"], "Un message pour avoir un email.")
    logout(client)
    return mailbox.to("b@example.org")[0]


def test_the_unsubscribe_link_asks_to_confirm_then_stops_the_emails(app, client, login, discussion, mailbox):
    d = discussion
    mail = _each_mail(app, client, login, d, mailbox)
    link = path(line_link(mailbox, mail, "Stop the emails of this group:"))
    anonymous = app.test_client()
    page = anonymous.get(link)
    assert page.status_code == 200  # no login needed
    text = text_of(page)
    assert "b@example.org" in text and "Prévention des expulsions" in text and "Stop these emails" in text
    assert preference(app, d["B"], d["group"]) == "each"  # a GET changes nothing
    done = anonymous.post(link)
    assert done.status_code == 200 and "You will no longer receive these emails" in text_of(done)
    assert preference(app, d["B"], d["group"]) == "none"
    # Again: harmless.
    assert anonymous.post(link).status_code == 200

    mailbox.clear()
    login(d["A"])
    reply(client, d["thread_id"], "Plus d'email pour Bruno.")
    assert "b@example.org" not in recipients(mailbox.messages)


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_one_click_unsubscribe_needs_no_cookie_and_no_csrf_token(csrf_app_config, app, make_group, person, make_thread, mailbox):
    """RFC 8058: the mail provider POSTs to the List-Unsubscribe address from its servers."""
    author, reader = person("member", email="a@example.org"), person("member", email="b@example.org")
    group = make_group("Groupe", members=[author, reader])
    make_thread(group, author)
    mail = mailbox.to("b@example.org")[0]
    url = one_click_url(mail)

    # The confirmation form, by contrast, is a form like any other: no token, no change.
    refused = app.test_client().post(path(line_link(mailbox, mail, "Stop the emails of this group:")))
    assert refused.status_code == 400
    assert preference(app, reader, group) == "each"

    provider = app.test_client(use_cookies=False)
    response = provider.post(path(url), data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert preference(app, reader, group) == "none"
    # A client that only opens the address gets the confirmation page.
    opened = provider.get(path(url))
    assert opened.status_code == 302 and path(opened.headers["Location"]) == path(line_link(mailbox, mail, "Stop the emails of this group:"))


def test_bad_unsubscribe_links_get_a_clear_page(app, client, login, discussion, mailbox, monkeypatch):
    d = discussion
    mail = _each_mail(app, client, login, d, mailbox)
    link = path(line_link(mailbox, mail, "Stop the emails of this group:"))
    token = link.split("/")[3]
    anonymous = app.test_client()
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for url in (f"/groups/unsubscribe/{forged}", "/groups/unsubscribe/nimportequoi", f"/groups/unsubscribe/{forged}/one-click"):
        for method in ("get", "post"):
            response = getattr(anonymous, method)(url)
            if method == "get" and url.endswith("one-click"):
                continue
            assert response.status_code == 400, url
            assert french(app, "Invalid unsubscribe link") in text_of(response)
            assert "lang=\"fr\"" in response.get_data(as_text=True)

    # A link more than 90 days old.
    import time as time_module

    from extranet.groups import notifications

    real_time = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real_time() - 91 * 24 * 3600)
    with app.test_request_context():
        old = notifications.unsubscribe_token(d["B"].id, [d["group"].id])
    monkeypatch.setattr(time_module, "time", real_time)
    response = anonymous.get(f"/groups/unsubscribe/{old}")
    assert response.status_code == 400 and french(app, "Expired unsubscribe link") in text_of(response)

    # A token signed for something else does not unsubscribe.
    from extranet import tokens

    with app.test_request_context():
        other = tokens.sign("something-else", {"u": d["B"].id, "g": [d["group"].id]})
    assert anonymous.post(f"/groups/unsubscribe/{other}/one-click").status_code == 400
    assert preference(app, d["B"], d["group"]) == "each"


def test_unsubscribing_after_leaving_the_group_is_harmless(app, client, login, discussion, mailbox):
    d = discussion
    mail = _each_mail(app, client, login, d, mailbox)
    link = path(line_link(mailbox, mail, "Stop the emails of this group:"))
    login(d["B"])
    client.post(f"/groups/{d['group'].slug}/leave")
    logout(client)
    page = app.test_client().get(link)
    assert page.status_code == 200 and "you are no longer a member" in text_of(page)
    assert app.test_client().post(link).status_code == 200
