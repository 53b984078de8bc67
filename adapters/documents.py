"""Certificates as documents: rendered to HTML and PDF in memory, written to files atomically."""

from __future__ import annotations

import json
from pathlib import Path

import segno

from adapters.private_files import write_private
from adapters.rendering import html_to_pdf, render
from adapters.settings import get_settings
from models.certification import CertificateDraft, CertificateRecord
from models.links import absolute, verify_path


def verification_url(number: str) -> str:
    """The public page that shows the certificate's current status (HACKEFORS_PUBLIC_URL)."""
    return absolute(get_settings().public_url, verify_path(number))


def qr_code(url: str) -> str:
    """`url` as a QR code, an SVG data URI (error correction M: it survives a smudged print)."""
    return segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=4)


def render_certificate(draft: CertificateDraft, number: str, url: str) -> tuple[str, bytes]:
    """The certificate's HTML and PDF, carrying the verification page's URL as text and QR code."""
    html = render("certificate.html.j2", certificate=draft, number=number, verification_url=url,
                  qr_code=qr_code(url))
    return html, html_to_pdf(html)


def export_certificate(record: CertificateRecord, folder: Path) -> tuple[Path, Path, Path]:
    """Write the stored HTML, PDF and signed JSON where operators find them (again, if removed)."""
    html, pdf, data = (folder / f"{record.number}.{ext}" for ext in ("html", "pdf", "json"))
    document = json.dumps(record.document(), indent=2, ensure_ascii=False).encode("utf-8")
    for path, content in ((html, record.html.encode("utf-8")), (pdf, record.pdf), (data, document)):
        if not path.exists() or path.read_bytes() != content:
            write_private(path, content)
    return html, pdf, data
