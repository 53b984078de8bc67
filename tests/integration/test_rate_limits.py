"""The portal's rate limits count in the store: every process (and machine) agrees on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from services.limits import allow
from services.unit_of_work import SqlAlchemyUnitOfWork

NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_two_processes_share_one_limit_and_a_minute_later_it_allows_again(engine: Engine) -> None:
    first, second = SqlAlchemyUnitOfWork(engine), SqlAlchemyUnitOfWork(engine)  # two portal processes
    assert allow(first, "sign-in", "10.0.0.1", 3, NOON)
    assert allow(second, "sign-in", "10.0.0.1", 3, NOON + timedelta(seconds=1))
    assert allow(first, "sign-in", "10.0.0.1", 3, NOON + timedelta(seconds=2))
    assert not allow(second, "sign-in", "10.0.0.1", 3, NOON + timedelta(seconds=3))
    assert allow(second, "sign-in", "10.0.0.2", 3, NOON + timedelta(seconds=3)), "another address"
    assert allow(first, "verify", "10.0.0.1", 3, NOON + timedelta(seconds=3)), "another limit"
    assert allow(first, "sign-in", "10.0.0.1", 3, NOON + timedelta(seconds=61)), "the minute has passed"
