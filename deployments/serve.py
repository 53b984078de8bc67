"""The deployments operators run, with their schedules; `python -m deployments.serve` serves them.

The same deployments are declared in deployments/prefect.yaml for `prefect deploy` with a
process work pool (see the README).
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

from prefect import serve
from prefect.events.schemas.automations import Posture
from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
from prefect.schedules import Cron

from flows.certify_network import certify_network
from flows.check_certificates import check_certificates
from flows.check_portfolio import check_portfolio
from flows.check_readiness import check_readiness
from flows.notify_operator import notify_operator
from flows.send_reminders import send_reminders
from flows.survey_network import survey_network

TIMEZONE = "Europe/Stockholm"
DAILY_REMINDERS = "0 6 * * *"  # 06:00 every day
WEEKLY_READINESS = "0 5 * * 1"  # 05:00 on Mondays
DAILY_CERTIFICATES = "30 5 * * *"
SIGN_OFF_NOTICE = "on-sign-off-awaited"
SIGN_OFF_AUTOMATION = "hackefors: email the operator when a sign-off is awaited"
DAILY_PORTFOLIO = "45 5 * * *"  # after certificates expire, before the reminders go out
EVIDENCE_RECORDED = "hackefors.evidence.recorded"


def evidence_trigger(network_id: str, settle: timedelta) -> DeploymentEventTrigger:
    """Run the network's readiness check once evidence is recorded, debounced: the first event opens
    a window of `settle` (Prefect's reactive trigger fires on it and ignores the next events until the
    window ends), and the run is scheduled at the window's end (`schedule_after`), so it reads every
    change of the window; an event after the window opens the next one. At most one run per window,
    and each change is checked within `settle` plus the run's own time."""
    return DeploymentEventTrigger(
        name=f"hackefors: readiness of {network_id} when evidence is recorded",
        description=f"Evidence recorded for {network_id} (portal, spreadsheet or network file): check its "
                    "readiness again.",
        expect={EVIDENCE_RECORDED}, match={"prefect.resource.id": f"hackefors.network.{network_id}"},
        posture=Posture.Reactive, threshold=1, within=settle, schedule_after=settle,
        # The day the write was evaluated on (the portal's HACKEFORS_PORTAL_AS_OF, or the import's
        # --as-of): the run and the page that triggered it judge the network on the same day.
        parameters={"network": network_id, "as_of": "{{ event.payload.as_of }}"})


def surveillance_cron(due: date) -> str:
    """Once a year on the surveillance due date's day, at 07:00."""
    return f"0 7 {min(due.day, 28)} {due.month} *"


def network_plans(as_of: date) -> list[tuple[str, date | None]]:
    """Each network in the store and the due date of its next surveillance, if certified."""
    from services.networks import surveillance_due_dates
    from services.unit_of_work import SqlAlchemyUnitOfWork

    return surveillance_due_dates(SqlAlchemyUnitOfWork(), as_of)


def build_deployments(as_of: date | None = None, settle: timedelta | None = None) -> list[Any]:
    """Every deployment: the network-wide ones, and per network a readiness check (weekly, and
    whenever evidence is recorded, debounced by `settle`: HACKEFORS_READINESS_SETTLE_SECONDS) and,
    once it is certified, its surveillance on the due date."""
    if settle is None:
        from adapters.settings import get_settings

        settle = timedelta(seconds=get_settings().readiness_settle_seconds)
    deployments = [
        send_reminders.to_deployment(name="daily", schedule=Cron(DAILY_REMINDERS, timezone=TIMEZONE),
                                     description="Email each coordinator's reminders every morning."),
        certify_network.to_deployment(name="on-demand",
                                      description="Run the certification lifecycle of a network."),
        check_certificates.to_deployment(name="daily", schedule=Cron(DAILY_CERTIFICATES, timezone=TIMEZONE),
                                         description="Expire certificates and list those expiring."),
        notify_operator.to_deployment(name=SIGN_OFF_NOTICE,
                                      description="Email the operator that a run waits for its sign-off; "
                                                  "started by an automation."),
        check_portfolio.to_deployment(name="daily", schedule=Cron(DAILY_PORTFOLIO, timezone=TIMEZONE),
                                      description="Every network's gates, blockers, deadlines and "
                                                  "certificate: the `portfolio` artifact."),
    ]
    for network_id, surveillance_due in network_plans(as_of or date.today()):
        deployments.append(check_readiness.to_deployment(
            name=f"weekly-{network_id}", schedule=Cron(WEEKLY_READINESS, timezone=TIMEZONE),
            parameters={"network": network_id}, triggers=[evidence_trigger(network_id, settle)],
            description=f"Readiness of {network_id}: weekly, and when evidence is recorded."))
        if surveillance_due:
            deployments.append(survey_network.to_deployment(
                name=f"annual-{network_id}",
                schedule=Cron(surveillance_cron(surveillance_due), timezone=TIMEZONE),
                parameters={"network": network_id},
                description=f"Annual surveillance of {network_id}, due {surveillance_due}."))
    return deployments


def sign_off_automation(deployments: list[Any]) -> str:
    """Register the operator's notice deployment and (re)create the one automation that runs it on
    every `hackefors.sign_off.awaited` event; the automation's id."""
    from prefect.automations import Automation
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import EventTrigger, Posture

    notice = next(d for d in deployments if d.name == SIGN_OFF_NOTICE)
    deployment_id = notice.apply()
    with contextlib.suppress(ValueError):  # ValueError: none yet
        Automation.read(name=SIGN_OFF_AUTOMATION).delete()  # one automation, however often serve starts
    automation = Automation(
        name=SIGN_OFF_AUTOMATION,
        description="A certification run paused for the decision maker: tell the operator by email.",
        trigger=EventTrigger(expect={"hackefors.sign_off.awaited"},
                             match={"prefect.resource.id": "hackefors.network.*"},
                             posture=Posture.Reactive, threshold=1),
        actions=[RunDeployment(source="selected", deployment_id=deployment_id, parameters={
            "network": "{{ event.payload.network_id }}", "run_id": "{{ event.payload.run_id }}",
            "as_of": "{{ event.payload.as_of }}"})],
    ).create()
    return str(automation.id)


def main() -> None:
    deployments = build_deployments()
    sign_off_automation(deployments)
    serve(*deployments)


if __name__ == "__main__":
    main()
