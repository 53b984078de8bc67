"""Use case: make a report of a network or one of its companies, and write it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from adapters.reporting import Report, build_report, reports_folder, write_report
from models.errors import UnknownCompany
from services.unit_of_work import AbstractUnitOfWork


def make_report(uow: AbstractUnitOfWork, kind: str, network_id: str, as_of: date,
                company_id: str | None = None, formats: Iterable[str] = ("html",),
                folder: Path | None = None) -> tuple[Report, list[Path]]:
    """Load the network, build the report and write it in each format; the report and its paths."""
    with uow:
        network = uow.networks.load(network_id)
    known = [c.id for c in network.companies]
    if company_id is not None and company_id not in known:
        raise UnknownCompany(company_id, network_id, known)
    report = build_report(kind, network, as_of, company_id)
    return report, write_report(report, folder or reports_folder(network_id), formats)
