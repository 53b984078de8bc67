"""The records of the companies' evidence files (their bytes are in a BlobStore).

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from adapters.repositories.common import as_utc
from models import tables as t
from models.evidence import EvidenceFile


class EvidenceRepository:
    """The evidence files of each company (their records; the bytes are in a BlobStore)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: EvidenceFile) -> bool:
        """Record a file; False when the company already holds one with the same content."""
        dialect = self.session.get_bind().dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        inserted = self.session.execute(module.insert(t.EvidenceFileRow).on_conflict_do_nothing()
                                        .returning(t.EvidenceFileRow.sha256), [record.model_dump()]).scalar()
        return inserted is not None

    def get(self, network_id: str, company_id: str, sha256: str) -> EvidenceFile | None:
        row = self.session.get(t.EvidenceFileRow, (network_id, company_id, sha256))
        return None if row is None else _evidence(row)

    def for_company(self, network_id: str, company_id: str) -> list[EvidenceFile]:
        e = t.EvidenceFileRow
        return [_evidence(r) for r in self.session.scalars(
            select(e).where(e.network_id == network_id, e.company_id == company_id).order_by(e.stored_at))]


def _evidence(row: t.EvidenceFileRow) -> EvidenceFile:
    return EvidenceFile(network_id=row.network_id, company_id=row.company_id, sha256=row.sha256,
                        media_type=row.media_type, size=row.size, filename=row.filename,
                        stored_at=as_utc(row.stored_at), actor=row.actor, source=row.source)


