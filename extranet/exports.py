"""Tables a feature exports as spreadsheets: CSV for French Excel and XLSX.

One shape for every export (the agenda's registrants, a roadmap's actions and
indicators, the network's indicator table): a header and rows of cells. A cell
is text, a number (``int``, ``Decimal``, ``float``), a date or ``None``.

Nothing a person typed may run as a formula in the spreadsheet that opens the
file: a CSV text cell starting with ``=``, ``+``, ``-``, ``@``… gets a leading
apostrophe (OWASP "CSV injection"); an XLSX text cell is written as a string
cell, which a spreadsheet never evaluates. Numbers stay numbers: the XLSX
writes them as numeric cells, the CSV with a decimal comma, as French Excel
reads a number.
"""

import csv
import io
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from flask import Response

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _number_text(value) -> str:
    """``Decimal("32.50")`` -> ``"32,5"``: French Excel reads a decimal comma
    as a number (a dot would make a date or text of it)."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    text = format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)
    return text.replace(".", ",")


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | Decimal | float):
        return _number_text(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return safe_cell(str(value))


def to_csv(header: list, rows: list[list]) -> bytes:
    """UTF-8 with a BOM and ``;`` between cells: French Excel opens it as is."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([csv_cell(c) for c in header])
    writer.writerows([csv_cell(c) for c in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(sheet: str) -> str:
    # Excel's limits on sheet names: 31 characters, none of []:*?/\, no apostrophe at either end.
    return "".join(c for c in str(sheet) if c not in "[]:*?/\\")[:31].strip().strip("'") or "1"


def to_xlsx(header: list, rows: list[list], sheet: str) -> bytes:
    """Text as string cells (never a formula, a link or a number guessed from
    text), numbers as numeric cells, dates as dates."""
    return to_xlsx_sheets([(sheet, header, rows)])


def to_xlsx_sheets(sheets: list[tuple[str, list, list[list]]], frozen_columns: int = 0) -> bytes:
    """Several tables, one sheet each (name, header, rows), written as
    :func:`to_xlsx` writes one; ``frozen_columns`` stay in view with the
    header when scrolling. Names are made unique (Excel ignores their case)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    moment = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    taken = set()
    for sheet, header, rows in sheets:
        name, n = _sheet_name(sheet), 2
        while name.lower() in taken:
            suffix = f" ({n})"
            name, n = _sheet_name(sheet)[: 31 - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        _write_sheet(book.add_worksheet(name), header, rows, (bold, day, moment), frozen_columns)
    book.close()
    return out.getvalue()


def _write_sheet(worksheet, header, rows, formats, frozen_columns) -> None:
    bold, day, moment = formats
    widths = [len(str(c)) for c in header]
    for col, value in enumerate(header):
        worksheet.write_string(0, col, str(value), bold)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                value = str(value)
            if isinstance(value, int | Decimal | float):
                # A double holds every Numeric(14, 2) value exactly enough to read back the same decimal.
                worksheet.write_number(r, col, float(value))
                shown = len(_number_text(value))
            elif isinstance(value, datetime):
                worksheet.write_datetime(r, col, value, moment)
                shown = 16
            elif isinstance(value, date):
                worksheet.write_datetime(r, col, datetime(value.year, value.month, value.day), day)
                shown = 10
            else:
                value = str(value)
                worksheet.write_string(r, col, value)
                shown = len(value)
            if col < len(widths):
                widths[col] = max(widths[col], min(shown, 60))
    for col, width in enumerate(widths):
        worksheet.set_column(col, col, width + 2)
    worksheet.freeze_panes(1, frozen_columns)


def ascii_slug(*parts) -> str:
    """``("Métropole de Lyon", "2023–2024")`` -> ``"metropole-de-lyon-2023-2024"``:
    a file name every browser and mail client keeps as it is."""
    text = unicodedata.normalize("NFKD", " ".join(str(p) for p in parts)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120].strip("-") or "export"


def download(body: bytes, mimetype: str, filename: str) -> Response:
    """A file to save, never cached (exports hold what only some people may read).
    ``filename`` is ASCII, made by :func:`ascii_slug`."""
    response = Response(body, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
