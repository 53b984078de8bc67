"""Use cases of reminders: work out and queue each network's reminders once; deliver the queue."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import parseaddr
from functools import partial
from typing import Any

from pydantic import BaseModel

from adapters.mail import (
    Envelope,
    Letterhead,
    Mailer,
    TryLater,
    Undeliverable,
    compose_digest,
    compose_reminder,
    overdue_words,
    phrase,
    say,
    strings,
    wire_bytes,
)
from adapters.repositories.outbox import OutboxRow
from models.certification import held_certificate
from models.gates import policy_for
from models.network import Coordinator, Network
from models.programme import audit_programme
from models.reminders import (
    ReminderItem,
    address_reminders,
    central_coordinator,
    reminder_items,
    sign_off_item,
)
from services.unit_of_work import AbstractUnitOfWork


class QueuedMessage(BaseModel):
    recipient: str
    subject: str
    items: list[str]  # the items' keys
    said: list[str] = []  # each item as the email says it: title and date, in the network's language


class QueueResult(BaseModel):
    network_id: str
    messages: list[QueuedMessage]
    skipped_recently_sent: int
    without_coordinator: list[str]
    already_queued: int = 0
    unbuildable: list[str] = []  # "network: company, which message: the field and why"
    skipped: list[str] = []  # each recipient not written to, and why


class DeliveryResult(BaseModel):
    """What one delivery run did with the messages it claimed."""

    sent: int
    written: list[str]
    undeliverable: list[str] = []  # "recipient: the server's answer"
    deferred: int = 0  # refused for now or cut off: queued again, tried after a back-off
    unbuildable: list[str] = []  # messages that could not be built, so were never queued


# A retried message waits 1, 2, 4... times the first delay, never more than an hour; a run waits
# for a retry that falls due within 8 times the first delay (so up to 4 retries), no longer.
MAX_RETRY_DELAY = timedelta(hours=1)
RUN_WAITS_FOR = 8

# A message ready to queue: the log's recipient id, the message and the items it carries.
Outgoing = tuple[str, EmailMessage, tuple[ReminderItem, ...]]


def period_of(as_of: date, cadence_days: int) -> date:
    """The start of the cadence period `as_of` falls in (weeks start on Mondays by default)."""
    return date.fromordinal(as_of.toordinal() - (as_of.toordinal() - 1) % cadence_days)


def _said(lang: str, item: ReminderItem) -> str:
    t = strings(lang)
    when = ""
    if item.due:
        late = f", {overdue_words(t, item.overdue_days)}" if item.overdue else ""
        when = f" ({phrase(t, 'due', date=item.due.isoformat())}{late})"
    return say(t, item.title) + when


def plan_reminders(uow: AbstractUnitOfWork, network_id: str, as_of: date, queue: bool,
                   letterhead: Letterhead) -> QueueResult:
    """Compose every reminder that is due and not sent within the cadence; queue them when asked.

    The queueing is one transaction: either every message and log entry of the network is queued,
    or none. A message another run queued meanwhile counts as already queued. A message that
    cannot be built (a name that cannot go into a header) is left out and named, with its company
    and field; the others are queued.
    """
    with uow:
        network = uow.networks.load(network_id)
        policy = policy_for(network)
        programme = audit_programme(network, as_of, policy, held_certificate(network.certificates, as_of))
        items = reminder_items(network, as_of, policy, programme)
        since = as_of - timedelta(days=policy.reminder_cadence_days - 1)
        addressed = address_reminders(network, items, as_of, uow.outbox.reminded(network_id, since, as_of),
                                      policy)
        refused = [(e.recipient, e.last_error or "")
                   for e in uow.outbox.entries(network_id, statuses=["undeliverable"])]
    outgoing: list[Outgoing] = []
    unbuildable: list[str] = []
    central = central_coordinator(network)

    def to(person: Coordinator) -> Envelope:
        email = person.email or ""
        return Envelope(network_id=network.id, network=network.name, operator=network.operator,
                        recipient_name=person.name, recipient_email=email, lang=network.language,
                        letterhead=letterhead,
                        reply_to=letterhead.reply_address(central.email if central else None, email))

    def build(recipient_id: str, whose: str, compose: Callable[[], EmailMessage],
              its: tuple[ReminderItem, ...]) -> None:
        # A message that cannot be built is left out alone (and its items unlogged, so that they
        # are reminded once the data is fixed); the others go out.
        try:
            outgoing.append((recipient_id, compose(), its))
        except (ValueError, MessageError) as exc:
            unbuildable.append(f"{network.id}: {whose}: {exc}")

    for letter in addressed.letters:
        build(letter.recipient_id, f"{letter.company}, the reminder to coordinator {letter.person.id}",
              partial(compose_reminder, to(letter.person), letter.company_id, letter.company,
                      list(letter.items), as_of), letter.items)
    digest = addressed.digest
    if digest is not None:
        build(digest.recipient_id, f"the digest to central coordinator {digest.person.id}",
              partial(compose_digest, to(digest.person), list(digest.companies), list(digest.escalated),
                      policy.escalation_days, as_of, refused),
              digest.items)
    queued = outgoing
    if queue:
        queued = _queue(uow, network_id, as_of, period_of(as_of, policy.reminder_cadence_days), outgoing)
    return QueueResult(network_id=network_id, skipped_recently_sent=addressed.skipped_recently_sent,
                       without_coordinator=list(addressed.without_coordinator), unbuildable=unbuildable,
                       skipped=list(addressed.skipped), already_queued=len(outgoing) - len(queued), messages=[
                           QueuedMessage(recipient=str(m["To"]), subject=str(m["Subject"]),
                                         items=[i.key for i in its],
                                         said=[_said(network.language, i) for i in its])
                           for _, m, its in queued])


def _queue(uow: AbstractUnitOfWork, network_id: str, as_of: date, period: date,
           outgoing: list[Outgoing]) -> list[Outgoing]:
    """Queue each message once, in one transaction that only writes (on SQLite a transaction that
    read first could not wait for the write lock); what this call queued."""
    now = datetime.now(UTC)
    added = []
    with uow:
        for recipient_id, message, its in outgoing:
            fingerprint = hashlib.sha256("|".join(sorted(i.key for i in its)).encode()).hexdigest()[:16]
            key = f"{network_id}/{recipient_id}/{as_of.isoformat()}/{fingerprint}"
            outbox_id = uow.outbox.add(
                key, network_id, parseaddr(str(message["To"]))[1], str(message["Subject"]),
                wire_bytes(message), as_of, now,
                [dict(recipient_id=recipient_id, item_key=i.key, period=period, as_of=as_of,
                      overdue_days=i.overdue_days) for i in its])
            if outbox_id is not None:
                added.append((recipient_id, message, its))
        uow.commit()
    return added


def sender_name(run: str | None = None) -> str:
    """Who claims messages: host, process id and the run (by default a random name)."""
    return f"{socket.gethostname()}:{os.getpid()}:{run or uuid.uuid4().hex[:8]}"


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """How long a message waits after its `attempts`-th attempt failed for now."""
    return min(first * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def deliver_queued(uow: AbstractUnitOfWork, mailer: Mailer, network_id: str | None = None, *,
                   owner: str | None = None, lease: timedelta = timedelta(minutes=5),
                   first_retry: timedelta = timedelta(seconds=1)) -> DeliveryResult:
    """Send (or write) every message that is due, each claimed under a lease before it is sent
    and marked as soon as the server answers, so that any number of runs at once send each
    message once.

    A 5xx answer makes a message undeliverable; a 4xx answer or a cut connection queues it again
    after a back-off; neither stops the others. When the server cannot be reached, the login is
    refused or the store fails, the run stops (the message in hand is queued again) and raises.
    The result counts what `owner` (one per run; a retried run keeps it) handled last.
    """
    owner = owner or sender_name()
    try:
        while True:
            now = datetime.now(UTC)
            with uow:
                message = uow.outbox.claim_next(owner, now, now + lease, network_id)
                uow.commit()
            if message is not None:
                _deliver_one(uow, mailer, message, owner, first_retry)
                continue
            with uow:
                soonest = uow.outbox.next_attempt(network_id)
            if soonest is None or soonest - now > first_retry * RUN_WAITS_FOR:
                break
            time.sleep(max((soonest - now).total_seconds(), 0.0))
    finally:
        mailer.close()
    with uow:
        handled = uow.outbox.handled_by(owner)
    return DeliveryResult(
        sent=sum(status == "sent" for status, _, _, _ in handled),
        written=[where or "" for status, _, where, _ in handled if status == "written"],
        undeliverable=[f"{recipient}: {error}" for status, recipient, _, error in handled
                       if status == "undeliverable"],
        deferred=sum(status == "queued" for status, _, _, _ in handled))


def _deliver_one(uow: AbstractUnitOfWork, mailer: Mailer, message: OutboxRow, owner: str,
                 first_retry: timedelta) -> None:
    try:
        where = mailer.deliver(message.id, message.message, message.recipient, network_id=message.network_id)
    except Undeliverable as refused:
        with uow:
            uow.outbox.mark_undeliverable(message.id, owner, str(refused), datetime.now(UTC))
            uow.commit()
        return
    except TryLater as deferred:
        now = datetime.now(UTC)
        with uow:
            uow.outbox.release(message.id, owner, str(deferred),
                               now + retry_delay(message.attempts, first_retry))
            uow.commit()
        return
    except BaseException as exc:  # nothing can be sent now (or the run is interrupted): hand it back
        with uow:
            uow.outbox.release(message.id, owner, mailer.scrub(exc), None)
            uow.commit()
        raise
    with uow:
        uow.outbox.mark_delivered(message.id, owner, "sent" if mailer.smtp else "written", where,
                                  datetime.now(UTC))
        uow.commit()


def _send_sign_off_notice(uow: AbstractUnitOfWork, mailer: Mailer, network: Network, as_of: date,
                          run_id: str, recipient_id: str, name: str, email: str, letterhead: Letterhead,
                          **delivery: Any) -> None:
    """Queue, once per run and recipient, the notice that a run waits for its sign-off; deliver it."""
    item = sign_off_item(network, run_id)
    envelope = Envelope(network_id=network.id, network=network.name, operator=network.operator,
                        recipient_name=name, recipient_email=email, lang=network.language,
                        letterhead=letterhead,
                        reply_to=letterhead.reply_address(None, email))
    message = compose_reminder(envelope, None, network.name, [item], as_of)
    _queue(uow, network.id, as_of, as_of, [(recipient_id, message, (item,))])
    deliver_queued(uow, mailer, network.id, **delivery)


def notify_operator_of_sign_off(uow: AbstractUnitOfWork, mailer: Mailer, network_id: str, as_of: date,
                                run_id: str, letterhead: Letterhead) -> str | None:
    """Queue and deliver, once per run, an email telling the operator that a run waits for its
    sign-off; to whom (None: no operator address is configured)."""
    operator_email = letterhead.operator_email
    if not operator_email:
        return None
    with uow:
        network = uow.networks.load(network_id, parts=())
    _send_sign_off_notice(uow, mailer, network, as_of, run_id, f"operator:{operator_email}", network.operator,
                          operator_email, letterhead)
    return operator_email


def remind_sign_off(uow: AbstractUnitOfWork, mailer: Mailer, network_id: str, as_of: date, run_id: str,
                    letterhead: Letterhead, **delivery: Any) -> str | None:
    """Queue and deliver a reminder to the central coordinator that a sign-off is waiting; to whom."""
    with uow:
        network = uow.networks.load(network_id, parts=())
    person = central_coordinator(network)
    if person is None:
        return None
    _send_sign_off_notice(uow, mailer, network, as_of, run_id, f"central:{person.id}", person.name,
                          person.email or "", letterhead, **delivery)
    return person.email
