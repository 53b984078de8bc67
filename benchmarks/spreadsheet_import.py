"""Time the portal's spreadsheet import and a coordinator's to-do list on SQLite.

In a fresh store in a temporary folder: the small example, then a roster of 5,000 employees for
its first company (one spreadsheet), then an attendance spreadsheet of 20,000 rows (the 5,000
employees at four trainings), as CSV and as XLSX: each previewed and committed through the
services the portal calls, and the second commit of the same file (which changes nothing). Then
the 26-company example and `company_todo` of one of its companies, 50 calls in a row (the work of
the to-do page without HTTP and templates). Prints a Markdown table.

    .venv/bin/python benchmarks/spreadsheet_import.py [--smoke]

Targets: an attendance commit of 20,000 rows under 10 s; `company_todo` a median under 200 ms.
`--smoke` runs the same steps with 50 employees and 5 calls: it checks the benchmark runs.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EMPLOYEES = 5_000
TRAININGS = 4
COMMIT_TARGET_SECONDS = 10.0
TODO_TARGET_MS = 200.0
TODAY = date(2025, 3, 3)
TOPICS = ("environmental_basics", "ems_and_iso14001", "waste_management",
          "industry_impact; legal_requirements")


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def sheets(company: str) -> tuple[list[list[Any]], list[list[Any]]]:
    roster: list[list[Any]] = [["employee_id", "name", "hired_on", "left_on"]]
    roster += [[f"{company}-B{i:05d}", f"Anställd {i}", "2020-01-01", ""] for i in range(EMPLOYEES)]
    attendance: list[list[Any]] = [["employee_id", "date", "hours", "topics", "trainer"]]
    for k in range(TRAININGS):
        day = (date(2024, 9, 2) + timedelta(days=30 * k)).isoformat()
        attendance += [[f"{company}-B{i:05d}", day, "7.5", TOPICS[k], "Miljöutbildarna AB"]
                       for i in range(EMPLOYEES)]
    return roster, attendance


def main() -> None:
    global EMPLOYEES
    smoke = "--smoke" in sys.argv[1:]
    calls = 5 if smoke else 50
    if smoke:
        EMPLOYEES = 50
    from benchmarks.common import against, banner, closing

    banner("the portal's spreadsheet import and to-do list" + (" (smoke)" if smoke else ""))
    folder = Path(tempfile.mkdtemp(prefix="hackefors-bench-"))
    os.environ["HACKEFORS_DATA_DIR"] = str(folder)
    os.environ.pop("HACKEFORS_DATABASE_URL", None)

    from adapters.networkfile import read_network
    from adapters.spreadsheets import write_csv, write_xlsx
    from models.evidence import Actor, Role, Source
    from services.evidence import company_todo
    from services.networks import import_network
    from services.spreadsheets import commit_import, preview_import
    from services.unit_of_work import SqlAlchemyUnitOfWork

    uow = SqlAlchemyUnitOfWork()
    small = read_network(ROOT / "examples" / "small.yaml")
    import_network(uow, small, actor="benchmark")
    rows: list[tuple[str, str]] = []

    def measure(label: str, work: Callable[[], Any], target: float | None = None) -> Any:
        seconds, result = timed(work)
        rows.append((label, against(seconds, target) if target else f"{seconds:.2f} s (for reference)"))
        return result

    # The CSV goes to the first company, the XLSX to the second: each import writes its 20,000 rows.
    for company, fmt in ((small.companies[0].id, "CSV"), (small.companies[1].id, "XLSX")):
        actor = Actor(email="coordinator@example.se", role=Role.COORDINATOR, source=Source.PORTAL,
                      network=small.id, company=company)
        roster, attendance = sheets(company)
        write = write_csv if fmt == "CSV" else write_xlsx
        roster_file, attendance_file = write(roster), write(attendance)
        name = f"roster.{fmt.lower()}"
        measure(f"{company}: roster of {EMPLOYEES:,} employees ({fmt}): preview",
                lambda c=company, f=roster_file, n=name: preview_import(uow, small.id, c, "roster", n, f,
                                                                        today=TODAY))
        measure(f"{company}: roster of {EMPLOYEES:,} employees ({fmt}): commit",
                lambda c=company, f=roster_file, n=name, a=actor: commit_import(
                    uow, small.id, c, "roster", n, f, a, today=TODAY))
        name = f"attendance.{fmt.lower()}"
        megabytes = len(attendance_file) / 1e6
        size = f"{company}: {len(attendance) - 1:,} attendance rows ({fmt}, {megabytes:.1f} MB)"
        preview = measure(f"{size}: preview",
                          lambda c=company, f=attendance_file, n=name: preview_import(
                              uow, small.id, c, "attendance", n, f, today=TODAY))
        assert preview.ready and preview.attendances == len(attendance) - 1, preview.problems[:3]
        done = measure(f"{size}: **commit** (checked again, then written)",
                       lambda c=company, f=attendance_file, n=name, a=actor: commit_import(
                           uow, small.id, c, "attendance", n, f, a, today=TODAY), COMMIT_TARGET_SECONDS)
        rows[-1] = (rows[-1][0], rows[-1][1] + f", {done.changes:,} rows written")
        again = measure(f"{size}: the same file again (nothing to write)",
                        lambda c=company, f=attendance_file, n=name, a=actor: commit_import(
                            uow, small.id, c, "attendance", n, f, a, today=TODAY))
        assert again.changes == 0

    big = read_network(ROOT / "examples" / "hackefors.yaml")
    import_network(uow, big, actor="benchmark")
    chosen = big.companies[len(big.companies) // 2].id
    times = []
    for _ in range(calls):
        seconds, todo = timed(lambda: company_todo(uow, big.id, chosen, date(1999, 2, 15)))
        times.append(seconds)
    rows.append((f"`company_todo` of {chosen} in the {len(big.companies)}-company example, {calls} calls",
                 f"median {against(statistics.median(times) * 1000, TODO_TARGET_MS, 'ms')}, slowest "
                 f"{max(times) * 1000:.0f} ms ({len(todo.items)} items)"))

    print(f"| measured {date.today()} on SQLite | time |\n|---|---|")
    for label, figure in rows:
        print(f"| {label} | {figure} |")
    closing()


if __name__ == "__main__":
    main()
