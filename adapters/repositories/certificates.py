"""The register of certificates and of their status changes.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.repositories.common import chunked, without
from models import tables as t
from models.certification import CertificateEvent, CertificateRecord, CertificateStatus
from models.errors import ConcurrentChange
from models.network import (
    Certificate,
)


def _record(row: t.CertificateRow) -> CertificateRecord:
    return CertificateRecord(
        number=row.number, network_id=row.network_id, cycle=row.cycle, issued_on=row.issued_on,
        valid_until=row.valid_until, scope=row.scope, companies=tuple(row.companies),
        status=CertificateStatus(row.status), html=row.html, pdf=row.pdf, run_id=row.run_id,
        payload=row.payload, signature=row.signature, key_id=row.key_id, replaces=row.replaces)


class CertificateRepository:
    """The register of certificates and of their status changes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, number: str) -> CertificateRecord | None:
        row = self.session.get(t.CertificateRow, number)
        return None if row is None else _record(row)

    def for_cycle(self, network_id: str, cycle: str) -> CertificateRecord | None:
        row = self.session.scalar(select(t.CertificateRow).where(
            t.CertificateRow.network_id == network_id, t.CertificateRow.cycle == cycle))
        return None if row is None else _record(row)

    def key_ids(self) -> set[str]:
        """The ids of the keys that signed the certificates in the register."""
        return set(self.session.scalars(select(t.CertificateRow.key_id).distinct().where(
            t.CertificateRow.signature.is_not(None), t.CertificateRow.key_id.is_not(None))))

    def count_for_network(self, network_id: str) -> int:
        return self.session.scalar(select(func.count()).select_from(t.CertificateRow)
                                   .where(t.CertificateRow.network_id == network_id)) or 0

    def count_reissues(self, cycle: str) -> int:
        return self.session.scalar(select(func.count()).select_from(t.CertificateRow)
                                   .where(t.CertificateRow.cycle.like(f"{cycle}.r%"))) or 0

    def for_network(self, network_id: str) -> list[Certificate]:
        return self.for_networks([network_id]).get(network_id, [])

    def for_networks(self, network_ids: list[str]) -> dict[str, list[Certificate]]:
        """Each network's certificates, oldest first, without their documents."""
        row = t.CertificateRow
        found: dict[str, list[Certificate]] = defaultdict(list)
        for chunk in chunked(network_ids):
            query = (select(row.network_id, row.number, row.issued_on, row.valid_until, row.scope,
                            row.companies, row.cycle, row.status)
                     .where(row.network_id.in_(chunk)).order_by(row.issued_on, row.number))
            for r in self.session.execute(query).mappings():
                found[r["network_id"]].append(Certificate.model_validate(without(dict(r))))
        return found

    def with_status(self, statuses: Iterable[CertificateStatus]) -> list[CertificateRecord]:
        """Every certificate whose current status is one of `statuses`, soonest to expire first."""
        rows = self.session.scalars(select(t.CertificateRow).where(
            t.CertificateRow.status.in_([s.value for s in statuses])).order_by(t.CertificateRow.valid_until))
        return [_record(r) for r in rows]

    def add(self, record: CertificateRecord, at: datetime) -> None:
        """Insert a new certificate; another process that issued the same one first wins."""
        try:
            self.session.execute(insert(t.CertificateRow), [dict(
                record.model_dump(exclude={"status"}), status=record.status.value,
                companies=list(record.companies), created_at=at)])
        except IntegrityError as exc:  # the transaction is spoilt: the unit of work rolls it back
            raise ConcurrentChange(f"certificate {record.number} or its cycle was issued by another "
                                   "run") from exc

    def events(self, numbers: list[str]) -> list[CertificateEvent]:
        rows = self.session.scalars(select(t.CertificateEventRow).where(
            t.CertificateEventRow.number.in_(numbers)).order_by(t.CertificateEventRow.id))
        return [CertificateEvent(number=r.number, on=r.on, status=CertificateStatus(r.status),
                                 reason=r.reason) for r in rows]

    def add_event(self, event: CertificateEvent, actor: str, at: datetime) -> None:
        """Record a status change: the event, and the certificate's current status."""
        self.session.execute(insert(t.CertificateEventRow), [dict(
            number=event.number, on=event.on, status=event.status.value, reason=event.reason, actor=actor,
            recorded_at=at)])
        self.session.execute(update(t.CertificateRow).where(t.CertificateRow.number == event.number)
                             .values(status=event.status.value))


