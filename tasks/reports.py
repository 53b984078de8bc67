"""Report task: write the network's gap analysis during a run and link it from the run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact

from adapters.rendering import markdown_text
from adapters.reporting import FORMATS
from services.reports import make_report
from tasks.events import unit_of_work
from tasks.gates import artifact_key
from tasks.retrying import IO_TASK


def gap_report_markdown(network_id: str, as_of: date, summary: str, paths: list[Path]) -> str:
    """The artifact that links a gap analysis from the run: its summary (counts and fixed words,
    nothing a user wrote), links (file URIs are percent-encoded) and paths as literal text."""
    links = " · ".join(f"[{p.suffix[1:].upper()}](<{p.resolve().as_uri()}>)" for p in paths)
    return (f"# Gap analysis of `{network_id}` as of {as_of}\n\n{summary}\n\n"
            f"{links}\n\n" + "\n".join(f"- {markdown_text(p)}" for p in paths))


@task(name="publish-gap-report", task_run_name="publish-gap-report-{network_id}", **IO_TASK)
def publish_gap_report(network_id: str, as_of: date) -> list[str]:
    """Write the network's gap analysis (HTML and PDF) and link it from the run."""
    report, paths = make_report(unit_of_work(), "gap", network_id, as_of, formats=FORMATS)
    create_markdown_artifact(
        key=artifact_key("gap-analysis", network_id),
        description=f"Gap analysis of {network_id} as of {as_of}",
        markdown=gap_report_markdown(network_id, as_of, report.summary, paths))
    return [str(p) for p in paths]
