"""The register of signing keys: their public halves and when each signed.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.repositories.common import as_utc
from models import tables as t
from models.errors import ConcurrentChange
from models.keys import SigningKey


class SigningKeyRepository:
    """The register of signing keys: their public halves and when each signed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> list[SigningKey]:
        row = t.SigningKeyRow
        return [SigningKey(key_id=r.key_id, public_key=r.public_key, valid_from=as_utc(r.valid_from),
                           valid_until=as_utc(r.valid_until))
                for r in self.session.scalars(select(row).order_by(row.valid_from))]

    def add(self, key: SigningKey) -> None:
        try:
            self.session.execute(insert(t.SigningKeyRow), [key.model_dump()])
        except IntegrityError as exc:
            raise ConcurrentChange(f"key {key.key_id} was recorded by another process") from exc

    def retire(self, key_id: str, at: datetime) -> bool:
        """End a key's signing; False when it had already ended (another rotation was first)."""
        row = t.SigningKeyRow
        done = self.session.execute(update(row).where(row.key_id == key_id, row.valid_until.is_(None))
                                    .values(valid_until=at))
        return bool(done.rowcount)  # type: ignore[attr-defined]

    def first_signed(self, key_id: str) -> datetime | None:
        """When the key signed its first certificate in the register."""
        return as_utc(self.session.scalar(select(func.min(t.CertificateRow.created_at))
                                        .where(t.CertificateRow.key_id == key_id)))


