"""Spreadsheets are read a row at a time and stop at the first limit crossed: memory follows the
limits (rows, problems, characters in a row), not the size of the file."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from typing import Any

from adapters.spreadsheets import MAX_ROW_CHARACTERS, MAX_ROWS
from models.spreadsheets import MAX_PROBLEMS
from services import spreadsheets
from tests.unit.test_evidence import NETWORK, TODAY, stored

TWELVE_MB = 12_000_000


def peak_mib(work: Callable[[], Any]) -> tuple[Any, float]:
    """What `work` returns and the peak of the Python memory it allocated, in MiB."""
    tracemalloc.start()
    try:
        result = work()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak / 2**20


def preview(kind: str, content: bytes) -> spreadsheets.ImportPreview:
    return spreadsheets.preview_import(
        stored(), NETWORK, "NSM", kind, "hostile.csv", content, today=TODAY, max_bytes=TWELVE_MB
    )


def roster(rows: int, day: bytes = b"2020-01-01") -> bytes:
    body = b"".join(b"NSM-H%06d,Person %d,%s,\n" % (i, i, day) for i in range(rows))
    return b"employee_id,name,hired_on,left_on\n" + body


def test_five_million_one_cell_rows_stop_at_the_problem_limit_in_little_memory() -> None:
    content = b"employee_id,name,hired_on\n" + b"x\n" * 4_999_980  # 10 MB, within the size limit
    found, mib = peak_mib(lambda: preview("roster", content))
    assert len(found.problems) == MAX_PROBLEMS + 1
    assert found.problems[-1].message.startswith(f"{MAX_PROBLEMS:,} problems by row ")
    assert found.rows < 1_000  # the rows after the limit were never read
    assert mib < 20, f"{mib:.0f} MiB"


def test_a_sheet_past_the_row_limit_is_refused_at_the_first_row_past_it() -> None:
    content = roster(250_000)
    found, mib = peak_mib(lambda: preview("roster", content))
    assert [str(p) for p in found.problems] == [
        f"file, -: the file has more than {MAX_ROWS:,} rows below its header: split it"
    ]
    assert mib < 20, f"{mib:.0f} MiB"


def test_a_preview_at_the_row_limit_counts_without_holding_every_employee() -> None:
    content = roster(MAX_ROWS)
    found, mib = peak_mib(lambda: preview("roster", content))
    assert found.ready and (found.rows, found.new_employees) == (MAX_ROWS, MAX_ROWS)
    assert mib < 20, f"{mib:.0f} MiB"


def test_an_attendance_sheet_of_unknown_people_stops_at_the_problem_limit() -> None:
    rows = b"".join(b"NOBODY-%06d,2025-02-01,8,waste_management,X\n" % i for i in range(MAX_ROWS))
    found = preview("attendance", b"employee_id,date,hours,topics,trainer\n" + rows)
    assert len(found.problems) == MAX_PROBLEMS + 1 and found.rows == MAX_PROBLEMS


def test_a_row_longer_than_the_limit_is_refused_however_it_is_split() -> None:
    wide = b"employee_id,name,hired_on\n" + b"ab," * 2_500_000 + b"\n"
    quoted_lines = b"employee_id,name,hired_on\n" + b'"a\nb",' * 40_000 + b"\n"
    for content in (wide, quoted_lines):
        found, mib = peak_mib(lambda content=content: preview("roster", content))
        [problem] = found.problems
        assert problem.message == (
            f"a row longer than {MAX_ROW_CHARACTERS:,} characters: not a roster or attendance sheet"
        )
        assert mib < 20, f"{mib:.0f} MiB"


def test_a_bad_byte_is_reported_where_it_is_however_far_into_the_file() -> None:
    content = roster(10_000) + b"NSM-Z,B\xe4ckstr\xf6m,2020-01-01,\n"
    [problem] = preview("roster", content).problems
    assert problem.message.startswith(
        f"not an XLSX workbook, and not CSV text in UTF-8: byte {len(roster(10_000)) + 8} "
        "(0xe4) cannot be decoded"
    )


def test_an_xlsx_sheet_past_the_row_limit_is_refused() -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(["employee_id", "name", "hired_on", "left_on"])
    for i in range(MAX_ROWS + 100):
        sheet.append([f"E{i}", f"Person {i}", "2020-01-01"])
    out = io.BytesIO()
    workbook.save(out)
    [problem] = preview("roster", out.getvalue()).problems
    assert problem.message == f"the sheet has more than {MAX_ROWS + 1:,} rows: split it"
