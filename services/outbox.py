"""Use cases of the outbox: see what is waiting or stuck, send it again, or give it up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from adapters.repositories.outbox import OutboxEntry
from models.errors import RefusedChange, ServiceError
from models.events import HistoryEntry
from services.unit_of_work import AbstractUnitOfWork

# What `outbox list` shows unless asked for everything: messages not delivered yet.
PENDING = ("queued", "sending", "undeliverable")
DELIVERED = ("sent", "written")


class UnknownMessages(ServiceError, LookupError):
    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(f"no message {', '.join(map(str, ids))} in the outbox")


def list_outbox(uow: AbstractUnitOfWork, network_id: str | None = None,
                everything: bool = False) -> list[OutboxEntry]:
    """The messages not delivered yet (or every message), oldest first."""
    with uow:
        return uow.outbox.entries(network_id, None if everything else PENDING)


def _chosen(uow: AbstractUnitOfWork, ids: Sequence[int], network_id: str | None,
            every: Sequence[str]) -> list[OutboxEntry]:
    if ids:
        found = uow.outbox.entries(network_id, ids=ids)
        missing = sorted(set(ids) - {e.id for e in found})
        if missing:
            raise UnknownMessages(missing)
        return found
    return uow.outbox.entries(network_id, every)


def _record(uow: AbstractUnitOfWork, entries: list[OutboxEntry], action: str, actor: str, at: datetime,
            reason: str | None = None) -> None:
    uow.history.add(HistoryEntry(at=at, actor=actor, network_id=e.network_id, entity="outbox",
                                 entity_id=str(e.id), action=action,
                                 detail={"recipient": e.recipient, "was": e.status, "reason": reason})
                    for e in entries)


def _refuse_in_flight(entries: list[OutboxEntry], now: datetime, verb: str) -> None:
    for e in entries:
        if e.status in DELIVERED:
            raise RefusedChange(f"message {e.id} to {e.recipient} was already {e.status}; "
                                f"it cannot be {verb}")
        if e.status == "sending" and e.claimed_until is not None and e.claimed_until > now:
            raise RefusedChange(f"message {e.id} to {e.recipient} is being sent by {e.claimed_by} until "
                                f"{e.claimed_until:%Y-%m-%d %H:%M:%S} UTC; try again after that")


def retry_messages(uow: AbstractUnitOfWork, ids: Sequence[int], actor: str,
                   network_id: str | None = None) -> list[OutboxEntry]:
    """Queue messages again to be sent on the next run, without waiting for their back-off: those
    named, or (no ids) every undeliverable one and every one waiting for a retry. What was queued."""
    now = datetime.now(UTC)
    with uow:
        chosen = _chosen(uow, ids, network_id, ("undeliverable", "queued"))
        if not ids:
            chosen = [e for e in chosen if e.status == "undeliverable" or e.next_attempt_at is not None]
        _refuse_in_flight(chosen, now, "sent again")
        if chosen:
            uow.outbox.requeue([e.id for e in chosen])
            _record(uow, chosen, "retry", actor, now)
            uow.commit()
    return chosen


def drop_messages(uow: AbstractUnitOfWork, ids: Sequence[int], reason: str, actor: str) -> list[OutboxEntry]:
    """Give up on messages not delivered yet: they are never sent. What was dropped."""
    if not ids:
        raise RefusedChange("name the messages to drop (their ids in `hackefors outbox list`)")
    now = datetime.now(UTC)
    with uow:
        chosen = _chosen(uow, ids, None, ())
        _refuse_in_flight(chosen, now, "dropped")
        uow.outbox.drop([e.id for e in chosen], reason, now)
        _record(uow, chosen, "drop", actor, now, reason)
        uow.commit()
    return chosen
