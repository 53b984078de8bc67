"""The certification lifecycle of one network, from formation to the certificate."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, pause_flow_run, runtime
from prefect.exceptions import FlowPauseTimeout
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed, State

from flows.audit_companies import audit_companies
from flows.audit_network import audit_network
from flows.decide_certification import decide_certification
from flows.form_network import form_network
from flows.gate import refused_run, stopped_by_the_store, this_run_id
from flows.plan_environment import plan_environment
from flows.review_management import review_management
from flows.train_employees import train_employees
from models.catalogue import Stage
from models.gates import CERTIFICATION_GATES
from services.certificates import IssuedCertificate
from tasks.gates import pending_recommendation, prepare_sign_off, publish_certification_summary
from tasks.inputs import SignOff
from tasks.reminders import remind_sign_off
from tasks.reports import publish_gap_report

# The flow of each certification gate; they run in the order of CERTIFICATION_GATES. Each gate is
# evaluated even when an earlier one failed, so that one run shows the operator the whole gap.
STAGE_FLOWS = {Stage.FORMATION: form_network, Stage.TRAINING: train_employees,
               Stage.PLANNING: plan_environment, Stage.INTERNAL_AUDITS: audit_companies,
               Stage.MANAGEMENT_REVIEW: review_management, Stage.EXTERNAL_AUDIT: audit_network}
STAGES = tuple(STAGE_FLOWS[stage] for stage in CERTIFICATION_GATES)
DAY = 24 * 3600


def report_paths(gap_report: PrefectFuture[list[str]] | None) -> list[str]:
    """Wait for the gap report; the paths it wrote, or none when it is off or could not be written."""
    if gap_report is None:
        return []
    gap_report.wait()
    return gap_report.result() if gap_report.state.is_completed() else []


@flow(name="certify-network", flow_run_name="certify-network-{network}")
def certify_network(network: str, as_of: date | None = None, sign_off: SignOff | None = None,
                    sign_off_timeout: int = 7 * DAY, report: bool = True,
                    allow_future: bool = False) -> IssuedCertificate | State:
    """Run every lifecycle gate for a network and publish its gap analysis; when all gates pass, take
    the decision maker's sign-off (a form in the UI; only an unattended run started from the command
    line brings its own) and issue the certificate."""
    as_of = as_of or date.today()
    if (refused := refused_run([network], as_of, allow_future)) is not None:
        return refused  # before any stage: nothing runs, nothing is published
    run_id = this_run_id(None)
    if sign_off is not None and runtime.deployment.id:
        get_run_logger().warning("A sign-off given as a parameter is ignored in a deployment run: "
                                 "a person signs off in the form.")
        sign_off = None
    attended = sign_off is None  # people answer in the UI
    # The gap analysis reads the records, not this run's gate results: it is drawn while the gates
    # run, and the run waits for it only where someone is to read it (never a blocker).
    gap_report = publish_gap_report.submit(network, as_of) if report else None
    gates: list[State] = []
    for stage in CERTIFICATION_GATES:
        if stage is Stage.EXTERNAL_AUDIT:
            # The auditors are asked only when their answer can decide: every earlier gate passed.
            ask = (attended and all(s.is_completed() for s in gates)
                   and bool(pending_recommendation(network, as_of)))
            if ask:  # what stands so far, before the run waits
                publish_certification_summary(network, as_of, run_id, None)
                report_paths(gap_report)
            state = audit_network(network=network, as_of=as_of, run_id=run_id, wait_for_auditors=ask,
                                  auditors_timeout=sign_off_timeout, return_state=True)
        else:
            state = STAGE_FLOWS[stage](network=network, as_of=as_of, run_id=run_id, return_state=True)
        gates.append(state)
        if (stopped := stopped_by_the_store(network, run_id, state)) is not None:
            return stopped  # an outage, not a blocker: the gates after it would fail the same way
    passed = all(s.is_completed() for s in gates)
    written = report_paths(gap_report)  # before the sign-off, so that the decision maker can read it
    if attended and passed:
        publish_certification_summary(network, as_of, run_id, None)
        # Today, not as_of: a certificate dated far back may be past its surveillance dates already.
        brief = prepare_sign_off(network, as_of, run_id, written, date.today())
        form = SignOff.with_initial_data(description=brief)
        try:
            sign_off = pause_flow_run(wait_for_input=form, timeout=sign_off_timeout, key="sign-off",
                                      poll_interval=2)
        except FlowPauseTimeout:
            # Prefect has already failed the run ("never resumed"); what is left is to tell people.
            remind_sign_off(network, as_of, run_id)
            publish_certification_summary(network, as_of, run_id, None)
            return Failed(message=f"not certified: no sign-off within {sign_off_timeout} s; "
                                  "the central coordinator was reminded; run again to decide")
    decision = decide_certification(network=network, as_of=as_of, run_id=run_id, sign_off=sign_off,
                                    return_state=True)
    certificate = decision.result() if decision.is_completed() else None
    publish_certification_summary(network, as_of, run_id, certificate.number if certificate else None)
    if certificate is None:
        reasons = [s.message for s in gates if not s.is_completed()] or [decision.message]
        return Failed(message="not certified:\n" + "\n".join(r or "" for r in reasons))
    assert sign_off is not None  # the decision passes only with an approval
    issued = "issued" if certificate.newly_issued else "already issued for this cycle"
    message = (f"certified: {certificate.number} {issued}, valid {certificate.issued_on} to "
               f"{certificate.valid_until}, approved by {sign_off.decided_by}; files: {certificate.pdf_path} "
               f"(and .html, .json beside it)")
    get_run_logger().info(message)
    return Completed(message=message, data=certificate)
