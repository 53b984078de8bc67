"""Stage flow: environmental training."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import GateOutcome, run_gate
from models.catalogue import Stage


@flow(name="train-employees", flow_run_name="train-employees-{network}")
def train_employees(
    network: str, as_of: date | None = None, run_id: str | None = None
) -> GateOutcome | State:
    """Check every employee has the required training hours and topics."""
    return run_gate(Stage.TRAINING, network, as_of, run_id)
