"""The outbox: messages to send under a lease, and the log of which reminder went to whom when.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from adapters.repositories.common import as_utc
from models import tables as t


class OutboxRow(BaseModel):
    """A message claimed for delivery."""

    id: int
    network_id: str
    recipient: str
    message: bytes
    attempts: int


class OutboxEntry(BaseModel):
    """A message of the outbox as an operator sees it."""

    id: int
    network_id: str
    recipient: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    queued_at: datetime
    next_attempt_at: datetime | None
    claimed_by: str | None
    claimed_until: datetime | None
    sent_at: datetime | None
    failed_at: datetime | None


class OutboxRepository:
    """Messages to send, and the log of which reminder went to whom when.

    A message is `queued` until a sender claims it: the claim makes it `sending` under a lease (the
    sender's name and an expiry) in one atomic statement, so concurrent senders never take the same
    message; a lease that expires (its sender died) makes the message claimable again. It ends
    `sent` (or `written` as a file), `undeliverable` (refused for good) or `dropped` (by hand).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _insert(self, table: type[t.Base]) -> Any:
        """An INSERT that skips rows whose unique key is taken (on SQLite and PostgreSQL)."""
        dialect = self.session.get_bind().dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        return module.insert(table).on_conflict_do_nothing()

    def reminded(self, network_id: str, since: date, until: date) -> set[tuple[str, str]]:
        """(recipient, item key) of every reminder logged between `since` and `until`."""
        log = t.ReminderLogRow
        return set(self.session.execute(
            select(log.recipient_id, log.item_key).where(log.network_id == network_id, log.as_of >= since,
                                                         log.as_of <= until)).tuples())

    def add(self, idempotency_key: str, network_id: str, recipient: str, subject: str, message: bytes,
            as_of: date, at: datetime, log: list[dict[str, Any]]) -> int | None:
        """Queue a message and log the reminder items it carries; its outbox id, or None when a
        message with this key is already queued (by an earlier or a concurrent run)."""
        outbox_id = self.session.execute(self._insert(t.OutboxRow).returning(t.OutboxRow.id), [dict(
            idempotency_key=idempotency_key, network_id=network_id, recipient=recipient, subject=subject,
            status="queued", attempts=0, message=message, as_of=as_of, queued_at=at)]).scalar()
        if outbox_id is None:
            return None
        if log:
            self.session.execute(self._insert(t.ReminderLogRow), [
                dict(entry, network_id=network_id, outbox_id=outbox_id) for entry in log])
        return int(outbox_id)

    def claim_next(self, owner: str, now: datetime, lease_until: datetime,
                   network_id: str | None = None) -> OutboxRow | None:
        """Claim the oldest message that is due (queued and not waiting for a retry, or abandoned
        by a sender whose lease expired) for `owner` until `lease_until`; None when none is due.

        On PostgreSQL the row is picked with FOR UPDATE SKIP LOCKED, so concurrent claims pass each
        other by; SQLite runs the pick and the update as one statement under its write lock. On
        SQLite this must be the transaction's first statement, so the lock is waited for.
        """
        o = t.OutboxRow
        due = or_(and_(o.status == "queued", or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now)),
                  and_(o.status == "sending", o.claimed_until < now))
        pick = select(o.id).where(due).order_by(o.id).limit(1)
        if network_id is not None:
            pick = pick.where(o.network_id == network_id)
        claim = update(o).values(status="sending", claimed_by=owner, claimed_until=lease_until,
                                 attempts=o.attempts + 1)
        returned = (o.id, o.network_id, o.recipient, o.message, o.attempts)
        if self.session.get_bind().dialect.name == "postgresql":
            chosen = self.session.scalar(pick.with_for_update(skip_locked=True))
            if chosen is None:
                return None
            found = self.session.execute(claim.where(o.id == chosen).returning(*returned)).first()
        else:
            found = self.session.execute(claim.where(o.id == pick.scalar_subquery(), due)
                                         .returning(*returned)).first()
        if found is None:
            return None
        return OutboxRow(id=found.id, network_id=found.network_id, recipient=found.recipient,
                         message=found.message, attempts=found.attempts)

    def next_attempt(self, network_id: str | None = None) -> datetime | None:
        """When the soonest queued message waiting for a retry is due."""
        o = t.OutboxRow
        query = select(func.min(o.next_attempt_at)).where(o.status == "queued")
        if network_id is not None:
            query = query.where(o.network_id == network_id)
        return as_utc(self.session.scalar(query))

    def mark_delivered(self, outbox_id: int, owner: str, status: str, where: str, at: datetime) -> None:
        """The server accepted the message (or it was written to `where`)."""
        self.session.execute(update(t.OutboxRow).where(t.OutboxRow.id == outbox_id).values(
            status=status, sent_at=at, delivered_to=where, last_error=None, claimed_by=owner,
            claimed_until=None, next_attempt_at=None))

    def forget_delivered(self, network_id: str) -> None:
        """Empty the stored copy of the messages of `network_id` that were sent or written (sign-in
        links: the secret must not outlive its delivery in the store)."""
        self.session.execute(update(t.OutboxRow).where(
            t.OutboxRow.network_id == network_id, t.OutboxRow.status.in_(("sent", "written")),
            t.OutboxRow.message != b"").values(message=b""))

    def mark_undeliverable(self, outbox_id: int, owner: str, reason: str, at: datetime) -> None:
        """The server refused the message for good; `reason` is its answer."""
        self.session.execute(update(t.OutboxRow).where(t.OutboxRow.id == outbox_id).values(
            status="undeliverable", last_error=reason, failed_at=at, claimed_by=owner, claimed_until=None,
            next_attempt_at=None))

    def release(self, outbox_id: int, owner: str, error: str, retry_at: datetime | None) -> None:
        """Give a claimed message back to the queue, to be tried again from `retry_at` (None: at
        once). A claim that passed to another sender (this one's lease expired) stays theirs."""
        o = t.OutboxRow
        self.session.execute(update(o).where(o.id == outbox_id, o.status == "sending", o.claimed_by == owner)
                             .values(status="queued", last_error=error, claimed_until=None,
                                     next_attempt_at=retry_at))

    def handled_by(self, owner: str) -> list[tuple[str, str, str | None, str | None]]:
        """(status, recipient, where delivered, last error) of every message `owner` handled last."""
        o = t.OutboxRow
        return [tuple(r) for r in self.session.execute(  # type: ignore[misc]
            select(o.status, o.recipient, o.delivered_to, o.last_error)
            .where(o.claimed_by == owner).order_by(o.id))]

    def entries(self, network_id: str | None = None, statuses: Iterable[str] | None = None,
                ids: Iterable[int] | None = None) -> list[OutboxEntry]:
        """The messages of a network (or all), only those with `statuses` or `ids` when given."""
        o = t.OutboxRow
        query = select(o.id, o.network_id, o.recipient, o.subject, o.status, o.attempts, o.last_error,
                       o.queued_at, o.next_attempt_at, o.claimed_by, o.claimed_until, o.sent_at,
                       o.failed_at).order_by(o.id)
        if network_id is not None:
            query = query.where(o.network_id == network_id)
        if statuses is not None:
            query = query.where(o.status.in_(list(statuses)))
        if ids is not None:
            query = query.where(o.id.in_(list(ids)))
        return [OutboxEntry.model_validate({
            **r, **{k: as_utc(r[k]) for k in ("queued_at", "next_attempt_at", "claimed_until", "sent_at",
                                             "failed_at")}}) for r in self.session.execute(query).mappings()]

    def undeliverable_counts(self, network_ids: list[str]) -> dict[str, int]:
        """How many messages of each network the server refused for good (networks with none left out)."""
        o = t.OutboxRow
        query = (select(o.network_id, func.count()).where(o.status == "undeliverable",
                                                           o.network_id.in_(network_ids))
                 .group_by(o.network_id))
        return {network: int(n) for network, n in self.session.execute(query).all()}

    def requeue(self, ids: list[int]) -> None:
        """Queue messages again, to be tried at once."""
        self.session.execute(update(t.OutboxRow).where(t.OutboxRow.id.in_(ids)).values(
            status="queued", next_attempt_at=None, claimed_until=None))

    def drop(self, ids: list[int], reason: str, at: datetime) -> None:
        """Give up on messages: they are never sent."""
        self.session.execute(update(t.OutboxRow).where(t.OutboxRow.id.in_(ids)).values(
            status="dropped", last_error=reason, failed_at=at, next_attempt_at=None, claimed_until=None))


