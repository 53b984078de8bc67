"""Reminder tasks: work out and queue each network's reminders once; deliver what is queued."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

from prefect import task
from pydantic import BaseModel
from sqlalchemy import insert, select, update

from hackefors.settings import get_settings
from models.certification import held_certificate
from models.gates import policy_for
from models.network import is_valid_email
from models.programme import audit_programme
from models.reminders import ReminderItem, escalated, reminder_items
from models.tables import OutboxRow, ReminderLogRow
from tasks.db import transaction
from tasks.mail import Mailer, compose_digest, compose_reminder
from tasks.retrying import IO_TASK
from tasks.store import load_network, network_ids


class QueuedMessage(BaseModel):
    recipient: str
    subject: str
    items: list[str]


class QueueResult(BaseModel):
    network_id: str
    messages: list[QueuedMessage]
    skipped_recently_sent: int
    without_coordinator: list[str]


class DeliveryResult(BaseModel):
    sent: int
    written: list[str]


def period_of(as_of: date, cadence_days: int) -> date:
    """The start of the cadence period `as_of` falls in (weeks start on Mondays by default)."""
    return date.fromordinal(as_of.toordinal() - (as_of.toordinal() - 1) % cadence_days)


def plan_reminders(network_id: str, as_of: date, queue: bool) -> QueueResult:
    """Compose every reminder that is due and not sent within the cadence; queue them when asked.

    One transaction: either every message and log entry of the network is queued, or none.
    """
    settings = get_settings()
    with transaction() as session:
        network = load_network(session, network_id)
        policy = policy_for(network)
        programme = audit_programme(network, as_of, policy, held_certificate(network.certificates, as_of))
        items = reminder_items(network, as_of, policy, programme)
        since = as_of - timedelta(days=policy.reminder_cadence_days - 1)
        recent = set(session.execute(
            select(ReminderLogRow.recipient_id, ReminderLogRow.item_key)
            .where(ReminderLogRow.network_id == network_id, ReminderLogRow.as_of >= since,
                   ReminderLogRow.as_of <= as_of)).tuples())
        period = period_of(as_of, policy.reminder_cadence_days)
        outgoing: list[tuple[str, EmailMessage, list[ReminderItem]]] = []
        skipped, missing = 0, []
        digest: list[tuple[str, list[ReminderItem]]] = []
        for company in network.active_companies(as_of):
            due = items.get(company.id, [])
            coordinator = company.coordinator
            if not due:
                continue
            if coordinator is None or not is_valid_email(coordinator.email):
                missing.append(company.id)  # nobody to write to: the digest carries them
                digest.append((company.name, due))
                continue
            fresh = [i for i in due if (coordinator.id, i.key) not in recent]
            skipped += len(due) - len(fresh)
            if fresh:
                outgoing.append((coordinator.id, compose_reminder(
                    network.name, network.operator, company.name, coordinator.name,
                    coordinator.email or "", fresh, network.language, settings.mail_from, as_of), fresh))
                digest.append((company.name, fresh))
        central = network.central_coordinator
        owner = network.coordinators().get(central.coordinator) if central else None
        if digest and owner and is_valid_email(owner[1].email):
            late = [(name, i) for name, its in digest for i in escalated(its, policy)]
            person = owner[1]
            outgoing.append((f"central:{person.id}", compose_digest(
                network.name, network.operator, person.name, person.email or "", digest, late,
                policy.escalation_days, network.language, settings.mail_from, as_of),
                [i for _, its in digest for i in its]))
        result = QueueResult(network_id=network_id, skipped_recently_sent=skipped,
                             without_coordinator=missing, messages=[
                                 QueuedMessage(recipient=str(m["To"]), subject=str(m["Subject"]),
                                               items=[i.key for i in its]) for _, m, its in outgoing])
        if queue:
            _queue(session, network_id, as_of, period, outgoing)
    return result


def _queue(session, network_id: str, as_of: date, period: date,  # type: ignore[no-untyped-def]
           outgoing: list[tuple[str, EmailMessage, list[ReminderItem]]]) -> None:
    now = datetime.now(UTC)
    for recipient_id, message, its in outgoing:
        fingerprint = hashlib.sha256("|".join(sorted(i.key for i in its)).encode()).hexdigest()[:16]
        key = f"{network_id}/{recipient_id}/{as_of.isoformat()}/{fingerprint}"
        if session.scalar(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)) is not None:
            continue
        outbox_id = session.execute(insert(OutboxRow).returning(OutboxRow.id), [dict(
            idempotency_key=key, network_id=network_id, recipient=_address(message),
            subject=str(message["Subject"]), status="queued", attempts=0,
            # CRLF line ends: SMTP requires them, and smtplib sends bytes unchanged.
            message=message.as_bytes(policy=message.policy.clone(linesep="\r\n")),
            as_of=as_of, queued_at=now)]).scalar_one()
        session.execute(insert(ReminderLogRow), [dict(
            network_id=network_id, recipient_id=recipient_id, item_key=i.key, period=period, as_of=as_of,
            overdue_days=i.overdue_days, outbox_id=outbox_id) for i in its])


def _address(message: EmailMessage) -> str:
    from email.utils import parseaddr

    return parseaddr(str(message["To"]))[1]


def deliver_queued(network_id: str | None = None) -> DeliveryResult:
    """Send (or write) every queued message, each marked sent in its own transaction as soon as
    the server accepts it, so a retry never sends one twice; failures stay queued."""
    settings = get_settings()
    mailer = Mailer(settings, settings.output_dir / "outbox")
    query = select(OutboxRow.id, OutboxRow.recipient, OutboxRow.message).where(OutboxRow.status == "queued")
    if network_id:
        query = query.where(OutboxRow.network_id == network_id)
    with transaction() as session:
        queued = session.execute(query.order_by(OutboxRow.id)).all()
    sent, written = 0, []
    try:
        for outbox_id, recipient, raw in queued:
            try:
                where = mailer.deliver(outbox_id, raw, recipient)
            except Exception as exc:
                with transaction() as session:
                    session.execute(update(OutboxRow).where(OutboxRow.id == outbox_id).values(
                        attempts=OutboxRow.attempts + 1, last_error=mailer.scrub(exc)))
                raise
            with transaction() as session:
                session.execute(update(OutboxRow).where(OutboxRow.id == outbox_id).values(
                    status="sent" if mailer.smtp else "written", attempts=OutboxRow.attempts + 1,
                    sent_at=datetime.now(UTC), delivered_to=where, last_error=None))
            if mailer.smtp:
                sent += 1
            else:
                written.append(where)
    finally:
        mailer.close()
    return DeliveryResult(sent=sent, written=written)


@task(name="queue-reminders", task_run_name="queue-reminders-{network_id}", **IO_TASK)
def queue_reminders(network_id: str, as_of: date, dry_run: bool = False) -> QueueResult:
    """Work out a network's reminders and queue each once (a dry run only composes them)."""
    return plan_reminders(network_id, as_of, queue=not dry_run)


@task(name="deliver-reminders", **IO_TASK)
def deliver_reminders() -> DeliveryResult:
    """Send every queued reminder with backoff; what cannot be sent stays queued for the next run."""
    return deliver_queued()


@task(name="list-networks", **IO_TASK)
def list_networks() -> list[str]:
    """The ids of every network in the store."""
    with transaction() as session:
        return network_ids(session)


@task(name="remind-sign-off", task_run_name="remind-sign-off-{network_id}", **IO_TASK)
def remind_sign_off(network_id: str, as_of: date, run_id: str) -> str | None:
    """Queue and deliver a reminder to the central coordinator that a sign-off is waiting."""
    from models.reminders import Kind

    settings = get_settings()
    with transaction() as session:
        network = load_network(session, network_id, parts=())
        central = network.central_coordinator
        owner = network.coordinators().get(central.coordinator) if central else None
        if owner is None or not is_valid_email(owner[1].email):
            return None
        person = owner[1]
        item = ReminderItem(key=f"sign-off/{run_id}", kind=Kind.CERTIFICATE_EXPIRY, company=None,
                            subject="Certification decision waiting for sign-off",
                            lines=(f"Run {run_id} of {network.name} passed every gate and waits for the "
                                   "decision maker's sign-off in the Prefect UI.",))
        message = compose_reminder(network.name, network.operator, network.name, person.name,
                                   person.email or "", [item], network.language, settings.mail_from, as_of)
        _queue(session, network_id, as_of, as_of, [(f"central:{person.id}", message, [item])])
    deliver_queued(network_id)
    return person.email
