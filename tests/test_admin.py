"""The administration area: who reaches what, invitations end to end (real
SMTP), accounts (deactivation, reactivation, role), territories, audit log.

Accounts made here speak English, so assertions read the source strings
whatever the French catalog says.
"""

import html as html_lib
import re
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from extranet import permissions
from extranet.admin import services as admin_services
from extranet.audit import AuditEvent, AuditEventKind
from extranet.auth import services as auth_services
from extranet.auth.models import Invitation, User
from extranet.extensions import db
from extranet.mail import MailStatus, OutgoingMail, send_pending
from extranet.roles import OrganisationType, Role
from extranet.territories.models import Territory

from .conftest import PASSWORD, csrf_token_from, free_port, wait_for
from .helpers import browser_login

EMAIL_IN_USE = "This address already has an account or a pending invitation."


# --- Helpers --------------------------------------------------------------------




def territory_id(app, slug) -> int:
    with app.app_context():
        return db.session.scalar(select(Territory.id).filter_by(slug=slug))


def get_user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def events(app, kind) -> list:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)))
        for event in found:
            db.session.expunge(event)
        return found


def pending_invitation(app, email) -> Invitation | None:
    with app.app_context():
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.email == email, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        )
        if invitation is not None:
            db.session.expunge(invitation)
        return invitation


def create_invitation(app, inviter, *, email, role=Role.MEMBER, territory="lyon"):
    """An invitation made through the service (the mail goes out on commit)."""
    with app.app_context():
        actor = db.session.get(User, inviter.id)
        tid = db.session.scalar(select(Territory.id).filter_by(slug=territory)) if territory else None
        with app.test_request_context():
            invitation = auth_services.invite(
                actor,
                email=email,
                name="Invited Person",
                role=role,
                territory_id=tid,
                organisation_type=OrganisationType.CCAS if role == Role.MEMBER else None,
            )
            db.session.commit()
        db.session.refresh(invitation)
        db.session.expunge(invitation)
        return invitation


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def errors_beside(response, field_id) -> str:
    """The error messages rendered right under a form field."""
    found = re.search(rf'<div class="fr-messages-group" id="{field_id}-messages"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S)
    assert found, f"no message area for {field_id}"
    return html_lib.unescape(found.group(1))


def select_options(response, field_id) -> list[str]:
    found = re.search(rf'<select[^>]*id="{field_id}"[^>]*>(.*?)</select>', response.get_data(as_text=True), re.S)
    assert found, f"no select {field_id}"
    return re.findall(r'<option[^>]*value="([^"]*)"', found.group(1))


def table_rows(response) -> int:
    body = re.search(r"<tbody>(.*?)</tbody>", response.get_data(as_text=True), re.S)
    return body.group(1).count("<tr>") if body else 0


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def english_client(app):
    """A fresh anonymous browser that asked for English pages."""
    browser = app.test_client()
    browser.post("/language", data={"language": "en", "next": "/auth/login"})
    return browser


def invitation_data(**overrides) -> dict:
    data = {
        "email": "new.person@example.org",
        "name": "New Person",
        "role": "member",
        "territory_id": "",
        "organisation_type": "association",
        "organisation": "Habitat et Humanisme",
    }
    data.update(overrides)
    return data


# --- Who reaches what --------------------------------------------------------------

PAGES = [
    "/admin/",
    "/admin/users",
    "/admin/users/{member}",
    "/admin/invitations",
    "/admin/invitations/new",
    "/admin/territories",
    "/admin/territories/{lyon}/edit",
    "/admin/audit",
    "/admin/mail",
]

# Expected status per viewer, in the order of PAGES. The coordinator is Lyon's;
# the member and the territory of the table are Lyon's too.
EXPECTED = {
    "admin": [200, 200, 200, 200, 200, 200, 200, 200, 200],
    "coordinator": [200, 200, 200, 200, 200, 200, 200, 403, 403],
    "other_coordinator": [200, 200, 403, 200, 200, 200, 403, 403, 403],
    "animator": [403] * 9,
    "member": [403] * 9,
    "anonymous": [302] * 9,
}
VIEWERS = {
    "admin": ("admin", None),
    "coordinator": ("coordinator", "lyon"),
    "other_coordinator": ("coordinator", "nantes"),
    "animator": ("animator", None),
    "member": ("member", "lyon"),
}


@pytest.mark.parametrize(
    "viewer, url, status",
    [(viewer, url, statuses[i]) for viewer, statuses in EXPECTED.items() for i, url in enumerate(PAGES)],
)
def test_who_reaches_which_admin_page(app, client, person, login, viewer, url, status):
    member = person("member", territory="lyon")
    if viewer != "anonymous":
        role, territory = VIEWERS[viewer]
        assert login(person(role, territory=territory)).status_code == 302
    response = client.get(url.format(member=member.id, lyon=territory_id(app, "lyon")))
    assert response.status_code == status
    if status == 302:
        assert urlsplit(response.headers["Location"]).path == "/auth/login"
    if status == 403:
        assert "Access denied" in text_of(response)


POSTS = [
    "/admin/users/{member}/deactivate",
    "/admin/users/{member}/reactivate",
    "/admin/users/{member}/role",
    "/admin/invitations/{invitation}/resend",
    "/admin/invitations/{invitation}/revoke",
    "/admin/territories/{lyon}/edit",
]


@pytest.mark.parametrize("viewer", ["other_coordinator", "animator", "member"])
@pytest.mark.parametrize("url", POSTS)
def test_actions_on_another_territory_are_forbidden(app, client, person, login, viewer, url):
    admin = person("admin")
    member = person("member", territory="lyon", active=False) if "reactivate" in url else person("member", territory="lyon")
    invitation = create_invitation(app, admin, email="someone@example.org")
    role, territory = VIEWERS[viewer]
    login(person(role, territory=territory))
    response = client.post(
        url.format(member=member.id, invitation=invitation.id, lyon=territory_id(app, "lyon")),
        data={"role": "member", "territory_id": str(territory_id(app, "nantes")), "organisation_type": "ccas", "name": "Hacked"},
    )
    assert response.status_code == 403
    assert get_user(app, member.id).role == Role.MEMBER
    assert pending_invitation(app, "someone@example.org") is not None
    with app.app_context():
        assert db.session.get(Territory, territory_id(app, "lyon")).name != "Hacked"


def test_admin_pages_only_answer_to_get_and_post_as_designed(app, client, as_, person):
    as_("admin")
    member = person("member")
    assert client.get(f"/admin/users/{member.id}/deactivate").status_code == 405
    assert client.get(f"/admin/users/{member.id}/role").status_code == 405
    assert client.get("/admin/users/999999").status_code == 404
    assert client.post("/admin/invitations/999999/revoke").status_code == 404
    assert client.get("/admin/territories/999999/edit").status_code == 404


def test_navigation_shows_administration_only_to_those_allowed(app, client, as_, person, login):
    as_("coordinator", territory="lyon")
    assert 'href="/admin/"' in client.get("/").get_data(as_text=True)
    animator = app.test_client()
    login(person("animator"), client=animator)
    assert 'href="/admin/"' not in animator.get("/").get_data(as_text=True)


def test_dashboard_counts_are_those_of_the_viewer(app, client, as_, person):
    admin = person("admin")
    person("member", territory="lyon")
    person("member", territory="lyon", active=False)
    person("member", territory="nantes")
    create_invitation(app, admin, email="invitee.lyon@example.org", territory="lyon")
    create_invitation(app, admin, email="invitee.nantes@example.org", territory="nantes")
    as_("coordinator", territory="lyon")
    page = text_of(client.get("/admin/"))
    assert "2 active accounts" in page  # the active Lyon member and the coordinator themselves
    assert "1 deactivated" in page
    assert "1 pending invitation" in page
    assert "1 territory" in page
    assert "Security log" not in page  # admins only
    assert "Outgoing mail" not in page and 'href="/admin/mail"' not in page
    assert 'href="/admin/invitations/new"' in page


def test_admin_dashboard_links_every_part(client, as_):
    as_("admin")
    page = client.get("/admin/").get_data(as_text=True)
    for url in ("/admin/users", "/admin/invitations", "/admin/invitations/new", "/admin/territories", "/admin/audit", "/admin/mail"):
        assert f'href="{url}"' in page
    assert "46 territories" in page


# --- Invitations ------------------------------------------------------------------


def test_invitation_end_to_end_through_real_mail(app, client, as_, mailbox):
    admin = as_("admin")
    lyon = territory_id(app, "lyon")
    form = client.get("/admin/invitations/new")
    assert form.status_code == 200
    response = client.post("/admin/invitations/new", data=invitation_data(email="New.Person@Example.org", territory_id=str(lyon)))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/invitations")

    assert wait_for(lambda: mailbox.to("new.person@example.org"))
    message = mailbox.to("new.person@example.org")[0]
    link = mailbox.link(message)
    assert "/auth/invitation/" in link

    # Pending in the list, with who invited and the territory.
    listing = text_of(client.get("/admin/invitations"))
    assert "new.person@example.org" in listing and admin.name in listing and "Lyon" in listing
    assert "Expired" not in listing

    invitee = english_client(app)
    assert invitee.get(path_of(link)).status_code == 200
    accepted = invitee.post(path_of(link), data={"name": "Nouvelle Personne", "password": PASSWORD, "confirm": PASSWORD})
    assert accepted.status_code == 302
    assert urlsplit(accepted.headers["Location"]).path == "/"
    home = invitee.get("/")
    assert home.status_code == 200 and "Nouvelle Personne" in text_of(home)

    with app.app_context():
        user = db.session.scalar(select(User).filter_by(email="new.person@example.org"))
        assert user.role == Role.MEMBER and user.territory_id == lyon
        assert user.organisation_type == OrganisationType.ASSOCIATION and user.organisation == "Habitat et Humanisme"
    assert "new.person@example.org" not in text_of(client.get("/admin/invitations"))
    assert [e.email for e in events(app, AuditEventKind.INVITATION_SENT)] == ["new.person@example.org"]


def test_resend_sends_a_new_link_and_kills_the_old_one(app, client, as_, mailbox):
    admin = as_("admin")
    invitation = create_invitation(app, admin, email="again@example.org")
    assert wait_for(lambda: mailbox.to("again@example.org"))
    old_link = mailbox.link(mailbox.to("again@example.org")[0])

    response = client.post(f"/admin/invitations/{invitation.id}/resend")
    assert response.status_code == 302
    assert wait_for(lambda: len(mailbox.to("again@example.org")) == 2)
    new_link = mailbox.link(mailbox.to("again@example.org")[1])
    assert new_link != old_link
    assert "A new invitation has been sent to again@example.org" in text_of(client.get("/admin/invitations"))

    invitee = english_client(app)
    dead = invitee.get(path_of(old_link))
    assert dead.status_code == 404 and "no longer valid" in text_of(dead)
    assert invitee.get(path_of(new_link)).status_code == 200
    assert len(events(app, AuditEventKind.INVITATION_RESENT)) == 1


def test_revoke_makes_the_link_invalid(app, client, as_, mailbox):
    admin = as_("admin")
    invitation = create_invitation(app, admin, email="revoked@example.org")
    assert wait_for(lambda: mailbox.to("revoked@example.org"))
    link = mailbox.link(mailbox.to("revoked@example.org")[0])

    page = client.get("/admin/invitations").get_data(as_text=True)
    # Revoking goes through a confirmation dialog that posts.
    assert f'aria-controls="confirm-revoke-{invitation.id}"' in page
    assert f'action="/admin/invitations/{invitation.id}/revoke"' in page

    assert client.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 302
    assert pending_invitation(app, "revoked@example.org") is None
    listing = text_of(client.get("/admin/invitations"))
    assert "The invitation of revoked@example.org is revoked" in listing  # the message
    assert "No pending invitation." in listing  # and no longer in the list

    dead = english_client(app).get(path_of(link))
    assert dead.status_code == 404
    assert "no longer valid" in text_of(dead)
    assert len(events(app, AuditEventKind.INVITATION_REVOKED)) == 1

    # Revoking twice changes nothing and says so.
    again = client.post(f"/admin/invitations/{invitation.id}/revoke", follow_redirects=True)
    assert "already been accepted or revoked" in text_of(again)
    assert len(events(app, AuditEventKind.INVITATION_REVOKED)) == 1


def test_expired_invitations_are_flagged_and_can_be_resent(app, client, as_, mailbox):
    admin = as_("admin")
    invitation = create_invitation(app, admin, email="late@example.org")
    with app.app_context():
        row = db.session.get(Invitation, invitation.id)
        row.expires_at = datetime(2020, 1, 1)
        db.session.commit()
    assert "Expired" in text_of(client.get("/admin/invitations"))
    assert client.post(f"/admin/invitations/{invitation.id}/resend").status_code == 302
    assert wait_for(lambda: len(mailbox.to("late@example.org")) == 2)
    assert "Expired" not in text_of(client.get("/admin/invitations")).split("<tbody>")[1]


def test_an_expired_invitation_is_not_resent_over_a_newer_one(app, client, as_, mailbox):
    admin = as_("admin")
    old = create_invitation(app, admin, email="twice@example.org")
    with app.app_context():
        db.session.get(Invitation, old.id).expires_at = datetime(2020, 1, 1)
        db.session.commit()
    create_invitation(app, admin, email="twice@example.org")  # the expired one no longer holds the address
    mailbox.clear()
    response = client.post(f"/admin/invitations/{old.id}/resend", follow_redirects=True)
    assert EMAIL_IN_USE in text_of(response)
    assert mailbox.to("twice@example.org") == []


def test_coordinator_invites_members_of_their_territory_only(app, client, as_, mailbox):
    coordinator = as_("coordinator", territory="lyon")
    lyon, nantes = territory_id(app, "lyon"), territory_id(app, "nantes")

    form = client.get("/admin/invitations/new")
    assert select_options(form, "role") == ["member"]
    assert select_options(form, "territory_id") == [str(lyon)]

    refused = client.post("/admin/invitations/new", data=invitation_data(email="a@example.org", territory_id=str(nantes)))
    assert refused.status_code == 403
    refused = client.post("/admin/invitations/new", data=invitation_data(email="b@example.org", role="coordinator", territory_id=str(lyon)))
    assert refused.status_code == 403
    refused = client.post("/admin/invitations/new", data=invitation_data(email="c@example.org", role="admin"))
    assert refused.status_code == 403
    assert mailbox.to("a@example.org") == mailbox.to("b@example.org") == mailbox.to("c@example.org") == []

    accepted = client.post("/admin/invitations/new", data=invitation_data(email="d@example.org", territory_id=str(lyon)))
    assert accepted.status_code == 302
    assert wait_for(lambda: mailbox.to("d@example.org"))
    invitation = pending_invitation(app, "d@example.org")
    assert invitation.role == Role.MEMBER and invitation.territory_id == lyon and invitation.invited_by_id == coordinator.id


def test_coordinator_manages_only_the_invitations_they_may_send(app, client, as_, person, mailbox):
    admin = person("admin")
    member_invitation = create_invitation(app, admin, email="member.lyon@example.org")
    coordinator_invitation = create_invitation(app, admin, email="coord.lyon@example.org", role=Role.COORDINATOR)
    other = create_invitation(app, admin, email="member.nantes@example.org", territory="nantes")
    as_("coordinator", territory="lyon")

    listing = client.get("/admin/invitations").get_data(as_text=True)
    assert "member.lyon@example.org" in listing and "coord.lyon@example.org" in listing
    assert "member.nantes@example.org" not in listing
    # The coordinator invitation is shown but cannot be resent or revoked by them.
    assert f"/admin/invitations/{member_invitation.id}/resend" in listing
    assert f"/admin/invitations/{coordinator_invitation.id}/resend" not in listing
    assert f"/admin/invitations/{coordinator_invitation.id}/revoke" not in listing

    assert client.post(f"/admin/invitations/{coordinator_invitation.id}/revoke").status_code == 403
    assert client.post(f"/admin/invitations/{other.id}/resend").status_code == 403
    assert client.post(f"/admin/invitations/{member_invitation.id}/resend").status_code == 302
    assert client.post(f"/admin/invitations/{member_invitation.id}/revoke").status_code == 302
    assert pending_invitation(app, "member.lyon@example.org") is None
    assert pending_invitation(app, "coord.lyon@example.org") is not None


@pytest.mark.parametrize("existing", ["account", "invitation"])
def test_duplicate_email_is_refused_case_insensitively(app, client, as_, person, mailbox, existing):
    admin = as_("admin")
    if existing == "account":
        person("member", email="taken@example.org")
    else:
        create_invitation(app, admin, email="taken@example.org")
    mailbox.clear()
    response = client.post(
        "/admin/invitations/new", data=invitation_data(email="  TAKEN@Example.ORG ", territory_id=str(territory_id(app, "lyon")))
    )
    assert response.status_code == 400
    assert EMAIL_IN_USE in errors_beside(response, "email")
    assert mailbox.messages == []
    with app.app_context():
        assert len(list(db.session.scalars(select(Invitation).where(Invitation.email == "taken@example.org")))) == (
            1 if existing == "invitation" else 0
        )


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"email": "not an address"}, "email", "Enter a valid email address"),
        ({"email": ""}, "email", "Enter an email address."),
        ({"name": "   "}, "name", "Enter a name."),
        ({"territory_id": ""}, "territory_id", "Choose the territory of this coordinator or member."),
        ({"organisation_type": ""}, "organisation_type", "Choose the type of organisation of this member."),
        ({"role": "admin"}, "territory_id", "A national role has no territory"),
        ({"role": "superuser"}, "role", "Choose a role from the list."),
        ({"territory_id": "999999"}, "territory_id", "Choose a territory from the list."),
        ({"organisation_type": "bank"}, "organisation_type", "Choose an organisation type from the list."),
    ],
)
def test_invalid_invitation_is_shown_again_with_the_error_beside_the_field(app, client, as_, mailbox, overrides, field, message):
    as_("admin")
    data = invitation_data(territory_id=str(territory_id(app, "lyon")))
    data.update(overrides)
    response = client.post("/admin/invitations/new", data=data)
    assert response.status_code == 400
    assert message in errors_beside(response, field)
    assert "The form has errors" in text_of(response)
    assert mailbox.messages == []


def test_admin_invites_a_national_animator_without_territory(app, client, as_, mailbox):
    as_("admin")
    response = client.post("/admin/invitations/new", data=invitation_data(email="anim@example.org", role="animator"))
    assert response.status_code == 302
    invitation = pending_invitation(app, "anim@example.org")
    assert invitation.role == Role.ANIMATOR and invitation.territory_id is None and invitation.organisation_type is None


# --- Accounts -----------------------------------------------------------------------


def test_deactivation_ends_open_sessions_and_blocks_login(app, client, as_, person, login):
    as_("admin")
    member = person("member", territory="lyon")
    theirs = app.test_client()
    assert login(member, client=theirs).status_code == 302
    remembered = app.test_client()
    assert login(member, client=remembered, remember=True).status_code == 302
    assert theirs.get("/").status_code == 200

    page = client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert 'aria-controls="confirm-deactivate"' in page
    assert f'action="/admin/users/{member.id}/deactivate"' in page

    response = client.post(f"/admin/users/{member.id}/deactivate")
    assert response.status_code == 302
    assert get_user(app, member.id).active is False

    kicked = theirs.get("/")
    assert kicked.status_code == 302 and urlsplit(kicked.headers["Location"]).path == "/auth/login"
    remembered.delete_cookie("extranet_session")
    assert remembered.get("/").status_code == 302  # the remember-me cookie died too
    assert login(member, client=app.test_client()).status_code != 302
    assert [e.target_user_id for e in events(app, AuditEventKind.USER_DEACTIVATED)] == [member.id]
    assert "Deactivated" in text_of(client.get(f"/admin/users/{member.id}"))


def test_reactivation_lets_the_person_log_in_again(app, client, as_, person, login):
    as_("admin")
    member = person("member", territory="lyon")
    client.post(f"/admin/users/{member.id}/deactivate")
    page = client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert f'action="/admin/users/{member.id}/reactivate"' in page
    assert f'action="/admin/users/{member.id}/deactivate"' not in page

    assert client.post(f"/admin/users/{member.id}/reactivate").status_code == 302
    assert get_user(app, member.id).active is True
    assert login(member, client=app.test_client()).status_code == 302
    assert [e.target_user_id for e in events(app, AuditEventKind.USER_REACTIVATED)] == [member.id]
    again = client.post(f"/admin/users/{member.id}/reactivate", follow_redirects=True)
    assert "already active" in text_of(again)
    assert len(events(app, AuditEventKind.USER_REACTIVATED)) == 1


def test_coordinator_deactivates_members_of_their_territory_only(app, client, as_, person):
    coordinator = as_("coordinator", territory="lyon")
    member = person("member", territory="lyon")
    colleague = person("coordinator", territory="lyon")
    outsider = person("member", territory="nantes")

    page = client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert "confirm-deactivate" in page
    assert 'action="/admin/users/%d/role"' % member.id not in page  # role changes are the admins'
    colleague_page = client.get(f"/admin/users/{colleague.id}").get_data(as_text=True)
    assert "confirm-deactivate" not in colleague_page
    assert "confirm-deactivate" not in client.get(f"/admin/users/{coordinator.id}").get_data(as_text=True)

    assert client.post(f"/admin/users/{colleague.id}/deactivate").status_code == 403
    assert client.post(f"/admin/users/{coordinator.id}/deactivate").status_code == 403
    assert client.post(f"/admin/users/{outsider.id}/deactivate").status_code == 403
    assert client.post(f"/admin/users/{member.id}/deactivate").status_code == 302
    assert get_user(app, member.id).active is False
    assert client.post(f"/admin/users/{member.id}/reactivate").status_code == 302
    assert get_user(app, member.id).active is True


def test_admin_cannot_lock_themselves_out(client, as_):
    admin = as_("admin")
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert "confirm-deactivate" not in page and f'action="/admin/users/{admin.id}/role"' not in page
    assert client.post(f"/admin/users/{admin.id}/deactivate").status_code == 403
    assert client.post(f"/admin/users/{admin.id}/role", data={"role": "member"}).status_code == 403


def test_role_change_is_saved_and_audited(app, client, as_, person):
    as_("admin")
    member = person("member", territory="lyon", organisation_type=OrganisationType.CAF)
    page = client.get(f"/admin/users/{member.id}")
    assert select_options(page, "role") == ["admin", "animator", "coordinator", "member"]
    lyon = territory_id(app, "lyon")

    response = client.post(f"/admin/users/{member.id}/role", data={"role": "coordinator", "territory_id": str(lyon), "organisation_type": "caf"})
    assert response.status_code == 302
    changed = get_user(app, member.id)
    assert changed.role == Role.COORDINATOR and changed.territory_id == lyon
    assert changed.organisation_type is None  # only members have one
    [event] = events(app, AuditEventKind.ROLE_CHANGED)
    assert event.target_user_id == member.id
    assert event.details == "member / lyon / caf -> coordinator / lyon"

    response = client.post(f"/admin/users/{member.id}/role", data={"role": "animator", "territory_id": ""})
    assert response.status_code == 302
    changed = get_user(app, member.id)
    assert changed.role == Role.ANIMATOR and changed.territory_id is None
    assert events(app, AuditEventKind.ROLE_CHANGED)[-1].details == "coordinator / lyon -> animator"

    # The same values again: nothing written.
    same = client.post(f"/admin/users/{member.id}/role", data={"role": "animator", "territory_id": ""}, follow_redirects=True)
    assert "Nothing to change" in text_of(same)
    assert len(events(app, AuditEventKind.ROLE_CHANGED)) == 2


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"role": "member", "territory_id": "", "organisation_type": "caf"}, "territory_id", "Choose the territory of this coordinator or member."),
        ({"role": "coordinator", "territory_id": ""}, "territory_id", "Choose the territory of this coordinator or member."),
        ({"role": "admin", "territory_id": "{lyon}"}, "territory_id", "A national role has no territory"),
        ({"role": "member", "territory_id": "{lyon}", "organisation_type": ""}, "organisation_type", "Choose the type of organisation of this member."),
        ({"role": "king", "territory_id": "{lyon}"}, "role", "Choose a role from the list."),
    ],
)
def test_invalid_role_change_is_refused_beside_the_field(app, client, as_, person, data, field, message):
    as_("admin")
    member = person("member", territory="nantes")
    data = {k: v.format(lyon=territory_id(app, "lyon")) for k, v in data.items()}
    response = client.post(f"/admin/users/{member.id}/role", data=data)
    assert response.status_code == 400
    assert message in errors_beside(response, field)
    unchanged = get_user(app, member.id)
    assert unchanged.role == Role.MEMBER and unchanged.territory_id == territory_id(app, "nantes")
    assert events(app, AuditEventKind.ROLE_CHANGED) == []


# --- User list ------------------------------------------------------------------------


@pytest.fixture
def nantes_people(app, person):
    """30 members in Nantes, "Nantes Person 01".."30"; every third one deactivated."""
    return [
        person("member", territory="nantes", name=f"Nantes Person {i:02d}", email=f"nantes{i:02d}@example.org", active=i % 3 != 0)
        for i in range(1, 31)
    ]


def test_user_list_is_paginated_by_25(app, client, as_, nantes_people):
    as_("admin")
    nantes = territory_id(app, "nantes")
    first = client.get(f"/admin/users?territory={nantes}")
    assert first.status_code == 200
    assert "30 accounts" in text_of(first)
    assert table_rows(first) == 25
    assert f"territory={nantes}" in re.search(r'href="([^"]*page=2[^"]*)"', first.get_data(as_text=True)).group(1)
    second = client.get(f"/admin/users?territory={nantes}&page=2")
    assert table_rows(second) == 5
    assert "Nantes Person 30" in text_of(second) and "Nantes Person 01" not in text_of(second)
    assert table_rows(client.get(f"/admin/users?territory={nantes}&page=9")) == 0


@pytest.mark.parametrize(
    "query, count",
    [
        ("status=inactive", 10),
        ("status=active", 20),
        ("q=PERSON 1", 10),  # case-insensitive, on the name: 10..19
        ("q=person 1&status=active", 7),  # 12, 15 and 18 are deactivated
        ("q=nantes05@", 1),  # on the email
        ("q=person 1&role=member&status=active", 7),
        ("q=person 1&role=coordinator", 0),
        ("role=member", 30),
        ("q=50%", 0),  # LIKE wildcards are plain characters
    ],
)
def test_user_list_filters_combine(app, client, as_, nantes_people, query, count):
    as_("admin")
    response = client.get(f"/admin/users?territory={territory_id(app, 'nantes')}&{query}")
    assert response.status_code == 200
    assert table_rows(response) == min(count, 25)
    if count == 0:
        assert "No account matches these filters." in text_of(response)
    else:
        assert f"{count} account" in text_of(response)


def test_coordinator_lists_only_their_territory(app, client, as_, person, nantes_people):
    person("member", territory="lyon", name="Lyon Person")
    person("admin", name="National Admin")
    as_("coordinator", territory="lyon")
    # The territory filter is the admins'; a coordinator's list stays on their territory.
    response = client.get(f"/admin/users?territory={territory_id(app, 'nantes')}")
    page = text_of(response)
    assert "Lyon Person" in page
    assert "Nantes Person" not in page and "National Admin" not in page
    assert 'id="filter-territory"' not in response.get_data(as_text=True)


def test_user_list_empty_state(client, as_):
    as_("admin")
    response = client.get("/admin/users?q=nobody-by-that-name")
    assert "No account matches these filters." in text_of(response)
    assert 'href="/admin/users"' in response.get_data(as_text=True)


def test_user_list_shows_status_and_links_to_pages(client, as_, person):
    as_("admin")
    person("member", territory="lyon", name="Dormant Member", active=False)
    page = client.get("/admin/users?status=inactive").get_data(as_text=True)
    assert "Dormant Member" in page and "Deactivated" in page
    assert "<caption>" in page and 'class="fr-table"' in page


# --- Territories ------------------------------------------------------------------


def territory_data(**overrides):
    data = {
        "name": "Métropole de Lyon",
        "description": "Premier territoire.\nDeuxième paragraphe.",
        "contact_email": "logement.dabord@grandlyon.example",
        "website": "https://www.grandlyon.example/logement-dabord",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("editor", ["admin", "coordinator"])
def test_territory_edit_by_admin_and_own_coordinator(app, client, as_, editor):
    as_(editor, territory="lyon" if editor == "coordinator" else None)
    lyon = territory_id(app, "lyon")
    form = client.get(f"/admin/territories/{lyon}/edit")
    assert form.status_code == 200
    response = client.post(f"/admin/territories/{lyon}/edit", data=territory_data())
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/territories/lyon"
    with app.app_context():
        territory = db.session.get(Territory, lyon)
        assert territory.name == "Métropole de Lyon"
        assert territory.description == "Premier territoire.\nDeuxième paragraphe."
        assert territory.contact_email == "logement.dabord@grandlyon.example"
        assert territory.website == "https://www.grandlyon.example/logement-dabord"
    detail = text_of(client.get("/territories/lyon"))
    assert "Deuxième paragraphe." in detail and "grandlyon.example" in detail


def test_territory_edit_by_another_coordinator_is_forbidden(app, client, as_):
    as_("coordinator", territory="nantes")
    lyon = territory_id(app, "lyon")
    assert client.get(f"/admin/territories/{lyon}/edit").status_code == 403
    assert client.post(f"/admin/territories/{lyon}/edit", data=territory_data(name="Pris")).status_code == 403
    listing = client.get("/admin/territories").get_data(as_text=True)
    assert f"/admin/territories/{lyon}/edit" not in listing
    assert f"/admin/territories/{territory_id(app, 'nantes')}/edit" in listing


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": "  "}, "name", "Enter the name of the territory."),
        ({"contact_email": "not-an-email"}, "contact_email", "Enter a valid email address"),
        ({"website": "javascript:alert(1)"}, "website", "Enter an address starting with https://"),
        ({"name": "x" * 201}, "name", "Field cannot be longer than 200 characters."),
    ],
)
def test_invalid_territory_edit_shows_the_error_beside_the_field(app, client, as_, overrides, field, message):
    as_("admin")
    lyon = territory_id(app, "lyon")
    response = client.post(f"/admin/territories/{lyon}/edit", data=territory_data(**overrides))
    assert response.status_code == 400
    assert message in errors_beside(response, field)
    with app.app_context():
        assert db.session.get(Territory, lyon).contact_email == ""


def test_admin_lists_every_territory(client, as_):
    as_("admin")
    response = client.get("/admin/territories")
    assert text_of(response).count("/edit") == 46


# --- Audit log ------------------------------------------------------------------------


def test_audit_log_lists_login_failures_with_the_address(app, client, as_, person):
    member = person("member", email="victim@example.org")
    attacker = app.test_client()
    attacker.post("/auth/login", data={"email": member.email, "password": "wrong guess"}, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    as_("admin")
    response = client.get("/admin/audit")
    assert response.status_code == 200
    page = text_of(response)
    assert "Login failed" in page and "203.0.113.7" in page and "victim@example.org" in page

    filtered = text_of(client.get("/admin/audit?kind=login_failed&q=203.0.113"))
    assert "203.0.113.7" in filtered
    by_email = text_of(client.get("/admin/audit?q=VICTIM@"))
    assert "203.0.113.7" in by_email
    other_kind = client.get("/admin/audit?kind=logout")
    assert "203.0.113.7" not in text_of(other_kind) and "No event matches these filters." in text_of(other_kind)


def test_audit_log_is_admin_only(client, as_):
    as_("coordinator", territory="lyon")
    assert client.get("/admin/audit").status_code == 403
    assert 'href="/admin/audit"' not in client.get("/admin/").get_data(as_text=True)


def test_audit_log_is_newest_first_paginated_by_50_in_the_viewer_time_zone(app, client, as_):
    as_("admin", timezone="Pacific/Noumea", language="fr")
    with app.app_context():
        for i in range(55):
            db.session.add(AuditEvent(kind=AuditEventKind.LOGIN_FAILED, email=f"x{i:02d}@example.org", ip="198.51.100.1",
                                      created_at=datetime(2024, 1, 15, 12, i)))
        db.session.commit()
    first = text_of(client.get("/admin/audit?kind=login_failed"))
    assert table_rows(client.get("/admin/audit?kind=login_failed")) == 50
    assert first.index("x54@example.org") < first.index("x53@example.org")
    assert "x04@example.org" not in first
    # 12:54 UTC is 23:54 in Nouméa (UTC+11), shown the French way.
    assert "15 janv. 2024, 23:54:00" in first
    second = client.get("/admin/audit?kind=login_failed&page=2")
    assert table_rows(second) == 5 and "x00@example.org" in text_of(second)


def test_audit_log_names_actor_and_target(app, client, as_, person):
    admin = as_("admin")
    member = person("member", name="Target Person")
    client.post(f"/admin/users/{member.id}/deactivate")
    page = text_of(client.get("/admin/audit?kind=user_deactivated"))
    assert "Account deactivated" in page and admin.name in page and "Target Person" in page and "127.0.0.1" in page


# --- Forms carry their token -----------------------------------------------------------


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def login_with_token(client, user):
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_admin_forms_carry_the_csrf_token(csrf_on, app, client, person, mailbox):
    login_with_token(client, person("admin"))
    member = person("member", territory="lyon")
    lyon = territory_id(app, "lyon")

    data = invitation_data(email="token@example.org", territory_id=str(lyon))
    assert client.post("/admin/invitations/new", data=data).status_code == 400
    token = csrf_token_from(client.get("/admin/invitations/new").get_data(as_text=True))
    assert client.post("/admin/invitations/new", data=dict(data, csrf_token=token)).status_code == 302

    assert client.post(f"/admin/users/{member.id}/deactivate").status_code == 400
    token = csrf_token_from(client.get(f"/admin/users/{member.id}").get_data(as_text=True))
    assert client.post(f"/admin/users/{member.id}/deactivate", data={"csrf_token": token}).status_code == 302

    invitation = pending_invitation(app, "token@example.org")
    token = csrf_token_from(client.get("/admin/invitations").get_data(as_text=True))
    assert client.post(f"/admin/invitations/{invitation.id}/resend").status_code == 400
    assert client.post(f"/admin/invitations/{invitation.id}/resend", data={"csrf_token": token}).status_code == 302

    token = csrf_token_from(client.get(f"/admin/territories/{lyon}/edit").get_data(as_text=True))
    assert client.post(f"/admin/territories/{lyon}/edit", data=dict(territory_data(), csrf_token=token)).status_code == 302

    fail_every_mail(app, app_config_of(app))
    outgoing = mail_rows(app)[0]
    token = csrf_token_from(client.get("/admin/mail").get_data(as_text=True))
    for url in (f"/admin/mail/{outgoing.id}/retry", "/admin/mail/retry-failed"):
        assert client.post(url).status_code == 400
        assert mail_rows(app)[0].status == MailStatus.FAILED
    assert client.post(f"/admin/mail/{outgoing.id}/retry", data={"csrf_token": token}).status_code == 302
    assert mail_rows(app)[0].status == MailStatus.PENDING


# --- Outgoing mail ---------------------------------------------------------------------


def app_config_of(app) -> dict:
    keys = ("ENV", "SECRET_KEY", "DATABASE_URL", "DATA_DIR", "MAIL_HOST", "MAIL_PORT", "PASSWORD_HASH_METHOD")
    return {key: app.config[key] for key in keys}


def fail_every_mail(app, config, attempts=1):
    """Run a worker whose mail server is down, with ``attempts`` tries allowed: the mails fail."""
    from extranet import create_app

    worker = create_app(dict(config, MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=attempts))
    try:
        while send_pending(worker):
            pass
    finally:
        with worker.app_context():
            db.engine.dispose()


def mail_rows(app) -> list[OutgoingMail]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_failed_mail_is_shown_to_admins_and_retry_now_sends_it(app, client, as_, mailbox):
    admin = as_("admin")
    create_invitation(app, admin, email="unlucky@example.org")
    fail_every_mail(app, app_config_of(app))
    (outgoing,) = mail_rows(app)
    assert outgoing.status == MailStatus.FAILED

    dashboard = text_of(client.get("/admin/"))
    assert "1 mail could not be sent" in dashboard and "1 failed mail" in dashboard
    assert 'href="/admin/mail?status=failed"' in client.get("/admin/").get_data(as_text=True)

    response = client.get("/admin/mail?status=failed")
    page = text_of(response)
    assert "unlucky@example.org" in page
    assert outgoing.subject and outgoing.subject in page
    assert "ConnectionRefusedError" in page and "Failed" in page
    assert table_rows(response) == 1

    response = client.post(f"/admin/mail/{outgoing.id}/retry?status=failed")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/mail?status=failed")
    assert "will be sent again" in text_of(client.get("/admin/mail"))
    (outgoing,) = mail_rows(app)
    assert (outgoing.status, outgoing.attempts) == (MailStatus.PENDING, 0)

    # The worker sends it at its next round; the invitation link works.
    (message,) = mailbox.to("unlucky@example.org")
    assert mail_rows(app)[0].status == MailStatus.SENT
    assert client.get(path_of(mailbox.link(message))).status_code == 200
    page = text_of(client.get("/admin/mail"))
    assert "Every mail has been sent." in page and "unlucky@example.org" not in page
    assert "could not be sent" not in text_of(client.get("/admin/"))
    # Nothing left to retry: said, not done twice.
    client.post(f"/admin/mail/{outgoing.id}/retry")
    assert "nothing to retry" in text_of(client.get("/admin/mail"))
    assert len(mailbox.to("unlucky@example.org")) == 1


def test_waiting_mails_show_their_next_attempt_and_last_error(app, client, as_):
    admin = as_("admin")
    create_invitation(app, admin, email="later@example.org")
    fail_every_mail(app, app_config_of(app), attempts=8)
    (outgoing,) = mail_rows(app)
    assert (outgoing.status, outgoing.attempts) == (MailStatus.PENDING, 1)
    response = client.get("/admin/mail?status=waiting")
    page = text_of(response)
    assert "later@example.org" in page and "Waiting" in page and "ConnectionRefusedError" in page
    assert "<time" in response.get_data(as_text=True)  # the next attempt
    assert "No failed mail." in text_of(client.get("/admin/mail?status=failed"))


def test_retry_every_failed_mail_at_once(app, client, as_, mailbox):
    admin = as_("admin")
    for n in range(3):
        create_invitation(app, admin, email=f"batch{n}@example.org")
    fail_every_mail(app, app_config_of(app))
    assert {row.status for row in mail_rows(app)} == {MailStatus.FAILED}
    assert client.post("/admin/mail/retry-failed").status_code == 302
    assert "3 failed mails will be sent again" in text_of(client.get("/admin/mail"))
    assert {row.status for row in mail_rows(app)} == {MailStatus.PENDING}
    assert sorted(m["To"] for m in mailbox.messages) == [f"batch{n}@example.org" for n in range(3)]
    client.post("/admin/mail/retry-failed")
    assert "No failed mail to send again." in text_of(client.get("/admin/mail"))


def test_outgoing_mail_list_is_paginated_by_50(app, client, as_):
    as_("admin")
    with app.app_context():
        for n in range(51):
            db.session.add(OutgoingMail(recipient=f"p{n}@example.org", subject="S", message=b"x", status=MailStatus.PENDING))
        db.session.commit()
    first = client.get("/admin/mail")
    assert table_rows(first) == 50 and "51 mails" in text_of(first)
    assert table_rows(client.get("/admin/mail?page=2")) == 1
    assert client.get("/admin/mail?status=nonsense&page=99999999999").status_code == 200


@pytest.mark.parametrize("viewer", ["coordinator", "animator", "member"])
def test_only_admins_see_and_retry_outgoing_mail(app, client, person, login, viewer):
    admin = person("admin")
    create_invitation(app, admin, email="secret.recipient@example.org")
    fail_every_mail(app, app_config_of(app))
    (outgoing,) = mail_rows(app)
    login(person(viewer, territory=None if viewer == "animator" else "lyon"))
    assert client.get("/admin/mail").status_code == 403
    assert client.post(f"/admin/mail/{outgoing.id}/retry").status_code == 403
    assert client.post("/admin/mail/retry-failed").status_code == 403
    assert mail_rows(app)[0].status == MailStatus.FAILED
    assert "secret.recipient@example.org" not in client.get("/admin/").get_data(as_text=True)


def test_outgoing_mail_actions_answer_only_post(client, as_):
    as_("admin")
    assert client.get("/admin/mail/1/retry").status_code == 405
    assert client.get("/admin/mail/retry-failed").status_code == 405
    assert client.post("/admin/mail/999999/retry").status_code == 404


# --- Services and predicates, without pages ---------------------------------------------


def test_services_flush_without_committing(app, person):
    admin, member = person("admin"), person("member")
    with app.app_context():
        actor, target = db.session.get(User, admin.id), db.session.get(User, member.id)
        token = target.session_token
        admin_services.deactivate_user(actor, target, ip="192.0.2.1")
        assert target.active is False and target.session_token != token
        db.session.rollback()
        assert db.session.get(User, member.id).active is True
        with pytest.raises(auth_services.ServiceError):
            admin_services.change_role(actor, db.session.get(User, member.id), role=Role.MEMBER, territory_id=None)


def _account(role, territory_id=None, id=1):
    return SimpleNamespace(id=id, role=role, territory_id=territory_id, is_authenticated=True, is_active=True)


def test_new_predicates():
    admin = _account(Role.ADMIN, id=1)
    coordinator = _account(Role.COORDINATOR, 7, id=2)
    stray_coordinator = _account(Role.COORDINATOR, None, id=3)
    member = _account(Role.MEMBER, 7, id=4)
    assert permissions.can_send_invitations(admin)
    assert permissions.can_send_invitations(coordinator)
    assert not permissions.can_send_invitations(stray_coordinator)
    assert not permissions.can_send_invitations(member)
    assert not permissions.can_send_invitations(_account(Role.ANIMATOR, id=5))
    assert permissions.can_reactivate_user(coordinator, member)
    assert not permissions.can_reactivate_user(coordinator, _account(Role.MEMBER, 8, id=6))
    assert not permissions.can_reactivate_user(admin, admin)
    assert not permissions.can_invite_user(stray_coordinator, SimpleNamespace(role=Role.MEMBER, territory_id=None))
    assert permissions.can_manage_outgoing_mail(admin)
    for viewer in (coordinator, member, _account(Role.ANIMATOR, id=5)):
        assert not permissions.can_manage_outgoing_mail(viewer)
    # Anonymous visitors (no ``id``) are simply refused.
    from flask_login import AnonymousUserMixin

    anonymous = AnonymousUserMixin()
    for predicate in (permissions.can_deactivate_user, permissions.can_reactivate_user, permissions.can_change_role_user,
                      permissions.can_view_user, permissions.can_send_invitations, permissions.can_manage_outgoing_mail):
        assert predicate(anonymous, member) is False


# --- In a real browser ---------------------------------------------------------------


@pytest.mark.browser
def test_deactivation_through_the_confirmation_dialog(live_server, page, person, app):
    admin = person("admin")
    member = person("member", territory="lyon", name="Sophie Bernard")
    browser_login(page, live_server, admin)

    page.goto(f"{live_server.url}/admin/users/{member.id}")
    dialog = page.locator("#confirm-deactivate")
    assert not dialog.is_visible()
    page.get_by_role("button", name="Deactivate the account").first.click()
    dialog.wait_for(state="visible")
    # Cancelling leaves the account alone.
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert get_user(app, member.id).active is True

    page.get_by_role("button", name="Deactivate the account").first.click()
    dialog.get_by_role("button", name="Yes, deactivate").click()
    page.wait_for_url(f"{live_server.url}/admin/users/{member.id}")
    assert page.get_by_role("status").filter(has_text="is deactivated").is_visible()
    assert get_user(app, member.id).active is False
    assert page.csp_violations == []
