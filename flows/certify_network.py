"""The certification lifecycle of one network, from formation to the certificate."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Failed, State

from flows.audit_companies import audit_companies
from flows.audit_network import audit_network
from flows.decide_certification import decide_certification
from flows.form_network import form_network
from flows.gate import this_run_id
from flows.plan_environment import plan_environment
from flows.review_management import review_management
from flows.train_employees import train_employees
from tasks.certificates import IssuedCertificate
from tasks.gates import publish_readiness

# The stages in lifecycle order. Each gate is evaluated even when an earlier one failed,
# so that one run shows the operator the whole gap.
STAGES = (form_network, train_employees, plan_environment, audit_companies, review_management,
          audit_network)


@flow(name="certify-network", flow_run_name="certify-network-{network}")
def certify_network(network: str, as_of: date | None = None) -> IssuedCertificate | State:
    """Run every lifecycle gate for a network and issue its certificate when all of them pass."""
    as_of = as_of or date.today()
    run_id = this_run_id(None)
    gates = [stage(network=network, as_of=as_of, run_id=run_id, return_state=True) for stage in STAGES]
    decision = decide_certification(network=network, as_of=as_of, run_id=run_id, return_state=True)
    certificate = decision.result() if decision.is_completed() else None
    publish_readiness(network, as_of, run_id, certificate.number if certificate else None)
    if certificate is None:
        reasons = [s.message for s in gates if not s.is_completed()] or [decision.message]
        return Failed(message="not certified:\n" + "\n".join(r or "" for r in reasons))
    return certificate
