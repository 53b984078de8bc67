"""Stage flow: the certification decision."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import settle_gate, this_run_id
from services.certificates import IssuedCertificate
from tasks.certificates import issue_certificate
from tasks.gates import evaluate_decision
from tasks.inputs import SignOff


@flow(name="decide-certification", flow_run_name="decide-certification-{network}")
def decide_certification(network: str, as_of: date | None = None, run_id: str | None = None,
                         sign_off: SignOff | None = None) -> IssuedCertificate | State:
    """Issue the network's certificate when every gate of this run passed and it was signed off."""
    as_of = as_of or date.today()
    run_id = this_run_id(run_id)
    if sign_off is None:  # nobody signed off: the decision says so and issues nothing
        decision = evaluate_decision(network, as_of, run_id, None)
    else:
        decision = evaluate_decision(network, as_of, run_id, sign_off.approve, sign_off.decided_by,
                                     sign_off.comment)
    blocked = settle_gate(decision, run_id)
    return blocked or issue_certificate(network, as_of, run_id)
