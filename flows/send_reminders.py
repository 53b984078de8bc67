"""Reminders to coordinators, and a digest to each network's central coordinator."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.states import Failed, State

from flows.gate import refused_run
from tasks.reminders import (
    DeliveryResult,
    QueueResult,
    deliver_reminders,
    list_networks,
    queue_reminders,
)


@flow(name="send-reminders", flow_run_name="send-reminders-{as_of}")
def send_reminders(as_of: date | None = None, network: str | None = None, dry_run: bool = False,
                   allow_future: bool = False) -> list[QueueResult] | DeliveryResult | State:
    """Queue every coordinator's reminders once per cadence, then deliver what is queued."""
    logger = get_run_logger()
    as_of = as_of or date.today()
    if (refused := refused_run([network] if network else [], as_of, allow_future)) is not None:
        return refused
    networks = [network] if network else list_networks()
    # A network whose reminders cannot be queued holds up no other network's.
    states = {n: queue_reminders(n, as_of, dry_run, return_state=True) for n in networks}
    queued = [s.result() for s in states.values() if s.is_completed()]
    not_queued = {n: s.message for n, s in states.items() if not s.is_completed()}
    unbuildable = [line for q in queued for line in q.unbuildable]
    for line in unbuildable:
        logger.warning("not queued, the message cannot be built: %s", line)
    problems = [f"the reminders of {n} could not be queued: {message}" for n, message in not_queued.items()]
    if dry_run:
        return Failed(message="; ".join(problems)) if problems else queued
    delivery = deliver_reminders(return_state=True)
    if not delivery.is_completed():
        problems.insert(0, f"reminders stay queued for the next run: delivery failed ({delivery.message})")
    if problems:
        return Failed(message="; ".join(problems))
    result = delivery.result().model_copy(update={"unbuildable": unbuildable})
    for refused in result.undeliverable:
        logger.warning("undeliverable (refused for good; `hackefors outbox`): %s", refused)
    return result
