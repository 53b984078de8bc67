"""What `hackefors run` shows while the certification runs: one line per stage, with a spinner
until Prefect reports the stage finished, and Prefect's own log in a file instead of the screen."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from adapters.private_files import open_private_log

GAP_REPORT = "publish-gap-report"
# The steps of certify-network in the order it takes them: its stage flows, the gap analysis (a
# task), the decision; each named as Prefect names it, and described for the reader.
STEPS = {
    "form-network": "formation",
    "train-employees": "training",
    "plan-environment": "environmental planning",
    "audit-companies": "internal audits",
    "review-management": "management reviews",
    "audit-network": "external audit",
    GAP_REPORT: "gap analysis, HTML and PDF (seconds)",
    "decide-certification": "decision",
}
FINISHED = "Finished in state "


class StageProgress(logging.Handler):
    """Follows Prefect's log of a run (each subflow's start and end, the gap report task's end)
    and shows each step as running, passed or failed."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(level=logging.INFO)
        self.progress = progress
        self.rows: dict[str, TaskID] = {name: progress.add_task(f"{words} ({name})", total=1, start=False)
                                        for name, words in STEPS.items()}

    def _start(self, name: str) -> None:
        if name in self.rows:
            self.progress.start_task(self.rows[name])

    def _finish(self, name: str, state: str) -> None:
        row = self.rows.get(name)
        if row is None or self.progress.tasks[row].finished:
            return
        if state == "Completed":
            mark = "[green]✓[/]"
        else:  # a gate or the decision that fails blocks the certificate; a report fails
            mark = f"[red]✗ {'blocked' if name in STEPS and name != GAP_REPORT else state.lower()}[/]"
        task = self.progress.tasks[row]
        if not task.started:
            self.progress.start_task(row)
        self.progress.update(row, completed=1, description=f"{task.description}  {mark}")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            flow = getattr(record, "flow_name", None)
            task = getattr(record, "task_name", None)
            if flow is None:
                return
            if task is None and message.startswith("Beginning flow run"):
                self._start(flow)
            elif message.startswith(FINISHED):
                state = message[len(FINISHED):].split("(")[0].strip() or "Completed"
                if task is None:
                    self._finish(flow, state)
                    if flow == "audit-network":
                        self._start(GAP_REPORT)  # the next step, a task that logs only its end
                elif task == GAP_REPORT:
                    self._finish(GAP_REPORT, state)
        except Exception:  # a display must never break the run it shows
            self.handleError(record)


def progress_display(console: Console) -> Progress:
    return Progress(SpinnerColumn(finished_text="•"), TextColumn("{task.description}"),
                    TimeElapsedColumn(), console=console)


@contextmanager
def stage_progress(console: Console, log_file: Path | None) -> Iterator[None]:
    """Show each step of certify-network as it runs; Prefect's log goes to `log_file` (None: the
    screen, as Prefect prints it, without the progress lines)."""
    if log_file is None:
        yield
        return
    with prefect_log_to(log_file), progress_display(console) as progress:
        watcher = StageProgress(progress)
        prefect = logging.getLogger("prefect")
        prefect.addHandler(watcher)
        try:
            yield
        finally:
            prefect.removeHandler(watcher)


@contextmanager
def prefect_log_to(path: Path) -> Iterator[None]:
    """Prefect's console log (and any library's warnings) written to `path` while the block runs."""
    from prefect.logging.handlers import PrefectConsoleHandler

    open_private_log(path).close()  # names and findings: 0600, in a 0700 folder
    file = logging.FileHandler(path, mode="a", encoding="utf-8")  # runs at once may share a file
    file.setFormatter(logging.Formatter("%(asctime)s | %(levelname)-7s | %(name)s - %(message)s"))
    names = list(logging.root.manager.loggerDict)
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in names)]
    removed = [(logger, handler) for logger in loggers for handler in list(logger.handlers)
               if isinstance(handler, PrefectConsoleHandler)]
    for logger, handler in removed:
        logger.removeHandler(handler)
    logging.getLogger().addHandler(file)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(file)
        file.close()
        for logger, handler in removed:
            logger.addHandler(handler)
