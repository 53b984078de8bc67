"""The public register of certificates: what anyone may see of a certificate without signing in,
and the signed status list that a customer's system checks in bulk.

Both show only what the certificates themselves show, plus their status and the dates it changed:
no reasons, no findings, no people.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from adapters.settings import get_settings
from models.certification import (
    CertificateDraft,
    CertificateEvent,
    CertificateStatus,
    CertifiedCompany,
    CertifyingBody,
    certificate_events,
    status_as_of,
)
from models.gates import policy_for
from models.network import Certificate, Network
from services.certificates import certificate_history
from services.keys import sign_payload
from services.unit_of_work import AbstractUnitOfWork


class StatusChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    on: date
    status: CertificateStatus


def _changes(certificate: Certificate, events: list[CertificateEvent], as_of: date) -> list[StatusChange]:
    """The status changes up to `as_of`, by date, without their reasons; expiry included. A change
    that repeats the status in force is left out."""
    changes: list[StatusChange] = []
    current = CertificateStatus.VALID
    for event in sorted(events, key=lambda e: e.on):
        if event.on > as_of:
            break
        if event.on < certificate.issued_on or current in (
                CertificateStatus.WITHDRAWN, CertificateStatus.SUPERSEDED, CertificateStatus.EXPIRED):
            continue
        if event.status != current:
            changes.append(StatusChange(on=event.on, status=event.status))
            current = event.status
    expired_on = certificate.valid_until + timedelta(days=1)
    if current in (CertificateStatus.VALID, CertificateStatus.SUSPENDED) and expired_on <= as_of:
        changes.append(StatusChange(on=expired_on, status=CertificateStatus.EXPIRED))
    return changes


class PublicCertificate(BaseModel):
    """A certificate as the public verification page shows it."""

    model_config = ConfigDict(frozen=True)

    number: str
    network_name: str
    scope: str
    certification_body: CertifyingBody
    coordinated_by: str
    issued_on: date
    valid_until: date
    cycle_start: date
    members: tuple[CertifiedCompany, ...]
    status: CertificateStatus  # on `as_of`
    as_of: date
    changes: list[StatusChange]


def public_certificate(uow: AbstractUnitOfWork, number: str, as_of: date,
                       today: date | None = None) -> PublicCertificate | None:
    """What the verification page shows of certificate `number` on `as_of`; None when the register
    holds no certificate of that number. A certificate issued after `as_of` (a portal set to an
    earlier day, HACKEFORS_PORTAL_AS_OF) is real all the same: it is shown as of `today` (the
    calendar's day), or of its issue day when that is later still, and `as_of` says which day."""
    with uow:
        record = uow.certificates.get(number)
        if record is None or record.payload is None:
            return None
        if record.issued_on > as_of:
            as_of = max(today or record.issued_on, record.issued_on)
        certificate = record.certificate()
        events = certificate_history(uow, record.network_id, certificate, as_of)
    shown = CertificateDraft.model_validate(record.payload)
    return PublicCertificate(
        number=record.number, network_name=shown.network_name, scope=shown.scope,
        certification_body=shown.certification_body, coordinated_by=shown.operator,
        issued_on=record.issued_on, valid_until=record.valid_until, cycle_start=shown.cycle_began,
        members=shown.companies, status=status_as_of(certificate, events, as_of), as_of=as_of,
        changes=_changes(certificate, events, as_of))


STATUS_LIST_FORMAT = "hackefors-status-list/1"


def _entry(certificate: Certificate, network: Network, recorded: list[CertificateEvent],
           as_of: date) -> dict[str, Any]:
    events = certificate_events(network, certificate, recorded, as_of, policy_for(network))
    return {"number": certificate.number, "network": network.name,
            "status": status_as_of(certificate, events, as_of).value,
            "issued_on": certificate.issued_on.isoformat(),
            "valid_until": certificate.valid_until.isoformat(),
            "changes": [{"on": c.on.isoformat(), "status": c.status.value}
                        for c in _changes(certificate, events, as_of)]}


def status_list(uow: AbstractUnitOfWork, as_of: date) -> dict[str, Any]:
    """Every certificate's status on `as_of`, signed with the key that signs certificates:
    `{"list": {...}, "signature": ..., "key_id": ...}`; the signature covers `list` in the same
    canonical form as a certificate's data, so the published key set verifies it.

    A few statements whatever the number of certificates: the networks' audits, the certificates
    and their recorded status changes, each read once."""
    with uow:
        ids = uow.networks.ids()
        networks = {n.id: n for n in uow.networks.load_many(ids, parts={"external_audits"})}
        held = uow.certificates.for_networks(ids)
        numbers = [c.number for certificates in held.values() for c in certificates]
        recorded: dict[str, list[CertificateEvent]] = {n: [] for n in numbers}
        for event in uow.certificates.events(numbers):
            recorded[event.number].append(event)
        entries = sorted((_entry(c, networks[nid], recorded[c.number], as_of)
                          for nid, certificates in held.items() for c in certificates
                          if c.issued_on <= as_of), key=lambda e: e["number"])
        listing: dict[str, Any] = {
            "format": STATUS_LIST_FORMAT, "issuer": get_settings().public_url, "as_of": as_of.isoformat(),
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "certificates": entries}
        signature, key = sign_payload(uow, listing)
        uow.commit()  # a store signing for the first time records its key
    return {"list": listing, "signature": signature, "key_id": key}
