"""A roadmap's exports (issue 6, point 5): the printable page, the PDF, the
actions and indicators as CSV and XLSX. Rights follow reading (a validated
roadmap is the network's; a draft its territory's and the national team's);
files are read back as a person's software would: csv, openpyxl, pypdfium2."""

import csv
import io
import threading
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openpyxl
import pypdfium2
import pytest
from sqlalchemy import select

from extranet.auth.models import User
from extranet.extensions import db
from extranet.plan.models import Axis
from extranet.roadmaps import exports
from extranet.roadmaps.models import IndicatorValue, Roadmap, RoadmapAction, RoadmapIndicator
from extranet.toolbox import services as toolbox
from extranet.toolbox.models import Document, DocumentType, Visibility
from tests.helpers import browser_login, parse

pytest_plugins = ["tests.roadmap_fixtures"]

STATUSES = ("draft", "submitted", "validated", "returned")
# (role, territory): Lyon's roadmap; Nantes is another territory.
ACTORS = {
    "coordinator": ("coordinator", "lyon"),
    "member": ("member", "lyon"),
    "other_coordinator": ("coordinator", "nantes"),
    "other_member": ("member", "nantes"),
    "animator": ("animator", None),
}
PDF = "/roadmaps/{id}.pdf"
PAGES = (
    "/roadmaps/{id}/print",
    "/roadmaps/{id}/export/actions.csv",
    "/roadmaps/{id}/export/actions.xlsx",
    "/roadmaps/{id}/export/indicators.csv",
    "/roadmaps/{id}/export/indicators.xlsx",
)
URLS = (PAGES[0], PDF, *PAGES[1:])
EVIL = '=HYPERLINK("http://evil.example","clic")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def axis(number: int) -> Axis:
    return db.session.scalar(select(Axis).filter_by(number=number))


def change(app, roadmap_id, edit):
    """Change the stored roadmap as its editors would have (``edit(roadmap)``)."""
    with app.app_context():
        roadmap = db.session.get(Roadmap, roadmap_id)
        edit(roadmap)
        db.session.commit()


def add_evil_action(roadmap):
    roadmap.actions.append(RoadmapAction(axis=axis(5), title=EVIL, description="- une **liste**\n- @saisie", position=3))


def add_precise_value(roadmap):
    own = db.session.scalar(select(RoadmapIndicator).filter_by(roadmap_id=roadmap.id, name="Taux de sortie vers le logement"))
    own.values.append(IndicatorValue(period_label="S1 2023", period_start=date(2023, 1, 1), period_end=date(2023, 6, 30),
                                     value=Decimal("12345678.91"), comment="-1 par rapport à 2022"))


def csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def pdf_text(body: bytes) -> str:
    document = pypdfium2.PdfDocument(body)
    try:
        text = " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()
    # Amounts are written with narrow no-break spaces; lines may break anywhere.
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


# --- Rights --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_exports_follow_the_reading_rights(app, login, make_user, make_roadmap, status):
    """Each person in their own browser: Lyon's people and the national team
    always; Nantes's only once the roadmap is validated."""
    roadmap = make_roadmap(status=status)
    for actor, (role, territory) in ACTORS.items():
        client = app.test_client()
        login(make_user(role, territory=territory), client=client)
        allowed = status == "validated" or territory in ("lyon", None)
        # The PDF is the print page rendered (about a second): once per status when allowed.
        urls = URLS if actor == "member" or not allowed else PAGES
        for url in urls:
            response = client.get(url.format(id=roadmap.id))
            assert response.status_code == (200 if allowed else 403), (actor, url, response.status_code)
            if allowed:
                assert response.headers["Cache-Control"] == "private, no-store", (actor, url)


def test_exports_need_an_account(client, make_roadmap):
    roadmap = make_roadmap(status="validated")
    for url in URLS:
        response = client.get(url.format(id=roadmap.id))
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_unknown_roadmap_table_or_format_is_not_found(client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="validated")
    logged_in("admin")
    for url in ("/roadmaps/999999/print", "/roadmaps/999999.pdf", "/roadmaps/999999/export/actions.csv",
                "/roadmaps/99999999999/export/actions.csv", "/roadmaps/99999999999.pdf",
                f"/roadmaps/{roadmap.id}/export/budget.csv", f"/roadmaps/{roadmap.id}/export/actions.pdf",
                f"/roadmaps/{roadmap.id}/export/actions.ods", f"/roadmaps/{roadmap.id}/export/actions",
                f"/roadmaps/{roadmap.id}/export/Actions.CSV", f"/roadmaps/{roadmap.id}.PDF"):
        assert client.get(url).status_code == 404, url


# --- The links on the roadmap page ------------------------------------------------------------


def test_the_roadmap_page_links_to_every_export(client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="validated")
    logged_in("member", territory="nantes")
    tree = parse(client.get(f"/roadmaps/{roadmap.id}").get_data(as_text=True))
    group = next(node for node in tree.iter() if node.attrs.get("id") == "roadmap-exports")
    links = {a.text(): a.attrs["href"] for a in group.iter() if a.tag == "a"}
    assert list(links) == ["Imprimer", "PDF", "Actions (CSV)", "Actions (XLSX)", "Indicateurs (CSV)", "Indicateurs (XLSX)"]
    assert sorted(links.values()) == sorted(url.format(id=roadmap.id) for url in URLS)
    for href in links.values():
        assert client.get(href).status_code == 200, href
    # The page itself prints without the site's furniture.
    assert any(node.tag == "link" and node.attrs.get("media") == "print" and node.attrs["href"].endswith("/print.css")
               for node in tree.iter())


# --- The print page --------------------------------------------------------------------------


def test_print_page_shows_every_section_without_forms_or_buttons(client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="submitted")
    logged_in("admin")  # the national team: the one who sees comment forms and review buttons on the page
    response = client.get(f"/roadmaps/{roadmap.id}/print")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tree = parse(html)
    h1 = [node.text() for node in tree.iter() if node.tag == "h1"]
    assert h1 == ["Feuille de route — Métropole de Lyon, 2023–2024"]
    ids = {node.attrs.get("id") for node in tree.iter()}
    for section in ("context", "actions", "indicators", "budget", "governance", "attachments"):
        assert f"section-{section}" in ids
    text = tree.text()
    assert "Soumise" in text and "Version 1 du" in text
    for shown in ("urbain", "Accès direct au logement depuis la rue", "Commission de prévention des expulsions",
                  "Captation de logements dans le parc privé", "Ménages accédant au logement depuis la rue",
                  "Taux de sortie vers le logement", "Nuit de la solidarité", "Grand Lyon Habitat"):
        assert shown in text, shown
    # Only the "Imprimer" button, which print.css leaves off the paper.
    controls = [node for node in tree.iter() if node.tag in ("form", "button", "input", "select", "textarea") or "fr-btn" in node.classes]
    assert [node.attrs.get("id") for node in controls] == ["print-button"] and "no-print" in controls[0].classes
    # Its own layout: not the site's menu and footer.
    assert "fr-header" not in html and "fr-footer" not in html and 'id="navigation"' not in html


def test_print_page_of_an_empty_roadmap(client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="draft", filled=False)
    logged_in("coordinator", territory="lyon")
    tree = parse(client.get(f"/roadmaps/{roadmap.id}/print").get_data(as_text=True))
    assert "Brouillon" in tree.text()
    assert [node.attrs.get("id") for node in tree.iter() if node.tag in ("form", "button")] == ["print-button"]


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_of_a_filled_roadmap(client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="validated")
    logged_in("member", territory="nantes")
    response = client.get(f"/roadmaps/{roadmap.id}.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="feuille-de-route-lyon-2023-2024.pdf"'
    assert response.headers["Cache-Control"] == "private, no-store"
    body = response.get_data()
    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    assert "Feuille de route — Métropole de Lyon, 2023–2024" in text
    assert "Commission de prévention des expulsions" in text
    # The budget's total over the four lines: 60 000 + 25 000 + 12 345,67 + 8 000.
    assert "105 345,67" in text
    assert "Validée" in text


class Recorder(BaseHTTPRequestHandler):
    """A web server on loopback that notes every request it gets."""

    requests: list[str] = []

    def do_GET(self):  # noqa: N802
        Recorder.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def outside_server():
    Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_pdf_never_fetches_an_image_from_elsewhere(app, client, logged_in, make_roadmap, outside_server):
    roadmap = make_roadmap(status="validated")

    def with_images(roadmap):
        roadmap.context = (f"Carte : ![carte]({outside_server}/carte.png)\n\n"
                           f"<img src=\"{outside_server}/brut.png\">\n\n"
                           f"[![vignette]({outside_server}/vignette.png)]({outside_server}/page)\n\n"
                           "![pièce jointe](/groups/attachments/1)")
    change(app, roadmap.id, with_images)
    logged_in("member", territory="lyon")
    response = client.get(f"/roadmaps/{roadmap.id}.pdf")
    assert response.status_code == 200 and response.get_data().startswith(b"%PDF")
    assert Recorder.requests == []


def test_pdf_renderer_serves_only_static_files(app, outside_server):
    """The second lock: whatever a page refers to, the renderer reads the
    platform's static files and nothing else (no network, no other file)."""
    html = f"""<html class="roadmap-pdf"><head>
      <link rel="stylesheet" href="/static/css/print.css">
      <link rel="stylesheet" href="{outside_server}/style.css"></head>
      <body><h1>Essai</h1>
      <img src="{outside_server}/image.png"><img src="//127.0.0.1:{outside_server.rsplit(':', 1)[1]}/relative.png">
      <img src="/groups/attachments/1"><img src="/static/../extranet/config.py">
      <img src="/static/%2e%2e/%2e%2e/etc/passwd"><img src="file:///etc/passwd">
      </body></html>"""
    with app.test_request_context("/roadmaps/1.pdf"):
        body, refused = exports.pdf(html, "http://localhost/")
    assert body.startswith(b"%PDF")
    assert Recorder.requests == []
    assert "http://localhost/static/css/print.css" not in refused
    assert f"{outside_server}/style.css" in refused and f"{outside_server}/image.png" in refused
    assert "file:///etc/passwd" in refused and "http://localhost/groups/attachments/1" in refused
    assert len(refused) == 7


# --- CSV ---------------------------------------------------------------------------------------


def test_actions_csv_for_french_excel(app, client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="draft")
    change(app, roadmap.id, add_evil_action)
    logged_in("coordinator", territory="lyon")
    response = client.get(f"/roadmaps/{roadmap.id}/export/actions.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="feuille-de-route-lyon-2023-2024-actions.csv"'
    rows = csv_rows(response)
    assert rows[0] == ["Priorité", "Numéro de l'axe", "Axe", "Titre", "Origine", "Structure pilote", "Partenaires",
                       "Début", "Fin", "Statut", "Description", "Documents"]
    # In the plan's order: axis 3, then 5, then 12.
    assert [row[1] for row in rows[1:]] == ["3", "5", "12"]
    by_title = {row[3]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    expulsions = by_title["Commission de prévention des expulsions"]
    assert expulsions["Priorité"].startswith("IV — ") and expulsions["Axe"].startswith("Renforcer la prévention des expulsions")
    assert expulsions["Origine"] == "Action existante à renforcer" and expulsions["Statut"] == "En cours"
    assert expulsions["Structure pilote"] == "Métropole" and expulsions["Partenaires"] == "CAF, CCAPEX"
    assert (expulsions["Début"], expulsions["Fin"]) == ("2023-01-01", "2024-12-31")
    captation = by_title["Captation de logements dans le parc privé"]
    assert captation["Origine"] == "Action nouvelle" and captation["Statut"] == "À lancer" and captation["Début"] == ""
    # Typed text never runs as a formula; the description is plain text.
    evil = by_title["'" + EVIL]
    assert evil["Description"] == "une liste @saisie"


def publish(app, author, title, visibility) -> int:
    """A toolbox document, published as its author would."""
    with app.app_context(), app.test_request_context():
        upload = toolbox.receive_upload(io.BytesIO(f"Note : {title}".encode()), "note.txt", 10**6)
        document = toolbox.publish(db.session.get(User, author.id), title=title, summary="", type=DocumentType.MINUTES,
                                   axis_ids=[axis(12).id], visibility=Visibility.NETWORK, upload=upload)
        document.visibility = Visibility(visibility)
        db.session.commit()
        return document.id


def test_actions_export_names_only_the_documents_the_reader_may_see(app, client, login, make_user, make_roadmap):
    admin = make_user("admin")
    shared = publish(app, admin, "Guide de la CCAPEX", "network")
    national = publish(app, admin, "Note interne de la Dihal", "national")
    roadmap = make_roadmap(status="validated")

    def attach(roadmap):
        action = next(a for a in roadmap.actions if a.title == "Commission de prévention des expulsions")
        action.documents = [db.session.get(Document, shared), db.session.get(Document, national)]
    change(app, roadmap.id, attach)

    def documents_column(user):
        reader = app.test_client()
        login(user, client=reader)
        rows = csv_rows(reader.get(f"/roadmaps/{roadmap.id}/export/actions.csv"))
        return [row[11] for row in rows[1:]]

    assert documents_column(make_user("member", territory="nantes")) == ["", "Guide de la CCAPEX"]
    assert documents_column(admin) == ["", "Guide de la CCAPEX; Note interne de la Dihal"]


def test_indicators_csv_one_row_per_target_and_value(app, client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="validated")
    change(app, roadmap.id, add_precise_value)
    logged_in("animator")
    response = client.get(f"/roadmaps/{roadmap.id}/export/indicators.csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="feuille-de-route-lyon-2023-2024-indicateurs.csv"'
    rows = csv_rows(response)
    assert rows[0] == ["Indicateur", "National ou propre", "Unité", "Objectif", "Type", "Période", "Début", "Fin",
                       "Valeur", "Commentaire"]
    body = [row[:9] for row in rows[1:]]
    shared, own = "Ménages accédant au logement depuis la rue", "Taux de sortie vers le logement"
    assert body == [
        [shared, "National", "ménages", "", "Cible", "2023", "2023-01-01", "2023-12-31", "150"],
        [shared, "National", "ménages", "", "Cible", "2024", "2024-01-01", "2024-12-31", "200"],
        [shared, "National", "ménages", "", "Valeur atteinte", "T1 2023", "2023-01-01", "2023-03-31", "40"],
        [own, "Propre", "%", "", "Cible", "2023", "2023-01-01", "2023-12-31", "32,5"],
        [own, "Propre", "%", "", "Valeur atteinte", "S1 2023", "2023-01-01", "2023-06-30", "12345678,91"],
    ]
    assert rows[-1][9] == "'-1 par rapport à 2022"


def test_csv_of_an_empty_roadmap_has_its_header(client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="draft", filled=False)
    logged_in("member", territory="lyon")
    for what in ("actions", "indicators"):
        rows = csv_rows(client.get(f"/roadmaps/{roadmap.id}/export/{what}.csv"))
        assert len(rows) == 1 and rows[0][0] in ("Priorité", "Indicateur")


# --- XLSX --------------------------------------------------------------------------------------


def test_actions_xlsx_text_stays_text(app, client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="validated")
    change(app, roadmap.id, add_evil_action)
    logged_in("member", territory="nantes")
    response = client.get(f"/roadmaps/{roadmap.id}/export/actions.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == XLSX
    assert response.headers["Content-Disposition"] == 'attachment; filename="feuille-de-route-lyon-2023-2024-actions.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.title == "Actions"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Priorité", "Numéro de l'axe", "Axe", "Titre")
    assert [row[1] for row in rows[1:]] == [3, 5, 12]
    evil = sheet.cell(row=3, column=4)
    assert evil.value == EVIL and evil.data_type == "s"
    assert not [cell for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    expulsions = rows[3]
    assert expulsions[3] == "Commission de prévention des expulsions"
    assert (expulsions[7], expulsions[8]) == (datetime(2023, 1, 1), datetime(2024, 12, 31))


def test_indicators_xlsx_values_are_exact_numbers(app, client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="draft")
    change(app, roadmap.id, add_precise_value)
    logged_in("admin")
    response = client.get(f"/roadmaps/{roadmap.id}/export/indicators.xlsx")
    assert response.headers["Content-Disposition"] == 'attachment; filename="feuille-de-route-lyon-2023-2024-indicateurs.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.title == "Indicateurs"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][4] == "Type" and rows[0][8] == "Valeur"
    values = [row[8] for row in rows[1:]]
    assert all(isinstance(value, int | float) for value in values)
    assert [Decimal(str(value)) for value in values] == [Decimal(150), Decimal(200), Decimal(40), Decimal("32.5"),
                                                          Decimal("12345678.91")]
    assert rows[-1][4:8] == ("Valeur atteinte", "S1 2023", datetime(2023, 1, 1), datetime(2023, 6, 30))
    # A reported period's label and comment are text cells, even when they look like a formula.
    assert sheet.cell(row=len(rows), column=10).data_type == "s"


def test_exports_in_english_for_an_english_reader(client, logged_in, make_roadmap):
    roadmap = make_roadmap(status="validated")
    logged_in("member", territory="nantes", language="en")
    rows = csv_rows(client.get(f"/roadmaps/{roadmap.id}/export/indicators.csv"))
    assert rows[0][:2] == ["Indicator", "National or own"] and rows[1][4] == "Target"
    # The file name is the same in every language.
    response = client.get(f"/roadmaps/{roadmap.id}/export/actions.csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="feuille-de-route-lyon-2023-2024-actions.csv"'


# --- Printing the roadmap page itself (Ctrl+P) ------------------------------------------------------


@pytest.mark.browser
def test_the_roadmap_page_prints_without_the_site_furniture(live_server, page, make_user, make_roadmap):
    roadmap = make_roadmap(status="draft")
    browser_login(page, live_server, make_user("coordinator", territory="lyon"))
    page.goto(f"{live_server.url}/roadmaps/{roadmap.id}")
    assert page.locator("#roadmap-exports").is_visible() and page.locator("header.fr-header").is_visible()
    page.emulate_media(media="print")
    for hidden in ("header.fr-header", "footer.fr-footer", "#roadmap-exports", "#roadmap-contents"):
        assert not page.locator(hidden).is_visible(), hidden
    assert not [b for b in page.locator("main .fr-btn, main button, main form").all() if b.is_visible()]
    for shown in ("#section-context", "#section-actions", "#section-budget"):
        assert page.locator(shown).is_visible(), shown
    assert page.get_by_text("Commission de prévention des expulsions").first.is_visible()
    # Every part after the first starts a page.
    assert page.locator("#section-actions").evaluate("e => getComputedStyle(e).breakBefore") == "page"
    assert page.locator("#section-context").evaluate("e => getComputedStyle(e).breakBefore") != "page"
    assert page.csp_violations == []
