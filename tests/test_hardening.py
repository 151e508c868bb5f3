"""Hostile or odd input gets a clear answer, never a 500 (findings of the
foundation's review)."""

import pytest
from sqlalchemy.orm.attributes import set_committed_value

from extranet.auth import services
from extranet.auth.models import Invitation, PasswordReset, User
from extranet.extensions import db
from extranet.roles import Role

from .conftest import PASSWORD
from .helpers import database


@pytest.mark.parametrize(
    "url, status",
    [
        ("/admin/users/99999999999999999999", 404),
        ("/admin/territories/99999999999999999999/edit", 404),
        ("/admin/users?page=99999999999999999999", 200),
        ("/admin/users?page=-3", 200),
        ("/admin/users?page=abc", 200),
        ("/admin/users?territory=99999999999999999999", 200),
        ("/admin/invitations?page=99999999999999999999", 200),
        ("/admin/audit?page=99999999999999999999", 200),
        ("/territories/?wave=99999999999999999999", 200),
        ("/territories/?wave=x", 200),
        ("/admin/users?q=a%00b", 400),
        ("/admin/audit?q=a%00b", 400),
    ],
)
def test_odd_query_parameters(client, logged_in, url, status):
    logged_in("admin")
    assert client.get(url).status_code == status


def test_pagination_links_keep_filters_and_nothing_else(client, logged_in, make_user):
    logged_in("admin")
    for n in range(27):
        make_user("member", name=f"Membre {n:02d}")
    response = client.get("/admin/users?role=member&endpoint=x&_external=1&_anchor=evil&_method=POST")
    assert response.status_code == 200
    html = response.get_data(as_text=True).split('class="fr-pagination fr-mt-4w"', 1)[1]
    assert 'href="/admin/users?page=2&amp;role=member"' in html or 'href="/admin/users?role=member&amp;page=2"' in html
    assert "evil" not in html and "_external" not in html and "http://localhost/admin/users?" not in html


@pytest.mark.parametrize("target", ["/a%0d%0aX-Injected:%20y", "/a\r\nX-Injected: y", "/\\evil.example"])
def test_redirect_targets_with_control_characters_go_home(client, make_user, target):
    user = make_user("member")
    response = client.post("/auth/login?next=" + target.replace("\r", "%0d").replace("\n", "%0a"), data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and "X-Injected" not in response.headers
    response = client.post("/language", data={"language": "en", "next": target})
    assert response.status_code == 302 and response.headers["Location"] in ("/", target.replace("\\", "%5C"))
    assert "X-Injected" not in response.headers


def test_method_not_allowed_says_which_methods_are(client):
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_pages_with_a_token_in_the_address_are_not_cached(client):
    for url in ("/auth/login", "/auth/invitation/whatever", "/auth/password/reset/whatever"):
        assert client.get(url).headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/extranet.css").headers.get("Cache-Control", "")


def test_an_invitation_accepted_twice_at_once_makes_one_account(app, make_user, mailbox):
    """Two submissions of one link that both loaded it before either committed."""
    admin = make_user("admin")
    with app.test_request_context():
        services.invite(db.session.get(User, admin.id), email="twice@example.org", name="Deux Fois", role=Role.ANIMATOR, territory_id=None)
        db.session.commit()
    with database(app) as session:
        invitation = session.scalar(db.select(Invitation).filter_by(email="twice@example.org"))
        stale_id = invitation.id
        services.accept_invitation(invitation, name="Premier", password=PASSWORD)
        session.commit()
    with database(app) as session:
        # The second request still holds the invitation as it was when it loaded it.
        stale = session.get(Invitation, stale_id)
        set_committed_value(stale, "accepted_at", None)  # as loaded before the first commit
        with pytest.raises(services.ServiceError):
            services.accept_invitation(stale, name="Second", password=PASSWORD)
        session.rollback()
        assert session.scalar(db.select(db.func.count(User.id)).filter_by(email="twice@example.org")) == 1


def test_a_reset_link_used_twice_at_once_works_once(app, client, make_user, mailbox):
    user = make_user("member")
    client.post("/auth/password/forgot", data={"email": user.email})
    with database(app) as session:
        reset = session.scalar(db.select(PasswordReset))
        services.reset_password(reset, "premier nouveau mot de passe")
        session.commit()
    with database(app) as session:
        stale = session.scalar(db.select(PasswordReset))
        set_committed_value(stale, "used_at", None)  # as loaded before the first commit
        with pytest.raises(services.ServiceError):
            services.reset_password(stale, "second nouveau mot de passe")
        session.rollback()
        assert session.get(User, user.id).check_password("premier nouveau mot de passe")


def test_deactivation_kills_pending_reset_links(app, client, make_user, logged_in, mailbox):
    member = make_user("member")
    client.post("/auth/password/forgot", data={"email": member.email})
    link = mailbox.link(mailbox.to(member.email)[0])
    logged_in("admin")
    client.post(f"/admin/users/{member.id}/deactivate")
    client.post(f"/admin/users/{member.id}/reactivate")
    client.post("/auth/logout")
    assert client.get(link.split("localhost", 1)[1]).status_code == 404


def test_audit_details_are_shown_in_french(client, make_user, login, logged_in):
    inactive = make_user("member", active=False)
    login(inactive)
    logged_in("admin")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "compte désactivé" in html and "inactive account" not in html
