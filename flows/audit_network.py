"""Stage flow: external audit."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import GateOutcome, run_gate
from models.catalogue import Stage


@flow(name="audit-network", flow_run_name="audit-network-{network}")
def audit_network(
    network: str, as_of: date | None = None, run_id: str | None = None
) -> GateOutcome | State:
    """Check the external certification audit: stages, sample, findings, recommendation."""
    return run_gate(Stage.EXTERNAL_AUDIT, network, as_of, run_id)
