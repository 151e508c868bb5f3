"""Working groups: creating and editing them, the directory, joining, leaving,
join requests and their emails, closed-group privacy (pages, attachments,
search, documents), archiving, bounded SQL on the group and thread pages.

Accounts made here speak English, so assertions read the source strings
whatever the French catalog says.
"""

import io
import re
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from extranet.auth.models import User
from extranet.auth.services import ServiceError
from extranet.extensions import db
from extranet.groups import services
from extranet.groups.models import Group, GroupMembership, JoinRequest, JoinRequestStatus, NotificationPreference

from . import files as make
from .group_helpers import bulk_replies, bulk_threads, message_ids, search_keys, text_of
from .helpers import errors_beside, queries_for

# The make_group, add_member and make_thread fixtures.
pytest_plugins = ["tests.group_fixtures"]

# --- Helpers -------------------------------------------------------------------------


def group_row(app, slug) -> Group | None:
    with app.app_context():
        group = db.session.scalar(select(Group).filter_by(slug=slug))
        if group is not None:
            group.axes, group.animator_memberships  # noqa: B018 (load before leaving)
            for m in group.animator_memberships:
                m.user  # noqa: B018
            db.session.expunge_all()
        return group


def member_ids(app, group) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(GroupMembership.user_id).filter_by(group_id=group.id)))


def axis_ids(app, *numbers) -> list[str]:
    from extranet.plan.models import Axis

    with app.app_context():
        return [str(i) for i in db.session.scalars(select(Axis.id).where(Axis.number.in_(numbers)).order_by(Axis.number))]


def logout(client):
    client.post("/auth/logout")


@contextmanager
def meanwhile(app, statement_start, action):
    """Run ``action(connection)`` on a connection of its own, committed, just
    before the first SQL statement beginning with ``statement_start``: what
    another request would do at that very moment."""
    with app.app_context():
        engine = db.engine
    done = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not done and statement.lstrip().upper().startswith(statement_start.upper()):
            done.append(True)
            with engine.begin() as other:
                action(other)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield done
    finally:
        event.remove(engine, "before_cursor_execute", before)


def pending_requests(app, group) -> list[JoinRequest]:
    with app.app_context():
        rows = list(db.session.scalars(select(JoinRequest).filter_by(group_id=group.id, status=JoinRequestStatus.PENDING)))
        db.session.expunge_all()
        return rows


def in_parallel(app, work):
    """Start ``work()`` in a thread with an app context of its own (so its own
    session and connection); returns the thread and the list its outcome goes to."""
    outcome = []

    def run():
        with app.app_context(), app.test_request_context():
            try:
                outcome.append(work())
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the test reads it
                db.session.rollback()
                outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# --- Creating and editing groups --------------------------------------------------------


def test_the_national_team_creates_a_group_through_the_form(app, client, as_, person):
    coordinator = person("coordinator", territory="lyon", name="Thomas Girard")
    as_("animator")
    form = client.get("/groups/new")
    assert form.status_code == 200 and "Thomas Girard" in text_of(form)
    response = client.post("/groups/new", data={
        "name": "  Prévention   des expulsions ",
        "description": "Partager les **pratiques** de prévention.\n\n- CCAPEX\n- commissions",
        "access": "closed",
        "animators": [str(coordinator.id)],
        "axes": axis_ids(app, 4, 9),
    })
    assert response.status_code == 302 and response.headers["Location"] == "/groups/prevention-des-expulsions"
    group = group_row(app, "prevention-des-expulsions")
    assert group.name == "Prévention des expulsions" and not group.is_open
    assert group.axis_numbers == (4, 9) and [u.id for u in group.animators] == [coordinator.id]
    assert member_ids(app, group) == {coordinator.id}  # animators are members

    page = client.get("/groups/prevention-des-expulsions")
    html = page.get_data(as_text=True)
    assert "<strong>pratiques</strong>" in html and "<li>CCAPEX</li>" in html
    text = text_of(page)
    assert "The group “Prévention des expulsions” is created." in text
    assert "Closed group" in text and "Thomas Girard" in text and "Axis 4" in text
    # A second group of the same name gets a clear refusal.
    again = client.post("/groups/new", data={"name": "prévention des expulsions", "access": "open"})
    assert again.status_code == 400
    assert errors_beside(again.get_data(as_text=True), "name") == ["Another group already has this name."]


def test_edit_a_group_and_its_animators(app, client, as_, person, make_group):
    first, second = person("member", name="Première Animatrice"), person("member", name="Second Animateur")
    group = make_group("Observation sociale", animators=[first])
    as_("admin")
    response = client.post(f"/groups/{group.slug}/edit", data={
        "name": "Observation sociale et données", "description": "Nouveau texte", "access": "open", "animators": [str(second.id)],
    })
    assert response.status_code == 302 and response.headers["Location"] == f"/groups/{group.slug}"  # the address stays
    edited = group_row(app, group.slug)
    assert edited.name == "Observation sociale et données" and edited.axes == []
    assert [u.id for u in edited.animators] == [second.id]
    assert member_ids(app, group) == {first.id, second.id}  # a former animator stays a member
    unchanged = client.post(f"/groups/{group.slug}/edit", data={
        "name": "Observation sociale et données", "description": "Nouveau texte", "access": "open", "animators": [str(second.id)],
    }, follow_redirects=True)
    assert "Nothing to save: the group is unchanged." in text_of(unchanged)


@pytest.mark.parametrize("field, data, message", [
    ("name", {"name": ""}, "Enter the name of the group."),
    ("access", {"access": "ajar"}, "Choose whether the group is open or closed."),
    ("animators", {"animators": ["999999"]}, "Choose the animators from the list."),
])
def test_group_form_errors_are_beside_their_field(app, client, as_, field, data, message):
    as_("admin")
    response = client.post("/groups/new", data={"name": "Un groupe", "access": "open", **data})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    if field == "access":
        assert message in text_of(response)
    else:
        assert message in errors_beside(html, field)
    with app.app_context():
        assert db.session.scalar(select(Group.id)) is None


@pytest.mark.parametrize("role, status", [("admin", 200), ("animator", 200), ("coordinator", 403), ("member", 403)])
@pytest.mark.parametrize("url", ["/groups/new", "/groups/{slug}/edit"])
def test_only_the_national_team_creates_and_edits_groups(app, client, as_, make_group, role, url, status):
    group = make_group()
    as_(role)
    assert client.get(url.format(slug=group.slug)).status_code == status
    assert client.post(url.format(slug=group.slug), data={"name": "Piraté", "access": "open"}).status_code in (
        (302,) if status == 200 else (403,))
    page = text_of(client.get("/groups/"))
    assert ("Create a group" in page) == (status == 200)


def test_a_group_animator_cannot_edit_the_group(app, client, as_, make_group):
    user = as_("member")
    group = make_group(animators=[user])
    assert client.get(f"/groups/{group.slug}/edit").status_code == 403


# --- Directory ------------------------------------------------------------------------------


def test_directory_and_my_groups(app, client, as_, person, make_group, make_thread):
    me = as_("member")
    other = person("member")
    open_group = make_group("Accompagnement pluridisciplinaire", members=[me, other], description="Des **pratiques** partagées.")
    closed = make_group("Groupe restreint", is_open=False)
    make_group("Ancien groupe")
    make_thread(open_group, other, title="Premier fil")
    with app.app_context():
        from extranet.timeutil import utcnow

        db.session.get(Group, (group_row(app, "ancien-groupe")).id).archived_at = utcnow()
        db.session.commit()

    page = text_of(client.get("/groups/"))
    assert "Accompagnement pluridisciplinaire" in page and "Groupe restreint" in page and "Ancien groupe" not in page
    assert "Des pratiques partagées." in page  # a plain excerpt of the description
    assert "1 thread" in page and "2 members" in page
    # Closed groups are listed (people ask to join them), never their threads.
    assert "Premier fil" not in page
    mine = text_of(client.get("/groups/mine"))
    assert "Accompagnement pluridisciplinaire" in mine and "Groupe restreint" not in mine
    assert "1 thread with new messages" in mine
    archived = text_of(client.get("/groups/?archived=1"))
    assert "Ancien groupe" in archived and "Groupe restreint" not in archived
    assert closed.slug in client.get("/groups/").get_data(as_text=True)


def test_empty_states(app, client, as_):
    as_("member")
    assert "No working group yet" in text_of(client.get("/groups/"))
    assert "You are not a member of any group yet" in text_of(client.get("/groups/mine"))
    assert client.get("/groups/nope").status_code == 404


def test_the_menu_leads_to_the_groups(app, client, as_):
    as_("member")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/groups/"' in home and "/coming-soon/groups" not in home
    assert client.get("/coming-soon/groups").status_code == 404


# --- Joining and leaving ------------------------------------------------------------------------


def test_join_and_leave_an_open_group(app, client, as_, make_group):
    me = as_("member")
    group = make_group("Groupe ouvert")
    assert client.get(f"/groups/{group.slug}/join").status_code == 405  # only POST changes data
    response = client.post(f"/groups/{group.slug}/join", follow_redirects=True)
    assert "You are now a member of “Groupe ouvert”." in text_of(response)
    assert me.id in member_ids(app, group)
    assert "Groupe ouvert" in text_of(client.get("/groups/mine"))
    page = text_of(client.get(f"/groups/{group.slug}"))
    assert "Leave the group" in page and "Start a thread" in page and "Join the group" not in page
    # Joining twice is refused, not doubled.
    assert client.post(f"/groups/{group.slug}/join").status_code == 403
    assert client.post(f"/groups/{group.slug}/leave", follow_redirects=True).status_code == 200
    assert me.id not in member_ids(app, group)
    assert client.post(f"/groups/{group.slug}/leave").status_code == 403


def test_joining_at_the_same_moment_from_two_tabs_makes_one_membership(app, client, as_, make_group):
    me = as_("member")
    group = make_group("Groupe ouvert")

    def the_other_tab(connection):
        connection.execute(GroupMembership.__table__.insert().values(
            group_id=group.id, user_id=me.id, is_animator=False, notification=NotificationPreference.EACH, read_up_to_message_id=0))

    with meanwhile(app, "INSERT INTO group_membership", the_other_tab) as done:
        response = client.post(f"/groups/{group.slug}/join", follow_redirects=True)
    assert done and response.status_code == 200
    assert "You are now a member of “Groupe ouvert”." in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(GroupMembership).filter_by(group_id=group.id, user_id=me.id)) == 1


def test_leaving_asks_for_confirmation(app, client, as_, make_group):
    me = as_("member")
    group = make_group(is_open=False, members=[me])
    html = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    dialog = re.search(r'<dialog id="confirm-leave".*?</dialog>', html, re.S).group(0)
    assert f'action="/groups/{group.slug}/leave"' in dialog and "you would have to ask again" in dialog


def test_the_national_team_joins_a_closed_group_directly(app, client, as_, make_group):
    me = as_("animator")
    group = make_group(is_open=False)
    assert client.post(f"/groups/{group.slug}/join").status_code == 302
    assert me.id in member_ids(app, group)


def test_a_closed_group_cannot_be_joined_without_a_request(app, client, as_, make_group):
    as_("member")
    group = make_group(is_open=False)
    assert client.post(f"/groups/{group.slug}/join").status_code == 403
    assert "Ask to join" in text_of(client.get(f"/groups/{group.slug}"))


@pytest.mark.parametrize("accept", [True, False])
def test_join_request_is_decided_and_the_requester_is_told_by_email(app, client, as_, person, login, make_group, mailbox, accept):
    animator = person("coordinator", territory="nantes", email="animatrice@example.org")
    group = make_group("Santé mentale", is_open=False, animators=[animator])
    requester = as_("member", email="demandeur@example.org", name="Jean Demandeur")
    assert client.get(f"/groups/{group.slug}/join-request").status_code == 200
    response = client.post(f"/groups/{group.slug}/join-request", data={"message": "Je coordonne l'équipe mobile."}, follow_redirects=True)
    assert "Your request is sent to the animators of the group." in text_of(response)
    assert "Your request to join, sent on" in text_of(client.get(f"/groups/{group.slug}"))
    # A second request while the first waits is not possible.
    assert "is waiting for an animator's answer" in text_of(client.get(f"/groups/{group.slug}/join-request"))
    with app.app_context():
        assert db.session.scalar(select(db.func.count(JoinRequest.id))) == 1

    told = mailbox.to("animatrice@example.org")
    assert len(told) == 1 and "Santé mentale" in told[0]["Subject"]
    body = mailbox.body(told[0])
    assert "Jean Demandeur" in body and "Je coordonne l'équipe mobile." in body
    assert mailbox.link(told[0]).endswith(f"/groups/{group.slug}/requests")
    mailbox.clear()

    logout(client)
    login(animator)
    requests = text_of(client.get(f"/groups/{group.slug}/requests"))
    assert "Jean Demandeur" in requests and "Je coordonne l'équipe mobile." in requests
    with app.app_context():
        request_id = db.session.scalar(select(JoinRequest.id))
    action = "accept" if accept else "refuse"
    response = client.post(f"/groups/{group.slug}/requests/{request_id}/{action}", follow_redirects=True)
    assert response.status_code == 200 and "they are told by email" in text_of(response)
    assert (requester.id in member_ids(app, group)) == accept
    with app.app_context():
        decided = db.session.get(JoinRequest, request_id)
        assert decided.status == (JoinRequestStatus.ACCEPTED if accept else JoinRequestStatus.REFUSED)
        assert decided.decided_by_id == animator.id and decided.decided_at is not None

    mails = mailbox.to("demandeur@example.org")
    assert len(mails) == 1
    if accept:
        assert mails[0]["Subject"] == "Welcome to the group “Santé mentale”"
        assert "is accepted" in mailbox.body(mails[0]) and mailbox.link(mails[0]).endswith(f"/groups/{group.slug}")
    else:
        assert mails[0]["Subject"] == "Your request to join the group “Santé mentale”"
        assert "was not accepted" in mailbox.body(mails[0])
    # Deciding again changes nothing and mails nobody.
    again = client.post(f"/groups/{group.slug}/requests/{request_id}/accept", follow_redirects=True)
    assert "This request was already answered." in text_of(again)
    assert (requester.id in member_ids(app, group)) == accept
    assert mailbox.messages == mails


def test_a_request_sent_twice_at_the_same_moment_is_one_request_and_one_email(app, client, as_, person, make_group, mailbox):
    animator = person("member", email="animatrice@example.org")
    group = make_group(is_open=False, animators=[animator])
    me = as_("member")

    def the_other_tab(connection):
        connection.execute(JoinRequest.__table__.insert().values(
            group_id=group.id, user_id=me.id, message="Premier onglet", status=JoinRequestStatus.PENDING))

    with meanwhile(app, "INSERT INTO join_request", the_other_tab) as done:
        response = client.post(f"/groups/{group.slug}/join-request", data={"message": "Second onglet"}, follow_redirects=True)
    assert done and response.status_code == 200
    assert "Your request is sent to the animators of the group." in text_of(response)
    assert [r.message for r in pending_requests(app, group)] == ["Premier onglet"]
    assert mailbox.to("animatrice@example.org") == []  # the first tab's request told them already


def test_two_requests_at_once_on_postgresql_make_one_request(app, backend, person, make_group, mailbox):
    """The second request waits for the first to commit, then finds it pending."""
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    animator = person("member", email="animatrice@example.org")
    group = make_group(is_open=False, animators=[animator])
    requester = person("member")

    def ask(message):
        return services.request_to_join(db.session.get(User, requester.id), db.session.get(Group, group.id), message)

    with app.app_context(), app.test_request_context():
        ask("Premier onglet")
        second, outcome = in_parallel(app, lambda: ask("Second onglet").message)
        second.join(0.5)
        assert second.is_alive()  # held until this request commits
        db.session.commit()
    second.join(10)
    assert outcome == ["Premier onglet"]
    assert [r.message for r in pending_requests(app, group)] == ["Premier onglet"]
    assert len(mailbox.to("animatrice@example.org")) == 1


def test_a_second_decision_on_the_same_request_changes_nothing(app, client, person, login, make_group, mailbox):
    first, second = person("member"), person("member")
    group = make_group(is_open=False, animators=[first, second])
    requester = person("member", email="demandeur@example.org")
    login(requester)
    client.post(f"/groups/{group.slug}/join-request", data={"message": ""})
    request_id = pending_requests(app, group)[0].id
    logout(client)
    login(first)
    assert client.post(f"/groups/{group.slug}/requests/{request_id}/accept").status_code == 302
    logout(client)
    login(second)  # who had the list open before the first decided
    response = client.post(f"/groups/{group.slug}/requests/{request_id}/refuse", follow_redirects=True)
    assert response.status_code == 200 and "This request was already answered." in text_of(response)
    assert requester.id in member_ids(app, group)
    with app.app_context():
        assert db.session.get(JoinRequest, request_id).status == JoinRequestStatus.ACCEPTED
    assert [m["Subject"] for m in mailbox.to("demandeur@example.org")] == [f"Welcome to the group “{group.name}”"]


def test_two_animators_deciding_at_the_same_moment_one_wins(app, client, person, login, make_group, mailbox):
    other, me = person("member"), person("member")
    group = make_group(is_open=False, animators=[other, me])
    requester = person("member", email="demandeur@example.org")
    login(requester)
    client.post(f"/groups/{group.slug}/join-request", data={"message": ""})
    request_id = pending_requests(app, group)[0].id
    logout(client)
    login(me)

    def the_other_animator_refuses(connection):
        connection.execute(JoinRequest.__table__.update().where(JoinRequest.__table__.c.id == request_id).values(
            status=JoinRequestStatus.REFUSED, decided_by_id=other.id))

    with meanwhile(app, "UPDATE join_request", the_other_animator_refuses) as done:
        response = client.post(f"/groups/{group.slug}/requests/{request_id}/accept", follow_redirects=True)
    assert done and response.status_code == 200
    assert "This request was already answered." in text_of(response)
    assert requester.id not in member_ids(app, group)
    with app.app_context():
        assert db.session.get(JoinRequest, request_id).status == JoinRequestStatus.REFUSED
    assert mailbox.to("demandeur@example.org") == []  # this page's decision sent nothing


def test_two_decisions_at_once_on_postgresql_one_wins(app, backend, person, make_group, mailbox):
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    first, second = person("member"), person("member")
    group = make_group(is_open=False, animators=[first, second])
    requester = person("member", email="demandeur@example.org")
    with app.app_context(), app.test_request_context():
        request_id = services.request_to_join(db.session.get(User, requester.id), db.session.get(Group, group.id)).id
        db.session.commit()
    mailbox.clear()

    def decide(user, accept):
        return services.decide(db.session.get(User, user.id), db.session.get(JoinRequest, request_id), accept=accept).status

    with app.app_context(), app.test_request_context():
        decide(first, True)
        loser, outcome = in_parallel(app, lambda: decide(second, False))
        loser.join(0.5)
        assert loser.is_alive()  # its UPDATE waits for this transaction
        db.session.commit()
    loser.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], ServiceError) and outcome[0].message == "decided"
    with app.app_context():
        assert db.session.get(JoinRequest, request_id).status == JoinRequestStatus.ACCEPTED
    assert requester.id in member_ids(app, group)
    assert len(mailbox.to("demandeur@example.org")) == 1


def test_archiving_closes_waiting_requests_and_takes_no_more(app, client, as_, person, login, make_group, mailbox):
    animator = person("member")
    group = make_group("Groupe clos", is_open=False, animators=[animator])
    requester = person("member", email="demandeur@example.org")
    login(requester)
    client.post(f"/groups/{group.slug}/join-request", data={"message": ""})
    request_id = pending_requests(app, group)[0].id
    logout(client)
    as_("admin")
    mailbox.clear()
    client.post(f"/groups/{group.slug}/edit", data={"name": group.name, "description": "", "access": "closed",
                                                    "animators": [str(animator.id)], "archived": "y"})
    with app.app_context():
        closed = db.session.get(JoinRequest, request_id)
        assert closed.status == JoinRequestStatus.WITHDRAWN and closed.decided_at is not None
    assert mailbox.messages == []  # closing them mails nobody (see services._close_all_pending_requests)
    # A decision posted from a page opened before: refused with the reason, nobody joins.
    with app.app_context():
        db.session.execute(JoinRequest.__table__.update().where(JoinRequest.__table__.c.id == request_id).values(status=JoinRequestStatus.PENDING))
        db.session.commit()
    logout(client)
    login(animator)
    response = client.post(f"/groups/{group.slug}/requests/{request_id}/accept", follow_redirects=True)
    assert response.status_code == 200 and "This group is archived: it takes no new member." in text_of(response)
    assert requester.id not in member_ids(app, group)
    assert mailbox.messages == []
    # Nor new requests.
    logout(client)
    login(person("member"))
    assert client.get(f"/groups/{group.slug}/join-request").status_code == 403
    assert client.post(f"/groups/{group.slug}/join-request", data={"message": "Encore ?"}).status_code == 403


def test_join_request_emails_are_in_the_recipients_language(app, client, person, login, make_group, mailbox, make_user):
    animator = make_user("member", email="animateur@example.org")  # French, the default
    group = make_group("Groupe fermé", is_open=False, animators=[animator])
    requester = person("member")
    login(requester)
    client.post(f"/groups/{group.slug}/join-request", data={"message": ""})
    mail = mailbox.to("animateur@example.org")[0]
    from .helpers import french

    assert mail["Subject"] == french(app, "Request to join the group “%(group)s”", group="Groupe fermé")


def test_without_animators_the_national_team_hears_of_requests(app, client, as_, person, make_group, mailbox):
    admin = person("admin", email="dihal@example.org")
    person("animator", email="animation@example.org", active=False)
    group = make_group(is_open=False)
    as_("member")
    client.post(f"/groups/{group.slug}/join-request", data={"message": "Bonjour"})
    recipients = {m["To"] for m in mailbox.messages}
    assert "dihal@example.org" in recipients and "animation@example.org" not in recipients
    assert admin.email == "dihal@example.org"


def test_a_request_can_be_withdrawn(app, client, as_, make_group):
    as_("member")
    group = make_group(is_open=False)
    client.post(f"/groups/{group.slug}/join-request", data={"message": ""})
    response = client.post(f"/groups/{group.slug}/join-request/withdraw", follow_redirects=True)
    assert "Your request is withdrawn." in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(JoinRequest.status)) == JoinRequestStatus.WITHDRAWN
    assert client.post(f"/groups/{group.slug}/join-request/withdraw").status_code == 404


DECIDERS = {
    "group_animator": 302,
    "admin": 302,
    "national_animator": 302,
    "plain_member_of_the_group": 403,
    "coordinator": 403,
    "requester": 403,
}


@pytest.mark.parametrize("decider, status", list(DECIDERS.items()))
def test_who_may_decide_join_requests(app, client, person, login, make_group, decider, status):
    animator, plain = person("member"), person("member")
    group = make_group(is_open=False, animators=[animator], members=[plain])
    requester = person("member")
    login(requester)
    client.post(f"/groups/{group.slug}/join-request", data={"message": ""})
    with app.app_context():
        request_id = db.session.scalar(select(JoinRequest.id))
    if decider != "requester":
        logout(client)
        login({"group_animator": animator, "plain_member_of_the_group": plain, "admin": person("admin"),
               "national_animator": person("animator"), "coordinator": person("coordinator", territory="lyon")}[decider])
    assert client.get(f"/groups/{group.slug}/requests").status_code == (200 if status == 302 else 403)
    assert client.post(f"/groups/{group.slug}/requests/{request_id}/accept").status_code == status
    assert (requester.id in member_ids(app, group)) == (status == 302)


def test_the_group_page_tells_moderators_of_waiting_requests(app, client, as_, person, login, make_group):
    animator = person("member")
    group = make_group(is_open=False, animators=[animator])
    as_("member")
    client.post(f"/groups/{group.slug}/join-request", data={"message": ""})
    logout(client)
    login(animator)
    assert "1 request to join is waiting for an answer" in text_of(client.get(f"/groups/{group.slug}"))


def test_notification_preference(app, client, as_, make_group):
    me = as_("member")
    group = make_group(members=[me])
    page = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    checked = re.findall(r'<input[^>]*\bchecked\b[^>]*>', page)
    assert len(checked) == 1 and 'value="each"' in checked[0]
    response = client.post(f"/groups/{group.slug}/notifications", data={"notification": "digest"}, follow_redirects=True)
    assert "Your email preference for this group is saved." in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(GroupMembership.notification).filter_by(user_id=me.id)) == NotificationPreference.DIGEST
    assert client.post(f"/groups/{group.slug}/notifications", data={"notification": "hourly"}).status_code == 400


# --- Closed groups are private --------------------------------------------------------------------

VIEWERS = {
    # viewer: may read the closed group's discussions
    "outsider_member": False,
    "outsider_coordinator": False,
    "member": True,
    "group_animator": True,
    "national_animator": True,
    "admin": True,
}


@pytest.fixture
def closed_group_with_a_thread(app, person, make_group, make_thread, client):
    """A closed group, a thread with a reply carrying an attachment, and its people."""
    member, animator = person("member", territory="lyon"), person("member", territory="nantes")
    group = make_group("Cercle restreint", is_open=False, members=[member], animators=[animator],
                       description="Groupe fermé sur le zèbre.")
    thread_id = make_thread(group, member, title="Fil confidentiel sur l'ornithorynque", body="Le secret de l'ornithorynque.")
    # An attachment, through the page.
    from .conftest import PASSWORD

    client.post("/auth/login", data={"email": member.email, "password": PASSWORD})
    response = client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Réponse avec kangourou",
                           "attachments": [(io.BytesIO(make.pdf("pièce jointe")), "Note.pdf")]}, content_type="multipart/form-data")
    assert response.status_code == 302
    logout(client)
    with app.app_context():
        from extranet.groups.models import MessageAttachment

        attachment_id = db.session.scalar(select(MessageAttachment.id))
    ids = message_ids(app, thread_id)
    return dict(group=group, thread_id=thread_id, member=member, animator=animator, attachment_id=attachment_id, message_ids=ids)


def _viewer(person, case, viewer):
    return {
        "outsider_member": lambda: person("member", territory="lyon"),
        "outsider_coordinator": lambda: person("coordinator", territory="lyon"),
        "member": lambda: case["member"],
        "group_animator": lambda: case["animator"],
        "national_animator": lambda: person("animator"),
        "admin": lambda: person("admin"),
    }[viewer]()


@pytest.mark.parametrize("viewer, reads", list(VIEWERS.items()))
def test_closed_group_discussions_are_for_members_and_the_national_team(app, client, person, login, closed_group_with_a_thread, viewer, reads):
    case = closed_group_with_a_thread
    user = _viewer(person, case, viewer)
    login(user)
    slug, thread_id = case["group"].slug, case["thread_id"]
    status = 200 if reads else 403
    for url in (f"/groups/threads/{thread_id}", f"/groups/{slug}/members", f"/groups/attachments/{case['attachment_id']}"):
        assert client.get(url).status_code == status, url
    assert client.get(f"/groups/messages/{case['message_ids'][1]}").status_code == (302 if reads else 403)
    # The group page itself is open to all, without its discussions.
    page = text_of(client.get(f"/groups/{slug}"))
    assert "Cercle restreint" in page and "Groupe fermé sur le zèbre." in page
    assert ("Fil confidentiel sur l'ornithorynque" in page) == reads
    assert ("A closed group" in page) == (not reads)
    # Nor anywhere else: the directory, the search page.
    directory = text_of(client.get("/groups/"))
    assert "ornithorynque" not in directory and ("1 thread" in directory) == reads  # not even how many
    assert ("2 members" in directory) == reads and ("member" in directory.split("Cercle restreint", 1)[1]) == reads
    results = text_of(client.get("/search?q=ornithorynque"))
    assert ("Fil confidentiel sur l'ornithorynque" in results) == reads
    assert (len(search_keys(app, user, "kangourou")) == 1) == reads
    # Writing is for members only.
    assert client.post(f"/groups/threads/{thread_id}/reply", data={"body": "intrusion"}).status_code in ((302, 403) if reads else (403,))


def test_open_group_discussions_are_readable_by_all_but_writing_needs_membership(app, client, as_, person, make_group, make_thread):
    author = person("member")
    group = make_group("Groupe ouvert", members=[author])
    thread_id = make_thread(group, author, title="Fil public", body="Contenu public sur le tamanoir")
    outsider = as_("member", territory="nantes")
    assert client.get(f"/groups/threads/{thread_id}").status_code == 200
    page = text_of(client.get(f"/groups/threads/{thread_id}"))
    assert "Only the members of the group can reply." in page and "Join the group" in page
    assert client.post(f"/groups/threads/{thread_id}/reply", data={"body": "Moi aussi"}).status_code == 403
    assert client.get(f"/groups/{group.slug}/threads/new").status_code == 403
    assert search_keys(app, outsider, "tamanoir") == [f"thread:{thread_id}"]


def test_anonymous_visitors_are_sent_to_login(app, client, make_group):
    group = make_group()
    for url in ("/groups/", f"/groups/{group.slug}", "/groups/threads/1", "/groups/attachments/1"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], url


def test_a_group_becoming_closed_takes_its_discussions_out_of_outsiders_search(app, client, as_, person, make_group, make_thread):
    member = person("member")
    group = make_group("Groupe qui se ferme", members=[member])
    thread_id = make_thread(group, member, title="Le fil du pangolin", body="Texte", replies=[(member, "Réponse sur le pangolin")])
    outsider = person("member", territory="nantes")
    assert len(search_keys(app, outsider, "pangolin")) == 2
    as_("admin")
    client.post(f"/groups/{group.slug}/edit", data={"name": group.name, "description": "", "access": "closed"})
    assert search_keys(app, outsider, "pangolin") == []
    assert len(search_keys(app, member, "pangolin")) == 2
    logout(client)
    from .conftest import PASSWORD

    client.post("/auth/login", data={"email": outsider.email, "password": PASSWORD})
    assert client.get(f"/groups/threads/{thread_id}").status_code == 403


def test_members_see_the_group_documents_and_outsiders_do_not(app, client, person, login, make_group):
    from extranet.toolbox.models import Document, DocumentType, Visibility

    member = person("member")
    group = make_group("Groupe documenté", is_open=False, members=[member])
    with app.app_context():
        document = Document(title="Note interne du groupe", summary="", type=DocumentType.MINUTES, visibility=Visibility.GROUP,
                            group_id=group.id, author_id=None)
        network = Document(title="Document de tout le réseau", summary="", type=DocumentType.GUIDE, visibility=Visibility.NETWORK)
        db.session.add_all([document, network])
        db.session.commit()
        document_id = document.id
    login(member)
    assert "Note interne du groupe" in text_of(client.get(f"/groups/{group.slug}"))
    assert "Document de tout le réseau" not in text_of(client.get(f"/groups/{group.slug}"))
    assert client.get(f"/toolbox/{document_id}").status_code == 200
    assert "Note interne du groupe" in text_of(client.get("/toolbox/"))
    logout(client)
    login(person("member"))
    assert client.get(f"/toolbox/{document_id}").status_code == 404
    assert "Note interne du groupe" not in text_of(client.get("/toolbox/"))
    # Leaving the group closes the document again.
    logout(client)
    login(member)
    client.post(f"/groups/{group.slug}/leave")
    assert client.get(f"/toolbox/{document_id}").status_code == 404


def test_an_archived_group_is_read_only(app, client, as_, person, make_group, make_thread):
    member = person("member")
    group = make_group("Groupe archivé", members=[member])
    thread_id = make_thread(group, member)
    as_("admin")
    client.post(f"/groups/{group.slug}/edit", data={"name": group.name, "description": "", "access": "open", "archived": "y"})
    logout(client)
    from .conftest import PASSWORD

    client.post("/auth/login", data={"email": member.email, "password": PASSWORD})
    page = text_of(client.get(f"/groups/threads/{thread_id}"))
    assert "This group is archived" in page
    assert client.post(f"/groups/threads/{thread_id}/reply", data={"body": "encore"}).status_code == 403
    assert client.get(f"/groups/{group.slug}/threads/new").status_code == 403
    logout(client)
    client.post("/auth/login", data={"email": person("member").email, "password": PASSWORD})
    assert client.post(f"/groups/{group.slug}/join").status_code == 403


def test_pages_of_a_group_are_paginated(app, client, as_, person, make_group):
    me = as_("member")
    group = make_group("Grand groupe", members=[me])
    bulk_threads(app, group, me, 45)
    first = client.get(f"/groups/{group.slug}").get_data(as_text=True)
    assert first.count('href="/groups/threads/') == 20
    assert f'href="/groups/{group.slug}?page=3"' in first
    third = client.get(f"/groups/{group.slug}?page=3").get_data(as_text=True)
    assert third.count('href="/groups/threads/') == 5
    assert "There is no thread on this page." in text_of(client.get(f"/groups/{group.slug}?page=9"))
    with app.app_context():
        for n in range(60):
            user = User(email=f"m{n}@example.org", name=f"Membre {n:02d}", role="member", password_hash="x")
            db.session.add(user)
            db.session.flush()
            db.session.add(GroupMembership(group_id=group.id, user_id=user.id))
        db.session.commit()
    members = text_of(client.get(f"/groups/{group.slug}/members"))
    assert "61 members" in members and "Membre 00" in members and "Membre 59" not in members
    assert "Membre 59" in text_of(client.get(f"/groups/{group.slug}/members?page=2"))


# --- Bounded SQL --------------------------------------------------------------------------------


def test_group_and_thread_pages_run_a_bounded_number_of_queries(app, client, as_, person, make_group, make_thread):
    """The same number of SQL queries with 10 or 1,000 threads in the group and messages in the thread."""
    me = as_("member")
    authors = [person("member", territory=t) for t in ("lyon", "nantes", "la-reunion")]
    group = make_group("Groupe mesuré", members=[me, *authors], animators=[authors[0]])
    thread_id = make_thread(group, authors[0], title="Le fil mesuré",
                            replies=[(authors[n % 3], f"Réponse {n}") for n in range(9)])
    bulk_threads(app, group, authors[1], 9)
    # Read once (the reading bookkeeping writes only when there is something new).
    for url in (f"/groups/{group.slug}", f"/groups/threads/{thread_id}", f"/groups/threads/{thread_id}?page=1"):
        client.get(url)
    urls = [f"/groups/{group.slug}", f"/groups/threads/{thread_id}", "/groups/", "/groups/mine"]
    few = {url: queries_for(app, client, url) for url in urls}

    bulk_threads(app, group, authors[2], 990)
    bulk_replies(app, thread_id, authors[1], 990)
    client.get(f"/groups/threads/{thread_id}?page=50")  # the last page: read to the end
    many = {url: queries_for(app, client, url) for url in urls}
    assert many == few, (few, many)
    assert max(few.values()) <= 25, few
    # A page deep in the long thread costs the same as the first.
    assert queries_for(app, client, f"/groups/threads/{thread_id}?page=37") == few[f"/groups/threads/{thread_id}"]
