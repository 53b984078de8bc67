"""Gate tasks: load what a gate reads, evaluate it, store it with its history, publish artifacts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact
from sqlalchemy import delete, insert, select

from models.catalogue import Stage
from models.certification import check_decision, check_sign_off
from models.gates import CERTIFICATION_GATES, PARTS, evaluate_gate, policy_for
from models.results import GateResult
from models.tables import GateResultRow
from tasks.db import transaction
from tasks.events import emit
from tasks.retrying import IO_TASK
from tasks.store import load_network, record_history


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys hold only lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


@task(name="evaluate-gate", task_run_name="evaluate-{stage}-{network_id}", **IO_TASK)
def evaluate_gate_task(network_id: str, stage: Stage, as_of: date) -> GateResult:
    """Load the parts of the network a gate reads and run every one of its checks."""
    with transaction() as session:
        network = load_network(session, network_id, parts=PARTS[stage])
    return evaluate_gate(stage, network, as_of, policy_for(network))


@task(name="decide", task_run_name="decide-{network_id}", **IO_TASK)
def evaluate_decision(network_id: str, as_of: date, run_id: str, approved: bool | None = None,
                      decided_by: str = "", comment: str = "") -> GateResult:
    """Evaluate the certification decision: the gates stored for this run and the sign-off."""
    gates = load_gate_results(network_id, run_id)
    checks = check_decision(gates, CERTIFICATION_GATES) + [check_sign_off(approved, decided_by, comment)]
    return GateResult(network_id=network_id, stage=Stage.DECISION, as_of=as_of, checks=tuple(checks))


@task(name="summarise-gates", task_run_name="summarise-gates-{network_id}", **IO_TASK)
def summarise_gates(network_id: str, run_id: str) -> str:
    """The gate summary shown above the sign-off form: markdown, one line per gate."""
    gates = load_gate_results(network_id, run_id)
    lines = [f"### Certification of `{network_id}`: gate results", "",
             "| gate | result | checks |", "|---|---|---|"]
    lines += [f"| {g.stage.value} | {'pass' if g.passed else 'FAIL'} | {len(g.checks)} |" for g in gates]
    lines += ["", "Approve to issue the certificate; refuse to stop this run without one."]
    return "\n".join(lines)


def load_gate_results(network_id: str, run_id: str, include_decision: bool = False) -> list[GateResult]:
    """The gate results stored for one run, in the order they were evaluated."""
    query = select(GateResultRow).where(GateResultRow.run_id == run_id,
                                        GateResultRow.network_id == network_id)
    if not include_decision:
        query = query.where(GateResultRow.stage != Stage.DECISION.value)
    with transaction() as session:
        rows = session.scalars(query.order_by(GateResultRow.id)).all()
        return [GateResult(network_id=r.network_id, stage=Stage(r.stage), as_of=r.as_of,
                           checks=tuple(r.checks)) for r in rows]


@task(name="record-gate", task_run_name="record-{result.stage}-{result.network_id}", **IO_TASK)
def record_gate(result: GateResult, run_id: str) -> None:
    """Store a gate's result under this run (replacing a retried attempt) and publish it."""
    with transaction() as session:
        session.execute(delete(GateResultRow).where(
            GateResultRow.run_id == run_id, GateResultRow.network_id == result.network_id,
            GateResultRow.stage == result.stage.value))
        session.execute(insert(GateResultRow), [dict(
            run_id=run_id, network_id=result.network_id, stage=result.stage.value,
            as_of=result.as_of, passed=result.passed, evaluated_at=datetime.now(UTC),
            checks=[c.model_dump(mode="json") for c in result.checks])])
        record_history(session, [dict(
            at=datetime.now(UTC), actor=f"flow-run:{run_id}", network_id=result.network_id,
            entity="gate_results", entity_id=f"{run_id}/{result.stage.value}", action="insert",
            detail={"passed": result.passed, "blockers": len(result.blockers)})])
    emit(f"gate.{'passed' if result.passed else 'failed'}", result.network_id,
         {"stage": result.stage.value, "as_of": result.as_of.isoformat(), "run_id": run_id,
          "unmet": [c.line() for c in result.blockers][:50]}, **{"hackefors.stage": result.stage.value})
    create_table_artifact(
        key=artifact_key("gate", result.stage.value, result.network_id),
        table=[{"company": c.company or "network", "requirement": c.requirement, "clause": c.clause,
                "status": "pass" if c.passed else "FAIL", "detail": c.detail}
               for c in sorted(result.checks, key=lambda c: (c.passed, c.company or ""))],
        description=f"{result.stage.value} gate for {result.network_id} as of {result.as_of}: "
                    + ("passed" if result.passed else f"{len(result.blockers)} unmet requirement(s)"))


@task(name="publish-readiness", task_run_name="publish-readiness-{network_id}", **IO_TASK)
def publish_readiness(network_id: str, as_of: date, run_id: str, certificate: str | None) -> float:
    """Publish the run's markdown summary and overall readiness (share of checks passed)."""
    gates = load_gate_results(network_id, run_id)
    checks = [c for g in gates for c in g.checks]
    readiness = 100.0 * sum(c.passed for c in checks) / len(checks) if checks else 0.0
    create_progress_artifact(progress=readiness, key=artifact_key("readiness", network_id),
                             description=f"Share of requirement checks passed for {network_id}")
    lines = [f"# Certification of `{network_id}` as of {as_of}", "",
             f"**{'Certified: ' + certificate if certificate else 'Not certified'}** · "
             f"readiness {readiness:.1f}% of {len(checks)} checks", "",
             "| gate | result | unmet |", "|---|---|---|"]
    lines += [f"| {g.stage.value} | {'pass' if g.passed else 'FAIL'} | {len(g.blockers)} |"
              for g in gates]
    blockers = [c for g in gates for c in g.blockers]
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
    from models.certification import certification_audit

    with transaction() as session:
        network = load_network(session, network_id, parts={"external_audits"})
    audit = certification_audit(network, as_of)
    return audit.id if audit and audit.recommendation == "pending" else None


@task(name="record-recommendation", task_run_name="record-recommendation-{network_id}", **IO_TASK)
def record_recommendation(network_id: str, audit_id: str, recommendation: str, lead_auditor: str,
                          note: str, run_id: str) -> None:
    """Store the auditors' recommendation given in the UI, with its history."""
    from models.tables import ExternalAuditRow

    with transaction() as session:
        row = session.get(ExternalAuditRow, (network_id, audit_id))
        if row is None:
            raise LookupError(f"no external audit {audit_id!r} in network {network_id!r}")
        before = row.recommendation
        row.recommendation = str(recommendation)
        record_history(session, [dict(
            at=datetime.now(UTC), actor=f"flow-run:{run_id}", network_id=network_id,
            entity="external_audits", entity_id=audit_id, action="update",
            detail={"recommendation": [before, str(recommendation)], "lead_auditor": lead_auditor,
                    "note": note})])
