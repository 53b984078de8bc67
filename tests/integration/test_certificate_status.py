"""One truth about a certificate's status: the portfolio (its rows, CSV and artifact cells),
`certificate show`, `certificate verify`, the public page and the signed status list all take it
from the one rule (`models.certification.certificate_status`), the surveillance the audit records
imply included; a sign-off says when the certificate it would issue is past those dates already;
and the public page never calls a real certificate unknown, whatever day the portal is set to."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.certification import CertificateStatus
from models.portfolio import portfolio_cells
from services.certificates import show_certificate, verify_number
from services.portfolio import view_portfolio
from services.register import public_certificate, status_list
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import SMALL_AS_OF, build, example_data, save
from tests.integration.test_certificates import issue

NUMBER = "HKF-OSTGOTA-SMALL-2025-01"


@pytest.fixture
def certified(store: Path) -> Path:
    """The small network, certified as of 2025-03-03; no surveillance audit recorded after it."""
    save(build(example_data("small")))
    assert issue("ostgota-small", "run-1").number == NUMBER
    return store


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (date(2025, 6, 1), CertificateStatus.VALID),
        (date(2026, 3, 4), CertificateStatus.SUSPENDED),  # the first surveillance was due by 2026-03-03
        (date(2026, 9, 4), CertificateStatus.WITHDRAWN),  # six months suspended
    ],
)
def test_every_view_gives_the_status_the_one_rule_gives(certified: Path, day: date, status: str) -> None:
    uow = SqlAlchemyUnitOfWork
    [row] = view_portfolio(uow(), day).rows
    assert row.certificate is not None and row.certificate.status is status
    assert portfolio_cells(row, day)["certificate"] == f"{NUMBER} ({status.value})"
    assert show_certificate(uow(), NUMBER, day).status is status
    assert verify_number(uow(), NUMBER, day).status is status
    page = public_certificate(uow(), NUMBER, day)
    assert page is not None and page.status is status
    [listed] = status_list(uow(), day)["list"]["certificates"]
    assert listed["status"] == status.value


def test_the_public_page_shows_a_certificate_issued_after_the_portals_day(certified: Path) -> None:
    from portal.app import create_app

    before_issue = date(1999, 2, 15)  # as the README's examples set HACKEFORS_PORTAL_AS_OF
    with TestClient(create_app(today=lambda: before_issue)) as client:
        page = client.get(f"/verify/{NUMBER}")
    assert page.status_code == 200, page.text
    assert "was not issued under this register" not in page.text
    today = max(date.today(), SMALL_AS_OF)
    expected = show_certificate(SqlAlchemyUnitOfWork(), NUMBER, today).status
    assert f"Status on {today.isoformat()}: <strong>{expected.value.upper()}</strong>" in page.text
    found = public_certificate(SqlAlchemyUnitOfWork(), NUMBER, before_issue, today=date(2025, 6, 1))
    assert found is not None and (found.as_of, found.status) == (date(2025, 6, 1), CertificateStatus.VALID)


def test_a_sign_off_says_when_the_certificate_would_be_past_its_surveillance_dates(certified: Path) -> None:
    from services.gates import sign_off_brief
    from tasks.gates import sign_off_markdown

    late = sign_off_brief(SqlAlchemyUnitOfWork(), "ostgota-small", SMALL_AS_OF, "run-x", date(2026, 11, 1))
    assert [(e.status, e.on) for e in late.lapsed] == [
        (CertificateStatus.SUSPENDED, date(2026, 3, 3)),
        (CertificateStatus.WITHDRAWN, date(2026, 9, 3)),
    ]
    text = sign_off_markdown(late, [])
    assert "Past its surveillance dates today (2026-11-01)" in text
    assert "would be WITHDRAWN from the moment it is issued" in text and "SUSPENDED from 2026-03-03" in text
    in_time = sign_off_brief(SqlAlchemyUnitOfWork(), "ostgota-small", SMALL_AS_OF, "run-x", date(2025, 3, 10))
    assert in_time.lapsed == [] and "Past its surveillance dates" not in sign_off_markdown(in_time, [])
