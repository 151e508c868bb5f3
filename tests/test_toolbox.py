"""The document toolbox: publishing real files through the real form,
refusals, downloads and who may have them, versions, rights, browsing
(filters, sorts, pagination, counts), bounded SQL, search entries.

Accounts made here speak English, so assertions read the source strings
whatever the French catalog says.
"""

import html as html_lib
import io
import itertools
import re
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import func, select

from extranet import permissions, storage
from extranet.auth.models import User
from extranet.extensions import db
from extranet.search import get_engine
from extranet.files import FileFormat
from extranet.groups.models import Group, GroupMembership
from extranet.plan.models import Axis
from extranet.territories.models import Territory
from extranet.toolbox import services
from extranet.toolbox.models import Document, DocumentType, DocumentVersion, Visibility, visible_to

from . import files as make
from .conftest import csrf_token_from
from .helpers import browser_login, queries_for

# --- Helpers --------------------------------------------------------------------




def axis_id(app, number: int) -> int:
    with app.app_context():
        return db.session.scalar(select(Axis.id).where(Axis.number == number))


def territory_id(app, slug) -> int:
    with app.app_context():
        return db.session.scalar(select(Territory.id).filter_by(slug=slug))


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def errors_beside(response, field_id) -> str:
    """The error messages rendered right under a form field."""
    found = re.search(rf'<div class="fr-messages-group" id="{field_id}-messages"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S)
    assert found, f"no message area for {field_id}"
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def stored_files(app) -> list:
    """Every file kept in DATA_DIR/files (temporary files aside)."""
    root = storage_root(app)
    return sorted(p for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts) if root.exists() else []


def storage_root(app):
    from pathlib import Path

    return Path(app.config["DATA_DIR"]) / "files"


def count_documents(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Document.id)))


def form_data(app, **overrides) -> dict:
    data = {
        "title": "Guide de l'accompagnement",
        "summary": "Un guide pour accompagner les ménages vers le logement.",
        "type": "guide",
        "axes": [str(axis_id(app, 3))],
        "keywords": "accompagnement, bail glissant",
        "territory_id": "",
        "visibility": "network",
    }
    data.update(overrides)
    return data


def publish(client, app, content=None, name="Guide méthodologique.pdf", **overrides):
    data = form_data(app, **overrides)
    if content is not False:
        data["file"] = (io.BytesIO(make.pdf() if content is None else content), name)
    return client.post("/toolbox/new", data=data, content_type="multipart/form-data")


def document_id_from(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    found = re.fullmatch(r"/toolbox/(\d+)", urlsplit(response.headers["Location"]).path)
    assert found, response.headers["Location"]
    return int(found.group(1))


def get_document(app, document_id) -> Document | None:
    with app.app_context():
        document = db.session.get(Document, document_id)
        if document is None:
            return None
        document.versions, document.axes, document.current_version  # noqa: B018 (load before leaving)
        for version in document.versions:
            version.text  # noqa: B018
        db.session.expunge_all()
        return document


@pytest.fixture
def make_document(app):
    """make_document(author, title=..., content=..., name=..., **metadata) -> id, through the service."""
    counter = itertools.count(1)

    def factory(author, *, title=None, content=None, name="document.txt", type="guide", axes=(3,), territory=None,
                visibility="network", keywords="", created_at=None, downloads=0, group_id=None):
        n = next(counter)
        with app.app_context():
            actor = db.session.get(User, author.id)
            with app.test_request_context():
                upload = services.receive_upload(io.BytesIO(content or make.txt(f"Texte du document {n}")), name, 10**8)
                axis_ids = db.session.scalars(select(Axis.id).where(Axis.number.in_(axes))).all()
                document = services.publish(
                    actor,
                    title=title or f"Document {n}",
                    summary=f"Résumé du document {n}",
                    type=DocumentType(type),
                    axis_ids=axis_ids,
                    keywords=keywords,
                    territory_id=db.session.scalar(select(Territory.id).filter_by(slug=territory)) if territory else None,
                    visibility=Visibility.NETWORK,
                    upload=upload,
                )
                # Visibilities a user may not choose (groups) are set as the future code will.
                document.visibility = Visibility(visibility)
                document.group_id = group_id
                if created_at is not None:
                    document.created_at = document.updated_at = created_at
                document.download_count = downloads
                db.session.commit()
                return document.id

    return factory


# --- Publishing -------------------------------------------------------------------


def test_publish_a_pdf_through_the_form_and_read_it(app, client, as_):
    author = as_("member", territory="lyon")
    form = client.get("/toolbox/new")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="file"' in page
    # The author's territory is proposed.
    assert re.search(rf'<option selected value="{territory_id(app, "lyon")}"|<option value="{territory_id(app, "lyon")}" selected', page)

    content = make.pdf(f"Le {make.WORD} d'abord", pages=3)
    response = publish(client, app, content, territory_id=str(territory_id(app, "lyon")), axes=[str(axis_id(app, 3)), str(axis_id(app, 7))])
    document_id = document_id_from(response)

    document = get_document(app, document_id)
    assert document.title == "Guide de l'accompagnement" and document.author_id == author.id
    assert document.type == DocumentType.GUIDE and document.visibility == Visibility.NETWORK
    assert document.axis_numbers == (3, 7) and document.keyword_list == ["accompagnement", "bail glissant"]
    version = document.current_version
    assert (version.number, version.format, version.size, version.filename) == (1, FileFormat.PDF, len(content), "Guide méthodologique.pdf")
    assert make.WORD in version.text and version.extraction_error is None

    # Stored by content hash, never under the name it was sent with.
    import hashlib

    digest = hashlib.sha256(content).hexdigest()
    assert stored_files(app) == [storage_root(app) / digest[:2] / digest]
    assert version.sha256 == digest

    page = text_of(client.get(f"/toolbox/{document_id}"))
    assert "The document “Guide de l'accompagnement” is published." in page
    assert make.WORD in page  # the preview
    assert "Guide méthodologique.pdf" in page and "Methodological guide" in page
    assert "Axis 3" in page and "Axis 7" in page and "0 downloads" in page
    listing = text_of(client.get("/toolbox/"))
    assert "Guide de l'accompagnement" in listing and "1 document" in listing


@pytest.mark.parametrize("sample", list(make.SAMPLES))
def test_every_accepted_format_can_be_published(app, client, as_, sample):
    as_("member")
    maker, name, fmt, word = make.SAMPLES[sample]
    document_id = document_id_from(publish(client, app, maker(), name=name))
    document = get_document(app, document_id)
    assert document.current_version.format == FileFormat(fmt)
    assert document.current_version.filename == name
    page = text_of(client.get(f"/toolbox/{document_id}"))
    if word:
        assert word in document.current_version.text and word in page
        assert "Content not indexed" not in page
    else:
        assert document.current_version.text == ""
        assert "Content not indexed: the platform cannot read text in this format" in page


REFUSED = {
    "empty": (b"", "Vide.pdf", "This file is empty"),
    "exe named pdf": (make.exe(), "Guide.pdf", "This type of file is not accepted"),
    "zip": (make.zip_archive(), "Archive.zip", "This type of file is not accepted"),
    "macros": (make.docm(), "Fiche.docx", "This type of file is not accepted"),
    "excel 97": (make.xls_ole2(), "Tableau.xls", "This type of file is not accepted"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_files_get_an_error_beside_the_field_and_nothing_is_stored(app, client, as_, case):
    as_("member")
    content, name, message = REFUSED[case]
    response = publish(client, app, content, name=name)
    assert response.status_code == 400
    assert message in errors_beside(response, "file")
    assert stored_files(app) == [] and count_documents(app) == 0
    assert not list((storage_root(app) / ".tmp").glob("*"))  # not even a temporary copy


def test_no_file_at_all_is_an_error_beside_the_field(app, client, as_):
    as_("member")
    response = publish(client, app, content=False)
    assert response.status_code == 400
    assert "Choose the file to share." in errors_beside(response, "file")
    assert count_documents(app) == 0


@pytest.fixture
def small_limit(app_config):
    app_config["MAX_UPLOAD_MB"] = 1


def test_a_file_over_the_limit_is_refused_beside_the_field(small_limit, app, client, as_):
    as_("member")
    response = publish(client, app, b"a" * (1024 * 1024 + 512 * 1024), name="Gros.txt")
    assert response.status_code == 400
    assert "This file is larger than 1 MB" in errors_beside(response, "file")
    assert stored_files(app) == [] and count_documents(app) == 0


def test_a_request_far_over_the_limit_gets_a_friendly_413(small_limit, app, client, as_):
    as_("member")
    response = publish(client, app, b"a" * (3 * 1024 * 1024), name="Énorme.txt")
    assert response.status_code == 413
    page = text_of(response)
    assert 'class="fr-header"' in page and "larger than 1 MB" in page
    assert stored_files(app) == [] and count_documents(app) == 0


def test_a_pdf_named_docx_is_kept_as_a_pdf_and_offered_as_pdf(app, client, as_):
    as_("member")
    document_id = document_id_from(publish(client, app, make.pdf(), name="Rapport d'étape.docx"))
    version = get_document(app, document_id).current_version
    assert version.format == FileFormat.PDF and version.filename == "Rapport d'étape.pdf"
    response = client.get(f"/toolbox/{document_id}/download")
    assert response.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''Rapport%20d%27%C3%A9tape.pdf" in response.headers["Content-Disposition"]


def test_an_unreadable_file_is_kept_and_says_why_it_is_not_indexed(app, client, as_, caplog):
    as_("member")
    content = make.encrypted_pdf()
    with caplog.at_level("WARNING", logger="extranet.files"):
        document_id = document_id_from(publish(client, app, content, name="Confidentiel.pdf"))
    version = get_document(app, document_id).current_version
    assert version.format == FileFormat.PDF and version.text == "" and version.extraction_error.value == "encrypted"
    assert any("encrypted" in r.getMessage() for r in caplog.records)
    page = text_of(client.get(f"/toolbox/{document_id}"))
    assert "Content not indexed: the file is protected by a password" in page
    assert client.get(f"/toolbox/{document_id}/download").data == content


def test_form_errors_are_beside_their_fields_and_the_file_is_kept_aside(app, client, as_):
    as_("member")
    response = publish(client, app, make.docx(), name="Fiche action.docx", title="", axes=[], type="", summary="")
    assert response.status_code == 400
    assert "Enter the title of the document." in errors_beside(response, "title")
    assert "Write a short summary" in errors_beside(response, "summary")
    assert "Choose the type of document." in errors_beside(response, "type")
    assert "Choose at least one axis of the plan." in errors_beside(response, "axes")
    assert errors_beside(response, "file") == ""
    page = text_of(response)
    assert "File received: Fiche action.docx" in page
    assert stored_files(app) == [] and count_documents(app) == 0

    # Sending the form again without choosing the file again uses the one received.
    token = re.search(r'name="upload_token" type="hidden" value="([^"]+)"|id="upload_token" name="upload_token" type="hidden" value="([^"]+)"', response.get_data(as_text=True))
    token = next(g for g in token.groups() if g)
    data = form_data(app, upload_token=token)
    document_id = document_id_from(client.post("/toolbox/new", data=data, content_type="multipart/form-data"))
    version = get_document(app, document_id).current_version
    assert version.format == FileFormat.DOCX and version.filename == "Fiche action.docx" and make.WORD in version.text
    assert len(stored_files(app)) == 1


def test_a_file_kept_aside_is_only_for_the_person_who_sent_it(app, client, as_, person, login):
    as_("member")
    response = publish(client, app, make.docx(), name="Fiche.docx", title="")
    token = re.search(r'value="([^"]+)"[^>]*name="upload_token"|name="upload_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    token = next(g for g in token.groups() if g)
    other = app.test_client()
    login(person("member"), client=other)
    response = other.post("/toolbox/new", data=form_data(app, upload_token=token), content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose the file to share." in errors_beside(response, "file")
    forged = other.post("/toolbox/new", data=form_data(app, upload_token="forged.token"), content_type="multipart/form-data")
    assert forged.status_code == 400 and count_documents(app) == 0


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"type": "not-a-type"}, "type", "Choose a type from the list."),
        ({"axes": ["abc"]}, "axes", "Choose axes from the list."),
        ({"axes": ["999999"]}, "axes", "Choose axes from the list."),
        ({"territory_id": "999999"}, "territory_id", "Choose a territory from the list."),
        ({"territory_id": "x"}, "territory_id", "Choose a territory from the list."),
        ({"visibility": "group"}, "visibility", "Choose who can see the document."),
        ({"visibility": ""}, "visibility", "Choose who can see the document."),
        ({"title": "x" * 301}, "title", "at most 300"),
        ({"keywords": ", ".join(f"mot{i}" for i in range(25))}, "keywords", "At most 20 keywords."),
    ],
)
def test_hand_made_values_are_refused_beside_the_field(app, client, as_, overrides, field, message):
    as_("member")
    response = publish(client, app, **overrides)
    assert response.status_code == 400
    assert message in errors_beside(response, field)
    assert count_documents(app) == 0 and stored_files(app) == []


def test_forms_need_a_csrf_token(app_config, request):
    app_config["WTF_CSRF_ENABLED"] = True
    app = request.getfixturevalue("app")
    client = request.getfixturevalue("client")
    user = request.getfixturevalue("person")("member")
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    assert client.post("/auth/login", data={"email": user.email, "password": "un mot de passe solide", "csrf_token": token}).status_code == 302
    assert publish(client, app).status_code == 400
    assert count_documents(app) == 0
    token = csrf_token_from(client.get("/toolbox/new").get_data(as_text=True))
    response = publish(client, app, csrf_token=token)
    assert response.status_code == 302
    document_id = document_id_from(response)
    # Every other form of a document refuses a post without its token, and changes nothing.
    for url, data in (
        (f"/toolbox/{document_id}/edit", {"title": "Changé sans jeton"}),
        (f"/toolbox/{document_id}/versions/new", {"note": "v2", "file": (io.BytesIO(make.txt("v2")), "v2.txt")}),
        (f"/toolbox/{document_id}/delete", {}),
    ):
        assert client.post(url, data=data, content_type="multipart/form-data").status_code == 400, url
    with app.app_context():
        document = db.session.get(Document, document_id)
        assert document is not None and document.title != "Changé sans jeton" and len(document.versions) == 1


# --- Downloads and who may read ------------------------------------------------------------


def test_download_headers(app, client, as_):
    as_("member")
    content = make.docx()
    document_id = document_id_from(publish(client, app, content, name="Fiche d'expérience — été.docx"))
    response = client.get(f"/toolbox/{document_id}/download")
    assert response.status_code == 200
    assert response.data == content
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    encoded = re.search(r"filename\*=UTF-8''([^;]+)", disposition).group(1)
    assert unquote(encoded) == "Fiche d'expérience — été.docx"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    client.get(f"/toolbox/{document_id}/download")
    assert get_document(app, document_id).download_count == 2
    assert "2 downloads" in text_of(client.get(f"/toolbox/{document_id}"))


def test_a_text_file_is_never_shown_inline(app, client, as_):
    as_("member")
    document_id = document_id_from(publish(client, app, b"<script>alert(1)</script>\n", name="page.html"))
    response = client.get(f"/toolbox/{document_id}/download")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "page.html.txt" in response.headers["Content-Disposition"]
    # And its text is escaped in the preview.
    page = client.get(f"/toolbox/{document_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


# viewer -> (national document by someone else, network document, document of its territory: Lyon)
READ_RIGHTS = {
    "member": (404, 200, 404),
    "coordinator": (404, 200, 404),
    "member_of_its_territory": (404, 200, 200),
    "coordinator_of_its_territory": (404, 200, 200),
    "animator": (200, 200, 200),
    "admin": (200, 200, 200),
    "author": (200, 200, 200),
}
VIEWERS = {
    "member": ("member", "nantes"),
    "coordinator": ("coordinator", "nantes"),
    "member_of_its_territory": ("member", "lyon"),
    "coordinator_of_its_territory": ("coordinator", "lyon"),
    "animator": ("animator", None),
    "admin": ("admin", None),
}


@pytest.mark.parametrize("visibility", ["national", "network", "territory"])
@pytest.mark.parametrize("viewer", list(READ_RIGHTS))
def test_who_may_read_and_download(app, client, person, login, make_document, viewer, visibility):
    author = person("member", territory="lyon")
    document_id = make_document(author, visibility=visibility, territory="lyon", title="Note confidentielle")
    status = READ_RIGHTS[viewer][["national", "network", "territory"].index(visibility)]
    if viewer == "author":
        login(author)
    else:
        role, territory = VIEWERS[viewer]
        login(person(role, territory=territory))
    for url in (f"/toolbox/{document_id}", f"/toolbox/{document_id}/download"):
        assert client.get(url).status_code == status, url
    listing = text_of(client.get("/toolbox/"))
    assert ("Note confidentielle" in listing) == (status == 200)
    assert ("Note confidentielle" in text_of(client.get("/"))) == (status == 200)


def test_anonymous_visitors_are_sent_to_login(app, client, person, make_document):
    document_id = make_document(person("member"))
    for url in ("/toolbox/", f"/toolbox/{document_id}", f"/toolbox/{document_id}/download", "/toolbox/new"):
        response = client.get(url)
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/auth/login"


def test_unknown_documents_and_versions_are_404(app, client, as_, person, make_document):
    as_("member")
    document_id = make_document(person("member"))
    other_id = make_document(person("member"))
    other_version = get_document(app, other_id).current_version_id
    for url in ("/toolbox/999999", "/toolbox/99999999999999", "/toolbox/999999/download",
                f"/toolbox/{document_id}/versions/{other_version}/download", f"/toolbox/{document_id}/versions/999999/download"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/toolbox/{document_id}/delete").status_code == 405


def test_a_missing_stored_file_is_a_404_not_a_crash(app, client, as_):
    as_("member")
    document_id = document_id_from(publish(client, app))
    for path in stored_files(app):
        path.unlink()
    assert client.get(f"/toolbox/{document_id}/download").status_code == 404


ROLES_AND_USERS = [
    ("admin", None, True),
    ("animator", None, True),
    ("coordinator", "lyon", True),
    ("member", "lyon", True),
    ("member", "lyon", False),  # deactivated
    ("coordinator", "nantes", True),
    ("member", "nantes", True),
]


def test_the_sql_filter_and_can_view_document_always_agree(app, person):
    """Every role x territory x visibility x document's territory x authorship:
    the list filter says what the page check says."""
    from extranet.auth.services import create_user
    from extranet.roles import OrganisationType, Role

    with app.app_context():
        lyon = db.session.scalar(select(Territory.id).filter_by(slug="lyon"))
        nantes = db.session.scalar(select(Territory.id).filter_by(slug="nantes"))
        users = []
        for n, (role, territory, active) in enumerate(ROLES_AND_USERS):
            users.append(create_user(email=f"u{n}@example.org", password="un mot de passe solide", name=f"U{n}", role=Role(role),
                                     territory_id={"lyon": lyon, "nantes": nantes}.get(territory),
                                     organisation_type=OrganisationType.CCAS if role == "member" else None, active=active))
        group = Group(name="Groupe", slug="groupe")
        db.session.add(group)
        db.session.flush()
        db.session.add(GroupMembership(group=group, user=users[3]))  # the active member belongs to it
        db.session.flush()
        axis = db.session.scalar(select(Axis).where(Axis.number == 1))
        cases = [(v, g, a, t) for v in Visibility for g in (None, group.id) for a in [None] + [u.id for u in users]
                 for t in (None, lyon, nantes)]
        for n, (visibility, group_id, author_id, territory_id) in enumerate(cases):
            document = Document(title=f"D{n}", summary="", type=DocumentType.OTHER, visibility=visibility, group_id=group_id,
                                author_id=author_id, territory_id=territory_id)
            document.axes = [axis]
            db.session.add(document)
        db.session.commit()

        from flask_login import AnonymousUserMixin

        documents = list(db.session.scalars(select(Document)))
        checked = 0
        for user in users + [AnonymousUserMixin()]:
            seen = set(db.session.scalars(select(Document.id).where(visible_to(user))))
            for document in documents:
                assert (document.id in seen) == permissions.can_view_document(user, document), (
                    getattr(user, "role", "anonymous"), getattr(user, "active", None), getattr(user, "territory_id", None),
                    document.visibility, document.group_id, document.territory_id, document.author_id == getattr(user, "id", None))
                checked += 1
        assert checked == len(documents) * (len(users) + 1)


def test_group_members_see_their_group_documents_in_lists_too(app, person):
    """A member of a working group holds the group's token: its "group" documents, and no other group's."""
    member = person("member")
    with app.app_context():
        user = db.session.get(User, member.id)
        mine, theirs = Group(name="Le mien", slug="le-mien"), Group(name="Un autre", slug="un-autre")
        db.session.add_all([mine, theirs, GroupMembership(group=mine, user=user)])
        db.session.flush()
        db.session.expire(user, ["memberships"])
        assert user.group_ids == {mine.id}
        document = Document(title="G", summary="", type=DocumentType.OTHER, visibility=Visibility.GROUP, group_id=mine.id)
        other = Document(title="H", summary="", type=DocumentType.OTHER, visibility=Visibility.GROUP, group_id=theirs.id)
        db.session.add_all([document, other])
        db.session.flush()
        assert set(db.session.scalars(select(Document.title).where(visible_to(user)))) == {"G"}
        assert permissions.can_view_document(user, document) and not permissions.can_view_document(user, other)
        db.session.rollback()


# --- Versions ---------------------------------------------------------------------------------


def test_new_versions_keep_the_old_ones_downloadable(app, client, as_):
    author = as_("member")
    first = make.pdf("première version")
    document_id = document_id_from(publish(client, app, first, name="Bilan.pdf"))
    assert client.get(f"/toolbox/{document_id}/versions/new").status_code == 200

    second = make.docx("deuxième version du bilan")
    response = client.post(f"/toolbox/{document_id}/versions/new", data={"note": "Chiffres 2024 ajoutés", "file": (io.BytesIO(second), "Bilan 2024.docx")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    document = get_document(app, document_id)
    assert [v.number for v in document.versions] == [2, 1]
    current = document.current_version
    assert (current.number, current.format, current.note, current.author_id) == (2, FileFormat.DOCX, "Chiffres 2024 ajoutés", author.id)
    assert "deuxième version" in current.text

    page = text_of(client.get(f"/toolbox/{document_id}"))
    assert "Version 2 of the document is online." in page
    assert "Chiffres 2024 ajoutés" in page and "Bilan 2024.docx" in page and "Bilan.pdf" in page
    assert "deuxième version" in page and "première version" not in page  # the preview is the current version's
    assert page.count(author.name) >= 2

    # The document downloads its current version; every version stays available.
    assert client.get(f"/toolbox/{document_id}/download").data == second
    for version, content in zip(sorted(document.versions, key=lambda v: v.number), (first, second)):
        response = client.get(f"/toolbox/{document_id}/versions/{version.id}/download")
        assert response.status_code == 200 and response.data == content
    assert len(stored_files(app)) == 2

    listing = text_of(client.get("/toolbox/"))
    assert "Word (DOCX)" in listing and "1 document" in listing


def test_a_new_version_needs_a_file_and_a_note(app, client, as_):
    as_("member")
    document_id = document_id_from(publish(client, app))
    response = client.post(f"/toolbox/{document_id}/versions/new", data={"note": ""}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Say in a few words what changed" in errors_beside(response, "note")
    assert "Choose the file to share." in errors_beside(response, "file")
    response = client.post(f"/toolbox/{document_id}/versions/new", data={"note": "x", "file": (io.BytesIO(make.exe()), "v2.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "not accepted" in errors_beside(response, "file")
    assert len(get_document(app, document_id).versions) == 1 and len(stored_files(app)) == 1


def test_the_same_content_is_stored_once(app, client, as_):
    as_("member")
    content = make.pdf()
    one = document_id_from(publish(client, app, content, name="Un.pdf"))
    two = document_id_from(publish(client, app, content, name="Deux.pdf"))
    assert len(stored_files(app)) == 1
    assert get_document(app, one).current_version.sha256 == get_document(app, two).current_version.sha256


# --- Edit and delete rights --------------------------------------------------------------------

# viewer -> may change a network document written by a Lyon member about Lyon
CHANGE_RIGHTS = {
    "author": True,
    "coordinator_of_its_territory": True,
    "coordinator_of_another_territory": False,
    "member_of_its_territory": False,
    "animator": True,
    "admin": True,
}
CHANGERS = {
    "coordinator_of_its_territory": ("coordinator", "lyon"),
    "coordinator_of_another_territory": ("coordinator", "nantes"),
    "member_of_its_territory": ("member", "lyon"),
    "animator": ("animator", None),
    "admin": ("admin", None),
}


@pytest.mark.parametrize("viewer", list(CHANGE_RIGHTS))
def test_who_may_edit_version_and_delete(app, client, person, login, make_document, viewer):
    author = person("member", territory="lyon")
    document_id = make_document(author, territory="lyon", title="Fiche de Lyon")
    login(author if viewer == "author" else person(*CHANGERS[viewer][:1], territory=CHANGERS[viewer][1]))
    allowed = CHANGE_RIGHTS[viewer]
    page = client.get(f"/toolbox/{document_id}").get_data(as_text=True)
    assert (f'href="/toolbox/{document_id}/edit"' in page) == allowed
    assert (f'action="/toolbox/{document_id}/delete"' in page) == allowed
    assert (f'href="/toolbox/{document_id}/versions/new"' in page) == allowed

    assert client.get(f"/toolbox/{document_id}/edit").status_code == (200 if allowed else 403)
    assert client.get(f"/toolbox/{document_id}/versions/new").status_code == (200 if allowed else 403)
    edited = client.post(f"/toolbox/{document_id}/edit", data=form_data(app, title="Titre changé", territory_id=str(territory_id(app, "lyon"))))
    assert edited.status_code == (302 if allowed else 403)
    version = client.post(f"/toolbox/{document_id}/versions/new", data={"note": "v2", "file": (io.BytesIO(make.txt("v2")), "v2.txt")},
                          content_type="multipart/form-data")
    assert version.status_code == (302 if allowed else 403)
    document = get_document(app, document_id)
    assert (document.title == "Titre changé") == allowed and (len(document.versions) == 2) == allowed

    assert client.post(f"/toolbox/{document_id}/delete").status_code == (302 if allowed else 403)
    assert (get_document(app, document_id) is None) == allowed


def test_edit_the_description(app, client, as_):
    as_("member", territory="lyon")
    document_id = document_id_from(publish(client, app))
    form = client.get(f"/toolbox/{document_id}/edit")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert 'value="Guide de l&#39;accompagnement"' in page and 'name="file"' not in page
    assert f'value="{axis_id(app, 3)}" checked' in page

    response = client.post(f"/toolbox/{document_id}/edit", data=form_data(
        app, title="Nouveau titre", type="study", axes=[str(axis_id(app, 1)), str(axis_id(app, 16))], keywords="santé; santé, logement",
        territory_id=str(territory_id(app, "lyon")), visibility="national"))
    assert response.status_code == 302
    document = get_document(app, document_id)
    assert (document.title, document.type, document.axis_numbers, document.keyword_list, document.visibility) == (
        "Nouveau titre", DocumentType.STUDY, (1, 16), ["santé", "logement"], Visibility.NATIONAL)
    assert document.territory_id == territory_id(app, "lyon")
    assert "The document is saved." in text_of(client.get(f"/toolbox/{document_id}"))

    again = client.post(f"/toolbox/{document_id}/edit", data=form_data(
        app, title="Nouveau titre", type="study", axes=[str(axis_id(app, 1)), str(axis_id(app, 16))], keywords="santé, logement",
        territory_id=str(territory_id(app, "lyon")), visibility="national"), follow_redirects=True)
    assert "Nothing to save" in text_of(again)

    refused = client.post(f"/toolbox/{document_id}/edit", data=form_data(app, axes=[], title=" "))
    assert refused.status_code == 400
    assert "Choose at least one axis" in errors_beside(refused, "axes")
    assert "Enter the title" in errors_beside(refused, "title")
    assert get_document(app, document_id).title == "Nouveau titre"


def test_delete_removes_the_document_and_its_unshared_files(app, client, as_):
    as_("member")
    shared = make.pdf("contenu partagé")
    kept_id = document_id_from(publish(client, app, shared, name="Gardé.pdf", title="Gardé"))
    document_id = document_id_from(publish(client, app, shared, name="Copie.pdf", title="Supprimé"))
    client.post(f"/toolbox/{document_id}/versions/new", data={"note": "v2", "file": (io.BytesIO(make.odt()), "v2.odt")},
                content_type="multipart/form-data")
    assert len(stored_files(app)) == 2
    age_files(app, hours=2)  # files used by no upload in progress

    page = client.get(f"/toolbox/{document_id}").get_data(as_text=True)
    assert 'aria-controls="confirm-delete"' in page and f'action="/toolbox/{document_id}/delete"' in page
    response = client.post(f"/toolbox/{document_id}/delete", follow_redirects=True)
    assert response.status_code == 200 and "The document “Supprimé” and its versions are deleted." in text_of(response)
    assert client.get(f"/toolbox/{document_id}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(DocumentVersion.id)).where(DocumentVersion.document_id == document_id)) == 0
    # The ODT went with it; the PDF stays, another document has the same content.
    files = stored_files(app)
    assert len(files) == 1 and files[0].read_bytes() == shared
    assert client.get(f"/toolbox/{kept_id}/download").data == shared


def age_files(app, hours):
    import os
    import time

    for path in stored_files(app):
        past = time.time() - hours * 3600
        os.utime(path, (past, past))


def test_deletion_spares_a_file_an_upload_in_progress_is_reusing(app, client, as_):
    """Files are shared by content: a document deleted while someone uploads the
    same content must not take that person's file away before their commit."""
    as_("member")
    content = make.pdf("contenu en cours de dépôt")
    document_id = document_id_from(publish(client, app, content, name="Ancien.pdf", title="Ancien"))
    age_files(app, hours=2)
    with app.app_context(), app.test_request_context():
        services.receive_upload(io.BytesIO(content), "Nouveau.pdf", 10**8).staged.keep()  # the other upload keeps it, not yet committed
    client.post(f"/toolbox/{document_id}/delete")
    assert [p.read_bytes() for p in stored_files(app)] == [content]


# --- Browsing ---------------------------------------------------------------------------------------


def ids_listed(client, query="") -> list[str]:
    page = client.get(f"/toolbox/{query}")
    assert page.status_code == 200
    return re.findall(r'<h2 class="fr-card__title"><a href="/toolbox/\d+">([^<]+)</a>', text_of(page))


def test_filters_combine(app, client, as_, person, make_document):
    viewer = as_("animator")
    author = person("member", territory="lyon")
    make_document(author, title="Guide Lyon PDF axe 3", type="guide", axes=(3,), territory="lyon", content=make.pdf(), name="a.pdf",
                  created_at=datetime(2023, 5, 1))
    make_document(author, title="Guide Lyon TXT axe 3 et 5", type="guide", axes=(3, 5), territory="lyon", created_at=datetime(2024, 5, 1))
    make_document(author, title="Etude Nantes axe 5", type="study", axes=(5,), territory="nantes", created_at=datetime(2024, 6, 1))
    make_document(author, title="Guide national axe 3", type="guide", axes=(3,), visibility="national", created_at=datetime(2024, 7, 1))
    make_document(viewer, title="Compte rendu sans territoire", type="minutes", axes=(1,), created_at=datetime(2022, 1, 1))
    lyon, nantes = territory_id(app, "lyon"), territory_id(app, "nantes")

    assert len(ids_listed(client)) == 5
    assert set(ids_listed(client, "?type=guide")) == {"Guide Lyon PDF axe 3", "Guide Lyon TXT axe 3 et 5", "Guide national axe 3"}
    assert set(ids_listed(client, "?type=guide&axis=5")) == {"Guide Lyon TXT axe 3 et 5"}
    assert set(ids_listed(client, f"?axis=3&territory={lyon}")) == {"Guide Lyon PDF axe 3", "Guide Lyon TXT axe 3 et 5"}
    assert set(ids_listed(client, f"?axis=3&territory={lyon}&format=pdf")) == {"Guide Lyon PDF axe 3"}
    assert set(ids_listed(client, "?year=2024&type=guide")) == {"Guide Lyon TXT axe 3 et 5", "Guide national axe 3"}
    assert set(ids_listed(client, "?visibility=national")) == {"Guide national axe 3"}
    assert ids_listed(client, f"?territory={nantes}&type=guide") == []
    assert "No document matches these filters." in text_of(client.get(f"/toolbox/?territory={nantes}&type=guide"))

    # Each option tells how many documents it would give, the other filters applied.
    page = text_of(client.get("/toolbox/?type=guide"))
    assert "3 documents" in page
    assert re.search(r'<option value="study">Study / evaluation \(1\)</option>', page)
    assert re.search(r'<option value="3">Axis 3 — [^<]* \(3\)</option>', page)
    assert re.search(r'<option value="5">Axis 5 — [^<]* \(1\)</option>', page)
    assert re.search(rf'<option value="{lyon}">[^<]* \(2\)</option>', page)
    assert re.search(r'<option value="2024">2024 \(2\)</option>', page)
    assert re.search(r'<option value="pdf">PDF \(1\)</option>', page)


def test_odd_filter_values_are_ignored(app, client, as_, person, make_document):
    as_("member")
    make_document(person("member"), title="Seul document")
    for query in ("?type=zzz", "?axis=abc", "?axis=99999999999", "?year=0", "?year=99999", "?territory=-1", "?format=exe",
                  "?visibility=secret", "?sort=drop%20table", "?page=-3", "?page=99999999999", "?axis=2&page=abc"):
        response = client.get(f"/toolbox/{query}")
        assert response.status_code == 200, query


def test_sorts(app, client, as_, person, make_document):
    as_("member")
    author = person("member")
    now = datetime(2024, 1, 1)
    make_document(author, title="Bravo", created_at=now, downloads=5)
    make_document(author, title="alpha", created_at=now + timedelta(days=2), downloads=1)
    make_document(author, title="Charlie", created_at=now + timedelta(days=1), downloads=9)
    assert ids_listed(client) == ["alpha", "Charlie", "Bravo"]
    assert ids_listed(client, "?sort=newest") == ["alpha", "Charlie", "Bravo"]
    assert ids_listed(client, "?sort=title") == ["alpha", "Bravo", "Charlie"]
    assert ids_listed(client, "?sort=downloads") == ["Charlie", "Bravo", "alpha"]


def bulk_documents(app, author, count, *, start=0, visibility=Visibility.NETWORK, axes=(1, 2), territory="lyon"):
    """Many documents at once, straight into the database, sharing one stored file."""
    with app.app_context(), app.test_request_context():
        digest = storage.store_bytes(b"contenu commun\n")
        axis_rows = list(db.session.scalars(select(Axis).where(Axis.number.in_(axes))))
        tid = db.session.scalar(select(Territory.id).filter_by(slug=territory)) if territory else None
        base = datetime(2024, 1, 1)
        for n in range(start, start + count):
            document = Document(title=f"Document {n:04d}", summary=f"Résumé {n}", type=list(DocumentType)[n % 9], visibility=visibility,
                                author_id=author.id, territory_id=tid, created_at=base + timedelta(hours=n), updated_at=base + timedelta(hours=n),
                                download_count=n % 7)
            document.axes = axis_rows
            version = DocumentVersion(number=1, sha256=digest, size=15, format=FileFormat.TXT, filename=f"d{n}.txt", author_id=author.id,
                                      text=f"contenu {n}")
            document.versions.append(version)
            document.current_version = version
            db.session.add(document)
        db.session.commit()


def bulk_documents_sql(app, author, count, *, start=0, axes=(1, 2), territory="lyon"):
    """Thousands of network documents in plain SQL inserts (no ORM, hence no
    indexing): only the pages' SQL is measured with them."""
    from extranet.toolbox.models import document_axis

    with app.app_context(), app.test_request_context():
        digest = storage.store_bytes(b"contenu commun\n")
        axis_ids = list(db.session.scalars(select(Axis.id).where(Axis.number.in_(axes))))
        tid = db.session.scalar(select(Territory.id).filter_by(slug=territory)) if territory else None
        base = datetime(2024, 1, 1)
        first_id = (db.session.scalar(select(func.max(Document.id))) or 0) + 1
        first_version_id = (db.session.scalar(select(func.max(DocumentVersion.id))) or 0) + 1
        ids = range(first_id, first_id + count)
        documents, versions, links = [], [], []
        for offset, document_id in enumerate(ids):
            n = start + offset
            when = base + timedelta(hours=n)
            documents.append(dict(id=document_id, title=f"Document {n:05d}", summary=f"Résumé {n}", type=list(DocumentType)[n % 9].value,
                                  keywords="", visibility="network", author_id=author.id, territory_id=tid, created_at=when,
                                  updated_at=when, download_count=n % 7))
            versions.append(dict(id=first_version_id + offset, document_id=document_id, number=1, sha256=digest, size=15, format="txt",
                                 filename=f"d{n}.txt", note="", author_id=author.id, created_at=when, text=f"contenu {n}"))
            links.extend(dict(document_id=document_id, axis_id=a) for a in axis_ids)
        db.session.execute(Document.__table__.insert(), documents)
        db.session.execute(DocumentVersion.__table__.insert(), versions)
        db.session.execute(document_axis.insert(), links)
        version_of = select(DocumentVersion.id).where(DocumentVersion.document_id == Document.id).scalar_subquery()
        db.session.execute(Document.__table__.update().where(Document.id >= first_id).values(current_version_id=version_of))
        if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("document", "document_version"):
                db.session.execute(db.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        db.session.commit()


def test_pagination_keeps_the_filters(app, client, as_, person):
    as_("member")
    bulk_documents(app, person("member"), 45)
    first = client.get("/toolbox/?type=&sort=title")
    page = text_of(first)
    assert "45 documents" in page
    assert ids_listed(client, "?sort=title")[:2] == ["Document 0000", "Document 0001"]
    assert len(ids_listed(client, "?sort=title")) == 20
    links = re.findall(r'href="(/toolbox/\?[^"]*)"', first.get_data(as_text=True))
    assert any("page=2" in link and "sort=title" in link for link in links)
    third = ids_listed(client, "?sort=title&page=3")
    assert third == [f"Document {n:04d}" for n in range(40, 45)]
    assert ids_listed(client, "?sort=title&page=9") == []
    assert "There is no document on this page." in text_of(client.get("/toolbox/?page=9"))


def test_empty_toolbox(app, client, as_):
    as_("member")
    page = text_of(client.get("/toolbox/"))
    assert "The toolbox is empty for now" in page and 'href="/toolbox/new"' in page
    home = text_of(client.get("/"))
    assert "No document shared yet." in home and 'href="/toolbox/"' in home and "/coming-soon/toolbox" not in home


def test_home_shows_the_latest_five_documents_the_user_may_see(app, client, as_, person, make_document):
    as_("member")
    author = person("member")
    for n in range(7):
        make_document(author, title=f"Récent {n}", created_at=datetime(2024, 1, 1) + timedelta(days=n))
    make_document(author, title="Le plus récent mais national", visibility="national", created_at=datetime(2025, 1, 1))
    home = text_of(client.get("/"))
    shown = re.findall(r"Récent \d", home)
    assert shown == ["Récent 6", "Récent 5", "Récent 4", "Récent 3", "Récent 2"]
    assert "Le plus récent mais national" not in home


def test_related_documents_share_an_axis_and_are_visible(app, client, as_, person, make_document):
    as_("member")
    author = person("member")
    document_id = make_document(author, title="Référence", axes=(3, 4))
    make_document(author, title="Partage deux axes", axes=(3, 4), created_at=datetime(2020, 1, 1))
    for n in range(5):
        make_document(author, title=f"Partage un axe {n}", axes=(4,), created_at=datetime(2021, 1, 1) + timedelta(days=n))
    make_document(author, title="Sans rapport", axes=(9,))
    make_document(author, title="Caché", axes=(3, 4), visibility="national", created_at=datetime(2030, 1, 1))
    page = text_of(client.get(f"/toolbox/{document_id}"))
    related = re.search(r'<ul id="related-documents">(.*?)</ul>', page, re.S).group(1)
    titles = re.findall(r">([^<]+)</a>", related)
    assert titles == ["Partage deux axes", "Partage un axe 4", "Partage un axe 3", "Partage un axe 2", "Partage un axe 1"]


# --- Bounded SQL ---------------------------------------------------------------------------------------


def test_pages_run_a_bounded_number_of_queries(app, client, as_, person):
    """The same number of SQL queries with 10 or 10,000 documents."""
    as_("member")
    author = person("member", territory="lyon")
    bulk_documents(app, author, 10)
    with app.app_context():
        target = db.session.scalar(select(Document.id).order_by(Document.id))
        # A few versions on the page's document, by several people.
        document = db.session.get(Document, target)
        for n in range(2, 5):
            version = DocumentVersion(number=n, sha256=document.current_version.sha256, size=15, format=FileFormat.TXT,
                                      filename=f"v{n}.txt", author_id=author.id, text="v")
            document.versions.append(version)
        db.session.commit()
    urls = ["/toolbox/", "/toolbox/?sort=downloads&axis=1", f"/toolbox/{target}", "/"]
    few = {url: queries_for(app, client, url) for url in urls}
    bulk_documents_sql(app, author, 9_990, start=10)
    with app.app_context():
        assert db.session.scalar(select(func.count(Document.id))) == 10_000
    many = {url: queries_for(app, client, url) for url in urls}
    assert many == few, (few, many)
    assert max(few.values()) <= 25, few


# --- Search -----------------------------------------------------------------------------------------------


def test_search_entry_of_a_document(app, client, as_, person, make_document):
    from extranet.search import KINDS
    from extranet.toolbox.search import to_entry

    author = person("member", territory="lyon")
    document_id = make_document(author, title="Fiche sur le bail glissant", axes=(3, 12), territory="lyon", visibility="national",
                                keywords="bail glissant, sous-location", content=make.odt("texte intégral du bail"), name="fiche.odt")
    with app.app_context():
        document = db.session.get(Document, document_id)
        entry = to_entry(document)
    assert entry.key == f"document:{document_id}" and entry.kind == "document" and entry.url == f"/toolbox/{document_id}"
    assert entry.title == "Fiche sur le bail glissant" and "texte intégral du bail" in entry.content
    assert entry.keywords == ("bail glissant", "sous-location") and entry.type == "guide"
    assert entry.axes == (3, 12) and entry.territory_id == territory_id(app, "lyon")
    assert entry.access == frozenset({permissions.NATIONAL, permissions.user_token(author.id)})
    assert entry.year == document.created_at.year
    assert "document" in KINDS and KINDS["document"]["type_labels"]["study"]


def test_published_documents_are_found_by_their_content_by_those_who_may_read_them(app, client, as_, person):
    author = as_("member")
    engine = get_engine(app)
    document_id = document_id_from(publish(client, app, make.pdf("Le mot introuvable ornithorynque"), visibility="national"))
    member = person("member")
    with app.app_context():
        reader = db.session.get(User, author.id)
        other = db.session.get(User, member.id)
        found = engine.query("ornithorynque", access=permissions.access_tokens(reader))
        assert [hit.key for hit in found.hits] == [f"document:{document_id}"]
        assert engine.query("ornithorynque", access=permissions.access_tokens(other)).total == 0

    # A new version replaces the content that is searched.
    client.post(f"/toolbox/{document_id}/versions/new", data={"note": "v2", "file": (io.BytesIO(make.txt("kangourou")), "v2.txt")},
                content_type="multipart/form-data")
    with app.app_context():
        reader = db.session.get(User, author.id)
        assert engine.query("kangourou", access=permissions.access_tokens(reader)).total == 1
        assert engine.query("ornithorynque", access=permissions.access_tokens(reader)).total == 0

    client.post(f"/toolbox/{document_id}/delete")
    with app.app_context():
        reader = db.session.get(User, author.id)
        assert engine.query("kangourou", access=permissions.access_tokens(reader)).total == 0


def test_clean_files_removes_only_old_unreferenced_files(app, client, as_, runner):
    import os

    as_("member")
    document_id_from(publish(client, app, make.pdf(), name="Gardé.pdf"))
    with app.app_context():
        orphan = storage.path_for(storage.store_bytes(b"left by a failed transaction"))
        recent = storage.path_for(storage.store_bytes(b"an upload about to commit"))
    os.utime(orphan, (1, 1))
    kept = [p for p in stored_files(app) if p not in (orphan, recent)]
    os.utime(kept[0], (1, 1))  # old, but a version refers to it
    dry = runner.invoke(args=["toolbox", "clean-files", "--dry-run"])
    assert dry.exit_code == 0 and "1 unreferenced file(s)." in dry.output and orphan.exists()
    result = runner.invoke(args=["toolbox", "clean-files"])
    assert result.exit_code == 0, result.output
    assert not orphan.exists() and recent.exists() and kept[0].exists()


# --- In a real browser ---------------------------------------------------------------------------------


@pytest.mark.browser
def test_share_read_and_delete_in_a_browser(live_server, page, person, app):

    user = person("member", territory="lyon")
    browser_login(page, live_server, user)

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Toolbox").click()
    page.get_by_role("link", name="Share a document").first.click()
    page.get_by_label("Title").fill("Guide testé dans le navigateur")
    page.get_by_label("Summary").fill("Un résumé.")
    page.get_by_label("Type of document").select_option("study")
    # DSFR draws checkboxes and radios on their labels: people click those.
    page.locator("label", has_text="Axis 9 —").click()
    page.locator("label", has_text="The national team only").click()
    assert page.get_by_label("Axis 9 —").is_checked() and page.get_by_label("The national team only").is_checked()
    page.set_input_files("#file", files=[{"name": "Étude été.pdf", "mimeType": "application/pdf", "buffer": make.pdf("navigateur")}])
    page.get_by_role("button", name="Publish").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Guide testé dans le navigateur"
    assert "navigateur" in page.locator("#document-preview").inner_text()
    assert "The national team only" in page.inner_text("#document-facts")
    with page.expect_download() as download:
        page.locator("#download-current").click()
    assert download.value.suggested_filename == "Étude été.pdf"

    # Deleting asks first, in a dialog whose form posts.
    dialog = page.locator("#confirm-delete")
    assert not dialog.is_visible()
    page.get_by_role("button", name="Delete the document").first.click()
    dialog.wait_for(state="visible")
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert count_documents(app) == 1
    page.get_by_role("button", name="Delete the document").first.click()
    dialog.get_by_role("button", name="Yes, delete").click()
    page.wait_for_url(live_server.url + "/toolbox/")
    assert "The toolbox is empty for now" in page.inner_text("main")
    assert page.csp_violations == []


def test_search_never_keeps_a_visibility_older_than_the_database(app, person, make_document):
    """Two requests on one document: the later commit must not bring back the
    wider visibility its request loaded before the other one restricted it."""
    from extranet.permissions import access_tokens

    author = person("member", territory="lyon")
    reader = person("member", territory="cher")
    document_id = make_document(author, title="Compte rendu confidentiel sur la maraude")
    with app.app_context():
        stale_session = db.session  # request B: loads the document, network-wide
        stale = stale_session.get(Document, document_id)
        assert stale.visibility == Visibility.NETWORK
        with app.app_context():  # request A: restricts it and commits first
            db.session.get(Document, document_id).visibility = Visibility.NATIONAL
            db.session.commit()
        stale.summary = "Résumé revu"  # request B commits later, from its old copy
        stale_session.commit()
    with app.app_context():
        reader_user = db.session.get(User, reader.id)
        hits = get_engine(app).query("maraude", access=access_tokens(reader_user)).hits
        assert db.session.get(Document, document_id).visibility == Visibility.NATIONAL
    assert hits == []


def test_a_coordinator_cannot_hide_a_members_document_from_themselves(app, client, person, login, make_document):
    """Restricting to the national team someone else's document would lock the
    coordinator out of it at once: the option is not offered, and refused."""
    member = person("member", territory="lyon")
    coordinator = person("coordinator", territory="lyon")
    document_id = make_document(member, title="Fiche du bailleur", territory="lyon")
    login(coordinator)
    form = client.get(f"/toolbox/{document_id}/edit").get_data(as_text=True)
    assert 'value="national"' not in form
    with app.app_context():
        axes = [str(a) for a in db.session.scalars(select(Axis.id).where(Axis.number == 3))]
    response = client.post(
        f"/toolbox/{document_id}/edit",
        data={"title": "Fiche du bailleur", "summary": "Résumé", "type": "guide", "axes": axes, "visibility": "national"},
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Document, document_id).visibility == Visibility.NETWORK
    # Its author may, and still sees it.
    client.post("/auth/logout")
    login(member)
    form = client.get(f"/toolbox/{document_id}/edit").get_data(as_text=True)
    assert 'value="national"' in form


def test_a_document_kept_to_its_territory_names_the_territory_of_the_one_who_chooses(app, client, as_, person, login):
    """"Its territory and the national team": the territory must be chosen, and
    be one's own (the national team chooses any), beside the territory field."""
    as_("member", territory="lyon")
    form = client.get("/toolbox/new").get_data(as_text=True)
    assert 'value="territory"' in form and "The people of the territory chosen above and the national team" in form
    missing = publish(client, app, visibility="territory", territory_id="")
    assert missing.status_code == 400
    assert "Choose the territory whose people may see the document." in errors_beside(missing, "territory_id")
    other = publish(client, app, visibility="territory", territory_id=str(territory_id(app, "nantes")))
    assert other.status_code == 400
    assert "only if it is your own" in errors_beside(other, "territory_id")
    assert count_documents(app) == 0
    document_id = document_id_from(publish(client, app, title="Annexe lyonnaise", visibility="territory",
                                           territory_id=str(territory_id(app, "lyon"))))
    document = get_document(app, document_id)
    assert document.visibility == Visibility.TERRITORY and document.territory_id == territory_id(app, "lyon")
    page = text_of(client.get(f"/toolbox/{document_id}"))
    assert "Territory: Métropole de Lyon" in page
    assert "The people of Métropole de Lyon and the national team" in page

    # The coordinator of Lyon may edit it, but not give it to another territory (they would lose it).
    client.post("/auth/logout")
    login(person("coordinator", territory="lyon"))
    data = form_data(app, title="Annexe lyonnaise", visibility="territory", territory_id=str(territory_id(app, "nantes")))
    moved = client.post(f"/toolbox/{document_id}/edit", data=data)
    assert moved.status_code == 400 and "only if it is your own" in errors_beside(moved, "territory_id")
    assert get_document(app, document_id).territory_id == territory_id(app, "lyon")

    # The national team keeps a document to any territory.
    client.post("/auth/logout")
    login(person("animator"))
    moved = client.post(f"/toolbox/{document_id}/edit", data=data)
    assert moved.status_code == 302
    assert get_document(app, document_id).territory_id == territory_id(app, "nantes")


@pytest.mark.parametrize("visibility", ["network", "national", "territory"])
@pytest.mark.parametrize(
    "viewer, sees_national",
    [("author", True), ("member", False), ("coordinator-same", False), ("coordinator-other", False), ("animator", True), ("admin", True)],
)
def test_search_page_shows_hits_and_counts_only_to_readers(app, client, person, login, make_document, viewer, sees_national, visibility):
    author = person("member", territory="lyon")
    make_document(author, title="Diagnostic des squats", territory="lyon", visibility=visibility, type="study")
    make_document(author, title="Diagnostic public", territory="lyon", visibility="network", type="guide")
    user = {
        "author": author,
        "member": person("member", territory="lyon"),
        "coordinator-same": person("coordinator", territory="lyon"),
        "coordinator-other": person("coordinator", territory="cher"),
        "animator": person("animator"),
        "admin": person("admin"),
    }[viewer]
    login(user)
    page = client.get("/search?q=diagnostic").get_data(as_text=True)
    # "territory": the people of Lyon and the national team.
    visible = {"network": True, "national": sees_national, "territory": viewer != "coordinator-other"}[visibility]
    assert ("Diagnostic des squats" in page) == visible
    assert "Diagnostic public" in page
    # The type facet counts only what the viewer may open.
    study = re.search(r"Study / evaluation[^<]*?\((\d+)\)|Study / evaluation</span>\s*<span[^>]*>(\d+)", page)
    assert bool(study) == visible
    direct = client.get("/search?q=squats").get_data(as_text=True)
    assert ("Diagnostic des squats" in direct) == visible


def test_a_document_of_a_validated_roadmap_cannot_be_deleted(app, client, person, login, make_document):
    """Deleting it would silently take the signed PDF (or an action's
    document) out of the State's commitment; a draft's document may go."""
    from extranet.roadmaps.models import RoadmapStatus
    from tests.roadmap_fixtures import build_roadmap

    author = person("coordinator", territory="lyon", language="fr")
    signed = make_document(author, title="Feuille de route signée", territory="lyon")
    annex = make_document(author, title="Fiche action expulsions", territory="lyon")
    draft_only = make_document(author, title="Brouillon d'annexe", territory="lyon")
    with app.app_context():
        validated = build_roadmap("lyon", 2023, 2024)
        validated.documents.append(db.session.get(Document, signed))
        validated.actions[0].documents.append(db.session.get(Document, annex))
        validated.status = RoadmapStatus.VALIDATED
        draft = build_roadmap("lyon", 2025, 2026)
        draft.documents.append(db.session.get(Document, draft_only))
        db.session.commit()
        roadmap_id, roadmap_class = validated.id, type(validated)
    login(author)

    for document_id in (signed, annex):
        response = client.post(f"/toolbox/{document_id}/delete", follow_redirects=True)
        assert response.status_code == 200
        assert ("Ce document est joint à la feuille de route validée de Métropole de Lyon, 2023–2024\u00a0: "
                "retirez-le d'abord de la feuille de route ou demandez à l'équipe nationale.") in text_of(response)
        assert get_document(app, document_id) is not None
    with app.app_context():
        assert [d.title for d in db.session.get(roadmap_class, roadmap_id).documents] == ["Feuille de route signée"]

    assert client.post(f"/toolbox/{draft_only}/delete").status_code == 302
    assert get_document(app, draft_only) is None
