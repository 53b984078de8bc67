"""Stage flow: environmental review and planning."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import GateOutcome, run_gate
from models.catalogue import Stage


@flow(name="plan-environment", flow_run_name="plan-environment-{network}")
def plan_environment(
    network: str, as_of: date | None = None, run_id: str | None = None
) -> GateOutcome | State:
    """Check the environmental review, legal register, objectives and documentation."""
    return run_gate(Stage.PLANNING, network, as_of, run_id)
