"""Use case: read the store's append-only history."""

from __future__ import annotations

from models.events import HistoryEntry
from services.unit_of_work import AbstractUnitOfWork


def newest_history(uow: AbstractUnitOfWork, network_id: str, limit: int) -> list[HistoryEntry]:
    """The newest `limit` entries about a network, newest first."""
    with uow:
        return uow.history.newest(network_id, limit)
