"""A readiness check: every certification gate of a network, without the decision."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Failed, State

from flows.certify_network import STAGES, report_paths
from flows.gate import refused_run, this_run_id
from tasks.gates import publish_certification_summary
from tasks.reports import publish_gap_report


@flow(name="check-readiness", flow_run_name="check-readiness-{network}")
def check_readiness(network: str, as_of: date | None = None, report: bool = True,
                    allow_future: bool = False) -> float | State:
    """Evaluate every certification gate of a network and publish its readiness and gap analysis;
    issue nothing."""
    as_of = as_of or date.today()
    if (refused := refused_run([network], as_of, allow_future)) is not None:
        return refused
    run_id = this_run_id(None)
    # Drawn beside the gates, as in certify-network; one that cannot be written shows as a Failed
    # task, not a failed check.
    gap_report = publish_gap_report.submit(network, as_of) if report else None
    gates = [stage(network=network, as_of=as_of, run_id=run_id, return_state=True) for stage in STAGES]
    readiness = publish_certification_summary(network, as_of, run_id, None)
    report_paths(gap_report)
    blocked = [s.message or "" for s in gates if not s.is_completed()]
    if blocked:
        passed = len(gates) - len(blocked)
        return Failed(message=f"readiness {readiness:.0f}% ({passed} of {len(gates)} gates passed); "
                              "blocked:\n" + "\n".join(blocked))
    return readiness
