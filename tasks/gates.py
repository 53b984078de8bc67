"""Gate tasks: evaluate a gate, record it, decide, and publish what the operator reads."""

from __future__ import annotations

import re
from datetime import date

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact

from models.catalogue import Stage
from models.network import Recommendation
from models.results import GateResult
from services import gates
from services.gates import RunSummary
from tasks.events import unit_of_work
from tasks.rendering import markdown_text
from tasks.retrying import IO_TASK


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys hold only lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


@task(name="evaluate-gate", task_run_name="evaluate-{stage}-{network_id}", **IO_TASK)
def evaluate_gate(network_id: str, stage: Stage, as_of: date) -> GateResult:
    """Load the parts of the network a gate reads and run every one of its checks."""
    return gates.evaluate(unit_of_work(), network_id, stage, as_of)


@task(name="decide", task_run_name="decide-{network_id}", **IO_TASK)
def evaluate_decision(network_id: str, as_of: date, run_id: str, approved: bool | None,
                      decided_by: str = "", comment: str = "") -> GateResult:
    """Evaluate the certification decision: the gates stored for this run and the sign-off."""
    return gates.decide(unit_of_work(), network_id, as_of, run_id, approved, decided_by, comment)


def gate_summary_markdown(summary: RunSummary) -> str:
    """The gate summary shown above the sign-off form: one line per gate."""
    # Ids and stage names are plain tokens ([A-Za-z0-9_.-]); what people wrote is escaped.
    lines = [f"### Certification of `{summary.network_id}`: gate results", "",
             "| gate | result | checks |", "|---|---|---|"]
    lines += [f"| {g.stage.value} | {'pass' if g.passed else 'FAIL'} | {len(g.checks)} |"
              for g in summary.gates]
    lines += ["", "Approve to issue the certificate; refuse to stop this run without one."]
    return "\n".join(lines)


@task(name="summarise-gates", task_run_name="summarise-gates-{network_id}", **IO_TASK)
def summarise_gates(network_id: str, as_of: date, run_id: str) -> str:
    """The gate summary shown above the sign-off form: markdown, one line per gate."""
    return gate_summary_markdown(gates.summarise_run(unit_of_work(), network_id, as_of, run_id))


def gate_table(result: GateResult) -> list[dict[str, str]]:
    """A gate's checks as the rows of its table artifact, failures first; every cell is literal
    text (the UI renders cells as markdown)."""
    return [{"company": markdown_text(c.company or "network"), "requirement": markdown_text(c.requirement),
             "clause": markdown_text(c.clause), "status": "pass" if c.passed else "FAIL",
             "detail": markdown_text(c.detail)}
            for c in sorted(result.checks, key=lambda c: (c.passed, c.company or ""))]


@task(name="record-gate", task_run_name="record-{result.stage}-{result.network_id}", **IO_TASK)
def record_gate(result: GateResult, run_id: str) -> None:
    """Store a gate's result under this run (replacing a retried attempt) and publish it."""
    gates.record(unit_of_work(), result, run_id)
    create_table_artifact(
        key=artifact_key("gate", result.stage.value, result.network_id), table=gate_table(result),
        description=f"{result.stage.value} gate for {result.network_id} as of {result.as_of}: "
                    + ("passed" if result.passed else f"{len(result.blockers)} unmet requirement(s)"))


def certification_summary_markdown(summary: RunSummary, certificate: str | None) -> str:
    """The run's summary for the operator: the outcome, a line per gate, every unmet requirement.
    Everything that comes from the store is literal text."""
    outcome = f"Certified: {markdown_text(certificate)}" if certificate else "Not certified"
    lines = [f"# Certification of `{summary.network_id}` as of {summary.as_of}", "",
             f"**{outcome}** · readiness {summary.readiness:.1f}% of {summary.checks} checks", "",
             "| gate | result | unmet |", "|---|---|---|"]
    lines += [f"| {g.stage.value} | {'pass' if g.passed else 'FAIL'} | {len(g.blockers)} |"
              for g in summary.gates]
    blockers = [c for g in summary.gates for c in g.blockers]
    if blockers:
        lines += ["", "## Unmet requirements", ""]
        lines += [f"- **{markdown_text(c.company or 'network')}** · {markdown_text(c.requirement)} "
                  f"({markdown_text(c.clause)}): {markdown_text(c.detail)}" for c in blockers]
    return "\n".join(lines)


@task(name="publish-summary", task_run_name="publish-summary-{network_id}", **IO_TASK)
def publish_certification_summary(network_id: str, as_of: date, run_id: str,
                                  certificate: str | None) -> float:
    """Publish the run's markdown summary and its readiness (share of checks met)."""
    summary = gates.summarise_run(unit_of_work(), network_id, as_of, run_id)
    create_progress_artifact(progress=summary.readiness, key=artifact_key("readiness", network_id),
                             description=f"Share of requirement checks passed for {network_id}")
    create_markdown_artifact(markdown=certification_summary_markdown(summary, certificate),
                             key=artifact_key("certification", network_id),
                             description=f"Certification summary for {network_id}")
    return summary.readiness


@task(name="pending-recommendation", task_run_name="pending-recommendation-{network_id}", **IO_TASK)
def pending_recommendation(network_id: str, as_of: date) -> str | None:
    """The certification audit whose recommendation the store does not hold yet, if any."""
    return gates.pending_recommendation(unit_of_work(), network_id, as_of)


@task(name="record-recommendation", task_run_name="record-recommendation-{network_id}", **IO_TASK)
def record_recommendation(network_id: str, audit_id: str, recommendation: Recommendation, lead_auditor: str,
                          note: str, run_id: str) -> None:
    """Store the auditors' recommendation given in the UI, with its history."""
    gates.record_recommendation(unit_of_work(), network_id, audit_id, Recommendation(recommendation),
                                lead_auditor, note, f"flow-run:{run_id}")
