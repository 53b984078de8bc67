"""Annual surveillance of a certified network."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Failed, State

from flows.audit_companies import audit_companies
from flows.gate import GateOutcome, refused_run, settle_gate, this_run_id
from flows.review_management import review_management
from models.catalogue import Stage
from models.programme import SurveillanceVerdict
from tasks.certificates import apply_surveillance
from tasks.gates import evaluate_gate


@flow(name="survey-network", flow_run_name="survey-network-{network}")
def survey_network(network: str, as_of: date | None = None,
                   allow_future: bool = False) -> list[GateOutcome | str] | State:
    """Check a certified network still holds, and suspend, reinstate or withdraw its certificate."""
    as_of = as_of or date.today()
    if (refused := refused_run([network], as_of, allow_future)) is not None:
        return refused
    run_id = this_run_id(None)
    states = [stage(network=network, as_of=as_of, run_id=run_id, return_state=True)
              for stage in (audit_companies, review_management)]
    result = evaluate_gate(network, Stage.SURVEILLANCE, as_of)
    settle_gate(result, run_id)
    failures = tuple(s.message or "" for s in states if not s.is_completed())
    verdict = SurveillanceVerdict(stage_failures=failures, gate=result)
    consequence = apply_surveillance(network, as_of, verdict, run_id)
    if not verdict.passed:
        return Failed(message=verdict.summary(consequence))
    return [s.result() for s in states] + [verdict.summary(consequence)]
