"""Stage flow: network formation."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import GateOutcome, run_gate
from models.catalogue import Stage


@flow(name="form-network", flow_run_name="form-network-{network}")
def form_network(
    network: str, as_of: date | None = None, run_id: str | None = None
) -> GateOutcome | State:
    """Check the network is formed: coordinators, commitment, agreements, committee, policy."""
    return run_gate(Stage.FORMATION, network, as_of, run_id)
