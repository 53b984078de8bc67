"""The rate limits' counted requests, shared by every portal process.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from models import tables as t

WINDOW = timedelta(seconds=60)


class RateLimitRepository:
    """Requests counted per limit and key within the last minute."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def count_and_add(self, limit_name: str, key: str, at: datetime, per_minute: int) -> bool:
        """Count a request of `key` at `at` when fewer than `per_minute` were counted in the minute
        before it; whether it was counted (allowed). Older requests of the key are forgotten."""
        r = t.RateEventRow
        mine = (r.limit_name == limit_name) & (r.key == key)
        self.session.execute(delete(r).where(mine, r.at <= at - WINDOW))
        seen = self.session.scalar(select(func.count()).select_from(r).where(mine, r.at > at - WINDOW)) or 0
        if seen >= per_minute:
            return False
        self.session.execute(insert(r).values(limit_name=limit_name, key=key, at=at))
        return True
