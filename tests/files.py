"""Real files for the tests, made by the very libraries that office suites'
files are read with (and Pillow, fpdf2): each returns the bytes of a file
holding the given words, so detection and extraction are tested on the real
formats, not on mocks."""

import io
import struct
import zipfile

WORD = "hébergement"  # accented on purpose: extraction must keep it


def pdf(words: str = f"Le {WORD} d'abord", pages: int = 3) -> bytes:
    """A PDF of several pages; ``words`` is on the last one."""
    from fpdf import FPDF

    document = FPDF()
    document.set_font("Helvetica", size=12)
    for number in range(1, pages + 1):
        document.add_page()
        document.cell(text=f"Page {number} du guide")
        if number == pages:
            document.ln(10)
            document.cell(text=words)
    return bytes(document.output())


def encrypted_pdf(password: str = "secret", words: str = f"Confidentiel {WORD}") -> bytes:
    """Encrypted (RC4): ``password`` opens it; an empty password only restricts copying and printing."""
    from fpdf import FPDF

    document = FPDF()
    document.set_font("Helvetica", size=12)
    document.add_page()
    document.cell(text=words)
    document.set_encryption(owner_password=password + "-owner", user_password=password)
    return bytes(document.output())


def long_pdf(last_words: str, chars: int) -> bytes:
    """Pages of small print, ``chars`` characters in all, then ``last_words`` alone on a last page."""
    from fpdf import FPDF

    line = "logement " * 28
    document = FPDF()
    document.set_font("Helvetica", size=4)
    for number in range(-(-chars // len(line))):
        if number % 60 == 0:
            document.add_page()
        document.text(5, 5 + (number % 60) * 4.7, line)
    document.add_page()
    document.text(10, 10, last_words)
    return bytes(document.output())


def corrupt_pdf() -> bytes:
    """A PDF header, then garbage: what a broken transfer leaves."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n" + bytes(range(256)) * 8


def scanned_pdf() -> bytes:
    """A PDF with an image and no text, like a scan."""
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.image(io.BytesIO(png()), x=10, y=10, w=50)
    return bytes(document.output())


def docx(words: str = f"Accompagnement vers le {WORD}") -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading("Fiche action", level=1)
    document.add_paragraph(words)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Indicateur"
    table.rows[0].cells[1].text = "Valeur du tableau"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _odf(document, words: str) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt(words: str = f"Compte rendu sur le {WORD}") -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Titre du compte rendu"))
    document.text.addElement(P(text=words))
    return _odf(document, words)


def ods(words: str = f"Tableau du {WORD}") -> bytes:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Indicateurs")
    for values in (("Territoire", "Places"), (words, "42")):
        row = TableRow()
        for value in values:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    return _odf(document, words)


def odp(words: str = f"Présentation sur le {WORD}") -> bytes:
    from odf.draw import Frame, Page, TextBox
    from odf.opendocument import OpenDocumentPresentation
    from odf.style import MasterPage, PageLayout
    from odf.text import P

    document = OpenDocumentPresentation()
    layout = PageLayout(name="layout")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    page = Page(masterpagename=master)
    frame = Frame(width="20cm", height="5cm", x="1cm", y="1cm")
    box = TextBox()
    box.addElement(P(text=words))
    frame.addElement(box)
    page.addElement(frame)
    document.presentation.addElement(page)
    return _odf(document, words)


def xlsx(words: str = f"Suivi du {WORD}") -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Suivi"
    sheet.append(["Territoire", "Ménages relogés"])
    sheet.append([words, 128])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def pptx(words: str = f"Club des territoires : le {WORD}") -> bytes:
    from pptx import Presentation

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Club des territoires"
    slide.placeholders[1].text = words
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def csv(words: str = f"{WORD};42") -> bytes:
    return f"territoire;valeur\n{words}\n".encode()


def txt(words: str = f"Notes sur le {WORD}", encoding: str = "utf-8") -> bytes:
    return f"{words}\nDeuxième ligne, œuvre.\n".encode(encoding)


def png(size=(64, 48)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (0, 0, 145)).save(out, format="PNG")
    return out.getvalue()


def jpeg(size=(64, 48)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (225, 0, 15)).save(out, format="JPEG")
    return out.getvalue()


def ole2(stream_name: str = "WordDocument") -> bytes:
    """A minimal OLE2 compound file (the container of .doc, .xls, .ppt) whose
    root holds one stream named ``stream_name``: a Word 97-2003 document's
    structure, without the Word content itself."""
    sector = 512
    header = bytearray(sector)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HH", header, 24, 0x003E, 0x0003)  # minor, major version (3: 512-byte sectors)
    struct.pack_into("<H", header, 28, 0xFFFE)  # little-endian
    struct.pack_into("<HH", header, 30, 9, 6)  # sector shift (512), mini sector shift (64)
    struct.pack_into("<I", header, 44, 1)  # one FAT sector
    struct.pack_into("<I", header, 48, 1)  # the directory starts at sector 1
    struct.pack_into("<I", header, 56, 4096)  # mini stream cutoff
    struct.pack_into("<I", header, 60, 0xFFFFFFFE)  # no mini FAT
    struct.pack_into("<I", header, 68, 0xFFFFFFFE)  # no DIFAT sector
    struct.pack_into("<I", header, 76, 0)  # FAT in sector 0
    for i in range(1, 109):
        struct.pack_into("<I", header, 76 + 4 * i, 0xFFFFFFFF)

    fat = bytearray(b"\xff" * sector)
    struct.pack_into("<III", fat, 0, 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFE)  # FAT sector, directory, stream

    def entry(name: str, kind: int, start: int, size: int, child: int = 0xFFFFFFFF) -> bytes:
        raw = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        raw[0 : len(encoded)] = encoded
        struct.pack_into("<H", raw, 64, len(encoded))
        raw[66] = kind
        raw[67] = 1  # black
        struct.pack_into("<III", raw, 68, 0xFFFFFFFF, 0xFFFFFFFF, child)
        struct.pack_into("<II", raw, 116, start, size)
        return bytes(raw)

    directory = entry("Root Entry", 5, 0xFFFFFFFE, 0, child=1) + entry(stream_name, 2, 2, sector)
    directory += bytes(sector - len(directory))
    content = (b"Word 97 content \x00" * 40)[:sector]
    return bytes(header) + bytes(fat) + directory + content


def doc() -> bytes:
    return ole2("WordDocument")


def xls_ole2() -> bytes:
    """An Excel 97-2003 container: not among the accepted types."""
    return ole2("Workbook")


def exe() -> bytes:
    """The start of a Windows program (MZ header, PE signature)."""
    stub = bytearray(b"MZ" + bytes(58) + struct.pack("<I", 64))
    return bytes(stub) + b"PE\x00\x00" + bytes(range(256)) * 4


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "just a zip")
    return out.getvalue()


def docm() -> bytes:
    """A DOCX with macros (a .docm named .docx)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx())) as source, zipfile.ZipFile(out, "w") as archive:
        for item in source.infolist():
            archive.writestr(item, source.read(item.filename))
        archive.writestr("word/vbaProject.bin", b"\x00" * 64)
    return out.getvalue()


# name -> (maker, file name, format value, a word its text must contain or None)
SAMPLES = {
    "pdf": (pdf, "Guide méthodologique.pdf", "pdf", WORD),
    "docx": (docx, "Fiche action.docx", "docx", WORD),
    "doc": (doc, "Ancien compte rendu.doc", "doc", None),
    "odt": (odt, "Compte rendu.odt", "odt", WORD),
    "xlsx": (xlsx, "Suivi.xlsx", "xlsx", WORD),
    "ods": (ods, "Tableau.ods", "ods", WORD),
    "pptx": (pptx, "Club.pptx", "pptx", WORD),
    "odp": (odp, "Présentation.odp", "odp", WORD),
    "csv": (csv, "Données.csv", "csv", WORD),
    "txt": (txt, "Notes.txt", "txt", WORD),
    "png": (png, "Carte.png", "png", None),
    "jpeg": (jpeg, "Photo.jpg", "jpeg", None),
}
