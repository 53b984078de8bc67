"""Certificate tasks: issue, apply a surveillance verdict, expire and list what expires soon."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import task
from prefect.artifacts import create_table_artifact

from adapters.settings import get_settings
from models.programme import SurveillanceVerdict
from services import certificates
from services.certificates import CertificateNotice, IssuedCertificate
from tasks.events import unit_of_work
from tasks.retrying import IO_TASK


def certificates_folder() -> Path:
    """Where certificates' files are written for operators."""
    return get_settings().output_dir / "certificates"


@task(name="issue-certificate", task_run_name="issue-certificate-{network_id}", **IO_TASK)
def issue_certificate(network_id: str, as_of: date, run_id: str) -> IssuedCertificate:
    """Issue the network's certificate for this cycle, or return the one already issued."""
    return certificates.issue_certificate(unit_of_work(), network_id, as_of, run_id, certificates_folder())


@task(name="apply-surveillance", task_run_name="apply-surveillance-{network_id}", **IO_TASK)
def apply_surveillance(network_id: str, as_of: date, verdict: SurveillanceVerdict, run_id: str) -> str | None:
    """Suspend, reinstate or withdraw the network's certificate as the surveillance verdict demands."""
    return certificates.apply_surveillance(unit_of_work(), network_id, as_of, verdict, f"flow-run:{run_id}")


@task(name="review-certificates", **IO_TASK)
def review_certificates(as_of: date) -> list[CertificateNotice]:
    """Expire what has run out (an event and the history record it) and publish what expires soon."""
    soon = certificates.review_certificates(unit_of_work(), as_of)
    create_table_artifact(key="certificates-expiring", table=[n.model_dump(mode="json") for n in soon],
                          description=f"Certificates expired, or expiring within their network's reminder "
                                      f"period, as of {as_of}")
    return soon
