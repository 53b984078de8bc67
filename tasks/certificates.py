"""Issue the network's certificate: once per cycle, rendered in memory, files written after commit."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from prefect import task
from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hackefors.settings import get_settings
from models.certification import CertificateDraft, draft_certificate
from models.gates import policy_for
from models.tables import CertificateRow
from tasks.db import transaction
from tasks.rendering import html_to_pdf, render
from tasks.retrying import IO_TASK
from tasks.store import load_network, record_history


class IssuedCertificate(BaseModel):
    number: str
    network_id: str
    cycle: str
    issued_on: date
    valid_until: date
    html_path: Path
    pdf_path: Path
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


def export_files(row: CertificateRow, folder: Path) -> tuple[Path, Path]:
    """Write the stored HTML and PDF where operators find them (again, if they were removed)."""
    html_path, pdf_path = folder / f"{row.number}.html", folder / f"{row.number}.pdf"
    for path, content in ((html_path, row.html.encode("utf-8")), (pdf_path, row.pdf)):
        if not path.exists() or path.read_bytes() != content:
            write_atomically(path, content)
    return html_path, pdf_path


def _issued(row: CertificateRow, folder: Path, new: bool) -> IssuedCertificate:
    html_path, pdf_path = export_files(row, folder)
    return IssuedCertificate(number=row.number, network_id=row.network_id, cycle=row.cycle,
                             issued_on=row.issued_on, valid_until=row.valid_until,
                             html_path=html_path, pdf_path=pdf_path, newly_issued=new)


def _existing(session: Session, network_id: str, cycle: str) -> CertificateRow | None:
    return session.scalar(select(CertificateRow).where(CertificateRow.network_id == network_id,
                                                       CertificateRow.cycle == cycle))


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
            number = certificate_number(session, network_id, as_of)
            html, pdf = render_certificate(draft, number)
            session.execute(insert(CertificateRow), [dict(
                number=number, network_id=network_id, cycle=draft.cycle, issued_on=draft.issued_on,
                valid_until=draft.valid_until, scope=draft.scope, status="valid",
                companies=[cid for cid, _ in draft.companies], html=html, pdf=pdf, run_id=run_id,
                created_at=datetime.now(UTC))])
            record_history(session, [dict(
                at=datetime.now(UTC), actor=f"flow-run:{run_id}", network_id=network_id,
                entity="certificates", entity_id=number, action="insert",
                detail={"cycle": draft.cycle, "valid_until": draft.valid_until.isoformat(),
                        "companies": len(draft.companies)})])
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
        return issue(network_id, as_of, run_id)
    except IntegrityError:
        # Another run issued this cycle's certificate first: it stands, and is returned.
        return issue(network_id, as_of, run_id)
