"""Roster and attendance spreadsheets: their published columns and the checks of each row, every
problem by row, column and message. Pure: the cells come in already read (adapters/spreadsheets.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from models.dates import EARLIEST_DATE
from models.evidence import NewEmployee, TrainingRecord
from models.network import Company, Employee, Network, control_character
from models.policy import TRAINING_TOPICS
from models.training import employed_on


class Kind(StrEnum):
    ROSTER = "roster"
    ATTENDANCE = "attendance"


class Column(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    required: bool
    meaning: str
    example: str


COLUMNS: dict[Kind, tuple[Column, ...]] = {
    Kind.ROSTER: (
        Column(name="employee_id", required=True, example="NSM-E15",
               meaning="the employee's id: letters, digits, '.', '_' or '-', unique in the network"),
        Column(name="name", required=True, example="Eva Sjöberg", meaning="the employee's name"),
        Column(name="hired_on", required=True, example="2025-01-18", meaning="the day hired, YYYY-MM-DD"),
        Column(name="left_on", required=False, example="",
               meaning="the day the employee left, YYYY-MM-DD; empty while employed"),
    ),
    Kind.ATTENDANCE: (
        Column(name="employee_id", required=True, example="NSM-E14",
               meaning="an employee of the company (in its roster)"),
        Column(name="date", required=True, example="2025-02-20",
               meaning="the day of the training, YYYY-MM-DD"),
        Column(name="hours", required=True, example="8",
               meaning="hours of the training, more than 0 and at most 200, at most 4 decimals"),
        Column(name="topics", required=False, example="waste_management; legal_requirements",
               meaning="the topics covered, separated by ';' or ',': " + ", ".join(TRAINING_TOPICS)),
        Column(name="trainer", required=False, example="Miljöutbildarna AB", meaning="who gave the training"),
    ),
}

ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class Problem(BaseModel):
    """One problem of a spreadsheet: the row as the spreadsheet numbers it (the header is row 1;
    0: the file as a whole), the column, and what is wrong."""

    model_config = ConfigDict(frozen=True)

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return f"{where}, {self.column or '-'}: {self.message}"


@dataclass(frozen=True)
class Sheet:
    """A spreadsheet as read: its header and its rows, each with the row number it has there. The
    rows may be read as they are checked (once), so that a file is never held as a whole."""

    header: tuple[str, ...]
    rows: Iterable[tuple[int, tuple[Any, ...]]]


# A check stops collecting problems after this many, and says so: the file has to be fixed anyway,
# and a page of a million problems helps nobody.
MAX_PROBLEMS = 1_000


class TooManyProblems(Exception):
    pass


def _collector(problems: list[Problem]) -> Callable[[int, str, str], None]:
    def add(row: int, column: str, message: str) -> None:
        problems.append(Problem(row=row, column=column, message=message))
        if len(problems) >= MAX_PROBLEMS:
            raise TooManyProblems()

    return add


def _stopped(problems: list[Problem], row: int) -> tuple[Problem, ...]:
    return (*problems, Problem(row=0, column="", message=f"{MAX_PROBLEMS:,} problems by row {row}: the rows "
                               "after it were not checked; fix these and upload the file again"))


class Checked(BaseModel):
    """What a spreadsheet would record, and every problem that stops it."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    rows: int
    problems: tuple[Problem, ...]
    employees: tuple[Employee, ...] = ()  # roster: each row's employee, new or changed (when kept)
    new_employees: int = 0
    changed_employees: int = 0
    training: tuple[TrainingRecord, ...] = ()  # attendance: the sessions, with their attendees (when kept)
    sessions: int = 0
    attendances: int = 0


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(value: Any) -> date:
    """A cell as a date: a spreadsheet's own date, or text YYYY-MM-DD; ValueError says why not."""
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise ValueError(f"{value} has a time of day: give the day only")
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    match = ISO_DATE.match(text)
    if not match:
        raise ValueError(f"{text[:40]!r} is not a date of the form YYYY-MM-DD")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise ValueError(f"{text!r} is an impossible date") from None


def parse_hours(value: Any) -> Decimal:
    text = _text(value).replace(",", ".") if isinstance(value, str) else _text(value)
    try:
        hours = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text[:40]!r} is not a number of hours") from None
    if not hours.is_finite() or not 0 < hours <= 200:
        raise ValueError(f"{text!r} hours: give more than 0 and at most 200")
    if hours.normalize().as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueError(f"{text!r} hours: at most 4 decimal places")
    return hours


def _line(value: Any, column: str, limit: int = 200) -> str:
    text = _text(value)
    if control_character(text):
        raise ValueError("holds a line break or control character")
    if len(text) > limit:
        raise ValueError(f"has {len(text)} characters, at most {limit}")
    return text


def _columns(kind: Kind, sheet: Sheet) -> tuple[dict[str, int], list[Problem]]:
    """Where each published column is; a missing required column, an unknown or a repeated one is a
    problem of the header (row 1)."""
    known = {c.name for c in COLUMNS[kind]}
    where: dict[str, int] = {}
    problems = []
    for i, raw in enumerate(sheet.header):
        name = _text(raw).lower().lstrip("\ufeff")
        if not name:
            continue
        if name not in known:
            names = ", ".join(c.name for c in COLUMNS[kind])
            problems.append(Problem(row=1, column=name[:40],
                                    message=f"unknown column; the {kind.value} columns are {names}"))
        elif name in where:
            problems.append(Problem(row=1, column=name, message="the column appears twice"))
        else:
            where[name] = i
    for column in COLUMNS[kind]:
        if column.required and column.name not in where:
            problems.append(Problem(row=1, column=column.name, message="missing column (required)"))
    return where, problems


def _cells(row: tuple[Any, ...], where: dict[str, int]) -> dict[str, Any]:
    return {name: row[i] if i < len(row) else None for name, i in where.items()}


def check_roster(sheet: Sheet, network: Network, company: Company, today: date,
                 keep: bool = True) -> Checked:
    """Each row an employee of the company: a new id adds one, a known id of the company updates
    the name and dates; an id of another company, a repeated id or a bad date is a problem. The
    rows are read once; after MAX_PROBLEMS problems the rest is not checked. Without `keep` only
    the counts are returned (a preview), so the employees are never held at once."""
    where, problems = _columns(Kind.ROSTER, sheet)
    if problems:
        return Checked(kind=Kind.ROSTER, rows=0, problems=tuple(problems))
    others = {e.id.casefold(): c.id for c in network.companies if c.id != company.id for e in c.employees}
    mine = {e.id: e for e in company.employees}
    mine_folded = {e.id.casefold(): e.id for e in company.employees}
    seen: dict[str, int] = {}
    employees: list[Employee] = []
    new = changed = rows = 0
    problem = _collector(problems)
    try:
        for number, row in sheet.rows:
            rows += 1
            employee = _roster_row(number, _cells(row, where), problem, others, mine_folded, seen, today)
            if employee is None or problems or mine.get(employee.id) == employee:
                continue
            new += employee.id not in mine
            changed += employee.id in mine
            if keep:
                employees.append(employee)
    except TooManyProblems:
        return Checked(kind=Kind.ROSTER, rows=rows, problems=_stopped(problems, number))
    if problems:
        return Checked(kind=Kind.ROSTER, rows=rows, problems=tuple(problems))
    return Checked(kind=Kind.ROSTER, rows=rows, problems=(), employees=tuple(employees), new_employees=new,
                   changed_employees=changed)


class _RowProblems:
    """Gives one row's problems to the sheet's collector; `found` once it has one."""

    def __init__(self, number: int, problem: Callable[[int, str, str], None]) -> None:
        self.number, self.problem, self.found = number, problem, False

    def __call__(self, column: str, message: str) -> None:
        self.found = True
        self.problem(self.number, column, message)


def _roster_row(number: int, cells: dict[str, Any], problem: Callable[[int, str, str], None],
                others: dict[str, str], mine_folded: dict[str, str], seen: dict[str, int],
                today: date) -> Employee | None:
    """The employee of one roster row, or None when it has a problem (each given to `problem`)."""
    refuse = _RowProblems(number, problem)

    employee_id = _text(cells["employee_id"])
    try:
        NewEmployee(id=employee_id, name="x", hired_on=EARLIEST_DATE)
    except ValueError:
        refuse("employee_id", f"{employee_id[:40]!r} is not an id: letters, digits, '.', '_' or '-', "
                              "at most 64 characters" if employee_id else "empty")
    folded = employee_id.casefold()
    if folded in others:
        refuse("employee_id", f"{employee_id[:64]!r} is an employee of company {others[folded]!r}")
    elif folded in mine_folded and mine_folded[folded] != employee_id:
        refuse("employee_id", f"{employee_id!r} differs only in case from employee {mine_folded[folded]!r}")
    if folded and folded in seen:
        refuse("employee_id", f"{employee_id[:64]!r} is also on row {seen[folded]}")
    seen.setdefault(folded, number)
    name = ""
    try:
        name = _line(cells["name"], "name")
        if not name:
            refuse("name", "empty")
    except ValueError as exc:
        refuse("name", str(exc))
    dates: dict[str, date | None] = {}
    for column in ("hired_on", "left_on"):
        value = cells.get(column)
        if column == "left_on" and _text(value) == "":
            dates[column] = None
            continue
        try:
            day = parse_date(value) if _text(value) or column != "hired_on" else None
            if day is None:
                refuse(column, "empty")
            elif day < EARLIEST_DATE:
                refuse(column, f"{day} is before {EARLIEST_DATE}")
            elif column == "hired_on" and day > today:
                refuse(column, f"{day} is after today ({today})")
            dates[column] = day
        except ValueError as exc:
            refuse(column, str(exc))
    if refuse.found:
        return None
    hired, left = dates["hired_on"], dates.get("left_on")
    assert hired is not None
    if left is not None and left < hired:
        refuse("left_on", f"{left} is before hired_on {hired}")
        return None
    return Employee(id=employee_id, name=name, hired_on=hired, left_on=left)


def _topics(value: Any) -> tuple[str, ...]:
    parts = [p.strip() for p in re.split(r"[;,]", _text(value)) if p.strip()]
    unknown = [p for p in parts if p not in TRAINING_TOPICS]
    if unknown:
        raise ValueError(f"unknown topic(s) {', '.join(repr(u[:40]) for u in unknown)}; known: "
                         f"{', '.join(TRAINING_TOPICS)}")
    return tuple(sorted(set(parts)))


def check_attendance(sheet: Sheet, company: Company, today: date, keep: bool = True) -> Checked:
    """Each row one employee at one training; rows with the same day, hours, topics and trainer are
    one session. The employee must be in the company's roster and employed on the day. The rows are
    read once; after MAX_PROBLEMS problems the rest is not checked. Without `keep` only the counts
    are returned (a preview)."""
    where, problems = _columns(Kind.ATTENDANCE, sheet)
    if problems:
        return Checked(kind=Kind.ATTENDANCE, rows=0, problems=tuple(problems))
    staff = {e.id: e for e in company.employees}
    # Only rows of the company's own employees get here, so this holds at most its roster's size
    # of attendees per session.
    sessions: dict[tuple[date, Decimal, tuple[str, ...], str], dict[str, int]] = {}
    problem = _collector(problems)
    rows = 0
    try:
        for number, row in sheet.rows:
            rows += 1
            cells = _cells(row, where)
            key = _attendance_row(number, cells, problem, staff, company.id, today)
            if key is None:
                continue
            attendees = sessions.setdefault(key, {})
            employee_id = _text(cells["employee_id"])
            if employee_id in attendees:
                problem(number, "employee_id",
                        f"the same training of {employee_id} as row {attendees[employee_id]}")
                continue
            attendees[employee_id] = number
    except TooManyProblems:
        return Checked(kind=Kind.ATTENDANCE, rows=rows, problems=_stopped(problems, number))
    if problems:
        return Checked(kind=Kind.ATTENDANCE, rows=rows, problems=tuple(problems))
    training = tuple(TrainingRecord(date=day, hours=hours, topics=topics, trainer=trainer or None,
                                    attendees=tuple(attendees))
                     for (day, hours, topics, trainer), attendees in sessions.items()) if keep else ()
    return Checked(kind=Kind.ATTENDANCE, rows=rows, problems=(), training=training, sessions=len(sessions),
                   attendances=sum(len(s) for s in sessions.values()))


def _attendance_row(number: int, cells: dict[str, Any], problem: Callable[[int, str, str], None],
                    staff: dict[str, Employee], company_id: str,
                    today: date) -> tuple[date, Decimal, tuple[str, ...], str] | None:
    """The session of one attendance row (day, hours, topics, trainer), or None when it has a
    problem (each given to `problem`)."""
    refuse = _RowProblems(number, problem)

    employee_id = _text(cells["employee_id"])
    employee = staff.get(employee_id)
    if employee is None:
        refuse("employee_id", f"unknown employee {employee_id[:64]!r}: not in the roster of company "
                              f"{company_id!r}" if employee_id else "empty")
    day = hours = None
    try:
        day = parse_date(cells["date"])
        if day > today:
            refuse("date", f"{day} is after today ({today})")
        elif day < EARLIEST_DATE:
            refuse("date", f"{day} is before {EARLIEST_DATE}")
        elif employee is not None and not employed_on(employee, day):
            refuse("date", f"{employee_id} was not employed on {day} (hired {employee.hired_on}"
                           + (f", left {employee.left_on}" if employee.left_on else "") + ")")
    except ValueError as exc:
        refuse("date", str(exc))
    try:
        hours = parse_hours(cells["hours"])
    except ValueError as exc:
        refuse("hours", str(exc))
    topics: tuple[str, ...] = ()
    try:
        topics = _topics(cells.get("topics"))
    except ValueError as exc:
        refuse("topics", str(exc))
    trainer = ""
    try:
        trainer = _line(cells.get("trainer"), "trainer")
    except ValueError as exc:
        refuse("trainer", str(exc))
    if refuse.found:
        return None
    assert day is not None and hours is not None
    return day, hours.normalize(), topics, trainer


def template_rows(kind: Kind) -> Sequence[Sequence[str]]:
    """The template: the header row of the published columns."""
    return [[c.name for c in COLUMNS[kind]]]
