"""The certificate-expiry check."""

from __future__ import annotations

from datetime import date

from prefect import flow

from tasks.certificates import CertificateNotice, review_certificates


@flow(name="check-certificates")
def check_certificates(as_of: date | None = None) -> list[CertificateNotice]:
    """Mark certificates past their validity as expired and list those expiring within 90 days."""
    return review_certificates(as_of or date.today())
