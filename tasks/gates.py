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
from tasks.events import unit_of_work
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


@task(name="summarise-gates", task_run_name="summarise-gates-{network_id}", **IO_TASK)
def summarise_gates(network_id: str, as_of: date, run_id: str) -> str:
    """The gate summary shown above the sign-off form: markdown, one line per gate."""
    summary = gates.summarise_run(unit_of_work(), network_id, as_of, run_id)
    lines = [f"### Certification of `{network_id}`: gate results", "",
             "| gate | result | checks |", "|---|---|---|"]
    lines += [f"| {g.stage.value} | {'pass' if g.passed else 'FAIL'} | {len(g.checks)} |"
              for g in summary.gates]
    lines += ["", "Approve to issue the certificate; refuse to stop this run without one."]
    return "\n".join(lines)


@task(name="record-gate", task_run_name="record-{result.stage}-{result.network_id}", **IO_TASK)
def record_gate(result: GateResult, run_id: str) -> None:
    """Store a gate's result under this run (replacing a retried attempt) and publish it."""
    gates.record(unit_of_work(), result, run_id)
    create_table_artifact(
        key=artifact_key("gate", result.stage.value, result.network_id),
        table=[{"company": c.company or "network", "requirement": c.requirement, "clause": c.clause,
                "status": "pass" if c.passed else "FAIL", "detail": c.detail}
               for c in sorted(result.checks, key=lambda c: (c.passed, c.company or ""))],
        description=f"{result.stage.value} gate for {result.network_id} as of {result.as_of}: "
                    + ("passed" if result.passed else f"{len(result.blockers)} unmet requirement(s)"))


@task(name="publish-summary", task_run_name="publish-summary-{network_id}", **IO_TASK)
def publish_certification_summary(network_id: str, as_of: date, run_id: str,
                                  certificate: str | None) -> float:
    """Publish the run's markdown summary and its readiness (share of checks met)."""
    summary = gates.summarise_run(unit_of_work(), network_id, as_of, run_id)
    readiness = summary.readiness
    create_progress_artifact(progress=readiness, key=artifact_key("readiness", network_id),
                             description=f"Share of requirement checks passed for {network_id}")
    lines = [f"# Certification of `{network_id}` as of {as_of}", "",
             f"**{'Certified: ' + certificate if certificate else 'Not certified'}** · "
             f"readiness {readiness:.1f}% of {summary.checks} checks", "",
             "| gate | result | unmet |", "|---|---|---|"]
    lines += [f"| {g.stage.value} | {'pass' if g.passed else 'FAIL'} | {len(g.blockers)} |"
              for g in summary.gates]
    blockers = [c for g in summary.gates for c in g.blockers]
    if blockers:
        lines += ["", "## Unmet requirements", ""]
        lines += [f"- **{c.company or 'network'}** · {c.requirement} ({c.clause}): {c.detail}"
                  for c in blockers]
    create_markdown_artifact(markdown="\n".join(lines), key=artifact_key("certification", network_id),
                             description=f"Certification summary for {network_id}")
    return readiness


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
