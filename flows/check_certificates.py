"""The certificate-expiry check."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import refused_run
from tasks.certificates import CertificateNotice, review_certificates


@flow(name="check-certificates")
def check_certificates(as_of: date | None = None,
                       allow_future: bool = False) -> list[CertificateNotice] | State:
    """Mark certificates past their validity as expired and list those expiring within 90 days."""
    as_of = as_of or date.today()
    # A day to come would expire certificates before their time.
    return refused_run([], as_of, allow_future) or review_certificates(as_of)
