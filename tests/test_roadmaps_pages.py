"""The roadmap's own page and the editing of its general parts (issue 6):
who opens which page in each status, what the page shows of each section,
creating a roadmap, the summary edited by two people at once, the partners
of fiche 3, and the attached files (toolbox documents, new uploads)."""

import html as html_lib
import io
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.plan.models import Axis
from extranet.roadmaps.models import PartnerKind, Roadmap
from extranet.territories.models import Territory
from extranet.toolbox import services as toolbox
from extranet.toolbox.models import Document, DocumentType, Visibility

from . import files as make
from .helpers import database, errors_beside, parse

pytest_plugins = ["tests.roadmap_fixtures"]

STATUSES = ("draft", "submitted", "validated", "returned")
ROLES = ("coordinator", "allowed_member", "other_member", "other_territory", "national")


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def flashed(response) -> str:
    return " ".join(n.text() for n in parse(response.get_data(as_text=True)).iter() if "fr-alert" in n.classes)


def allow(app, roadmap_id, user):
    with database(app) as session:
        roadmap = session.get(Roadmap, roadmap_id)
        roadmap.editors.append(session.get(User, user.id))
        session.commit()


def load(app, roadmap_id) -> Roadmap:
    with database(app) as session:
        roadmap = session.get(Roadmap, roadmap_id)
        roadmap.partners, roadmap.documents, roadmap.editors  # noqa: B018 (loaded before leaving)
        session.expunge_all()
        return roadmap


def version_of(app, roadmap_id) -> int:
    return load(app, roadmap_id).version


def field_value(response, name) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="{name}"', response.get_data(as_text=True))
    assert found, f"no field {name}"
    return html_lib.unescape(found.group(1) or found.group(2) or "")


def textarea(response, name) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', response.get_data(as_text=True), re.S)
    assert found, f"no textarea {name}"
    return html_lib.unescape(found.group(1)).strip()


def publish_document(app, author, *, title, visibility="network", territory="lyon", content=None, name="annexe.pdf"):
    """A toolbox document, through the toolbox's own service."""
    with app.app_context(), app.test_request_context():
        upload = toolbox.receive_upload(io.BytesIO(content or make.pdf(title)), name, 10**8)
        document = toolbox.publish(
            db.session.get(User, author.id), title=title, summary="Une annexe.", type=DocumentType.AGREEMENT,
            axis_ids=[db.session.scalar(select(Axis.id).filter_by(number=12))],
            territory_id=db.session.scalar(select(Territory.id).filter_by(slug=territory)),
            visibility=Visibility(visibility), upload=upload,
        )
        db.session.commit()
        return document.id


@pytest.fixture
def people(make_user):
    return {
        "coordinator": make_user("coordinator", territory="lyon", name="Claire Coordinatrice"),
        "allowed_member": make_user("member", territory="lyon", name="Alice Autorisée"),
        "other_member": make_user("member", territory="lyon", name="Oscar Other"),
        "other_territory": make_user("coordinator", territory="nantes"),
        "national": make_user("animator"),
    }


# --- Rights: role × page × status ---------------------------------------------------------

PAGES = ("", "/summary", "/partners", "/attachments", "/editors")


def expected(page, role, status) -> int:
    readable = status == "validated" or role != "other_territory"
    if page == "":
        return 200 if readable else 403
    if page == "/editors":
        return 200 if role == "coordinator" else 403
    editor = role in ("coordinator", "allowed_member")
    if editor and status in ("draft", "returned"):
        return 200
    if editor and page in ("/summary", "/partners"):
        # Frozen meanwhile: the editor is sent to the roadmap page, told why (see test_roadmaps_locked.py).
        return 302
    return 403


@pytest.mark.parametrize("status", STATUSES)
def test_who_opens_which_page(app, login, people, make_roadmap, status):
    roadmap = make_roadmap(status=status)
    allow(app, roadmap.id, people["allowed_member"])
    for role in ROLES:
        client = app.test_client()
        login(people[role], client=client)
        for page in PAGES:
            response = client.get(f"/roadmaps/{roadmap.id}{page}")
            assert response.status_code == expected(page, role, status), (page, role, status)
        # The same rules on the POSTs that change the roadmap.
        for page, rule in (("/summary", "/summary"), ("/partners", "/partners"), ("/attachments/attach", "/attachments"),
                           ("/attachments/upload", "/attachments"), ("/editors", "/editors")):
            response = client.post(f"/roadmaps/{roadmap.id}{page}", data={"version": roadmap.version, "context": "x"})
            assert (response.status_code == 403) == (expected(rule, role, status) == 403), (page, role, status, response.status_code)
        editable = expected("/summary", role, status) == 200
        page = client.get(f"/roadmaps/{roadmap.id}")
        if page.status_code == 200:
            html = page.get_data(as_text=True)
            assert ('id="edit-summary"' in html) == editable, role
            assert ('id="roadmap-editable-note"' in html) == editable, role
            assert ('id="manage-editors"' in html) == (role == "coordinator"), role
    if status in ("submitted", "validated"):
        assert load(app, roadmap.id).version == roadmap.version  # every POST was refused: nothing changed


def test_unknown_roadmaps_and_territories_are_404(app, client, people, login, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    for page in PAGES + ("/attachments/attach", "/attachments/upload", f"/attachments/{2**31 + 5}/detach"):
        for roadmap_id in (2**31 + 5, 999_999):
            method = client.post if page.startswith("/attachments/") else client.get
            assert method(f"/roadmaps/{roadmap_id}{page}").status_code == 404, (roadmap_id, page)
    assert client.post(f"/roadmaps/{roadmap.id}/attachments/{2**31 + 5}/detach").status_code == 404
    assert client.post(f"/roadmaps/{roadmap.id}/attachments/999999/detach", data={"version": roadmap.version}).status_code == 404
    for query in (f"territory={2**31 + 5}", "territory=999999", "territory=abc", ""):
        assert client.get(f"/roadmaps/new?{query}").status_code == 404, query
    assert client.get("/roadmaps/territory/nowhere").status_code == 404
    assert client.get("/roadmaps/territory/%00").status_code == 404


# --- The page ---------------------------------------------------------------------------------


def test_the_page_shows_every_section(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    with database(app) as session:
        row = session.get(Roadmap, roadmap.id)
        row.strategy = "Priorité au *logement*.\n\n<script>alert('x')</script>"
        row.budget_note = "Crédits de droit commun."
        session.commit()
    network = publish_document(app, people["coordinator"], title="Feuille de route signée")
    national = publish_document(app, people["national"], title="Note confidentielle", visibility="national")
    with database(app) as session:
        row = session.get(Roadmap, roadmap.id)
        row.documents = [session.get(Document, network), session.get(Document, national)]
        session.commit()

    login(people["other_member"])
    response = client.get(f"/roadmaps/{roadmap.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text(response)
    assert "<h1>Feuille de route — Métropole de Lyon, 2023–2024</h1>" in html
    assert "Brouillon" in page and "fr-badge" in html
    # The sections in the order of the brief, each with its heading, and the side menu to them.
    order = [html.index(f'id="section-{name}"') for name in ("context", "actions", "indicators", "budget", "governance", "attachments")]
    assert order == sorted(order)
    for name in ("context", "governance", "attachments"):
        assert f'href="#section-{name}"' in html
    # Markdown rendered, scripts escaped.
    assert "<strong>urbain</strong>" in html and "<em>logement</em>" in html
    assert "<script>alert" not in html
    assert "Crédits de droit commun." in page
    # Partners by kind, with fiche 3's labels and their names.
    governance = html[html.index('id="section-governance"'):html.index('id="section-attachments"')]
    assert "SIAO" in governance
    assert "Grand Lyon Habitat, Lyon Métropole Habitat" in html_lib.unescape(governance)
    # Attached files: only those the reader may open, linked to the toolbox.
    assert f'href="/toolbox/{network}"' in html and "Feuille de route signée" in page
    assert "Note confidentielle" not in page and f"/toolbox/{national}" not in html
    # Who changed it last.
    assert 'id="roadmap-updated"' in html
    # A reader who may not edit sees no edit link.
    assert "edit-summary" not in html and "manage-attachments" not in html

    national_client = app.test_client()
    login(people["national"], client=national_client)
    assert "Note confidentielle" in text(national_client.get(f"/roadmaps/{roadmap.id}"))
    # Those who manage the files are told that one is there without its title.
    coordinator_client = app.test_client()
    login(people["coordinator"], client=coordinator_client)
    page = text(coordinator_client.get(f"/roadmaps/{roadmap.id}/attachments")).replace("\u00a0", " ")
    assert "Note confidentielle" not in page
    assert "1 autre document joint n'est pas affiché : vous ne pouvez pas l'ouvrir." in page


def test_empty_sections_say_so(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(people["coordinator"])
    html = client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True)
    for empty in ("roadmap-context-empty", "roadmap-partners-empty", "roadmap-documents-empty"):
        assert f'id="{empty}"' in html
    assert "Vous pouvez modifier ce brouillon" in text(client.get(f"/roadmaps/{roadmap.id}"))


# --- Creating ------------------------------------------------------------------------------------


def territory_id(app, slug):
    with database(app) as session:
        return session.scalar(select(Territory.id).filter_by(slug=slug))


def test_a_coordinator_creates_a_roadmap_with_errors_beside_the_fields(app, client, login, people, make_roadmap):
    make_roadmap(start_year=2021, end_year=2022, filled=False)
    lyon = territory_id(app, "lyon")
    login(people["coordinator"])
    form = client.get(f"/roadmaps/new?territory={lyon}")
    assert form.status_code == 200
    # The period after the latest one, as long.
    assert field_value(form, "start_year") == "2023" and field_value(form, "end_year") == "2024"

    cases = [
        ({"start_year": "20x5", "end_year": "2026"}, "start_year", "Saisissez l'année en quatre chiffres, par exemple 2025."),
        ({"start_year": "", "end_year": "2026"}, "start_year", "Saisissez une année, par exemple 2025."),
        ({"start_year": "2026", "end_year": "2025"}, "end_year", "La période ne peut pas se terminer avant de commencer."),
        ({"start_year": "2021", "end_year": "2022"}, "start_year", None),
        ({"start_year": "1999", "end_year": "2000"}, "start_year", None),
    ]
    for data, field, message in cases:
        response = client.post(f"/roadmaps/new?territory={lyon}", data=data)
        assert response.status_code == 400, data
        errors = errors_beside(response.get_data(as_text=True), field)
        assert errors, (data, field)
        if message:
            assert errors == [message]
        assert field_value(response, "start_year") == data["start_year"]

    response = client.post(f"/roadmaps/new?territory={lyon}", data={"start_year": "2023", "end_year": "2024"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "Feuille de route — Métropole de Lyon, 2023–2024" in text(page)
    assert "La feuille de route 2023–2024 est créée" in flashed(page)


@pytest.mark.parametrize("role", ["allowed_member", "other_member", "other_territory", "national"])
def test_only_the_territory_coordinators_create(app, client, login, people, role):
    login(people[role])
    lyon = territory_id(app, "lyon")
    assert client.get(f"/roadmaps/new?territory={lyon}").status_code == 403
    assert client.post(f"/roadmaps/new?territory={lyon}", data={"start_year": "2023", "end_year": "2024"}).status_code == 403
    with database(app) as session:
        assert session.scalar(select(Roadmap.id)) is None


# --- The summary, edited by two people at once --------------------------------------------------


def test_a_concurrent_edit_keeps_the_second_persons_text(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    allow(app, roadmap.id, people["allowed_member"])
    other = app.test_client()
    login(people["coordinator"])
    login(people["allowed_member"], client=other)
    first_form = client.get(f"/roadmaps/{roadmap.id}/summary")
    second_form = other.get(f"/roadmaps/{roadmap.id}/summary")
    version = int(field_value(first_form, "version"))
    assert int(field_value(second_form, "version")) == version

    first = client.post(f"/roadmaps/{roadmap.id}/summary", data={
        "version": version, "context": "Contexte de Claire", "strategy": "Stratégie de Claire", "budget_note": "",
    })
    assert first.status_code == 302
    second = other.post(f"/roadmaps/{roadmap.id}/summary", data={
        "version": version, "context": "Contexte d'Alice", "strategy": "Stratégie d'Alice", "budget_note": "Note d'Alice",
    })
    assert second.status_code == 409
    assert "Quelqu'un d'autre a modifié cette feuille de route" in flashed(second)
    assert "Claire Coordinatrice" in flashed(second)
    assert textarea(second, "context") == "Contexte d'Alice"
    assert textarea(second, "budget_note") == "Note d'Alice"
    # Nothing of the first person's is lost.
    saved = load(app, roadmap.id)
    assert saved.context == "Contexte de Claire" and saved.strategy == "Stratégie de Claire"
    # Posting again, knowingly, applies the second person's text.
    again = other.post(f"/roadmaps/{roadmap.id}/summary", data={
        "version": field_value(second, "version"), "context": "Contexte d'Alice", "strategy": "Stratégie d'Alice", "budget_note": "",
    })
    assert again.status_code == 302
    assert load(app, roadmap.id).context == "Contexte d'Alice"


def test_a_forged_version_is_a_conflict_not_a_crash(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    for version in ("abc", str(2**70), ""):
        response = client.post(f"/roadmaps/{roadmap.id}/summary", data={"version": version, "context": "Texte gardé"})
        assert response.status_code == 409
        assert textarea(response, "context") == "Texte gardé"
    assert load(app, roadmap.id).context.startswith("Un territoire")


# --- Partners --------------------------------------------------------------------------------------


def test_partners_are_saved_grouped_by_kind(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(people["coordinator"])
    form = client.get(f"/roadmaps/{roadmap.id}/partners")
    assert form.status_code == 200
    assert "Bailleurs sociaux (voire représentants des bailleurs privés) et leurs unions" in text(form)

    # Names without their kind ticked: an error beside them, and the names are kept.
    refused = client.post(f"/roadmaps/{roadmap.id}/partners", data={
        "version": field_value(form, "version"), "names_caf": "CAF du Rhône",
    })
    assert refused.status_code == 400
    assert errors_beside(refused.get_data(as_text=True), "names_caf") == [
        "Cochez ce type de partenaire pour garder ces noms, ou effacez-les."
    ]
    assert textarea(refused, "names_caf") == "CAF du Rhône"

    saved = client.post(f"/roadmaps/{roadmap.id}/partners", data={
        "version": field_value(form, "version"),
        "kind_siao": "y",
        "kind_social_landlords": "y", "names_social_landlords": "Grand Lyon Habitat\n\n  Alliade   Habitat \nGrand Lyon Habitat",
        "kind_caf": "y", "names_caf": "CAF du Rhône",
    })
    assert saved.status_code == 302
    partners = {(p.kind, p.name) for p in load(app, roadmap.id).partners}
    assert partners == {
        (PartnerKind.SIAO, ""),
        (PartnerKind.SOCIAL_LANDLORDS, "Grand Lyon Habitat"),
        (PartnerKind.SOCIAL_LANDLORDS, "Alliade Habitat"),
        (PartnerKind.CAF, "CAF du Rhône"),
    }
    page = text(client.get(f"/roadmaps/{roadmap.id}"))
    assert "Alliade Habitat, Grand Lyon Habitat" in page

    # The form shows them back; unticking a kind (and clearing its names) removes it.
    form = client.get(f"/roadmaps/{roadmap.id}/partners")
    assert textarea(form, "names_social_landlords") == "Alliade Habitat\nGrand Lyon Habitat"
    response = client.post(f"/roadmaps/{roadmap.id}/partners", data={
        "version": field_value(form, "version"), "kind_social_landlords": "y", "names_social_landlords": "Grand Lyon Habitat",
    })
    assert response.status_code == 302
    assert {(p.kind, p.name) for p in load(app, roadmap.id).partners} == {(PartnerKind.SOCIAL_LANDLORDS, "Grand Lyon Habitat")}
    # A name too long is refused beside it.
    form = client.get(f"/roadmaps/{roadmap.id}/partners")
    response = client.post(f"/roadmaps/{roadmap.id}/partners", data={
        "version": field_value(form, "version"), "kind_ars": "y", "names_ars": "x" * 301,
    })
    assert response.status_code == 400 and errors_beside(response.get_data(as_text=True), "names_ars")


# --- Attached files -------------------------------------------------------------------------------


def upload_data(app, roadmap_id, **overrides):
    with database(app) as session:
        axis12 = session.scalar(select(Axis.id).filter_by(number=12))
    data = {
        "version": str(version_of(app, roadmap_id)),
        "title": "Feuille de route signée 2023",
        "summary": "La version signée par le préfet.",
        "type": "agreement",
        "axes": [str(axis12)],
        "keywords": "",
        "territory_id": "",
        "visibility": "network",
        "file": (io.BytesIO(make.pdf("Feuille de route signée")), "feuille-de-route.pdf"),
    }
    data.update(overrides)
    return data


def test_upload_a_signed_pdf_attaches_it(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(people["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/attachments")
    assert page.status_code == 200 and 'id="attached-empty"' in page.get_data(as_text=True)

    response = client.post(f"/roadmaps/{roadmap.id}/attachments/upload", data=upload_data(app, roadmap.id),
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    documents = load(app, roadmap.id).documents
    assert [d.title for d in documents] == ["Feuille de route signée 2023"]
    show = client.get(f"/roadmaps/{roadmap.id}")
    assert f'href="/toolbox/{documents[0].id}"' in show.get_data(as_text=True)
    # A real document of the toolbox: its page opens, its file downloads as the PDF sent.
    assert client.get(f"/toolbox/{documents[0].id}").status_code == 200
    download = client.get(f"/toolbox/{documents[0].id}/download")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")


def test_a_refused_file_attaches_nothing(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(people["coordinator"])
    fake = (io.BytesIO(b"MZ\x90\x00 not a pdf at all" * 20), "signee.pdf")
    response = client.post(f"/roadmaps/{roadmap.id}/attachments/upload", data=upload_data(app, roadmap.id, file=fake),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "file")
    # Another field wrong: the file waits aside, the title typed is kept.
    response = client.post(f"/roadmaps/{roadmap.id}/attachments/upload", data=upload_data(app, roadmap.id, summary=""),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "summary")
    assert field_value(response, "title") == "Feuille de route signée 2023"
    assert load(app, roadmap.id).documents == []
    with database(app) as session:
        assert session.scalar(select(Document.id)) is None


def test_attach_and_detach_a_toolbox_document(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(filled=False)
    annex = publish_document(app, people["other_member"], title="Diagnostic territorial")
    secret = publish_document(app, people["national"], title="Note de la Dihal", visibility="national")
    login(people["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/attachments")
    html = page.get_data(as_text=True)
    assert "Diagnostic territorial" in html_lib.unescape(html)
    assert "Note de la Dihal" not in html_lib.unescape(html)
    # Searching by title.
    found = client.get(f"/roadmaps/{roadmap.id}/attachments?q=diagnostic")
    assert "Diagnostic territorial" in text(found)
    missed = client.get(f"/roadmaps/{roadmap.id}/attachments?q=inexistant")
    assert 'id="attach-none"' in missed.get_data(as_text=True)

    # A document the person may not read cannot be attached, even by a hand-made form.
    refused = client.post(f"/roadmaps/{roadmap.id}/attachments/attach",
                          data={"version": field_value(page, "version"), "document_id": str(secret)})
    assert refused.status_code == 400
    assert errors_beside(refused.get_data(as_text=True), "document_id") == ["Choisissez un document dans la liste."]

    response = client.post(f"/roadmaps/{roadmap.id}/attachments/attach",
                           data={"version": field_value(page, "version"), "document_id": str(annex)})
    assert response.status_code == 302
    assert [d.id for d in load(app, roadmap.id).documents] == [annex]
    page = client.get(f"/roadmaps/{roadmap.id}/attachments")
    assert f'action="/roadmaps/{roadmap.id}/attachments/{annex}/detach"' in page.get_data(as_text=True)
    assert "Retirer « Diagnostic territorial »" in text(page).replace("\u00a0", " ")

    # Detaching, confirmed: the document leaves the roadmap and stays in the toolbox.
    response = client.post(f"/roadmaps/{roadmap.id}/attachments/{annex}/detach", data={"version": version_of(app, roadmap.id)})
    assert response.status_code == 302
    assert load(app, roadmap.id).documents == []
    assert client.get(f"/toolbox/{annex}").status_code == 200
    # Detaching what is not attached: 404.
    assert client.post(f"/roadmaps/{roadmap.id}/attachments/{annex}/detach",
                       data={"version": version_of(app, roadmap.id)}).status_code == 404


def _checked(response, name) -> set[str]:
    """The values of the radio buttons ticked, and the options selected, of the field ``name``."""
    root = parse(response.get_data(as_text=True))
    values = {n.attrs.get("value") for n in root.iter()
              if n.tag == "input" and n.attrs.get("name") == name and "checked" in n.attrs}
    for select_ in (n for n in root.iter() if n.tag == "select" and n.attrs.get("name") == name):
        values |= {n.attrs.get("value") for n in select_.iter() if n.tag == "option" and "selected" in n.attrs}
    return values


def test_files_of_a_draft_stay_with_the_territory_until_it_is_validated(app, client, login, people, make_roadmap):
    """A file sent for a draft is kept to the territory and the national team
    (another territory neither opens nor finds it); the validation opens the
    roadmap's and its actions' such files to the network, not the others."""
    roadmap = make_roadmap()
    lyon = territory_id(app, "lyon")
    login(people["coordinator"])
    page = client.get(f"/roadmaps/{roadmap.id}/attachments")
    assert _checked(page, "visibility") == {"territory"} and _checked(page, "territory_id") == {str(lyon)}
    assert "la validation de la feuille de route l'ouvre à tout le réseau" in text(page)
    response = client.post(
        f"/roadmaps/{roadmap.id}/attachments/upload",
        data=upload_data(app, roadmap.id, title="Convention Zorglub signée", visibility="territory", territory_id=str(lyon)),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    [signed] = [d.id for d in load(app, roadmap.id).documents]
    # One kept to the territory on an action, one the coordinator keeps to the national team.
    annex = publish_document(app, people["allowed_member"], title="Annexe Zorglub", visibility="territory")
    note = publish_document(app, people["coordinator"], title="Note Zorglub", visibility="national")
    with database(app) as session:
        saved = session.get(Roadmap, roadmap.id)
        saved.actions[0].documents.append(session.get(Document, annex))
        saved.documents.append(session.get(Document, note))
        session.commit()

    other = app.test_client()
    login(people["other_territory"], client=other)
    member = app.test_client()
    login(people["other_member"], client=member)

    def reads(reader, document_id) -> bool:
        return reader.get(f"/toolbox/{document_id}").status_code == 200

    def finds(reader) -> set[str]:
        page = text(reader.get("/search?q=zorglub"))
        return {title for title in ("Convention Zorglub signée", "Annexe Zorglub", "Note Zorglub") if title in page}

    for document_id in (signed, annex):
        assert not reads(other, document_id) and reads(member, document_id)
    assert finds(other) == set()
    assert finds(member) == {"Convention Zorglub signée", "Annexe Zorglub"}

    assert client.post(f"/roadmaps/{roadmap.id}/submit", data={"version": version_of(app, roadmap.id)}).status_code == 302
    national = app.test_client()
    login(people["national"], client=national)
    assert "ses fichiers joints jusqu'ici réservés à son territoire sont lisibles par tout le réseau" in text(
        national.get(f"/roadmaps/{roadmap.id}"))
    assert national.post(f"/roadmaps/{roadmap.id}/validate", data={"version": version_of(app, roadmap.id)}).status_code == 302
    assert load(app, roadmap.id).status.value == "validated"

    for document_id in (signed, annex):
        assert reads(other, document_id)
    assert not reads(other, note)
    assert finds(other) == {"Convention Zorglub signée", "Annexe Zorglub"}
    with database(app) as session:
        assert session.get(Document, signed).visibility == Visibility.NETWORK
        assert session.get(Document, note).visibility == Visibility.NATIONAL


def test_a_file_kept_to_the_territory_needs_the_territory(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(people["allowed_member"])
    allow(app, roadmap.id, people["allowed_member"])
    response = client.post(f"/roadmaps/{roadmap.id}/attachments/upload",
                           data=upload_data(app, roadmap.id, visibility="territory", territory_id=""),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert errors_beside(response.get_data(as_text=True), "territory_id") == [
        "Choisissez le territoire dont les personnes pourront voir le document."]
    assert load(app, roadmap.id).documents == []


def test_the_territorys_roadmaps_page(app, client, login, people, make_roadmap):
    draft = make_roadmap(start_year=2025, end_year=2026, filled=False)
    validated = make_roadmap(status="validated", start_year=2021, end_year=2022)
    login(people["coordinator"])
    directory = client.get("/territories/lyon").get_data(as_text=True)
    assert 'href="/roadmaps/territory/lyon"' in directory
    html = client.get("/roadmaps/territory/lyon").get_data(as_text=True)
    assert f'href="/roadmaps/{draft.id}"' in html and f'href="/roadmaps/{validated.id}"' in html
    assert 'id="create-roadmap"' in html
    assert html.index(f"/roadmaps/{draft.id}") < html.index(f"/roadmaps/{validated.id}")

    client = app.test_client()
    login(people["other_territory"], client=client)
    html = client.get("/roadmaps/territory/lyon").get_data(as_text=True)
    assert f'href="/roadmaps/{validated.id}"' in html and f'href="/roadmaps/{draft.id}"' not in html
    assert 'id="create-roadmap"' not in html
    html = client.get("/roadmaps/territory/nantes").get_data(as_text=True)
    assert 'id="create-roadmap"' in html and 'id="territory-roadmaps-empty"' in html
    create = urlsplit(re.search(r'id="create-roadmap" href="([^"]+)"', html).group(1))
    assert client.get(f"{create.path}?{create.query}").status_code == 200


def test_partners_changed_meanwhile_keep_the_ticks_typed(app, client, login, people, make_roadmap):
    roadmap = make_roadmap(filled=False)
    login(people["coordinator"])
    form = client.get(f"/roadmaps/{roadmap.id}/partners")
    summary = client.get(f"/roadmaps/{roadmap.id}/summary")
    assert client.post(f"/roadmaps/{roadmap.id}/summary", data={
        "version": field_value(summary, "version"), "context": "Changé entre-temps",
    }).status_code == 302
    response = client.post(f"/roadmaps/{roadmap.id}/partners", data={
        "version": field_value(form, "version"), "kind_ccas": "y", "names_ccas": "CCAS de Lyon",
    })
    assert response.status_code == 409
    # The same coordinator changed the summary in another tab.
    assert "Vous avez modifié cette feuille de route dans un autre onglet" in flashed(response)
    assert textarea(response, "names_ccas") == "CCAS de Lyon"
    assert 'id="kind_ccas"' in response.get_data(as_text=True) and re.search(r'<input[^>]*checked[^>]*id="kind_ccas"|<input[^>]*id="kind_ccas"[^>]*checked', response.get_data(as_text=True))
    assert load(app, roadmap.id).partners == []
    assert client.post(f"/roadmaps/{roadmap.id}/partners", data={
        "version": field_value(response, "version"), "kind_ccas": "y", "names_ccas": "CCAS de Lyon",
    }).status_code == 302
    assert [(p.kind, p.name) for p in load(app, roadmap.id).partners] == [(PartnerKind.CCAS, "CCAS de Lyon")]


def test_the_same_person_in_two_tabs_is_told_it_was_them(app, client, login, people, make_roadmap):
    roadmap = make_roadmap()
    login(people["coordinator"])
    version = int(field_value(client.get(f"/roadmaps/{roadmap.id}/summary"), "version"))
    data = {"version": version, "context": "Premier onglet", "strategy": "", "budget_note": ""}
    assert client.post(f"/roadmaps/{roadmap.id}/summary", data=data).status_code == 302
    second = client.post(f"/roadmaps/{roadmap.id}/summary", data={**data, "context": "Second onglet"})
    assert second.status_code == 409
    assert "dans un autre onglet" in flashed(second) and "Quelqu'un d'autre" not in flashed(second)
    assert textarea(second, "context") == "Second onglet"
