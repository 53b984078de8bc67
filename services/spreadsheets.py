"""Use cases: import a company's roster or training attendance from a spreadsheet (CSV or XLSX) —
preview every problem by row and column, then commit all or nothing — and the templates."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from adapters.spreadsheets import SpreadsheetError, read_sheet, write_csv, write_xlsx
from models.errors import RefusedChange, ServiceError
from models.evidence import Actor
from models.network import Company, Network
from models.spreadsheets import COLUMNS, Checked, Column, Kind, Problem, check_attendance, check_roster
from models.spreadsheets import template_rows as template_header
from services.evidence import (
    Recorded,
    find_company,
    max_upload_bytes,
    may_record_or_refuse,
    today_or_clock,
    too_large,
    training_sessions_with,
    with_company,
    write,
)
from services.unit_of_work import AbstractUnitOfWork

FORMATS = ("csv", "xlsx")


class SpreadsheetRefused(ServiceError, ValueError):
    """A spreadsheet with problems: nothing was written; `problems` lists each by row and column."""

    def __init__(self, filename: str, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:50])
        more = f"\n… and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in {filename[:100]!r}; nothing was written:\n"
                         f"{shown}{more}")


class ImportPreview(BaseModel):
    """What a spreadsheet would record, or every problem that stops it; nothing written."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    filename: str
    rows: int
    problems: tuple[Problem, ...]
    new_employees: int = 0
    changed_employees: int = 0
    sessions: int = 0
    attendances: int = 0

    @property
    def ready(self) -> bool:
        return not self.problems


def template_columns(kind: Kind | str) -> tuple[Column, ...]:
    """The published columns of a roster or attendance spreadsheet."""
    return COLUMNS[Kind(kind)]


def spreadsheet_template(kind: Kind | str, fmt: str) -> bytes:
    """The template to fill in: the header row (XLSX: and a sheet `columns` explaining each)."""
    kind = Kind(kind)
    if fmt not in FORMATS:
        raise RefusedChange(f"format {fmt!r}: choose csv or xlsx")
    header = template_header(kind)
    if fmt == "csv":
        return write_csv(header)
    explained = [("column", "required", "meaning", "example")] + [
        (c.name, "yes" if c.required else "no", c.meaning, c.example) for c in COLUMNS[kind]]
    return write_xlsx(header, explained)


def _check(kind: Kind, filename: str, content: bytes, network: Network, company: Company, today: date,
           max_bytes: int, keep: bool = True) -> Checked:
    def refused(message: str) -> Checked:
        return Checked(kind=kind, rows=0, problems=(Problem(row=0, column="", message=message),))

    if len(content) > max_bytes:
        return refused(too_large(len(content), max_bytes))
    try:  # the rows are read as they are checked: a file past a limit stops there
        sheet = read_sheet(filename, content)
        if kind is Kind.ROSTER:
            return check_roster(sheet, network, company, today, keep=keep)
        return check_attendance(sheet, company, today, keep=keep)
    except SpreadsheetError as exc:
        return refused(str(exc))


def preview_import(uow: AbstractUnitOfWork, network_id: str, company_id: str, kind: Kind | str, filename: str,
                   content: bytes, today: date | None = None, max_bytes: int | None = None) -> ImportPreview:
    """Check a roster or attendance spreadsheet of the company: every problem by row, column and
    message, or what it would record. Writes nothing."""
    kind = Kind(kind)
    with uow:
        network = uow.networks.load(network_id, {"employees"})
    company = find_company(network, company_id)
    checked = _check(kind, filename, content, network, company, today_or_clock(today),
                     max_upload_bytes(max_bytes), keep=False)
    return ImportPreview(kind=kind, filename=filename, rows=checked.rows, problems=checked.problems,
                         new_employees=checked.new_employees, changed_employees=checked.changed_employees,
                         sessions=checked.sessions, attendances=checked.attendances)


def commit_import(uow: AbstractUnitOfWork, network_id: str, company_id: str, kind: Kind | str, filename: str,
                  content: bytes, actor: Actor, today: date | None = None,
                  max_bytes: int | None = None) -> Recorded:
    """Record a roster or attendance spreadsheet of the company, all or nothing: checked again in the
    transaction that writes it; SpreadsheetRefused (nothing written) when any row has a problem.
    A roster adds new employees and updates the name and dates of known ones (it removes nobody:
    leaving is a `left_on`); an attendance sheet adds training sessions, or attendees to a session
    recorded before. Importing the same spreadsheet again changes nothing."""
    kind = Kind(kind)
    may_record_or_refuse(actor, network_id, company_id)
    day, limit = today_or_clock(today), max_upload_bytes(max_bytes)

    def change(network: Network, company: Company) -> tuple[Network, tuple[str, ...]]:
        checked = _check(kind, filename, content, network, company, day, limit)
        if checked.problems:
            raise SpreadsheetRefused(filename, checked.problems)
        if kind is Kind.ATTENDANCE:
            return training_sessions_with(network, company, checked.training)
        updated = {e.id: e for e in checked.employees}
        staff = tuple(updated.pop(e.id, e) for e in company.employees) + tuple(updated.values())
        return with_company(network, company.model_copy(update={"employees": staff})), \
            tuple(e.id for e in checked.employees)

    if kind is Kind.ATTENDANCE:
        return write(uow, network_id, company_id, actor, "attendance-import", {"training"},
                     ["training_sessions", "training_attendance"], change, day)
    return write(uow, network_id, company_id, actor, "roster-import", {"employees"}, ["employees"], change,
                 day)
