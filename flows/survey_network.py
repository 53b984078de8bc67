"""Annual surveillance of a certified network."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Failed, State

from flows.audit_companies import audit_companies
from flows.gate import GateOutcome, run_gate, this_run_id
from flows.review_management import review_management
from models.catalogue import Stage


@flow(name="survey-network", flow_run_name="survey-network-{network}")
def survey_network(network: str, as_of: date | None = None) -> list[GateOutcome] | State:
    """Check a certified network still holds: surveillance audit, internal audits, review."""
    as_of = as_of or date.today()
    run_id = this_run_id(None)
    states = [stage(network=network, as_of=as_of, run_id=run_id, return_state=True)
              for stage in (audit_companies, review_management)]
    surveillance = run_gate(Stage.SURVEILLANCE, network, as_of, run_id)
    failed = [s.message for s in states if not s.is_completed()]
    if isinstance(surveillance, State):
        failed.append(surveillance.message)
    if failed:
        return Failed(message="surveillance blocked:\n" + "\n".join(m or "" for m in failed))
    return [s.result() for s in states] + [surveillance]
