"""Reading and writing roster and attendance spreadsheets: CSV (UTF-8, comma, semicolon or tab) and
XLSX (openpyxl, read only). The format is told by the content, not the name."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from models.spreadsheets import Sheet

XLSX_MAGIC = b"PK\x03\x04"
# Rows of one sheet: a roster of member companies of 250 people or fewer, or their attendance at
# many trainings, fits many times over; committing this many rows takes the portal about 30 MiB.
MAX_ROWS = 10_000
MAX_UNPACKED_BYTES = 200_000_000  # an XLSX is a zip: its parts unpacked, at most this (zip bombs)
# openpyxl keeps a workbook's shared strings in memory: their part unpacked, at most this.
MAX_SHARED_STRINGS_BYTES = 20_000_000
MAX_ROW_CHARACTERS = 100_000  # one CSV row (its fields, separators and quoted line breaks)
MAX_COLUMNS = 64  # an XLSX row's cells after this column are not read
CHUNK = 1 << 16


class SpreadsheetError(ValueError):
    """A file that cannot be read as a spreadsheet at all; the message says why."""


def read_sheet(filename: str, content: bytes) -> Sheet:
    """The first sheet's header and its rows, read as they are checked: blank rows left out, each
    row with its number there. The file is parsed a row at a time and reading stops at the first
    limit crossed (MAX_ROWS rows, MAX_ROW_CHARACTERS in a row), raising SpreadsheetError while the
    rows are iterated; so memory follows the limits, not the file."""
    if not content or content.isspace():
        raise SpreadsheetError("the file is empty")
    rows = _read_xlsx(content) if content.startswith(XLSX_MAGIC) else _read_csv(content)
    numbered = ((i, tuple(r)) for i, r in enumerate(rows, start=1)
                if any(v is not None and str(v).strip() for v in r))
    first = next(numbered, None)
    if first is None:
        raise SpreadsheetError("the file holds no rows")
    header = tuple("" if v is None else str(v).strip() for v in first[1])
    return Sheet(header=header, rows=_at_most(numbered, MAX_ROWS))


Numbered = Iterator[tuple[int, tuple[Any, ...]]]


def _at_most(rows: Numbered, limit: int) -> Numbered:
    for count, row in enumerate(rows, start=1):
        if count > limit:
            raise SpreadsheetError(f"the file has more than {limit:,} rows below its header: split it")
        yield row


def _first_bad_byte(content: bytes) -> int:
    """Where `content` stops being UTF-8, found a chunk at a time (only when decoding failed)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(content)
    for start in range(0, len(content), CHUNK):
        try:
            decoder.decode(view[start:start + CHUNK])
        except UnicodeDecodeError as exc:
            return max(0, start + exc.start)
    return len(content)


class _Lines:
    """The CSV text a line at a time, decoded as it is read, refusing a row longer than
    MAX_ROW_CHARACTERS (counted from the last row the reader gave: quoted fields may span lines)."""

    def __init__(self, content: bytes) -> None:
        self.text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
        self.in_row = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(MAX_ROW_CHARACTERS + 1)
        if not line:
            raise StopIteration
        if "\x00" in line:
            raise SpreadsheetError("not an XLSX workbook, and not CSV text: it holds NUL bytes")
        self.in_row += len(line)
        if self.in_row > MAX_ROW_CHARACTERS:
            raise SpreadsheetError(f"a row longer than {MAX_ROW_CHARACTERS:,} characters: not a roster or "
                                   "attendance sheet")
        return line


def _read_csv(content: bytes) -> Iterator[list[Any]]:
    end = content.find(b"\n", 0, CHUNK)
    first = content[:end if end >= 0 else CHUNK].decode("utf-8", errors="ignore")
    delimiter = max(",;\t", key=first.count)
    lines = _Lines(content)
    try:
        for row in csv.reader(lines, delimiter=delimiter):
            lines.in_row = 0
            yield row
    except UnicodeDecodeError:
        at = _first_bad_byte(content)
        raise SpreadsheetError(f"not an XLSX workbook, and not CSV text in UTF-8: byte {at + 1} "
                               f"(0x{content[at]:02x}) cannot be decoded; save it as CSV UTF-8 or "
                               "as XLSX") from None
    except csv.Error as exc:
        raise SpreadsheetError(f"not readable as CSV: {exc}") from None


def _read_xlsx(content: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
            unpacked = sum(i.file_size for i in parts)
            if unpacked > MAX_UNPACKED_BYTES:
                raise SpreadsheetError(f"the workbook unpacks to {unpacked / 1e6:.0f} MB, more than "
                                       f"{MAX_UNPACKED_BYTES / 1e6:.0f} MB")
            shared = sum(i.file_size for i in parts if i.filename.lower().endswith("sharedstrings.xml"))
            if shared > MAX_SHARED_STRINGS_BYTES:
                raise SpreadsheetError(f"the workbook's shared strings unpack to {shared / 1e6:.0f} MB, more "
                                       f"than {MAX_SHARED_STRINGS_BYTES / 1e6:.0f} MB: save it as CSV")
            if "xl/workbook.xml" not in archive.namelist():
                raise SpreadsheetError("a zip file, but not an XLSX workbook (it has no xl/workbook.xml)")
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except SpreadsheetError:
        raise
    except Exception as exc:  # openpyxl raises many kinds (KeyError, zipfile, XML parse errors)
        raise unreadable(exc) from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # rows as long as their cells, not as the sheet claims to be
        # Blank rows count too, or a sheet of a million empty rows would be read to its end.
        for count, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            if count > MAX_ROWS + 1:
                raise SpreadsheetError(f"the sheet has more than {MAX_ROWS + 1:,} rows: split it")
            cells = list(row)
            while cells and cells[-1] is None:  # padded to MAX_COLUMNS
                cells.pop()
            yield cells
    except SpreadsheetError:
        raise
    except Exception as exc:
        raise unreadable(exc) from None
    finally:
        workbook.close()


def unreadable(exc: Exception) -> SpreadsheetError:
    return SpreadsheetError(f"not a readable XLSX workbook: {type(exc).__name__}: {str(exc)[:200]}")


# What a spreadsheet program takes for the start of a formula (OWASP, CSV injection): a cell of text
# starting so is written as text that shows, never runs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defused(value: Any) -> Any:
    """A CSV cell: text that starts like a formula gets a leading apostrophe, as a spreadsheet
    program's own "this is text" mark; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows: Iterable[Sequence[Any]], lineterminator: str = "\r\n") -> bytes:
    """Rows as CSV text in UTF-8, every cell defused (`defused`). Every CSV the project writes
    goes through here."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=lineterminator).writerows([defused(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def write_xlsx(rows: Sequence[Sequence[Any]], help_rows: Sequence[Sequence[str]] = ()) -> bytes:
    """A workbook whose first sheet holds `rows`, and a second sheet "columns" the `help_rows`.
    Text is always a text cell, never a formula: text that starts like one is stored as text with
    the quote prefix (what Excel does with a leading apostrophe), so it shows and never runs."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    _append(sheet, rows)
    if help_rows:
        _append(workbook.create_sheet("columns"), help_rows)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _append(sheet: Any, rows: Iterable[Sequence[Any]]) -> None:
    for row in rows:
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                cell.data_type = "s"
                cell.quotePrefix = True
