"""Reminders to coordinators, and a digest to each network's central coordinator."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.states import Failed, State

from tasks.reminders import (
    DeliveryResult,
    QueueResult,
    deliver_reminders,
    list_networks,
    queue_reminders,
)


@flow(name="send-reminders", flow_run_name="send-reminders-{as_of}")
def send_reminders(as_of: date | None = None, network: str | None = None,
                   dry_run: bool = False) -> list[QueueResult] | DeliveryResult | State:
    """Queue every coordinator's reminders once per cadence, then deliver what is queued."""
    as_of = as_of or date.today()
    networks = [network] if network else list_networks()
    queued = [queue_reminders(n, as_of, dry_run) for n in networks]
    if dry_run:
        return queued
    delivery = deliver_reminders(return_state=True)
    if not delivery.is_completed():
        return Failed(message="reminders stay queued for the next run: delivery failed "
                              f"({delivery.message})")
    result = delivery.result()
    for refused in result.undeliverable:
        get_run_logger().warning("undeliverable (refused for good; `hackefors outbox`): %s", refused)
    return result
