"""Stage flow: management review."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import GateOutcome, run_gate
from models.catalogue import Stage


@flow(name="review-management", flow_run_name="review-management-{network}")
def review_management(
    network: str, as_of: date | None = None, run_id: str | None = None
) -> GateOutcome | State:
    """Check each company's management review is recent, complete and signed."""
    return run_gate(Stage.MANAGEMENT_REVIEW, network, as_of, run_id)
