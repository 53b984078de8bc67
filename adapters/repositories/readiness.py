"""The kept readiness: each company's to-do list and gates as last computed, with the day and the
history mark they are valid for.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from adapters.repositories.common import table_of
from models import tables as t


class ReadinessRepository:
    """Kept to-do lists: read one, replace a network's at once."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def mark(self, network_id: str) -> int:
        """The network's newest history entry (0 before any): every write moves it."""
        h = t.HistoryRow
        return int(self.session.scalar(select(func.max(h.id)).where(h.network_id == network_id)) or 0)

    def kept(self, network_id: str, company_id: str, lang: str, as_of: date,
             mark: int) -> dict[str, Any] | None:
        """The kept to-do list of a company, when it was computed for `as_of` at `mark`."""
        k = t.KeptReadinessRow
        return self.session.scalar(select(k.todo).where(
            k.network_id == network_id, k.company_id == company_id, k.lang == lang, k.as_of == as_of,
            k.history_mark == mark))

    def keep(self, network_id: str, lang: str, as_of: date, mark: int, todos: dict[str, dict[str, Any]],
             at: datetime) -> None:
        """Replace the kept to-do lists of the network's companies in `lang` (one statement)."""
        if not todos:
            return
        dialect = self.session.get_bind().dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        table = table_of(t.KeptReadinessRow)
        statement = module.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["network_id", "company_id", "lang"],
            set_={c: statement.excluded[c] for c in ("as_of", "history_mark", "todo", "computed_at")})
        self.session.execute(statement, [
            dict(network_id=network_id, company_id=company, lang=lang, as_of=as_of, history_mark=mark,
                 todo=todo, computed_at=at) for company, todo in todos.items()])
