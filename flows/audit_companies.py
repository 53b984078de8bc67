"""Stage flow: internal audits."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import GateOutcome, run_gate
from models.catalogue import Stage


@flow(name="audit-companies", flow_run_name="audit-companies-{network}")
def audit_companies(
    network: str, as_of: date | None = None, run_id: str | None = None
) -> GateOutcome | State:
    """Check internal audits, open nonconformities and corrective actions."""
    return run_gate(Stage.INTERNAL_AUDITS, network, as_of, run_id)
