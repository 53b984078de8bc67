"""The append-only history of every change.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from adapters.repositories.common import table_of
from models import tables as t
from models.events import HistoryEntry


class HistoryRepository:
    """The append-only history."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entries: Iterable[HistoryEntry]) -> None:
        rows = [e.model_dump() for e in entries]
        if rows:
            self.session.execute(insert(table_of(t.HistoryRow)), rows)

    def newest(self, network_id: str, limit: int) -> list[HistoryEntry]:
        rows = self.session.scalars(select(t.HistoryRow).where(t.HistoryRow.network_id == network_id)
                                    .order_by(t.HistoryRow.id.desc()).limit(limit))
        return [HistoryEntry(at=r.at, actor=r.actor, network_id=r.network_id, entity=r.entity,
                             entity_id=r.entity_id, action=r.action, detail=r.detail, source=r.source)
                for r in rows]


