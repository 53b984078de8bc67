"""Reminder tasks: work out and queue each network's reminders once; deliver what is queued."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from prefect import task
from prefect.context import TaskRunContext

from adapters.mail import Letterhead, Mailer
from adapters.settings import get_settings
from services import networks, reminders
from services.reminders import DeliveryResult, QueueResult, sender_name
from tasks.events import unit_of_work
from tasks.retrying import IO_TASK


def mailer() -> Mailer:
    """SMTP when configured, else .eml files in the output folder's outbox."""
    settings = get_settings()
    return Mailer(settings, settings.output_dir / "outbox")


@task(name="queue-reminders", task_run_name="queue-reminders-{network_id}", **IO_TASK)
def queue_reminders(network_id: str, as_of: date, dry_run: bool = False) -> QueueResult:
    """Work out a network's reminders and queue each once (a dry run only composes them)."""
    return reminders.plan_reminders(unit_of_work(), network_id, as_of, queue=not dry_run,
                                    letterhead=Letterhead.from_settings(get_settings()))


def delivery_options() -> dict[str, Any]:
    """How a run claims and retries messages: a lease and a first back-off from the settings, and
    a sender name that a retried task run keeps, so its counts take in its earlier attempts."""
    settings = get_settings()
    run = TaskRunContext.get()
    return dict(owner=sender_name(None if run is None else str(run.task_run.id)),
                lease=timedelta(seconds=settings.outbox_lease_seconds),
                first_retry=timedelta(seconds=settings.smtp_retry_delay))


@task(name="deliver-reminders", **IO_TASK)
def deliver_reminders() -> DeliveryResult:
    """Send every queued reminder once, whoever else is sending; what cannot go now waits its turn."""
    return reminders.deliver_queued(unit_of_work(), mailer(), **delivery_options())


@task(name="list-networks", **IO_TASK)
def list_networks() -> list[str]:
    """The ids of every network in the store."""
    return networks.list_networks(unit_of_work())


@task(name="notify-operator", task_run_name="notify-operator-{network_id}", **IO_TASK)
def notify_operator_of_sign_off(network_id: str, as_of: date, run_id: str) -> str | None:
    """Email the operator, once per run, that a certification run waits for its sign-off."""
    return reminders.notify_operator_of_sign_off(unit_of_work(), mailer(), network_id, as_of, run_id,
                                                 Letterhead.from_settings(get_settings()))


@task(name="remind-sign-off", task_run_name="remind-sign-off-{network_id}", **IO_TASK)
def remind_sign_off(network_id: str, as_of: date, run_id: str) -> str | None:
    """Queue and deliver a reminder to the central coordinator that a sign-off is waiting."""
    return reminders.remind_sign_off(unit_of_work(), mailer(), network_id, as_of, run_id,
                                     Letterhead.from_settings(get_settings()), **delivery_options())
