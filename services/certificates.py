"""Use cases of certificates: issue once per cycle, change status, reduce scope, verify, expire."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from adapters.documents import export_certificate, render_certificate, verification_url
from adapters.signing import cached_key_set, cached_key_set_path, signature_matches
from models.certification import (
    DOCUMENT_FIELDS,
    STATUS_EVENTS,
    CertificateDraft,
    CertificateEvent,
    CertificateRecord,
    CertificateStatus,
    certificate_events,
    certificate_payload,
    check_transition,
    draft_certificate,
    held_certificate,
    reduced_draft,
    status_as_of,
    suspended_since,
)
from models.errors import CertificateNotFound, ConcurrentChange, RefusedChange, ServiceError
from models.events import DomainEvent, HistoryEntry
from models.gates import policy_for
from models.keys import KeySet
from models.links import KEYS_PATH
from models.network import Certificate
from models.policy import DEFAULT_POLICY
from models.programme import SurveillanceAction, SurveillanceVerdict, surveillance_consequence
from services.keys import current_signing_key, known_keys, sign_payload
from services.unit_of_work import AbstractUnitOfWork


class IssuedCertificate(BaseModel):
    number: str
    network_id: str
    cycle: str
    issued_on: date
    valid_until: date
    html_path: Path
    pdf_path: Path
    json_path: Path
    newly_issued: bool


def _issued(record: CertificateRecord, folder: Path, new: bool) -> IssuedCertificate:
    html_path, pdf_path, json_path = export_certificate(record, folder)
    return IssuedCertificate(number=record.number, network_id=record.network_id, cycle=record.cycle,
                             issued_on=record.issued_on, valid_until=record.valid_until,
                             html_path=html_path, pdf_path=pdf_path, json_path=json_path, newly_issued=new)


def certificate_history(uow: AbstractUnitOfWork, network_id: str, certificate: Certificate,
                        as_of: date) -> list[CertificateEvent]:
    """A certificate's status changes up to `as_of`: those recorded, and those its network's
    surveillance record implies (a late audit suspends it from the due date until it passes),
    whether or not a surveillance run has looked since. Call inside `with uow:`."""
    network = uow.networks.load(network_id, parts={"external_audits"})
    return certificate_events(network, certificate, uow.certificates.events([certificate.number]), as_of,
                              policy_for(network))


def _get(uow: AbstractUnitOfWork, number: str) -> CertificateRecord:
    record = uow.certificates.get(number)
    if record is None:
        raise CertificateNotFound(number)
    return record


def _free_number(uow: AbstractUnitOfWork, draft: CertificateDraft) -> str:
    """HKF-<NETWORK>-<year>-<sequence>: the network's next sequence number, moved on past any number
    already in the register, so that no two certificates ever share one (network ids that differ
    only in case, stored before such ids were refused, give the same upper-case prefix)."""
    sequence = uow.certificates.count_for_network(draft.network_id) + 1
    while True:
        number = f"HKF-{draft.network_id.upper()}-{draft.issued_on.year}-{sequence:02d}"
        if uow.certificates.get(number) is None:
            return number
        sequence += 1


def _record_new(uow: AbstractUnitOfWork, draft: CertificateDraft, actor: str, run_id: str | None = None,
                replaces: str | None = None) -> CertificateRecord:
    """Number, render, sign and add a certificate, with its history and event."""
    number = _free_number(uow, draft)
    url = verification_url(number)
    html, pdf = render_certificate(draft, number, url)
    payload = certificate_payload(draft, number, url)
    signature, key = sign_payload(uow, payload)
    record = CertificateRecord(
        number=number, network_id=draft.network_id, cycle=draft.cycle, issued_on=draft.issued_on,
        valid_until=draft.valid_until, scope=draft.scope, status=CertificateStatus.VALID,
        companies=tuple(c.id for c in draft.companies), html=html, pdf=pdf, run_id=run_id,
        payload=payload, signature=signature, key_id=key, replaces=replaces)
    now = datetime.now(UTC)
    uow.certificates.add(record, now)
    uow.history.add([HistoryEntry(
        at=now, actor=actor, network_id=draft.network_id, entity="certificates", entity_id=number,
        action="insert", detail={"cycle": draft.cycle, "valid_until": draft.valid_until.isoformat(),
                                 "companies": len(draft.companies), "replaces": replaces})])
    uow.collect(DomainEvent(name="certificate.issued", network_id=draft.network_id, payload={
        "number": number, "cycle": draft.cycle, "valid_until": draft.valid_until.isoformat()},
        subject=f"{draft.network_name}: certificate {number}"))
    return record


def issue_certificate(uow: AbstractUnitOfWork, network_id: str, as_of: date, run_id: str,
                      folder: Path) -> IssuedCertificate:
    """The certificate of the network's current cycle: the one already issued, or a new one.

    Rendering happens in memory before anything is written, and the files only after the commit,
    so a crash anywhere leaves no certificate file without its record. When another run issues
    the same cycle at the same moment, its certificate stands and is returned.
    """
    for attempt in (1, 2):
        with uow:
            network = uow.networks.load(network_id, parts={"external_audits"})
            draft = draft_certificate(network, as_of, policy_for(network))
            found = uow.certificates.for_cycle(network_id, draft.cycle)
            if found is not None:
                return _issued(found, folder, new=False)
            try:
                record = _record_new(uow, draft, f"flow-run:{run_id}", run_id=run_id)
                uow.commit()
            except ConcurrentChange:
                if attempt == 2:
                    raise
                continue
        return _issued(record, folder, new=True)
    raise AssertionError("unreachable")


def _set_status(uow: AbstractUnitOfWork, record: CertificateRecord, status: CertificateStatus, on: date,
                reason: str, actor: str) -> None:
    """Record a status change: the event, the current status, the history and the announcement."""
    now = datetime.now(UTC)
    uow.certificates.add_event(CertificateEvent(number=record.number, on=on, status=status, reason=reason),
                               actor, now)
    uow.history.add([HistoryEntry(
        at=now, actor=actor, network_id=record.network_id, entity="certificates", entity_id=record.number,
        action="update", detail={"status": [record.status.value, status.value], "on": on.isoformat(),
                                 "reason": reason})])
    uow.collect(DomainEvent(name=STATUS_EVENTS[status], network_id=record.network_id,
                            payload={"number": record.number, "on": on.isoformat(), "reason": reason},
                            subject=f"{record.network_id}: certificate {record.number} {status.value}"))


def change_status(uow: AbstractUnitOfWork, number: str, status: CertificateStatus, on: date, reason: str,
                  actor: str) -> None:
    """Suspend, reinstate or withdraw a certificate, as the rules allow."""
    with uow:
        record = _get(uow, number)
        try:
            check_transition(number, record.status, status)
        except ValueError as exc:
            raise RefusedChange(str(exc)) from None
        _set_status(uow, record, status, on, reason, actor)
        uow.commit()


def reduce_scope(uow: AbstractUnitOfWork, number: str, remove: list[str], on: date, reason: str, actor: str,
                 folder: Path) -> IssuedCertificate:
    """Reissue a certificate without `remove` (companies leave the appendix); the old one is
    superseded. The new certificate keeps the cycle's expiry date."""
    with uow:
        old = _get(uow, number)
        try:
            draft = reduced_draft(old, remove, on, uow.certificates.count_reissues(old.cycle))
        except ValueError as exc:
            raise RefusedChange(str(exc)) from None
        new = _record_new(uow, draft, actor, replaces=number)
        _set_status(uow, old, CertificateStatus.SUPERSEDED, on,
                    f"reissued as {new.number} without {', '.join(remove)}: {reason}", actor)
        uow.commit()
    return _issued(new, folder, new=True)


class CertificateView(BaseModel):
    model_config = ConfigDict(frozen=True)

    record: CertificateRecord
    events: list[CertificateEvent]
    status: CertificateStatus  # on the date asked for


def show_certificate(uow: AbstractUnitOfWork, number: str, as_of: date) -> CertificateView:
    """A certificate, its status on `as_of` and its status changes, recorded and implied."""
    with uow:
        record = _get(uow, number)
        events = certificate_history(uow, record.network_id, record.certificate(), as_of)
    return CertificateView(record=record, events=events,
                           status=status_as_of(record.certificate(), events, as_of))


class Verification(BaseModel):
    number: str
    status: CertificateStatus | None  # None: the document itself does not verify
    problem: str | None = None
    valid_until: date | None = None
    key_id: str | None = None
    key_retired: datetime | None = None  # when the signing key stopped signing (None: it still signs)
    keys_from: str | None = None  # the key set the signature was checked with
    in_register: bool = True  # False: this store does not hold the certificate; status from its dates

    @property
    def valid(self) -> bool:
        return self.problem is None and self.status == CertificateStatus.VALID


class NoKeySet(ServiceError):
    """Nothing to verify a signature with: no key set given, none in the store, none cached."""


def _key_set(uow: AbstractUnitOfWork, keys: KeySet | None, keys_from: str | None) -> tuple[KeySet, str]:
    """The key set to check signatures with: the one given, else the store's own, else the one kept
    by an earlier export or verification. Call inside `with uow:`."""
    if keys is not None:
        return keys, keys_from or "the key set given"
    if not uow.keys.all() and uow.certificates.key_ids():
        # Signed before the register of keys existed: record the key's public half once.
        current_signing_key(uow)
        uow.commit()
    own = known_keys(uow)
    if own is not None:
        return own, "this store's register of keys"
    cached = cached_key_set()
    if cached is not None:
        return cached, f"the key set kept at {cached_key_set_path()}"
    raise NoKeySet(
        "no key set to verify with: this store has signed nothing and no key set was kept. Give the "
        f"issuer's with --keys FILE_OR_URL (its portal publishes it at {KEYS_PATH}; `hackefors keys export` "
        "writes it)")


def _by_dates(number: str, payload: dict[str, Any], as_of: date) -> Verification:
    """What a genuine certificate this store does not hold says by itself: valid within its dates."""
    try:
        valid_until = date.fromisoformat(str(payload["valid_until"]))
    except (KeyError, ValueError):
        return Verification(number=number, status=None, problem="the signed data has no valid_until date")
    status = CertificateStatus.EXPIRED if as_of > valid_until else CertificateStatus.VALID
    return Verification(number=number, status=status, valid_until=valid_until, in_register=False)


def verify_document(uow: AbstractUnitOfWork, document: dict[str, Any], as_of: date,
                    keys: KeySet | None = None, keys_from: str | None = None) -> Verification:
    """Check a signed certificate document with a published key set, and its status.

    Every field of the document must be covered by the signature: the certificate's data is
    signed, and the key's id must name a key of the set whose public key verifies it. No private
    key is read. The status comes from this store's register when it holds the certificate, else
    from the certificate's own dates (`in_register` False: suspension or withdrawal are known only
    to the issuer's register, on its verification page).
    """
    payload = document.get("certificate")
    if not isinstance(payload, dict):
        raise ValueError("not a signed certificate: expected 'certificate' data and a 'signature'")
    number = str(payload.get("number", "?"))
    unsigned = sorted(set(document) - set(DOCUMENT_FIELDS))
    if unsigned:
        return Verification(number=number, status=None, problem=(
            f"not covered by the signature: {', '.join(map(repr, unsigned))}; only the certificate's data "
            "is signed, so a document with anything added is refused"))
    signature, claimed_key = document.get("signature"), document.get("key_id")
    if not isinstance(signature, str) or not signature:
        return Verification(number=number, status=None, problem="not signed: the signature is missing")
    if not isinstance(claimed_key, str) or not claimed_key:
        return Verification(number=number, status=None, problem="the key id is missing or not a key id")
    with uow:
        key_set_used, source = _key_set(uow, keys, keys_from)
        key = key_set_used.keys.get(claimed_key)
        if key is None:
            return Verification(number=number, status=None, key_id=claimed_key, keys_from=source, problem=(
                f"unknown key: signed with key {claimed_key}, which is not in {source} (keys "
                f"{', '.join(key_set_used.keys) or 'none'}); it was not signed by this issuer, or the key "
                "set is out of date"))
        found = dict(key_id=claimed_key, key_retired=key.valid_until, keys_from=source)
        if not signature_matches(key.public_key, payload, signature):
            return Verification(number=number, status=None, **found,
                                problem="the signature does not match the certificate's data: it was "
                                        "altered or forged")
        record = uow.certificates.get(number)
        if record is None:
            if any(k.key_id == claimed_key for k in uow.keys.all()):
                return Verification(number=number, status=None, **found,
                                    problem="signed by this store's key, but not in its register")
            return _by_dates(number, payload, as_of).model_copy(update=found)
        if record.payload != payload:
            return Verification(number=number, status=None, **found,
                                problem="the signed data differs from the register's record")
        certificate = record.certificate()
        status = status_as_of(certificate, certificate_history(uow, record.network_id, certificate, as_of),
                              as_of)
    return Verification(number=number, status=status, valid_until=record.valid_until, **found)


def verify_number(uow: AbstractUnitOfWork, number: str, as_of: date) -> Verification:
    with uow:
        document = _get(uow, number).document()
    if document["signature"] is None:
        return Verification(number=number, status=None, problem="issued before signatures existed")
    return verify_document(uow, document, as_of)


def apply_surveillance(uow: AbstractUnitOfWork, network_id: str, as_of: date, verdict: SurveillanceVerdict,
                       actor: str) -> str | None:
    """Suspend, reinstate or withdraw the network's certificate as the surveillance verdict and the
    audit records demand; what was done, or None.

    A late or missed surveillance already counts as a suspension from its due date (derived from
    the records, see `certificate_history`); this records the change as of today too, so that the
    register's current status and the announcements follow."""
    with uow:
        network = uow.networks.load(network_id, parts={"certificates"})
        held = held_certificate(network.certificates, as_of)
        if held is None:
            return None
        events = certificate_history(uow, network_id, held, as_of)
        status = status_as_of(held, events, as_of)
        action = surveillance_consequence(status, suspended_since(events, as_of), verdict.passed,
                                          verdict.unmet, as_of, policy_for(network))
        record = _get(uow, held.number)
        if action is None and record.status != status and status in STATUS_EVENTS:
            # The records imply a change the register has not heard of yet: record it today.
            implied = next(e for e in reversed(events) if e.on <= as_of and e.status == status)
            action = SurveillanceAction(status=status, reason=implied.reason)
        if action is None:
            return None
        _set_status(uow, record, action.status, as_of, action.reason, actor)
        uow.commit()
    return f"{held.number}: {action.status.value} ({action.reason})"


class CertificateNotice(BaseModel):
    number: str
    network_id: str
    valid_until: date
    status: str
    days_left: int


def review_certificates(uow: AbstractUnitOfWork, as_of: date) -> list[CertificateNotice]:
    """Expire every certificate past its validity; those expired or expiring within their network's
    reminder period (its policy, 90 days by default)."""
    notices = []
    with uow:
        overrides = uow.networks.policy_overrides()
        for record in uow.certificates.with_status([CertificateStatus.VALID, CertificateStatus.SUSPENDED]):
            expired = record.valid_until < as_of
            if expired:
                _set_status(uow, record, CertificateStatus.EXPIRED, as_of,
                            f"validity ended on {record.valid_until}", "flow:check-certificates")
            policy = DEFAULT_POLICY.with_overrides(overrides.get(record.network_id) or {})
            days_left = (record.valid_until - as_of).days
            if days_left <= policy.certificate_expiry_reminder_days:
                notices.append(CertificateNotice(
                    number=record.number, network_id=record.network_id, valid_until=record.valid_until,
                    status=CertificateStatus.EXPIRED.value if expired else record.status.value,
                    days_left=days_left))
        uow.commit()
    return notices
