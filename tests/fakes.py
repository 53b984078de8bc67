"""An in-memory unit of work for the services' unit tests: the repositories' contract, no database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from adapters.repositories.networks import ALL_PARTS, SyncSummary
from adapters.repositories.outbox import OutboxEntry, OutboxRow
from models.certification import CertificateEvent, CertificateRecord, CertificateStatus
from models.errors import ConcurrentChange, NetworkNotFound
from models.events import DomainEvent, HistoryEntry
from models.evidence import EvidenceFile
from models.keys import SigningKey
from models.network import Certificate, Network
from models.results import GateResult
from services.unit_of_work import AbstractUnitOfWork


class FakeNetworks:
    def __init__(self, certificates: FakeCertificates) -> None:
        self.stored: dict[str, Network] = {}
        self.certificates = certificates

    def ids(self) -> list[str]:
        return sorted(self.stored)

    def lock(self, network_id: str) -> None:
        pass  # one process, no one to wait for

    def load(self, network_id: str, parts: Iterable[str] = ALL_PARTS) -> Network:
        if network_id not in self.stored:
            raise NetworkNotFound(network_id, self.ids())
        certificates = self.certificates.for_network(network_id) if "certificates" in set(parts) else []
        return self.stored[network_id].model_copy(update={"certificates": tuple(certificates)})

    def load_many(self, network_ids: Iterable[str], parts: Iterable[str] = ALL_PARTS) -> list[Network]:
        parts = set(parts)
        return [self.load(network_id, parts) for network_id in dict.fromkeys(network_ids)]

    def save(self, network: Network, actor: str, at: datetime, source: str = "file", replace: bool = False,
             tables: Iterable[str] | None = None) -> SyncSummary:
        """The whole network is stored as given (no merge rules: those are the store's, tested there)."""
        old = self.stored.get(network.id)
        self.stored[network.id] = network.model_copy(update={"certificates": ()})
        if old == self.stored[network.id]:
            return SyncSummary()
        action = "insert" if old is None else "update"
        counts = {"networks": 1}
        return SyncSummary(inserted=counts if old is None else {}, updated={} if old is None else counts,
                           changes=[HistoryEntry(at=at, actor=actor, network_id=network.id, entity="networks",
                                                 entity_id=network.id, action=action, source=source)])

    def policy_overrides(self) -> dict[str, dict[str, Any]]:
        return {nid: dict(n.policy_overrides) for nid, n in self.stored.items()}

    def set_recommendation(self, network_id: str, audit_id: str, recommendation: str) -> str | None:
        network = self.stored[network_id]
        audits = list(network.external_audits)
        for i, audit in enumerate(audits):
            if audit.id == audit_id:
                audits[i] = audit.model_copy(update={"recommendation": recommendation})
                self.stored[network_id] = network.model_copy(update={"external_audits": tuple(audits)})
                return audit.recommendation.value
        return None


class FakeGateResults:
    def __init__(self) -> None:
        self.stored: list[tuple[str, GateResult]] = []

    def replace(self, result: GateResult, run_id: str, at: datetime) -> None:
        self.stored = [(r, g) for r, g in self.stored
                       if not (r == run_id and g.network_id == result.network_id and g.stage == result.stage)]
        self.stored.append((run_id, result))

    def replace_many(self, results: list[GateResult], run_id: str, at: datetime) -> None:
        for result in results:
            self.replace(result, run_id, at)

    def discard_run(self, network_id: str, run_id: str) -> int:
        kept = [(r, g) for r, g in self.stored if not (r == run_id and g.network_id == network_id)]
        gone, self.stored = len(self.stored) - len(kept), kept
        return gone

    def for_run(self, network_id: str, run_id: str, stages: Iterable[str] | None = None) -> list[GateResult]:
        wanted = None if stages is None else set(stages)
        return [g for r, g in self.stored if r == run_id and g.network_id == network_id
                and (wanted is None or g.stage.value in wanted)]


class FakeCertificates:
    def __init__(self) -> None:
        self.stored: dict[str, CertificateRecord] = {}
        self.history: list[CertificateEvent] = []

    def get(self, number: str) -> CertificateRecord | None:
        return self.stored.get(number)

    def for_cycle(self, network_id: str, cycle: str) -> CertificateRecord | None:
        found = [r for r in self.stored.values() if r.network_id == network_id and r.cycle == cycle]
        return found[0] if found else None

    def key_ids(self) -> set[str]:
        return {r.key_id for r in self.stored.values() if r.signature and r.key_id}

    def count_for_network(self, network_id: str) -> int:
        return sum(r.network_id == network_id for r in self.stored.values())

    def count_reissues(self, cycle: str) -> int:
        return sum(r.cycle.startswith(f"{cycle}.r") for r in self.stored.values())

    def for_network(self, network_id: str) -> list[Certificate]:
        return [r.certificate() for r in sorted(self.stored.values(), key=lambda r: r.issued_on)
                if r.network_id == network_id]

    def for_networks(self, network_ids: list[str]) -> dict[str, list[Certificate]]:
        return {network_id: self.for_network(network_id) for network_id in network_ids}

    def with_status(self, statuses: Iterable[CertificateStatus]) -> list[CertificateRecord]:
        wanted = set(statuses)
        return sorted((r for r in self.stored.values() if r.status in wanted), key=lambda r: r.valid_until)

    def add(self, record: CertificateRecord, at: datetime) -> None:
        if record.number in self.stored or self.for_cycle(record.network_id, record.cycle):
            raise ConcurrentChange(f"certificate {record.number} exists")
        self.stored[record.number] = record

    def events(self, numbers: list[str]) -> list[CertificateEvent]:
        return [e for e in self.history if e.number in numbers]

    def add_event(self, event: CertificateEvent, actor: str, at: datetime) -> None:
        self.history.append(event)
        self.stored[event.number] = self.stored[event.number].model_copy(update={"status": event.status})


class FakeKeys:
    def __init__(self, certificates: FakeCertificates) -> None:
        self.stored: dict[str, SigningKey] = {}
        self.certificates = certificates

    def all(self) -> list[SigningKey]:
        return sorted(self.stored.values(), key=lambda k: k.valid_from)

    def add(self, key: SigningKey) -> None:
        if key.key_id in self.stored:
            raise ConcurrentChange(f"key {key.key_id} exists")
        self.stored[key.key_id] = key

    def retire(self, key_id: str, at: datetime) -> bool:
        key = self.stored[key_id]
        if key.valid_until is not None:
            return False
        self.stored[key_id] = key.model_copy(update={"valid_until": at})
        return True

    def first_signed(self, key_id: str) -> datetime | None:
        return None


class FakeOutbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []

    def undeliverable_counts(self, network_ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.messages:
            if m["status"] == "undeliverable" and m["network_id"] in network_ids:
                counts[m["network_id"]] = counts.get(m["network_id"], 0) + 1
        return counts

    def reminded(self, network_id: str, since: date, until: date) -> set[tuple[str, str]]:
        return {(e["recipient_id"], e["item_key"]) for e in self.log
                if e["network_id"] == network_id and since <= e["as_of"] <= until}

    def add(self, idempotency_key: str, network_id: str, recipient: str, subject: str, message: bytes,
            as_of: date, at: datetime, log: list[dict[str, Any]]) -> int | None:
        if any(m["key"] == idempotency_key for m in self.messages):
            return None
        outbox_id = len(self.messages) + 1
        self.messages.append(dict(
            id=outbox_id, key=idempotency_key, network_id=network_id, recipient=recipient, subject=subject,
            message=message, status="queued", attempts=0, last_error=None, queued_at=at, next_attempt_at=None,
            claimed_by=None, claimed_until=None, sent_at=None, failed_at=None, delivered_to=None))
        known = {(e["network_id"], e["recipient_id"], e["item_key"], e["period"]) for e in self.log}
        self.log += [dict(entry, network_id=network_id, outbox_id=outbox_id) for entry in log
                     if (network_id, entry["recipient_id"], entry["item_key"], entry["period"]) not in known]
        return outbox_id

    def claim_next(self, owner: str, now: datetime, lease_until: datetime,
                   network_id: str | None = None) -> OutboxRow | None:
        for m in self.messages:
            due = (m["status"] == "queued" and (m["next_attempt_at"] is None or m["next_attempt_at"] <= now)
                   or m["status"] == "sending" and m["claimed_until"] < now)
            if due and network_id in (None, m["network_id"]):
                m.update(status="sending", claimed_by=owner, claimed_until=lease_until,
                         attempts=m["attempts"] + 1)
                return OutboxRow(id=m["id"], network_id=m["network_id"], recipient=m["recipient"],
                                 message=m["message"], attempts=m["attempts"])
        return None

    def next_attempt(self, network_id: str | None = None) -> datetime | None:
        return min((m["next_attempt_at"] for m in self.messages if m["status"] == "queued"
                    and m["next_attempt_at"] is not None and network_id in (None, m["network_id"])),
                   default=None)

    def mark_delivered(self, outbox_id: int, owner: str, status: str, where: str, at: datetime) -> None:
        self.messages[outbox_id - 1].update(status=status, sent_at=at, delivered_to=where, last_error=None,
                                            claimed_by=owner, claimed_until=None, next_attempt_at=None)

    def mark_undeliverable(self, outbox_id: int, owner: str, reason: str, at: datetime) -> None:
        self.messages[outbox_id - 1].update(status="undeliverable", last_error=reason, failed_at=at,
                                            claimed_by=owner, claimed_until=None, next_attempt_at=None)

    def release(self, outbox_id: int, owner: str, error: str, retry_at: datetime | None) -> None:
        message = self.messages[outbox_id - 1]
        if message["status"] == "sending" and message["claimed_by"] == owner:
            message.update(status="queued", last_error=error, claimed_until=None, next_attempt_at=retry_at)

    def handled_by(self, owner: str) -> list[tuple[str, str, str | None, str | None]]:
        return [(m["status"], m["recipient"], m["delivered_to"], m["last_error"]) for m in self.messages
                if m["claimed_by"] == owner]

    def entries(self, network_id: str | None = None, statuses: Iterable[str] | None = None,
                ids: Iterable[int] | None = None) -> list[OutboxEntry]:
        wanted = None if statuses is None else set(statuses)
        chosen = None if ids is None else set(ids)
        return [OutboxEntry.model_validate(m) for m in self.messages
                if network_id in (None, m["network_id"]) and (wanted is None or m["status"] in wanted)
                and (chosen is None or m["id"] in chosen)]

    def requeue(self, ids: list[int]) -> None:
        for i in ids:
            self.messages[i - 1].update(status="queued", next_attempt_at=None, claimed_until=None)

    def drop(self, ids: list[int], reason: str, at: datetime) -> None:
        for i in ids:
            self.messages[i - 1].update(status="dropped", last_error=reason, failed_at=at,
                                        next_attempt_at=None, claimed_until=None)


class FakeHistory:
    def __init__(self) -> None:
        self.entries: list[HistoryEntry] = []

    def add(self, entries: Iterable[HistoryEntry]) -> None:
        self.entries += list(entries)

    def newest(self, network_id: str, limit: int) -> list[HistoryEntry]:
        return [e for e in reversed(self.entries) if e.network_id == network_id][:limit]


class FakeEvidence:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, str, str], EvidenceFile] = {}

    def add(self, record: EvidenceFile) -> bool:
        key = (record.network_id, record.company_id, record.sha256)
        if key in self.stored:
            return False
        self.stored[key] = record
        return True

    def get(self, network_id: str, company_id: str, sha256: str) -> EvidenceFile | None:
        return self.stored.get((network_id, company_id, sha256))

    def for_company(self, network_id: str, company_id: str) -> list[EvidenceFile]:
        return [r for (n, c, _), r in self.stored.items() if (n, c) == (network_id, company_id)]


class FakeReadiness:
    """Kept to-do lists; the mark is the number of history entries of the network."""

    def __init__(self, history: FakeHistory) -> None:
        self.history = history
        self.rows: dict[tuple[str, str, str], tuple[date, int, dict[str, Any]]] = {}

    def mark(self, network_id: str) -> int:
        return sum(e.network_id == network_id for e in self.history.entries)

    def kept(self, network_id: str, company_id: str, lang: str, as_of: date,
             mark: int) -> dict[str, Any] | None:
        found = self.rows.get((network_id, company_id, lang))
        return found[2] if found is not None and found[:2] == (as_of, mark) else None

    def keep(self, network_id: str, lang: str, as_of: date, mark: int, todos: dict[str, dict[str, Any]],
             at: datetime) -> None:
        for company, todo in todos.items():
            self.rows[(network_id, company, lang)] = (as_of, mark, todo)


class FakeRateLimits:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list[datetime]] = {}

    def count_and_add(self, limit_name: str, key: str, at: datetime, per_minute: int) -> bool:
        recent = [t for t in self.seen.get((limit_name, key), []) if (at - t).total_seconds() < 60]
        self.seen[(limit_name, key)] = recent
        if len(recent) >= per_minute:
            return False
        recent.append(at)
        return True


class FakeBlobs:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    def put(self, sha256: str, content: bytes) -> None:
        self.stored.setdefault(sha256, content)

    def get(self, sha256: str) -> bytes | None:
        return self.stored.get(sha256)


class FakeUnitOfWork(AbstractUnitOfWork):
    """Writes land at once (there is nothing to roll back to); `commits` counts the commits and
    `published` holds the events in the order they were published."""

    def __init__(self) -> None:
        self.published: list[DomainEvent] = []
        super().__init__(publish=self.published.append)
        self.certificates = FakeCertificates()  # type: ignore[assignment]
        self.networks = FakeNetworks(self.certificates)  # type: ignore[assignment,arg-type]
        self.gate_results = FakeGateResults()  # type: ignore[assignment]
        self.keys = FakeKeys(self.certificates)  # type: ignore[assignment]
        self.outbox = FakeOutbox()  # type: ignore[assignment]
        self.history = FakeHistory()  # type: ignore[assignment]
        self.evidence = FakeEvidence()  # type: ignore[assignment]
        self.blobs = FakeBlobs()  # type: ignore[assignment]
        self.readiness = FakeReadiness(self.history)  # type: ignore[assignment,arg-type]
        self.rate_limits = FakeRateLimits()  # type: ignore[assignment]
        self.commits = 0

    def _commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        pass
