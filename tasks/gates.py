"""Gate tasks: evaluate a gate, record it, decide, and publish what the operator reads."""

from __future__ import annotations

import re
from datetime import date

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact

from adapters.rendering import markdown_text
from models.catalogue import Stage
from models.network import Recommendation
from models.results import GateResult
from services import gates, networks
from services.gates import RunSummary, SignOffBrief
from tasks.events import emit, unit_of_work
from tasks.retrying import IO_TASK


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys hold only lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


@task(name="check-parameters", **IO_TASK)
def check_run_parameters(network_ids: list[str], as_of: date, today: date, allow_future: bool) -> str | None:
    """Why the run must not start with its parameters (an unknown network, a day to come), or None."""
    return networks.run_refusal(unit_of_work(), network_ids, as_of, today, allow_future)


@task(name="evaluate-gate", task_run_name="evaluate-{stage}-{network_id}", **IO_TASK)
def evaluate_gate(network_id: str, stage: Stage, as_of: date) -> GateResult:
    """Load the parts of the network a gate reads and run every one of its checks."""
    return gates.evaluate(unit_of_work(), network_id, stage, as_of)


@task(name="decide", task_run_name="decide-{network_id}", **IO_TASK)
def evaluate_decision(network_id: str, as_of: date, run_id: str, approved: bool | None,
                      decided_by: str = "", comment: str = "") -> GateResult:
    """Evaluate the certification decision: the gates stored for this run and the sign-off."""
    return gates.decide(unit_of_work(), network_id, as_of, run_id, approved, decided_by, comment)


RESUME_HINT = ("In the Prefect UI: open this run, then its ⋮ menu → **Resume** shows the form "
               "(the run waits until someone answers).")


def sign_off_markdown(brief: SignOffBrief, gap_report: list[str]) -> str:
    """What the decision maker reads above the sign-off form; what people wrote is literal text."""
    draft = brief.certificate
    lines = [f"### Sign-off: certification of {markdown_text(brief.network_name)} as of {brief.as_of}", "",
             RESUME_HINT, "",
             f"**Would issue:** a certificate valid {draft.issued_on} to {draft.valid_until} "
             f"(the 3-year cycle from {draft.cycle_began}, on audit {markdown_text(draft.cycle)}), certified "
             f"by {markdown_text(draft.certification_body.name)}"
             + (f" ({markdown_text(draft.certification_body.accreditation)})"
                if draft.certification_body.accreditation else "")
             + f", coordinated by {markdown_text(draft.operator)}.",
             "", f"**Scope:** {markdown_text(draft.scope)}", "",
             f"**Member companies ({len(draft.companies)}):** "
             + ", ".join(f"{markdown_text(c.name)} ({markdown_text(c.id)})" for c in draft.companies), "",
             f"**Gates:** {brief.run.headline()}", ""]
    if brief.lapsed:
        lines += [lapsed_warning(brief), ""]
    lines += ["| gate | result | checks |", "|---|---|---|"]
    lines += [f"| {g.stage.value} | {'pass' if g.passed else 'FAIL'} | {len(g.checks)} |"
              for g in brief.run.gates]
    lines += ["", f"**Open minor findings ({len(brief.open_minors)}):**"]
    lines += [f"- {markdown_text(m)}" for m in brief.open_minors] or ["- none"]
    lines += ["", "**Gap analysis:** " + (", ".join(f"`{p}`" for p in gap_report) if gap_report else
                                        "not written in this run (see the `gap-analysis` artifact)"),
              "", "Choose **approve** to issue the certificate or **refuse** to end this run without one, "
                  "and give your name."]
    return "\n".join(lines)


def lapsed_warning(brief: SignOffBrief) -> str:
    """Said above the form when the certificate, dated `as_of`, is already past its surveillance
    dates on the day of the sign-off."""
    changes = "; ".join(f"{e.status.value.upper()} from {e.on} ({markdown_text(e.reason)})"
                        for e in brief.lapsed)
    final = brief.lapsed[-1].status.value.upper()
    return (f"**⚠ Past its surveillance dates today ({brief.today}):** issued as of {brief.as_of}, this "
            f"certificate would be {final} from the moment it is issued: {changes}. `certificate show`, "
            "`certificate verify`, the portfolio and the public verification page will all say so. To "
            "certify the network as it stands today, refuse and run again as of today.")


@task(name="prepare-sign-off", task_run_name="prepare-sign-off-{network_id}", **IO_TASK)
def prepare_sign_off(network_id: str, as_of: date, run_id: str, gap_report: list[str],
                     today: date | None = None) -> str:
    """Write what the decision maker reads above the sign-off form, and announce that it waits."""
    brief = gates.sign_off_brief(unit_of_work(), network_id, as_of, run_id, today)
    emit("sign_off.awaited", network_id,
         {"network_id": network_id, "run_id": run_id, "as_of": as_of.isoformat()},
         subject=f"{brief.network_name}: sign-off awaited")
    get_run_logger().warning("Waiting for the decision maker's sign-off. %s", RESUME_HINT.replace("**", ""))
    return sign_off_markdown(brief, gap_report)


@task(name="prepare-auditor-input", task_run_name="prepare-auditor-input-{network_id}", **IO_TASK)
def prepare_auditor_input(network_id: str, audit_id: str, run_id: str) -> str:
    """Write what the lead auditor reads above the recommendation form, and announce that it waits."""
    emit("auditor_input.awaited", network_id, {"run_id": run_id, "audit_id": audit_id},
         subject=f"{network_id}: recommendation for {audit_id} awaited")
    get_run_logger().warning("Waiting for the auditors' recommendation on %s. %s", audit_id,
                             RESUME_HINT.replace("**", ""))
    return (f"### Recommendation for audit {audit_id} of `{network_id}`\n\nThe store holds no "
            f"recommendation for this audit yet; the lead auditor records it here.\n\n{RESUME_HINT}")


def gate_table(result: GateResult) -> list[dict[str, str]]:
    """A gate's checks as the rows of its table artifact, failures first; every cell is literal
    text (the UI renders cells as markdown)."""
    return [{"company": markdown_text(c.company or "network"), "requirement": markdown_text(c.requirement),
             "clause": markdown_text(c.clause), "status": "pass" if c.passed else "FAIL",
             "detail": markdown_text(c.detail)}
            for c in sorted(result.checks, key=lambda c: (c.passed, c.company or ""))]


@task(name="void-run", task_run_name="void-run-{network_id}", **IO_TASK)
def void_run(network_id: str, run_id: str, reason: str) -> int:
    """Delete the gate results of a run that could not finish, so that none of it stands."""
    return gates.discard_run(unit_of_work(), network_id, run_id, reason)


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
    outcome = f"Certified: {markdown_text(certificate)}" if certificate else "Not certified (yet)"
    lines = [f"# Certification of `{summary.network_id}` as of {summary.as_of}", "",
             f"**{outcome}** · {summary.headline()}", "",
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
    """Publish the run's markdown summary and its readiness: the share of certification gates passed."""
    summary = gates.summarise_run(unit_of_work(), network_id, as_of, run_id)
    create_progress_artifact(progress=round(summary.readiness), key=artifact_key("readiness", network_id),
                             description=f"{network_id}: {summary.headline()}")
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
