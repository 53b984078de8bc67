"""Rate limits every portal process agrees on: the requests are counted in the store."""

from __future__ import annotations

from datetime import UTC, datetime

from services.unit_of_work import AbstractUnitOfWork, retry_when_busy


def allow(uow: AbstractUnitOfWork, limit_name: str, key: str, per_minute: int,
          at: datetime | None = None) -> bool:
    """Whether one more request of `key` fits `per_minute` under the limit `limit_name` (counted
    when it does), in one short transaction."""
    def count() -> bool:
        with uow:
            allowed = uow.rate_limits.count_and_add(limit_name, key, at or datetime.now(UTC), per_minute)
            uow.commit()
        return allowed

    return retry_when_busy(count)
