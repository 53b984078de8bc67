"""Stage flow: external audit."""

from __future__ import annotations

from datetime import date

from prefect import flow, pause_flow_run
from prefect.exceptions import FlowPauseTimeout
from prefect.states import State

from flows.gate import GateOutcome, run_gate, this_run_id
from models.catalogue import Stage
from tasks.gates import pending_recommendation, prepare_auditor_input, record_recommendation
from tasks.inputs import AuditorInput


@flow(name="audit-network", flow_run_name="audit-network-{network}")
def audit_network(
    network: str, as_of: date | None = None, run_id: str | None = None,
    wait_for_auditors: bool = False, auditors_timeout: int = 7 * 24 * 3600,
) -> GateOutcome | State:
    """Check the external certification audit: stages, sample, findings, recommendation."""
    as_of = as_of or date.today()
    audit_id = pending_recommendation(network, as_of) if wait_for_auditors else None
    if audit_id:
        form = AuditorInput.with_initial_data(description=prepare_auditor_input(network, audit_id,
                                                                                run_id or this_run_id(None)))
        try:
            answer = pause_flow_run(wait_for_input=form, timeout=auditors_timeout, key="auditors",
                                    poll_interval=2)
        except FlowPauseTimeout:
            answer = None  # the gate below then fails on the pending recommendation and says so
        if answer is not None:
            record_recommendation(network, audit_id, answer.recommendation, answer.lead_auditor,
                                  answer.note, run_id or "")
    return run_gate(Stage.EXTERNAL_AUDIT, network, as_of, run_id)
