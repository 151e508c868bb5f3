"""What a file really is, and the text inside it.

The type of an uploaded file is decided from its content (magic bytes, and
for ZIP-based office formats the entries inside), never from its name: a
name can lie, the bytes cannot. Text extraction feeds search; it never
raises, since a file whose text cannot be read is still worth keeping (it
stays findable by its title and summary).
"""

import atexit
import codecs
import enum
import logging
import math
import os
import resource
import signal
import struct
import threading
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

# Extracted text beyond this is dropped: enough to index any real document,
# bounded so a database row stays reasonable.
MAX_TEXT_CHARS = 1_000_000
# Office files are ZIP archives: above this uncompressed size we do not try to
# read them (a "ZIP bomb" would otherwise fill the memory of the server).
MAX_UNCOMPRESSED_BYTES = 300 * 1024 * 1024
# The XML parts the extractors parse are loaded whole, at tens of times their
# size in memory: past this, the text is not extracted (the file is kept).
MAX_XML_BYTES = 20 * 1024 * 1024
# How much of a file is read to decide whether it is text.
_CHUNK = 1024 * 1024


class FileFormat(enum.StrEnum):
    PDF = "pdf"
    DOCX = "docx"
    DOC = "doc"
    ODT = "odt"
    XLSX = "xlsx"
    ODS = "ods"
    PPTX = "pptx"
    ODP = "odp"
    CSV = "csv"
    TXT = "txt"
    PNG = "png"
    JPEG = "jpeg"

    @property
    def extension(self) -> str:
        return _EXTENSIONS.get(self, self.value)

    @property
    def mimetype(self) -> str:
        return MIMETYPES[self]

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self]

    @property
    def has_text(self) -> bool:
        return self not in (FileFormat.DOC, FileFormat.PNG, FileFormat.JPEG)


_EXTENSIONS = {FileFormat.JPEG: "jpg"}

MIMETYPES = {
    FileFormat.PDF: "application/pdf",
    FileFormat.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileFormat.DOC: "application/msword",
    FileFormat.ODT: "application/vnd.oasis.opendocument.text",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileFormat.ODS: "application/vnd.oasis.opendocument.spreadsheet",
    FileFormat.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    FileFormat.ODP: "application/vnd.oasis.opendocument.presentation",
    FileFormat.CSV: "text/csv",
    FileFormat.TXT: "text/plain",
    FileFormat.PNG: "image/png",
    FileFormat.JPEG: "image/jpeg",
}

# Format names are the same in every language.
FORMAT_LABELS = {
    FileFormat.PDF: "PDF",
    FileFormat.DOCX: "Word (DOCX)",
    FileFormat.DOC: "Word 97-2003 (DOC)",
    FileFormat.ODT: "OpenDocument Text (ODT)",
    FileFormat.XLSX: "Excel (XLSX)",
    FileFormat.ODS: "OpenDocument Spreadsheet (ODS)",
    FileFormat.PPTX: "PowerPoint (PPTX)",
    FileFormat.ODP: "OpenDocument Presentation (ODP)",
    FileFormat.CSV: "CSV",
    FileFormat.TXT: _l("Text"),
    FileFormat.PNG: "PNG",
    FileFormat.JPEG: "JPEG",
}

# Extensions people use for each format; the first is the one a download gets.
KNOWN_EXTENSIONS = {
    FileFormat.PDF: ("pdf",),
    FileFormat.DOCX: ("docx",),
    FileFormat.DOC: ("doc",),
    FileFormat.ODT: ("odt",),
    FileFormat.XLSX: ("xlsx",),
    FileFormat.ODS: ("ods",),
    FileFormat.PPTX: ("pptx",),
    FileFormat.ODP: ("odp",),
    FileFormat.CSV: ("csv",),
    FileFormat.TXT: ("txt", "text"),
    FileFormat.PNG: ("png",),
    FileFormat.JPEG: ("jpg", "jpeg", "jpe"),
}

ACCEPTED_EXTENSIONS = tuple(ext for exts in KNOWN_EXTENSIONS.values() for ext in exts)

_ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": FileFormat.ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": FileFormat.ODS,
    b"application/vnd.oasis.opendocument.presentation": FileFormat.ODP,
}
_OOXML_FOLDERS = (("word/", FileFormat.DOCX), ("xl/", FileFormat.XLSX), ("ppt/", FileFormat.PPTX))
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# --- Type detection ----------------------------------------------------------------


def extension_of(filename: str | None) -> str:
    _, dot, ext = (filename or "").rpartition(".")
    return ext.lower() if dot else ""


def detect(path: str | os.PathLike, filename: str = "") -> FileFormat | None:
    """The real format of the file at ``path``, or None when it is not one we
    accept. The name only decides between CSV and plain text, which have the
    same kind of content."""
    try:
        with open(path, "rb") as f:
            head = f.read(2048)
        if not head:
            return None
        if head.lstrip(b"\x00\t\n\r\f ").startswith(b"%PDF-"):
            return FileFormat.PDF
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return FileFormat.PNG
        if head.startswith(b"\xff\xd8\xff"):
            return FileFormat.JPEG
        if head.startswith(_OLE2_MAGIC):
            return FileFormat.DOC if _is_word_ole2(path) else None
        if head.startswith(b"PK\x03\x04"):
            return _detect_zip(path)
        if _is_text(path):
            return FileFormat.CSV if extension_of(filename) == "csv" else FileFormat.TXT
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError, struct.error, EOFError) as error:
        log.info("Could not read %s to detect its type: %s", path, error)
    return None


def _detect_zip(path) -> FileFormat | None:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "mimetype" in names:
            # ODF: the first entry, stored uncompressed, names the type.
            return _ODF_MIMETYPES.get(archive.read("mimetype").strip())
        if "[Content_Types].xml" in names:
            if any(name.lower().endswith("vbaproject.bin") for name in names):
                return None  # macro-enabled (docm, xlsm, pptm): not something we pass around
            for folder, fmt in _OOXML_FOLDERS:
                if any(name.startswith(folder) for name in names):
                    return fmt
    return None


def _is_word_ole2(path) -> bool:
    """An OLE2 compound file (DOC, but also XLS, PPT, MSG...) is a Word
    document when its root directory holds a "WordDocument" stream."""
    with open(path, "rb") as f:
        header = f.read(512)
        if len(header) < 512:
            return False
        sector_shift = struct.unpack_from("<H", header, 30)[0]
        if sector_shift not in (9, 12):
            return False
        sector_size = 1 << sector_shift
        first_directory_sector = struct.unpack_from("<I", header, 48)[0]
        if first_directory_sector >= 0xFFFFFFFA:
            return False
        f.seek((first_directory_sector + 1) * sector_size)
        directory = f.read(sector_size)
    for offset in range(0, len(directory) - 127, 128):
        name_length = struct.unpack_from("<H", directory, offset + 64)[0]
        if 2 <= name_length <= 64:
            name = directory[offset : offset + name_length - 2].decode("utf-16-le", "replace")
            if name == "WordDocument":
                return True
    return False


# Control characters that never appear in a text file (tab, line feed, form
# feed and carriage return do).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def _is_text(path) -> bool:
    """Valid UTF-8 (or a single-byte Western encoding) without control bytes."""
    return _text_encoding(path) is not None


def _text_encoding(path) -> str | None:
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    if chunk.translate(None, _BINARY_BYTES) != chunk:
                        return None
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


def decode_text(data: bytes) -> str:
    """UTF-8 when it is, else Windows' Western encoding (French files saved by
    Excel or Notepad), else Latin-1. An incomplete character at the very end
    (text cut at a limit) is dropped rather than taken for an encoding error."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return codecs.getincrementaldecoder(encoding)().decode(data, final=False)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


# --- Names ---------------------------------------------------------------------------


def safe_filename(name: str | None, fmt: FileFormat | None = None, default: str = "document") -> str:
    """A file name safe to offer for download, that keeps what people wrote
    (accents, spaces, apostrophes): no folder part, no control or separator
    character, not hidden, at most 200 characters. With ``fmt``, the extension
    tells the truth: a PDF named "x.docx" is offered as "x.pdf"."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '<>:"|?*')
    name = " ".join(name.split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if fmt is not None:
        if ext.lower() in ACCEPTED_EXTENSIONS:
            ext = ext if ext.lower() in KNOWN_EXTENSIONS[fmt] else fmt.extension
        else:
            stem, ext = name, fmt.extension  # "notes.md" holding text is offered as "notes.md.txt"
    stem = stem.strip(" .") or default
    if len(ext) > 10:
        stem, ext = f"{stem}.{ext}", ""
    stem = stem[: 200 - len(ext) - 1].rstrip(" .") or default
    return f"{stem}.{ext}" if ext else stem


# --- Text extraction ------------------------------------------------------------------


class ExtractionError(enum.StrEnum):
    NO_TEXT_FORMAT = "no_text_format"
    ENCRYPTED = "encrypted"
    CORRUPT = "corrupt"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TOO_SLOW = "too_slow"

    @property
    def label(self):
        return EXTRACTION_ERROR_LABELS[self]


EXTRACTION_ERROR_LABELS = {
    ExtractionError.NO_TEXT_FORMAT: _l("the platform cannot read text in this format"),
    ExtractionError.ENCRYPTED: _l("the file is protected by a password"),
    ExtractionError.CORRUPT: _l("the file is damaged or could not be read"),
    ExtractionError.EMPTY: _l("no text was found in the file (a scanned document?)"),
    ExtractionError.TOO_LARGE: _l("the file is too large to be read"),
    ExtractionError.TOO_SLOW: _l("reading the file took too long"),
}


@dataclass(frozen=True)
class Extraction:
    text: str = ""
    error: ExtractionError | None = None
    detail: str = ""  # for the log


class _Encrypted(Exception):
    pass


class _Full(Exception):
    """Enough text was read."""


class _TextBuffer:
    def __init__(self, limit: int = MAX_TEXT_CHARS):
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit

    def add(self, text) -> None:
        if text is None:
            return
        # PostgreSQL refuses NUL in text, and no database takes half a UTF-16
        # pair (some PDFs yield lone surrogates).
        text = str(text).replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
        if not text.strip():
            return
        self.parts.append(text)
        self.size += len(text) + 1
        if self.size >= self.limit:
            raise _Full

    def value(self) -> str:
        return "\n".join(self.parts)[: self.limit]


def extract_text(path: str | os.PathLike, fmt: FileFormat) -> Extraction:
    """The text of the file, or an empty text and the reason. Never raises."""
    if not fmt.has_text:
        return Extraction(error=ExtractionError.NO_TEXT_FORMAT)
    buffer = _TextBuffer()
    try:
        if fmt in (FileFormat.DOCX, FileFormat.XLSX, FileFormat.PPTX, FileFormat.ODT, FileFormat.ODS, FileFormat.ODP):
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
                if sum(info.file_size for info in members) > MAX_UNCOMPRESSED_BYTES:
                    return _failed(path, fmt, ExtractionError.TOO_LARGE, "uncompressed size over the limit")
                if sum(info.file_size for info in members if info.filename.endswith(".xml")) > MAX_XML_BYTES:
                    return _failed(path, fmt, ExtractionError.TOO_LARGE, "XML content over the limit")
        try:
            _EXTRACTORS[fmt](Path(path), buffer)
        except _Full:
            pass
    except _Encrypted:
        return _failed(path, fmt, ExtractionError.ENCRYPTED, "password protected")
    except MemoryError:
        return _failed(path, fmt, ExtractionError.TOO_LARGE, "out of memory")
    except Exception as error:  # a damaged file can make any library fail in any way
        return _failed(path, fmt, ExtractionError.CORRUPT, f"{type(error).__name__}: {error}"[:300])
    text = buffer.value()
    if not text.strip():
        return _failed(path, fmt, ExtractionError.EMPTY, "no text")
    return Extraction(text=text)


def _failed(path, fmt, error: ExtractionError, detail: str) -> Extraction:
    log.warning("No text extracted from %s file %s: %s (%s)", fmt.value, os.fspath(path), error.value, detail)
    return Extraction(error=error, detail=detail)


# PDFium is not thread-safe: one document at a time per process, whoever calls.
_PDFIUM_LOCK = threading.Lock()


def _extract_pdf(path: Path, buffer: _TextBuffer) -> None:
    # PDFium (C++, the engine of Chrome's viewer) reads text about eight times
    # faster than pypdf, which matters for search indexing.
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    with _PDFIUM_LOCK:
        try:
            # Many PDFs are encrypted with an empty user password (only printing
            # or copying is restricted): PDFium opens those without asking.
            document = pypdfium2.PdfDocument(path)
        except pypdfium2.PdfiumError as error:
            if error.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
                raise _Encrypted from error
            raise
        try:
            for index in range(len(document)):  # _Full stops at the text cap, before the next page
                page = document[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        buffer.add(textpage.get_text_bounded().replace("\r\n", "\n"))
                    finally:
                        textpage.close()
                finally:
                    page.close()
        finally:
            document.close()


def _extract_docx(path: Path, buffer: _TextBuffer) -> None:
    import docx

    document = docx.Document(str(path))
    for paragraph in document.paragraphs:
        buffer.add(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            buffer.add("\t".join(cell.text for cell in row.cells))


def _extract_xlsx(path: Path, buffer: _TextBuffer) -> None:
    import openpyxl

    # A file object, not the path: openpyxl judges a path by its extension,
    # and stored files have none.
    with open(path, "rb") as f:
        workbook = openpyxl.load_workbook(f, read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                buffer.add(sheet.title)
                for row in sheet.iter_rows(values_only=True):
                    buffer.add("\t".join(str(v) for v in row if v is not None))
        finally:
            workbook.close()


def _extract_pptx(path: Path, buffer: _TextBuffer) -> None:
    from pptx import Presentation

    presentation = Presentation(str(path))
    for slide in presentation.slides:
        for shape in slide.shapes:
            _pptx_shape(shape, buffer)
        if slide.has_notes_slide:
            buffer.add(slide.notes_slide.notes_text_frame.text if slide.notes_slide.notes_text_frame else "")


def _pptx_shape(shape, buffer: _TextBuffer) -> None:
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        buffer.add(shape.text_frame.text)
    if getattr(shape, "has_table", False) and shape.has_table:
        for row in shape.table.rows:
            buffer.add("\t".join(cell.text for cell in row.cells))
    for child in getattr(shape, "shapes", ()) or ():  # groups
        _pptx_shape(child, buffer)


def _extract_odf(path: Path, buffer: _TextBuffer) -> None:
    from odf import teletype
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    document = load(str(path))
    paragraphs = {(TEXTNS, "p"), (TEXTNS, "h")}

    # Depth-first over the body, one line per paragraph or heading (those of
    # text, of spreadsheet cells and of slides alike).
    stack = [document.body]
    while stack:
        node = stack.pop()
        if getattr(node, "qname", None) in paragraphs:
            buffer.add(teletype.extractText(node))
            continue
        stack.extend(reversed(getattr(node, "childNodes", [])))


def _extract_plain(path: Path, buffer: _TextBuffer) -> None:
    with open(path, "rb") as f:
        data = f.read(MAX_TEXT_CHARS * 4)
    buffer.add(decode_text(data))


_EXTRACTORS = {
    FileFormat.PDF: _extract_pdf,
    FileFormat.DOCX: _extract_docx,
    FileFormat.XLSX: _extract_xlsx,
    FileFormat.PPTX: _extract_pptx,
    FileFormat.ODT: _extract_odf,
    FileFormat.ODS: _extract_odf,
    FileFormat.ODP: _extract_odf,
    FileFormat.CSV: _extract_plain,
    FileFormat.TXT: _extract_plain,
}


# --- Extraction with bounds -----------------------------------------------------------
#
# A file of a few kilobytes can make a parser work for minutes or fill the
# memory (huge content streams, crafted XML), and a crash in a C parser
# (PDFium, lxml) would take the whole process with it. Uploads therefore
# extract in a separate worker process, with a time and a memory limit for each
# file: a hostile file costs at most that, and the web worker never waits longer.
#
# Starting a process per file cost more than reading a PDF (forking a web
# worker of a few hundred megabytes), so workers are kept between files and
# replaced when one is stopped. A worker is a fresh interpreter that loads this
# module alone: not a fork of a threaded web process, and not multiprocessing's
# start methods, which would run the program's main script again inside it.

EXTRACTION_SECONDS = 30
EXTRACTION_MEMORY_BYTES = 1024 * 1024 * 1024
# Idle workers kept for the next files (about 40 MB each): as many as a web
# process extracts at once in ordinary use; past that, a worker started for a
# rush of uploads stops after its file.
_IDLE_WORKERS = 4


def extract_text_bounded(path: str | os.PathLike, fmt: FileFormat) -> Extraction:
    """:func:`extract_text`, in a worker process that gets at most
    EXTRACTION_SECONDS and EXTRACTION_MEMORY_BYTES more memory. Never raises
    on account of the file; safe to call from several threads at once."""
    if not fmt.has_text:
        return Extraction(error=ExtractionError.NO_TEXT_FORMAT)
    # Limits travel with each file: the worker shares nothing with this process.
    seconds = EXTRACTION_SECONDS
    job = (os.path.abspath(path), fmt.value, seconds, EXTRACTION_MEMORY_BYTES)
    worker = _workers.take()
    reusable = False
    try:
        try:
            worker.connection.send(job)
        except OSError:
            # An idle worker can be killed (by an administrator, by the kernel
            # short of memory): the file was not tried yet, a new worker tries it.
            worker.stop()
            worker = _Worker()
            worker.connection.send(job)
        if not worker.connection.poll(seconds):
            return _failed(path, fmt, ExtractionError.TOO_SLOW, f"no result after {seconds} s")
        text, error, detail, reusable = worker.connection.recv()
    except (EOFError, OSError):
        worker.stop()
        if worker.process.returncode == -signal.SIGXCPU:
            return _failed(path, fmt, ExtractionError.TOO_SLOW, "processor time limit reached")
        # Most likely its memory limit, or a parser that crashed.
        return _failed(path, fmt, ExtractionError.TOO_LARGE, f"the extraction process stopped ({worker.process.returncode})")
    finally:
        _workers.give_back(worker, reusable)
    if error:
        return _failed(path, fmt, ExtractionError(error), detail)  # logged here, in the server's log
    return Extraction(text=text)


# Loaded by file, not imported as extranet.files: the application package would
# bring Flask-SQLAlchemy, Alembic and the rest, tripling the start time and the
# memory of every worker for nothing.
_WORKER_MAIN = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("extranet_files_worker", sys.argv[1])
module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module._serve(int(sys.argv[2]))
"""


class _Worker:
    """One extraction process and the connection to it; used by one thread at a time."""

    def __init__(self):
        import socket
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                # -P: no module from the current directory shadows one the worker imports.
                [sys.executable, "-P", "-c", _WORKER_MAIN, __file__, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        self.connection = Connection(ours.detach())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.connection.close()


class _Workers:
    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []

    def take(self) -> _Worker:
        while True:
            with self._lock:
                if not self._idle:
                    break
                worker = self._idle.pop()
            if worker.process.poll() is None:
                return worker
            worker.stop()
        # Started outside the lock: a thread never waits for another's worker.
        return _Worker()

    def give_back(self, worker: _Worker, reusable: bool) -> None:
        if reusable:
            with self._lock:
                if len(self._idle) < _IDLE_WORKERS:
                    self._idle.append(worker)
                    return
        worker.stop()

    def forget(self) -> None:
        """In a forked copy of this process (gunicorn's workers): the idle
        workers belong to the parent. Closing our copies of their connections
        lets them see the end of the parent when it comes."""
        for worker in self._idle:
            worker.connection.close()
        self._lock = threading.Lock()
        self._idle = []

    def stop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


_workers = _Workers()
os.register_at_fork(after_in_child=_workers.forget)
atexit.register(_workers.stop_idle)


def _virtual_memory_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _soft_limit(value: int, hard: int) -> int:
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


def _serve(fd: int) -> None:
    """The worker's loop: one file at a time, until the web process goes away
    or a file leaves the worker in a doubtful state."""
    from multiprocessing.connection import Connection

    connection = Connection(fd)
    logging.disable(logging.CRITICAL)  # the web process logs the outcome
    # A worker stopped by a limit or crashed by a hostile file leaves no core
    # dump: it would copy the file's content, and fill the disk, every time.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, hard_memory = resource.getrlimit(resource.RLIMIT_AS)
    _, hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    start_memory = _virtual_memory_bytes()
    while True:
        try:
            path, fmt, seconds, memory = connection.recv()
        except (EOFError, OSError):
            return
        # Soft limits, counted from what the worker uses now, and lifted again
        # after the file (a hard limit could not be raised back). The CPU limit
        # stops a runaway parser even if the web process stopped waiting.
        resource.setrlimit(resource.RLIMIT_AS, (_soft_limit(_virtual_memory_bytes() + memory, hard_memory), hard_memory))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_seconds = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
        resource.setrlimit(resource.RLIMIT_CPU, (_soft_limit(cpu_seconds, hard_cpu), hard_cpu))
        try:
            result = extract_text(path, FileFormat(fmt))
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (hard_memory, hard_memory))
            resource.setrlimit(resource.RLIMIT_CPU, (hard_cpu, hard_cpu))
        # After running out of memory, or once grown, a fresh worker is worth
        # its start (a heap left in pieces, a leak that adds up file after file).
        reusable = result.error != ExtractionError.TOO_LARGE and _virtual_memory_bytes() < start_memory + memory // 4
        connection.send((result.text, result.error.value if result.error else None, result.detail, reusable))
        if not reusable:
            return
