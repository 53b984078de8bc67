"""The 3-year cycle through the flows: surveillance passes, fails, suspends, reinstates, withdraws."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.certify_network import certify_network
from flows.survey_network import survey_network
from models.certification import CertificateStatus
from services.certificates import verify_number
from services.unit_of_work import SqlAlchemyUnitOfWork
from tasks.inputs import SignOff
from tests.conftest import SMALL_AS_OF, build, example_data
from tests.conftest import save as save_network
from tests.e2e.conftest import events_seen

pytestmark = pytest.mark.e2e
APPROVED = SignOff(decision="approve", decided_by="Test decision maker")
NUMBER = "HKF-OSTGOTA-SMALL-2025-01"


def keep_up(data: dict[str, Any], year: int, surveillance_on: str | None) -> None:
    """A year of the network's own work: two internal audits and a management review per company,
    and (when given) the certification body's surveillance audit."""
    for c in data["companies"]:
        c["internal_audits"] += [{"id": f"{c['id']}-IA{year}-{n}", "date": f"{year}-0{n * 4}-01",
                                  "auditor": "Altea"} for n in (1, 2)]
        review = dict(c["management_reviews"][0])
        review.update(id=f"{c['id']}-MR{year}", date=f"{year}-09-01", signed_on=f"{year}-09-03")
        c["management_reviews"].append(review)
    if surveillance_on:
        data["external_audits"].append({
            "id": f"SURV-{surveillance_on}", "kind": "surveillance", "start": surveillance_on,
            "end": surveillance_on, "certification_body": "Nordisk Certifiering AB",
            "lead_auditor": "Gösta Wennberg", "companies_visited": ["NSM", "VTR"],
            "recommendation": "recommended"})


def save(data: dict[str, Any]) -> None:
    save_network(build(data))


def status(on: date) -> CertificateStatus | None:
    return verify_number(SqlAlchemyUnitOfWork(), NUMBER, on).status


def test_three_years_surveillance_passes_then_fails_suspends_and_is_reinstated(store: Path) -> None:
    assert certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED).number == NUMBER
    data = example_data("small")
    keep_up(data, 2025, surveillance_on="2026-02-20")
    save(data)
    first = survey_network(network="ostgota-small", as_of=date(2026, 3, 1), return_state=True)
    assert first.is_completed(), first.message
    assert status(date(2026, 3, 1)) == CertificateStatus.VALID

    keep_up(data, 2026, surveillance_on=None)
    keep_up(data, 2027, surveillance_on=None)  # no surveillance audit in 2027
    save(data)
    missed = survey_network(network="ostgota-small", as_of=date(2028, 1, 10), allow_future=True,
                            return_state=True)
    assert missed.is_failed()
    assert "no surveillance audit between 2027-01-01 and 2027-12-31" in (missed.message or "")
    assert f"{NUMBER}: suspended" in (missed.message or "")
    assert status(date(2028, 1, 10)) == CertificateStatus.SUSPENDED

    keep_up(data, 2028, surveillance_on="2028-01-20")  # held late
    save(data)
    back = survey_network(network="ostgota-small", as_of=date(2028, 1, 25), allow_future=True,
                          return_state=True)
    assert back.is_completed(), back.message
    assert any("reinstated" in str(item) for item in back.result())
    assert status(date(2028, 1, 25)) == CertificateStatus.VALID
    # The gap stays in the history: suspended from the due date until the late audit passed.
    assert status(date(2027, 12, 31)) == CertificateStatus.SUSPENDED
    assert status(date(2028, 1, 19)) == CertificateStatus.SUSPENDED
    assert status(date(2028, 1, 20)) == CertificateStatus.VALID


def test_a_suspension_unresolved_for_six_months_ends_in_withdrawal(store: Path) -> None:
    certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED)
    data = example_data("small")
    keep_up(data, 2025, surveillance_on=None)
    keep_up(data, 2026, surveillance_on=None)
    save(data)
    assert survey_network(network="ostgota-small", as_of=date(2026, 4, 1), return_state=True).is_failed()
    assert status(date(2026, 4, 1)) == CertificateStatus.SUSPENDED
    # The suspension began on the due date, 2026-03-03, not when a run first noticed it.
    assert status(date(2026, 3, 3)) == CertificateStatus.SUSPENDED
    assert survey_network(network="ostgota-small", as_of=date(2026, 9, 2), return_state=True).is_failed()
    assert status(date(2026, 9, 2)) == CertificateStatus.SUSPENDED  # not yet six months
    final = survey_network(network="ostgota-small", as_of=date(2026, 9, 3), return_state=True)
    assert final.is_failed() and f"{NUMBER}: withdrawn" in (final.message or "")
    assert status(date(2026, 9, 3)) == CertificateStatus.WITHDRAWN
    wanted = {(f"hackefors.certificate.{what}", "hackefors.network.ostgota-small")
              for what in ("suspended", "withdrawn")}
    assert wanted <= events_seen(wanted)
