"""What the repositories share: a table's key and scope, values as JSON and history write them,
rows in chunks, and datetimes in UTC."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table

from models import tables as t

CHUNK = 500


def table_of(orm: type[t.Base]) -> Table:
    return orm.__table__  # type: ignore[return-value]



def primary_key(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]



def in_network(table: Table, network_id: str) -> Any:
    column = table.c.network_id if "network_id" in table.c else table.c.id
    return column == network_id



def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):  # hours: JSON has no decimals (a deleted session's history failed)
        return float(value)
    return value.isoformat() if isinstance(value, date) else value



def chunked(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]



def without(row: dict[str, Any], *extra: str) -> dict[str, Any]:
    drop = {"network_id", "position", *extra}
    return {k: v for k, v in row.items() if k not in drop}



def as_utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


