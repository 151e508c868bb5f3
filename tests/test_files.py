"""File type detection, text extraction, download names and content-addressed
storage, on real files made by ``tests/files.py``."""

import glob
import io
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from extranet import create_app, files, storage
from extranet.extensions import db
from extranet.files import ExtractionError, FileFormat

from . import files as make


def write(tmp_path, data: bytes, name="upload") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# --- Detection --------------------------------------------------------------------


@pytest.mark.parametrize("sample", list(make.SAMPLES))
def test_every_accepted_format_is_recognised_from_its_content(tmp_path, sample):
    maker, name, fmt, _ = make.SAMPLES[sample]
    assert files.detect(write(tmp_path, maker()), name) == FileFormat(fmt)


@pytest.mark.parametrize("sample", [s for s in make.SAMPLES if s not in ("csv", "txt")])
def test_the_name_does_not_decide_the_type(tmp_path, sample):
    maker, _, fmt, _ = make.SAMPLES[sample]
    path = write(tmp_path, maker())
    for lying_name in ("rapport.exe", "rapport.docx", "rapport.pdf", "rapport", ""):
        assert files.detect(path, lying_name) == FileFormat(fmt)


def test_csv_and_text_differ_by_their_name_only(tmp_path):
    path = write(tmp_path, make.csv())
    assert files.detect(path, "données.csv") == FileFormat.CSV
    assert files.detect(path, "DONNÉES.CSV") == FileFormat.CSV
    assert files.detect(path, "données.txt") == FileFormat.TXT
    assert files.detect(path, "données") == FileFormat.TXT


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(make.exe(), id="windows program"),
        pytest.param(make.zip_archive(), id="plain zip"),
        pytest.param(make.docm(), id="word with macros"),
        pytest.param(make.xls_ole2(), id="excel 97 container"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00\x01\x02binary\xff" * 100, id="binary"),
        pytest.param(b"GIF89a" + bytes(range(256)), id="gif"),
        pytest.param("texte\x00avec NUL".encode(), id="text with NUL"),
    ],
)
def test_refused_contents(tmp_path, content):
    path = write(tmp_path, content)
    for name in ("fichier.pdf", "fichier.docx", "fichier.txt", "fichier.csv"):
        assert files.detect(path, name) is None


def test_an_executable_named_pdf_is_refused(tmp_path):
    assert files.detect(write(tmp_path, make.exe()), "Guide.pdf") is None


def test_a_pdf_named_docx_is_a_pdf(tmp_path):
    assert files.detect(write(tmp_path, make.pdf()), "Guide.docx") == FileFormat.PDF


def test_text_in_windows_encoding_is_text(tmp_path):
    path = write(tmp_path, make.txt(encoding="cp1252"))
    assert files.detect(path, "notes.txt") == FileFormat.TXT
    extraction = files.extract_text(path, FileFormat.TXT)
    assert "hébergement" in extraction.text and "œuvre" in extraction.text


def test_a_missing_file_is_not_recognised_and_does_not_raise(tmp_path):
    assert files.detect(tmp_path / "nothing-here", "x.pdf") is None


# --- Extraction ----------------------------------------------------------------------


@pytest.mark.parametrize("sample", list(make.SAMPLES))
def test_text_extraction_of_each_format(tmp_path, sample):
    maker, name, fmt, word = make.SAMPLES[sample]
    extraction = files.extract_text(write(tmp_path, maker()), FileFormat(fmt))
    if word is None:
        assert extraction.text == "" and extraction.error == ExtractionError.NO_TEXT_FORMAT
    else:
        assert extraction.error is None
        assert word in extraction.text


def test_pdf_text_comes_from_every_page(tmp_path):
    extraction = files.extract_text(write(tmp_path, make.pdf("mot-de-la-fin", pages=4)), FileFormat.PDF)
    for n in range(1, 5):
        assert f"Page {n} du guide" in extraction.text
    assert "mot-de-la-fin" in extraction.text


def test_spreadsheet_and_table_cells_are_read(tmp_path):
    assert "Ménages relogés" in files.extract_text(write(tmp_path, make.xlsx()), FileFormat.XLSX).text
    assert "Valeur du tableau" in files.extract_text(write(tmp_path, make.docx(), "d"), FileFormat.DOCX).text
    assert "42" in files.extract_text(write(tmp_path, make.ods(), "o"), FileFormat.ODS).text


@pytest.mark.parametrize(
    "maker, expected",
    [
        (make.encrypted_pdf, ExtractionError.ENCRYPTED),
        (make.corrupt_pdf, ExtractionError.CORRUPT),
        (make.scanned_pdf, ExtractionError.EMPTY),
    ],
)
@pytest.mark.parametrize("extract", [files.extract_text, files.extract_text_bounded], ids=["direct", "bounded"])
def test_unreadable_pdfs_give_a_reason_and_a_log_line(tmp_path, caplog, maker, expected, extract):
    path = write(tmp_path, maker())
    assert files.detect(path, "x.pdf") == FileFormat.PDF  # still a PDF, still accepted
    with caplog.at_level(logging.WARNING, logger="extranet.files"):
        extraction = extract(path, FileFormat.PDF)
    assert extraction.text == "" and extraction.error == expected
    assert any(expected.value in record.getMessage() for record in caplog.records if record.name == "extranet.files")


def test_a_pdf_protected_only_against_copying_is_read(tmp_path):
    path = write(tmp_path, make.encrypted_pdf(password="", words="lisible"))
    assert "lisible" in files.extract_text(path, FileFormat.PDF).text


def test_the_text_of_a_long_pdf_stops_at_the_cap(tmp_path):
    path = write(tmp_path, make.long_pdf("fin-du-document", chars=files.MAX_TEXT_CHARS + 100_000))
    extraction = files.extract_text_bounded(path, FileFormat.PDF)
    assert extraction.error is None and len(extraction.text) == files.MAX_TEXT_CHARS
    assert extraction.text.startswith("logement logement") and "fin-du-document" not in extraction.text


@pytest.mark.parametrize("fmt", [f for f in FileFormat if f.has_text])
def test_extraction_never_raises_on_garbage(tmp_path, fmt):
    for content in (b"", b"PK\x03\x04" + os.urandom(500), os.urandom(2000), make.zip_archive()):
        extraction = files.extract_text(write(tmp_path, content), fmt)
        assert isinstance(extraction, files.Extraction)
        if fmt not in (FileFormat.CSV, FileFormat.TXT):
            assert extraction.error in (ExtractionError.CORRUPT, ExtractionError.EMPTY)


def test_extracted_text_is_capped_and_has_no_nul(tmp_path):
    big = ("mot " * 300_000).encode()  # 1.2 million characters
    extraction = files.extract_text(write(tmp_path, big), FileFormat.TXT)
    assert len(extraction.text) == files.MAX_TEXT_CHARS
    odd = files.extract_text(write(tmp_path, b"a\x00b", "nul"), FileFormat.TXT)
    assert "\x00" not in odd.text


# --- Download names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, fmt, expected",
    [
        ("Guide méthodologique été 2024.pdf", FileFormat.PDF, "Guide méthodologique été 2024.pdf"),
        ("Rapport d'étape.docx", FileFormat.PDF, "Rapport d'étape.pdf"),  # the extension lied
        ("photo.JPEG", FileFormat.JPEG, "photo.JPEG"),
        ("photo.jpg", FileFormat.JPEG, "photo.jpg"),
        ("notes.md", FileFormat.TXT, "notes.md.txt"),
        ("sans extension", FileFormat.ODT, "sans extension.odt"),
        ("../../etc/passwd", FileFormat.TXT, "passwd.txt"),
        ("C:\\Users\\léa\\Bilan.xlsx", FileFormat.XLSX, "Bilan.xlsx"),
        ("a\x00b\r\nc\u202e.pdf", FileFormat.PDF, "abc.pdf"),
        ('quo"te<>:|?*.pdf', FileFormat.PDF, "quote.pdf"),
        (".htaccess", FileFormat.TXT, "htaccess.txt"),
        ("", FileFormat.PDF, "document.pdf"),
        ("...", FileFormat.PDF, "document.pdf"),
        ("  espaces   multiples  .pdf", FileFormat.PDF, "espaces multiples.pdf"),
    ],
)
def test_safe_filename_keeps_accents_and_drops_danger(name, fmt, expected):
    assert files.safe_filename(name, fmt) == expected


def test_safe_filename_is_bounded():
    name = files.safe_filename("é" * 400 + ".pdf", FileFormat.PDF)
    assert len(name) <= 200 and name.endswith(".pdf")


# --- Storage ----------------------------------------------------------------------------------


@pytest.fixture
def bare_app(tmp_path):
    """An application without database work: storage only needs DATA_DIR."""
    app = create_app({"ENV": "testing", "SECRET_KEY": "x", "DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    with app.app_context():
        yield app


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_files_are_stored_once_by_content_hash(bare_app, tmp_path):
    import hashlib

    content = make.pdf()
    first = storage.stage(io.BytesIO(content))
    path = first.keep()
    second = storage.stage(io.BytesIO(content))
    assert second.keep() == path
    digest = hashlib.sha256(content).hexdigest()
    assert path == tmp_path / "files" / digest[:2] / digest
    assert path.read_bytes() == content
    assert stored_files(tmp_path / "files") == [path]  # no copy, no temporary file left


def test_too_large_streams_leave_nothing(bare_app, tmp_path):
    with pytest.raises(storage.TooLarge):
        storage.stage(io.BytesIO(b"x" * 3000), max_bytes=2048)
    assert stored_files(tmp_path / "files") == []
    staged = storage.stage(io.BytesIO(b"x" * 2048), max_bytes=2048)
    assert staged.size == 2048
    staged.discard()
    assert stored_files(tmp_path / "files") == []


def test_a_staged_file_can_be_found_again_by_its_temporary_name(bare_app):
    staged = storage.stage(io.BytesIO(b"contenu"))
    again = storage.restage(staged.path.name)
    assert (again.sha256, again.size) == (staged.sha256, staged.size)
    for bad in ("../secret_key", "upload-../../x", "", "other-name", "upload-" + "a" * 100):
        assert storage.restage(bad) is None
    staged.discard()
    assert storage.restage(staged.path.name) is None


def test_stale_temporary_files_are_swept(bare_app, tmp_path):
    old = storage.stage(io.BytesIO(b"abandoned"))
    os.utime(old.path, (1, 1))
    fresh = storage.stage(io.BytesIO(b"in use"))
    assert not old.path.exists() and fresh.path.exists()


def test_paths_are_only_made_from_hashes(bare_app):
    for bad in ("../../etc/passwd", "ABC", "g" * 64, ""):
        with pytest.raises(ValueError):
            storage.path_for(bad)


def test_removal_waits_for_the_commit(bare_app, tmp_path):
    digest = storage.store_bytes(b"to be removed")
    storage.remove_after_commit([digest])
    db.session.execute(db.text("SELECT 1"))
    db.session.rollback()
    assert storage.exists(digest)  # rolled back: kept
    storage.remove_after_commit([digest])
    db.session.execute(db.text("SELECT 1"))
    db.session.commit()
    assert storage.exists(digest)  # just stored: maybe an upload in progress reuses it
    past = time.time() - storage.IN_USE_SECONDS - 1
    os.utime(storage.path_for(digest), (past, past))
    storage.remove_after_commit([digest])
    db.session.execute(db.text("SELECT 1"))
    db.session.commit()
    assert not storage.exists(digest)


def test_extracted_text_can_always_be_stored():
    """No NUL (PostgreSQL refuses it) and no lone surrogate (some PDFs yield them: no database takes them)."""
    buffer = files._TextBuffer()
    buffer.add("a\ud800b\x00c")
    assert buffer.value() == "a?bc"
    buffer.value().encode("utf-8")


def test_a_small_file_hiding_huge_xml_is_kept_but_not_extracted(tmp_path):
    """A few kilobytes that unzip to tens of megabytes of XML would take
    gigabytes to parse: the text is given up, with the reason."""
    import zipfile

    from docx import Document as WordDocument

    source = tmp_path / "normal.docx"
    WordDocument().save(source)
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + b"<w:p/>" * (files.MAX_XML_BYTES // 6 + 1))
            out.writestr(item, data)
    assert bomb.stat().st_size < 1024 * 1024
    result = files.extract_text(bomb, FileFormat.DOCX)
    # lxml reports its lack of memory as a syntax error: either way the text is given up, the server unharmed.
    assert result.text == "" and result.error in (ExtractionError.TOO_LARGE, ExtractionError.CORRUPT)


# --- Bounded extraction ------------------------------------------------------------------


def never_ending_file(tmp_path) -> str:
    """A named pipe: reading it waits for a writer, like a parser stuck on a hostile file."""
    path = tmp_path / "never-ending"
    os.mkfifo(path)
    return str(path)


def extraction_processes(holding: str | None = None) -> list[int]:
    """The extraction workers this process started; with ``holding``, those that have that file open."""
    found = []
    for children in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
        for pid in Path(children).read_text().split():
            try:
                if b"extranet_files_worker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
                if holding is None or any(os.readlink(fd) == holding for fd in glob.glob(f"/proc/{pid}/fd/*")):
                    found.append(int(pid))
            except OSError:
                continue  # gone meanwhile
    return found


def wait_for(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.01)


def is_dead(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_bounded_extraction_gives_the_same_text(tmp_path):
    path = write(tmp_path, make.pdf("Le logement d'abord en Guyane", pages=4))
    assert files.extract_text_bounded(path, FileFormat.PDF) == files.extract_text(path, FileFormat.PDF)
    assert "Guyane" in files.extract_text_bounded(path, FileFormat.PDF).text


def test_extraction_that_takes_too_long_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "EXTRACTION_SECONDS", 1)
    before = set(extraction_processes())
    result = files.extract_text_bounded(never_ending_file(tmp_path), FileFormat.TXT)
    assert result.text == "" and result.error == ExtractionError.TOO_SLOW
    assert set(extraction_processes()) <= before  # the stuck worker was stopped, not left waiting
    monkeypatch.undo()
    assert "Guyane" in files.extract_text_bounded(write(tmp_path, make.pdf("Guyane"), "next.pdf"), FileFormat.PDF).text


def test_a_crash_of_the_parser_gives_an_error_and_spares_the_server(tmp_path):
    fifo = never_ending_file(tmp_path)
    outcome = []
    reading = threading.Thread(target=lambda: outcome.append(files.extract_text_bounded(fifo, FileFormat.TXT)))
    reading.start()
    writer = None

    def open_writer():
        # Succeeds once a worker is opening the pipe; a writer that writes
        # nothing then keeps the worker inside its read.
        nonlocal writer
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return False
        return True

    wait_for(open_writer)
    try:
        wait_for(lambda: extraction_processes(holding=fifo))
        (pid,) = extraction_processes(holding=fifo)
        os.kill(pid, signal.SIGSEGV)  # what a bug in a C parser does
        reading.join(10)
    finally:
        os.close(writer)
    assert not reading.is_alive()
    assert outcome[0].text == "" and outcome[0].error in (ExtractionError.TOO_LARGE, ExtractionError.CORRUPT)
    assert "Guyane" in files.extract_text_bounded(write(tmp_path, make.pdf("Guyane"), "next.pdf"), FileFormat.PDF).text


def test_extraction_still_works_after_its_processes_were_killed(tmp_path):
    """The kernel, short of memory, or an administrator may kill an idle worker."""
    path = write(tmp_path, make.pdf("Mayotte"), "m.pdf")
    assert "Mayotte" in files.extract_text_bounded(path, FileFormat.PDF).text
    killed = extraction_processes()
    assert killed
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: all(is_dead(pid) for pid in killed))
    assert "Mayotte" in files.extract_text_bounded(path, FileFormat.PDF).text


def test_extractions_from_several_threads_each_get_their_text(tmp_path, monkeypatch):
    # Long enough for a fresh extraction worker to start on a machine under heavy load.
    monkeypatch.setattr(files, "EXTRACTION_SECONDS", 15)
    paths = {f"territoire-{n}-fin": write(tmp_path, make.pdf(f"territoire-{n}-fin", pages=2), f"t{n}.pdf") for n in range(12)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        stuck = pool.submit(files.extract_text_bounded, never_ending_file(tmp_path), FileFormat.TXT)
        results = {word: pool.submit(files.extract_text_bounded, path, FileFormat.PDF) for word, path in paths.items()}
        for word, future in results.items():
            text = future.result().text
            assert word in text and not any(other in text for other in paths if other != word)
        assert not stuck.done()  # one stuck file holds up no one else
        assert stuck.result().error == ExtractionError.TOO_SLOW


def test_extraction_that_needs_too_much_memory_is_stopped(monkeypatch, tmp_path):
    import zipfile

    from docx import Document as WordDocument

    monkeypatch.setattr(files, "EXTRACTION_MEMORY_BYTES", 1024 * 1024)
    source, heavy = tmp_path / "s.docx", tmp_path / "heavy.docx"
    WordDocument().save(source)
    # 15 MB of paragraphs: under the XML limit, but hundreds of MB once parsed.
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(heavy, "w", zipfile.ZIP_DEFLATED) as out:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + b"<w:p><w:r><w:t>mot</w:t></w:r></w:p>" * 400_000)
            out.writestr(item, data)
    result = files.extract_text_bounded(heavy, FileFormat.DOCX)
    # lxml reports its lack of memory as a syntax error: either way the text is given up, the server unharmed.
    assert result.text == "" and result.error in (ExtractionError.TOO_LARGE, ExtractionError.CORRUPT)
    monkeypatch.undo()
    assert "Guyane" in files.extract_text_bounded(write(tmp_path, make.pdf("Guyane"), "next.pdf"), FileFormat.PDF).text
