"""Issue the network's certificate: once per cycle, rendered in memory, files written after commit."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hackefors.settings import get_settings
from models.certification import (
    CertificateDraft,
    certificate_payload,
    draft_certificate,
    held_certificate,
)
from models.gates import policy_for
from models.network import Certificate
from models.policy import DEFAULT_POLICY
from models.programme import (
    CertificateEvent,
    CertificateStatus,
    status_as_of,
    surveillance_consequence,
)
from models.tables import CertificateEventRow, CertificateRow
from tasks.db import transaction
from tasks.events import emit
from tasks.rendering import html_to_pdf, render
from tasks.retrying import IO_TASK
from tasks.signing import sign, verify
from tasks.store import CertificateNotFound, load_network, record_history


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


def certificate_number(session: Session, network_id: str, issued_on: date) -> str:
    count = session.scalar(select(func.count()).select_from(CertificateRow)
                           .where(CertificateRow.network_id == network_id)) or 0
    return f"HKF-{network_id.upper()}-{issued_on.year}-{count + 1:02d}"


def render_certificate(draft: CertificateDraft, number: str) -> tuple[str, bytes]:
    html = render("certificate.html.j2", certificate=draft, number=number)
    return html, html_to_pdf(html)


def write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(content)
    os.replace(tmp.name, path)


def signed_document(row: CertificateRow) -> dict[str, object]:
    """The verifiable form of a certificate: its data, the signature and the key's id."""
    return {"certificate": row.payload, "signature": row.signature, "key_id": row.key_id}


def export_files(row: CertificateRow, folder: Path) -> tuple[Path, Path, Path]:
    """Write the stored HTML, PDF and signed JSON where operators find them (again, if removed)."""
    paths = tuple(folder / f"{row.number}.{ext}" for ext in ("html", "pdf", "json"))
    document = json.dumps(signed_document(row), indent=2, ensure_ascii=False).encode("utf-8")
    for path, content in zip(paths, (row.html.encode("utf-8"), row.pdf, document), strict=True):
        if not path.exists() or path.read_bytes() != content:
            write_atomically(path, content)
    return paths  # type: ignore[return-value]


def _issued(row: CertificateRow, folder: Path, new: bool) -> IssuedCertificate:
    html_path, pdf_path, json_path = export_files(row, folder)
    return IssuedCertificate(number=row.number, network_id=row.network_id, cycle=row.cycle,
                             issued_on=row.issued_on, valid_until=row.valid_until, html_path=html_path,
                             pdf_path=pdf_path, json_path=json_path, newly_issued=new)


def _existing(session: Session, network_id: str, cycle: str) -> CertificateRow | None:
    return session.scalar(select(CertificateRow).where(CertificateRow.network_id == network_id,
                                                       CertificateRow.cycle == cycle))


def record_certificate(session: Session, draft: CertificateDraft, actor: str, run_id: str | None = None,
                       replaces: str | None = None) -> str:
    """Number, render, sign and insert a certificate; its number. Files come after the commit."""
    number = certificate_number(session, draft.network_id, draft.issued_on)
    html, pdf = render_certificate(draft, number)
    payload = certificate_payload(draft, number)
    signature, key = sign(payload)
    session.execute(insert(CertificateRow), [dict(
        number=number, network_id=draft.network_id, cycle=draft.cycle, issued_on=draft.issued_on,
        valid_until=draft.valid_until, scope=draft.scope, status=CertificateStatus.VALID.value,
        companies=[cid for cid, _ in draft.companies], html=html, pdf=pdf, run_id=run_id,
        created_at=datetime.now(UTC), payload=payload, signature=signature, key_id=key,
        replaces=replaces)])
    record_history(session, [dict(
        at=datetime.now(UTC), actor=actor, network_id=draft.network_id, entity="certificates",
        entity_id=number, action="insert",
        detail={"cycle": draft.cycle, "valid_until": draft.valid_until.isoformat(),
                "companies": len(draft.companies), "replaces": replaces})])
    return number


def issue(network_id: str, as_of: date, run_id: str) -> IssuedCertificate:
    """The certificate for the network's current cycle: the stored one, or a new one.

    Rendering happens in memory before the row is written; the files are written only after
    the transaction commits, so a crash anywhere leaves no certificate file without its record.
    """
    folder = get_settings().output_dir / "certificates"
    with transaction() as session:
        network = load_network(session, network_id, parts={"external_audits"})
        draft = draft_certificate(network, as_of, policy_for(network))
        found = _existing(session, network_id, draft.cycle)
        if found is None:
            record_certificate(session, draft, f"flow-run:{run_id}", run_id=run_id)
    if found is not None:
        return _issued(found, folder, new=False)
    with transaction() as session:
        row = _existing(session, network_id, draft.cycle)
        assert row is not None
        return _issued(row, folder, new=True)


@task(name="issue-certificate", task_run_name="issue-certificate-{network_id}", **IO_TASK)
def issue_certificate(network_id: str, as_of: date, run_id: str) -> IssuedCertificate:
    """Issue the network's certificate for this cycle, or return the one already issued."""
    try:
        issued = issue(network_id, as_of, run_id)
    except IntegrityError:
        # Another run issued this cycle's certificate first: it stands, and is returned.
        issued = issue(network_id, as_of, run_id)
    if issued.newly_issued:
        emit("certificate.issued", network_id, {"number": issued.number, "cycle": issued.cycle,
                                                "valid_until": issued.valid_until.isoformat()})
    return issued


class Verification(BaseModel):
    number: str
    status: CertificateStatus | None  # None: the document itself does not verify
    problem: str | None = None
    valid_until: date | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None and self.status == CertificateStatus.VALID


def certificate_row(session: Session, number: str) -> CertificateRow:
    row = session.get(CertificateRow, number)
    if row is None:
        raise CertificateNotFound(f"no certificate {number!r} in the store")
    return row


def events_of(session: Session, numbers: list[str]) -> list[CertificateEvent]:
    rows = session.scalars(select(CertificateEventRow).where(CertificateEventRow.number.in_(numbers))
                           .order_by(CertificateEventRow.id)).all()
    return [CertificateEvent(number=r.number, on=r.on, status=CertificateStatus(r.status), reason=r.reason)
            for r in rows]


def domain_certificate(row: CertificateRow) -> Certificate:
    return Certificate(number=row.number, issued_on=row.issued_on, valid_until=row.valid_until,
                       scope=row.scope, companies=tuple(row.companies), cycle=row.cycle, status=row.status)


Event = tuple[str, str, dict[str, Any]]


def set_status(session: Session, number: str, status: CertificateStatus, on: date, reason: str,
               actor: str) -> Event:
    """Record a status change of a certificate: the event row, the current status and the
    history; returns the Prefect event for the caller to emit once the transaction commits."""
    row = certificate_row(session, number)
    session.execute(insert(CertificateEventRow), [dict(
        number=number, on=on, status=status.value, reason=reason, actor=actor,
        recorded_at=datetime.now(UTC))])
    session.execute(update(CertificateRow).where(CertificateRow.number == number)
                    .values(status=status.value))
    record_history(session, [dict(at=datetime.now(UTC), actor=actor, network_id=row.network_id,
                                  entity="certificates", entity_id=number, action="update",
                                  detail={"status": [row.status, status.value], "on": on.isoformat(),
                                          "reason": reason})])
    name = {"suspended": "suspended", "withdrawn": "withdrawn", "valid": "reinstated",
            "superseded": "superseded", "expired": "expired"}[status.value]
    return f"certificate.{name}", row.network_id, {"number": number, "on": on.isoformat(),
                                                   "reason": reason}


def change_status(number: str, status: CertificateStatus, on: date, reason: str, actor: str) -> None:
    allowed = {CertificateStatus.SUSPENDED: {CertificateStatus.VALID},
               CertificateStatus.VALID: {CertificateStatus.SUSPENDED},
               CertificateStatus.WITHDRAWN: {CertificateStatus.VALID, CertificateStatus.SUSPENDED}}
    with transaction() as session:
        current = CertificateStatus(certificate_row(session, number).status)
        if current not in allowed[status]:
            raise ValueError(f"certificate {number} is {current.value}; it cannot become {status.value}")
        event = set_status(session, number, status, on, reason, actor)
    emit(*event)


def reduce_scope(number: str, remove: list[str], on: date, reason: str, actor: str) -> IssuedCertificate:
    """Reissue a certificate without `remove` (companies leave the appendix); the old one is
    superseded. The new certificate keeps the cycle's expiry date."""
    folder = get_settings().output_dir / "certificates"
    with transaction() as session:
        old = certificate_row(session, number)
        if old.status not in (CertificateStatus.VALID, CertificateStatus.SUSPENDED):
            raise ValueError(f"certificate {number} is {old.status}; only a valid or suspended one "
                             "can be reissued with a reduced scope")
        unknown = sorted(set(remove) - set(old.companies))
        if unknown:
            raise ValueError(f"not on certificate {number}: {', '.join(unknown)}")
        payload = dict(old.payload or {})
        kept = tuple((cid, name) for cid, name in payload["companies"] if cid not in remove)
        if not kept:
            raise ValueError("a certificate must cover at least one company: withdraw it instead")
        reissues = session.scalar(select(func.count()).select_from(CertificateRow)
                                  .where(CertificateRow.cycle.like(f"{old.cycle}.r%"))) or 0
        draft = CertificateDraft.model_validate({
            **{k: v for k, v in payload.items() if k != "number"}, "companies": kept,
            "issued_on": on, "cycle": f"{old.cycle}.r{reissues + 1}"})
        new_number = record_certificate(session, draft, actor, replaces=number)
        event = set_status(session, number, CertificateStatus.SUPERSEDED, on,
                           f"reissued as {new_number} without {', '.join(remove)}: {reason}", actor)
    emit(*event)
    with transaction() as session:
        return _issued(certificate_row(session, new_number), folder, new=True)


def verify_document(document: dict[str, Any], as_of: date) -> Verification:
    """Check a signed certificate document and look up its status in the store."""
    payload, signature = document.get("certificate"), document.get("signature")
    if not isinstance(payload, dict) or not isinstance(signature, str):
        raise ValueError("not a signed certificate: expected 'certificate' data and a 'signature'")
    number = str(payload.get("number", "?"))
    problem = verify(payload, signature, document.get("key_id"))
    if problem:
        return Verification(number=number, status=None, problem=problem)
    with transaction() as session:
        row = session.get(CertificateRow, number)
        if row is None:
            return Verification(number=number, status=None,
                                problem="signed by this store's key, but not in its register")
        if row.payload != payload:
            return Verification(number=number, status=None,
                                problem="the signed data differs from the register's record")
        status = status_as_of(domain_certificate(row), events_of(session, [number]), as_of)
        return Verification(number=number, status=status, valid_until=row.valid_until)


def verify_number(number: str, as_of: date) -> Verification:
    with transaction() as session:
        row = certificate_row(session, number)
        document = signed_document(row)
    if document["signature"] is None:
        return Verification(number=number, status=None, problem="issued before signatures existed")
    return verify_document(document, as_of)


@task(name="apply-surveillance", task_run_name="apply-surveillance-{network_id}", **IO_TASK)
def apply_surveillance(network_id: str, as_of: date, passed: bool, reasons: list[str],
                       run_id: str) -> str | None:
    """Suspend, reinstate or withdraw the network's certificate as the surveillance result demands."""
    with transaction() as session:
        network = load_network(session, network_id, parts={"certificates"})
        held = held_certificate(network.certificates, as_of)
        if held is None:
            return None
        events = events_of(session, [held.number])
        status = status_as_of(held, events, as_of)
        suspended_on = max((e.on for e in events if e.status == CertificateStatus.SUSPENDED),
                           default=None)
        action = surveillance_consequence(status, suspended_on, passed, reasons, as_of,
                                          policy_for(network))
        if action is None:
            return None
        event = set_status(session, held.number, action.status, as_of, action.reason,
                           f"flow-run:{run_id}")
    emit(*event)
    return f"{held.number}: {action.status.value} ({action.reason})"


class CertificateNotice(BaseModel):
    number: str
    network_id: str
    valid_until: date
    status: str
    days_left: int


@task(name="review-certificates", **IO_TASK)
def review_certificates(as_of: date) -> list[CertificateNotice]:
    """Expire what has run out (an event and the history record it) and publish what expires soon."""
    notices, events = [], []
    with transaction() as session:
        rows = session.scalars(select(CertificateRow).where(
            CertificateRow.status.in_([CertificateStatus.VALID.value, CertificateStatus.SUSPENDED.value]))
            .order_by(CertificateRow.valid_until)).all()
        for row in rows:
            if row.valid_until < as_of:
                events.append(set_status(session, row.number, CertificateStatus.EXPIRED, as_of,
                                         f"validity ended on {row.valid_until}", "flow:check-certificates"))
            notices.append(CertificateNotice(
                number=row.number, network_id=row.network_id, valid_until=row.valid_until,
                status=CertificateStatus.EXPIRED.value if row.valid_until < as_of else row.status,
                days_left=(row.valid_until - as_of).days))
    for event in events:
        emit(*event)
    soon = [n for n in notices if n.days_left <= DEFAULT_POLICY.certificate_expiry_reminder_days]
    days = DEFAULT_POLICY.certificate_expiry_reminder_days
    create_table_artifact(key="certificates-expiring", table=[n.model_dump(mode="json") for n in soon],
                          description=f"Certificates expired or expiring within {days} days, as of {as_of}")
    return soon
