"""Reading and writing roster and attendance spreadsheets: CSV (UTF-8, comma, semicolon or tab) and
XLSX (openpyxl, read only). The format is told by the content, not the name."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from typing import Any

from models.spreadsheets import Sheet

XLSX_MAGIC = b"PK\x03\x04"
MAX_ROWS = 200_000
MAX_UNPACKED_BYTES = 200_000_000  # an XLSX is a zip: its parts unpacked, at most this (zip bombs)


class SpreadsheetError(ValueError):
    """A file that cannot be read as a spreadsheet at all; the message says why."""


def read_sheet(filename: str, content: bytes) -> Sheet:
    """The first sheet's header and rows (blank rows left out, each row with its number there)."""
    if not content.strip():
        raise SpreadsheetError("the file is empty")
    rows = _read_xlsx(content) if content.startswith(XLSX_MAGIC) else _read_csv(content)
    numbered = [(i, tuple(r)) for i, r in enumerate(rows, start=1)
                if any(v is not None and str(v).strip() for v in r)]
    if not numbered:
        raise SpreadsheetError("the file holds no rows")
    if len(numbered) > MAX_ROWS + 1:
        raise SpreadsheetError(f"the file has {len(numbered) - 1} rows, more than {MAX_ROWS}: split it")
    (_, header), *body = numbered
    return Sheet(header=tuple("" if v is None else str(v).strip() for v in header), rows=tuple(body))


def _read_csv(content: bytes) -> list[list[Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpreadsheetError(f"not an XLSX workbook, and not CSV text in UTF-8: byte {exc.start + 1} "
                               f"(0x{content[exc.start]:02x}) cannot be decoded; save it as CSV UTF-8 or "
                               "as XLSX") from None
    if "\x00" in text:
        raise SpreadsheetError("not an XLSX workbook, and not CSV text: it holds NUL bytes")
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise SpreadsheetError(f"not readable as CSV: {exc}") from None


def _read_xlsx(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
            if unpacked > MAX_UNPACKED_BYTES:
                raise SpreadsheetError(f"the workbook unpacks to {unpacked / 1e6:.0f} MB, more than "
                                       f"{MAX_UNPACKED_BYTES / 1e6:.0f} MB")
            if "xl/workbook.xml" not in archive.namelist():
                raise SpreadsheetError("a zip file, but not an XLSX workbook (it has no xl/workbook.xml)")
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except SpreadsheetError:
        raise
    except Exception as exc:  # openpyxl raises many kinds (KeyError, zipfile, XML parse errors)
        raise unreadable(exc) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except Exception as exc:
        raise unreadable(exc) from None
    finally:
        workbook.close()


def unreadable(exc: Exception) -> SpreadsheetError:
    return SpreadsheetError(f"not a readable XLSX workbook: {type(exc).__name__}: {str(exc)[:200]}")


def write_csv(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def write_xlsx(rows: Sequence[Sequence[Any]], help_rows: Sequence[Sequence[str]] = ()) -> bytes:
    """A workbook whose first sheet holds `rows`, and a second sheet "columns" the `help_rows`."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    for row in rows:
        sheet.append(list(row))
    if help_rows:
        explained = workbook.create_sheet("columns")
        for row in help_rows:
            explained.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
