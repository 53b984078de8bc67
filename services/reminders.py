"""Use cases of reminders: work out and queue each network's reminders once; deliver the queue."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr

from pydantic import BaseModel

from models.certification import held_certificate
from models.gates import policy_for
from models.programme import audit_programme
from models.reminders import (
    ReminderItem,
    address_reminders,
    central_coordinator,
    reminder_items,
    sign_off_item,
)
from services.unit_of_work import AbstractUnitOfWork
from tasks.mail import Mailer, compose_digest, compose_reminder


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


# A message ready to queue: the log's recipient id, the message and the items it carries.
Outgoing = tuple[str, EmailMessage, tuple[ReminderItem, ...]]


def period_of(as_of: date, cadence_days: int) -> date:
    """The start of the cadence period `as_of` falls in (weeks start on Mondays by default)."""
    return date.fromordinal(as_of.toordinal() - (as_of.toordinal() - 1) % cadence_days)


def plan_reminders(uow: AbstractUnitOfWork, network_id: str, as_of: date, queue: bool,
                   mail_from: str) -> QueueResult:
    """Compose every reminder that is due and not sent within the cadence; queue them when asked.

    One transaction: either every message and log entry of the network is queued, or none.
    """
    with uow:
        network = uow.networks.load(network_id)
        policy = policy_for(network)
        programme = audit_programme(network, as_of, policy, held_certificate(network.certificates, as_of))
        items = reminder_items(network, as_of, policy, programme)
        since = as_of - timedelta(days=policy.reminder_cadence_days - 1)
        addressed = address_reminders(network, items, as_of, uow.outbox.reminded(network_id, since, as_of),
                                      policy)
        outgoing: list[Outgoing] = [
            (letter.recipient_id, compose_reminder(
                network.name, network.operator, letter.company, letter.person.name,
                letter.person.email or "", list(letter.items), network.language, mail_from, as_of),
             letter.items)
            for letter in addressed.letters]
        digest = addressed.digest
        if digest is not None:
            outgoing.append((digest.recipient_id, compose_digest(
                network.name, network.operator, digest.person.name, digest.person.email or "",
                [(name, list(its)) for name, its in digest.companies], list(digest.escalated),
                policy.escalation_days, network.language, mail_from, as_of), digest.items))
        if queue:
            _queue(uow, network_id, as_of, period_of(as_of, policy.reminder_cadence_days), outgoing)
            uow.commit()
    return QueueResult(network_id=network_id, skipped_recently_sent=addressed.skipped_recently_sent,
                       without_coordinator=list(addressed.without_coordinator), messages=[
                           QueuedMessage(recipient=str(m["To"]), subject=str(m["Subject"]),
                                         items=[i.key for i in its]) for _, m, its in outgoing])


def _queue(uow: AbstractUnitOfWork, network_id: str, as_of: date, period: date,
           outgoing: list[Outgoing]) -> None:
    now = datetime.now(UTC)
    for recipient_id, message, its in outgoing:
        fingerprint = hashlib.sha256("|".join(sorted(i.key for i in its)).encode()).hexdigest()[:16]
        key = f"{network_id}/{recipient_id}/{as_of.isoformat()}/{fingerprint}"
        if uow.outbox.has(key):
            continue
        uow.outbox.add(
            key, network_id, parseaddr(str(message["To"]))[1], str(message["Subject"]),
            # CRLF line ends: SMTP requires them, and smtplib sends bytes unchanged.
            message.as_bytes(policy=message.policy.clone(linesep="\r\n")), as_of, now,
            [dict(recipient_id=recipient_id, item_key=i.key, period=period, as_of=as_of,
                  overdue_days=i.overdue_days) for i in its])


def deliver_queued(uow: AbstractUnitOfWork, mailer: Mailer, network_id: str | None = None) -> DeliveryResult:
    """Send (or write) every queued message, each marked sent in its own transaction as soon as
    the server accepts it, so a retry never sends one twice; failures stay queued."""
    with uow:
        queued = uow.outbox.queued(network_id)
    sent, written = 0, []
    try:
        for message in queued:
            try:
                where = mailer.deliver(message.id, message.message, message.recipient)
            except Exception as exc:
                with uow:
                    uow.outbox.mark_failed(message.id, mailer.scrub(exc))
                    uow.commit()
                raise
            with uow:
                uow.outbox.mark_delivered(message.id, "sent" if mailer.smtp else "written", where,
                                          datetime.now(UTC))
                uow.commit()
            if mailer.smtp:
                sent += 1
            else:
                written.append(where)
    finally:
        mailer.close()
    return DeliveryResult(sent=sent, written=written)


def notify_operator_of_sign_off(uow: AbstractUnitOfWork, mailer: Mailer, network_id: str, as_of: date,
                                run_id: str, operator_email: str | None, mail_from: str) -> str | None:
    """Queue and deliver, once per run, an email telling the operator that a run waits for its
    sign-off; to whom (None: no operator address is configured)."""
    if not operator_email:
        return None
    with uow:
        network = uow.networks.load(network_id, parts=())
        item = sign_off_item(network, run_id)
        message = compose_reminder(network.name, network.operator, network.name, network.operator,
                                   operator_email, [item], network.language, mail_from, as_of)
        _queue(uow, network_id, as_of, as_of, [(f"operator:{operator_email}", message, (item,))])
        uow.commit()
    deliver_queued(uow, mailer, network_id)
    return operator_email


def remind_sign_off(uow: AbstractUnitOfWork, mailer: Mailer, network_id: str, as_of: date, run_id: str,
                    mail_from: str) -> str | None:
    """Queue and deliver a reminder to the central coordinator that a sign-off is waiting; to whom."""
    with uow:
        network = uow.networks.load(network_id, parts=())
        person = central_coordinator(network)
        if person is None:
            return None
        item = sign_off_item(network, run_id)
        message = compose_reminder(network.name, network.operator, network.name, person.name,
                                   person.email or "", [item], network.language, mail_from, as_of)
        _queue(uow, network_id, as_of, as_of, [(f"central:{person.id}", message, (item,))])
        uow.commit()
    deliver_queued(uow, mailer, network_id)
    return person.email
