"""The repositories as the services see them: one Protocol per aggregate.

The SQLAlchemy repositories (`adapters/repositories/`) and the in-memory fakes of the unit tests
(`tests/fakes.py`) both implement them; mypy holds both to these signatures, and one contract suite
(`tests/integration/test_unit_of_work_contract.py`) runs the same behaviour against both. Every
method works inside the caller's unit of work and never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

from adapters.repositories.networks import ALL_PARTS, SyncSummary
from adapters.repositories.outbox import OutboxEntry, OutboxRow
from models.accounts import Account
from models.certification import CertificateEvent, CertificateRecord, CertificateStatus
from models.events import HistoryEntry
from models.evidence import EvidenceFile
from models.keys import SigningKey
from models.network import Certificate, Network
from models.results import GateResult


class Networks(Protocol):
    """Networks and everything recorded about them, but certificates and runs."""

    def ids(self) -> list[str]: ...

    def lock(self, network_id: str) -> None:
        """Hold the network until the transaction ends; must come first in it."""

    def load(self, network_id: str, parts: Iterable[str] = ALL_PARTS) -> Network:
        """The network as stored (NetworkNotFound when it is not), with only the `parts` asked for."""
        ...

    def load_many(self, network_ids: Iterable[str], parts: Iterable[str] = ALL_PARTS) -> list[Network]: ...

    def save(self, network: Network, actor: str, at: datetime, source: str = "file", replace: bool = False,
             tables: Iterable[str] | None = None) -> SyncSummary:
        """Write the network; saving the same network again changes nothing. The summary lists every
        change as a history entry, for the caller to record."""
        ...

    def policy_overrides(self) -> dict[str, dict[str, Any]]: ...

    def set_recommendation(self, network_id: str, audit_id: str, recommendation: str) -> str | None:
        """Store an external audit's recommendation; the one it replaces (None: no such audit)."""
        ...


class GateResults(Protocol):
    """Each run's gate results."""

    def replace(self, result: GateResult, run_id: str, at: datetime) -> None: ...

    def replace_many(self, results: list[GateResult], run_id: str, at: datetime) -> None: ...

    def discard_run(self, network_id: str, run_id: str) -> int: ...

    def for_run(self, network_id: str, run_id: str,
                stages: Iterable[str] | None = None) -> list[GateResult]: ...


class Certificates(Protocol):
    """The register of certificates and of their status changes."""

    def get(self, number: str) -> CertificateRecord | None: ...

    def for_cycle(self, network_id: str, cycle: str) -> CertificateRecord | None: ...

    def key_ids(self) -> set[str]: ...

    def count_for_network(self, network_id: str) -> int: ...

    def count_reissues(self, cycle: str) -> int: ...

    def for_network(self, network_id: str) -> list[Certificate]: ...

    def for_networks(self, network_ids: list[str]) -> dict[str, list[Certificate]]: ...

    def with_status(self, statuses: Iterable[CertificateStatus]) -> list[CertificateRecord]: ...

    def add(self, record: CertificateRecord, at: datetime) -> None:
        """Insert a new certificate; ConcurrentChange when its number or cycle is taken."""

    def events(self, numbers: list[str]) -> list[CertificateEvent]: ...

    def add_event(self, event: CertificateEvent, actor: str, at: datetime) -> None: ...


class SigningKeys(Protocol):
    """The register of signing keys: their public halves and when each signed."""

    def all(self) -> list[SigningKey]: ...

    def add(self, key: SigningKey) -> None: ...

    def retire(self, key_id: str, at: datetime) -> bool: ...

    def first_signed(self, key_id: str) -> datetime | None: ...


class Outbox(Protocol):
    """Messages to send under a lease, and the log of which reminder went to whom when."""

    def reminded(self, network_id: str, since: date, until: date) -> set[tuple[str, str]]: ...

    def add(self, idempotency_key: str, network_id: str, recipient: str, subject: str, message: bytes,
            as_of: date, at: datetime, log: list[dict[str, Any]]) -> int | None:
        """Queue a message; None when one with this key is already queued."""
        ...

    def claim_next(self, owner: str, now: datetime, lease_until: datetime,
                   network_id: str | None = None) -> OutboxRow | None: ...

    def next_attempt(self, network_id: str | None = None) -> datetime | None: ...

    def mark_delivered(self, outbox_id: int, owner: str, status: str, where: str, at: datetime) -> None: ...

    def forget_delivered(self, network_id: str) -> None: ...

    def mark_undeliverable(self, outbox_id: int, owner: str, reason: str, at: datetime) -> None: ...

    def release(self, outbox_id: int, owner: str, error: str, retry_at: datetime | None) -> None: ...

    def handled_by(self, owner: str) -> list[tuple[str, str, str | None, str | None]]: ...

    def entries(self, network_id: str | None = None, statuses: Iterable[str] | None = None,
                ids: Iterable[int] | None = None) -> list[OutboxEntry]: ...

    def undeliverable_counts(self, network_ids: list[str]) -> dict[str, int]: ...

    def requeue(self, ids: list[int]) -> None: ...

    def drop(self, ids: list[int], reason: str, at: datetime) -> None: ...


class History(Protocol):
    """The append-only history."""

    def add(self, entries: Iterable[HistoryEntry]) -> None: ...

    def newest(self, network_id: str, limit: int) -> list[HistoryEntry]: ...


class EvidenceRecords(Protocol):
    """The records of the companies' evidence files."""

    def add(self, record: EvidenceFile) -> bool:
        """Record a file; False when the company already holds one with the same content."""
        ...

    def get(self, network_id: str, company_id: str, sha256: str) -> EvidenceFile | None: ...

    def for_company(self, network_id: str, company_id: str) -> list[EvidenceFile]: ...


class Readiness(Protocol):
    """Kept to-do lists: read one, replace a network's at once."""

    def mark(self, network_id: str) -> int:
        """The network's history mark: every write moves it."""
        ...

    def kept(self, network_id: str, company_id: str, lang: str, as_of: date,
             mark: int) -> dict[str, Any] | None:
        """The kept to-do list of a company, when it was computed for `as_of` at `mark`."""
        ...

    def keep(self, network_id: str, lang: str, as_of: date, mark: int, todos: dict[str, dict[str, Any]],
             at: datetime) -> None: ...


class RateLimits(Protocol):
    """Requests counted per limit and key within the last minute."""

    def count_and_add(self, limit_name: str, key: str, at: datetime, per_minute: int) -> bool:
        """Count a request when fewer than `per_minute` were counted in the minute before; whether
        it was counted (allowed)."""
        ...


class Blobs(Protocol):
    """The evidence files' bytes, by sha256."""

    def put(self, sha256: str, content: bytes) -> None: ...

    def get(self, sha256: str) -> bytes | None: ...


class Accounts(Protocol):
    """The portal's accounts, their one-time sign-in links and their sessions (secrets as sha256)."""

    def get(self, email: str) -> Account | None: ...

    def all(self) -> list[Account]: ...

    def put(self, account: Account, at: datetime) -> None: ...

    def remove(self, email: str) -> bool: ...

    def end_sessions(self, email: str) -> int: ...

    def add_link(self, token_hash: str, email: str, at: datetime) -> None: ...

    def links_since(self, email: str, since: datetime) -> int: ...

    def use_link(self, token_hash: str, not_before: datetime, at: datetime) -> str | None:
        """Mark an unused link created after `not_before` as used; the email it signs in, or None."""
        ...

    def add_session(self, token_hash: str, email: str, at: datetime, expires_at: datetime) -> None: ...

    def session_account(self, token_hash: str, now: datetime) -> Account | None: ...

    def end_session(self, token_hash: str) -> None: ...

    def forget_expired(self, now: datetime, links_before: datetime) -> None: ...
