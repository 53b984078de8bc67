"""Stage flow: the certification decision."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import settle_gate, this_run_id
from tasks.certificates import IssuedCertificate, issue_certificate
from tasks.gates import evaluate_decision


@flow(name="decide-certification", flow_run_name="decide-certification-{network}")
def decide_certification(network: str, as_of: date | None = None,
                         run_id: str | None = None) -> IssuedCertificate | State:
    """Issue the network's certificate when every gate of this run passed; refuse otherwise."""
    as_of = as_of or date.today()
    run_id = this_run_id(run_id)
    blocked = settle_gate(evaluate_decision(network, as_of, run_id), run_id)
    return blocked or issue_certificate(network, as_of, run_id)
