"""The unit of work: one transaction and the repositories that work inside it.

A service opens it with `with uow:`, reads and writes through its repositories and calls
`uow.commit()`; leaving the block without a commit rolls everything back. The events a service
collected are published only after the commit, so nothing announces a change that did not land.
A unit of work can be entered again after it was left: each time is a new transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.db import StoreUnavailable, busy_store, get_engine, unavailable_store
from adapters.evidence_files import BlobStore, evidence_store
from adapters.repositories.accounts import AccountRepository
from adapters.repositories.certificates import CertificateRepository
from adapters.repositories.evidence import EvidenceRepository
from adapters.repositories.gate_results import GateResultRepository
from adapters.repositories.history import HistoryRepository
from adapters.repositories.keys import SigningKeyRepository
from adapters.repositories.networks import NetworkRepository
from adapters.repositories.outbox import OutboxRepository
from adapters.repositories.rate_limits import RateLimitRepository
from adapters.repositories.readiness import ReadinessRepository
from models.errors import ConcurrentChange
from models.events import DomainEvent

# What the entry points catch, without touching the store's driver: an outage of the store.
__all__ = ["AbstractUnitOfWork", "SqlAlchemyUnitOfWork", "StoreBusy", "StoreUnavailable", "publish_nothing",
           "retry_when_busy", "unavailable_store"]

Publisher = Callable[[DomainEvent], None]
T = TypeVar("T")
# A write that found the store busy runs again after these pauses (seconds); then it is refused.
BUSY_PAUSES = (0.05, 0.2, 0.5)


class StoreBusy(Exception):
    """The store stayed too busy for a write, however often it was tried: nothing was written."""


def retry_when_busy(work: Callable[[], T], pauses: tuple[float, ...] = BUSY_PAUSES) -> T:
    """Run `work` (a whole transaction), again after each pause while the store is too busy for it
    (a lock held too long, a serialization failure); StoreBusy when it never got through."""
    for pause in (*pauses, None):
        try:
            return work()
        except Exception as exc:
            if not busy_store(exc):
                raise
            if pause is None:
                raise StoreBusy(str(exc)) from exc
            time.sleep(pause * (1 + random.random()))  # jittered: the writers that collided part
    raise AssertionError("unreachable")


def publish_nothing(event: DomainEvent) -> None:
    """The default publisher: the store's history already records every change."""


class AbstractUnitOfWork:
    """What services see; the SQLAlchemy one below and the fake of the unit tests implement it."""

    networks: NetworkRepository
    gate_results: GateResultRepository
    certificates: CertificateRepository
    keys: SigningKeyRepository
    outbox: OutboxRepository
    history: HistoryRepository
    evidence: EvidenceRepository
    blobs: BlobStore  # the evidence files' bytes
    accounts: AccountRepository
    readiness: ReadinessRepository  # the kept to-do lists
    rate_limits: RateLimitRepository

    def __init__(self, publish: Publisher = publish_nothing) -> None:
        self.publish = publish
        self.events: list[DomainEvent] = []

    def __enter__(self) -> Self:
        self.events = []
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.rollback()

    def collect(self, event: DomainEvent) -> None:
        """Publish `event` once this unit of work commits."""
        self.events.append(event)

    def commit(self) -> None:
        self._commit()
        events, self.events = self.events, []
        for event in events:
            self.publish(event)

    def _commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """A unit of work on the configured store (or `engine`)."""

    def __init__(self, engine: Engine | None = None, publish: Publisher = publish_nothing,
                 blobs: BlobStore | None = None) -> None:
        super().__init__(publish)
        self._engine = engine
        self._blobs = blobs
        self._session: Session | None = None

    def __enter__(self) -> Self:
        factory = sessionmaker(self._engine or get_engine(), expire_on_commit=False)
        self._session = session = factory()
        self.networks = NetworkRepository(session)
        self.gate_results = GateResultRepository(session)
        self.certificates = CertificateRepository(session)
        self.keys = SigningKeyRepository(session)
        self.outbox = OutboxRepository(session)
        self.history = HistoryRepository(session)
        self.evidence = EvidenceRepository(session)
        self.blobs = self._blobs or evidence_store()
        self.accounts = AccountRepository(session)
        self.readiness = ReadinessRepository(session)
        self.rate_limits = RateLimitRepository(session)
        return super().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        super().__exit__(*exc_info)
        if self._session is not None:
            self._session.close()
            self._session = None

    def _commit(self) -> None:
        assert self._session is not None, "commit outside `with uow:`"
        try:
            self._session.commit()
        except IntegrityError as exc:
            self._session.rollback()
            raise ConcurrentChange(str(exc.orig)) from exc

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()
