"""The public register: the verification view and the signed status list show the status and the
dates it changed, and nothing the certificate does not show."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from adapters.signing import signature_matches
from models.certification import CertificateStatus as S
from services.keys import published_keys
from services.register import public_certificate, status_list
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.test_certificates import NUMBER, issued  # noqa: F401 (the fixture)
from tests.integration.test_cli import run

REASON = "Surveillance missed: see the confidential note of Gösta"


@pytest.mark.usefixtures("issued")
def test_the_verification_view_shows_status_and_dates_but_no_reasons() -> None:
    uow = SqlAlchemyUnitOfWork()
    valid = public_certificate(uow, NUMBER, date(2025, 6, 1))
    assert valid is not None and valid.status == S.VALID and valid.changes == []
    assert valid.network_name == "Östgöta Småföretag Miljönätverk" and len(valid.members) == 3
    assert valid.certification_body.name == "Nordisk Certifiering AB" and valid.coordinated_by == "Altea AB"
    assert (valid.issued_on, valid.valid_until, valid.cycle_start) == (
        date(2025, 3, 3), date(2028, 3, 2), date(2025, 3, 3))

    assert run("certificate", "suspend", NUMBER, "--reason", REASON, "--as-of", "2025-09-01") == 0
    suspended = public_certificate(uow, NUMBER, date(2025, 9, 2))
    assert suspended is not None and suspended.status == S.SUSPENDED
    assert [(c.on, c.status) for c in suspended.changes] == [(date(2025, 9, 1), S.SUSPENDED)]
    assert REASON not in suspended.model_dump_json() and "Gösta" not in suspended.model_dump_json()

    # No surveillance audit is recorded: 6 months after its due date the records withdraw it.
    later = public_certificate(uow, NUMBER, date(2026, 10, 1))
    assert later is not None and later.status == S.WITHDRAWN
    assert [(c.on, c.status) for c in later.changes] == [(date(2025, 9, 1), S.SUSPENDED),
                                                         (date(2026, 9, 3), S.WITHDRAWN)]

    assert public_certificate(uow, "HKF-NOPE-2025-01", date(2025, 6, 1)) is None
    early = public_certificate(uow, NUMBER, date(2025, 3, 2))  # a day before it was issued: shown all
    assert early is not None and early.as_of == date(2025, 3, 3)  # the same, as of its issue day


@pytest.mark.usefixtures("issued")
def test_the_status_list_is_signed_by_the_published_key_and_lists_every_certificate() -> None:
    assert run("certificate", "reduce", NUMBER, "--remove", "VTR", "--reason", REASON,
               "--as-of", "2026-05-01") == 0
    uow = SqlAlchemyUnitOfWork()
    signed = status_list(uow, date(2026, 5, 2))
    listing = signed["list"]
    assert [(c["number"], c["status"]) for c in listing["certificates"]] == [
        (NUMBER, "superseded"), ("HKF-OSTGOTA-SMALL-2026-02", "valid")]
    # No surveillance audit by 2026-03-03: from the records, the original was suspended then.
    assert listing["certificates"][0]["changes"] == [{"on": "2026-03-03", "status": "suspended"},
                                                     {"on": "2026-05-01", "status": "superseded"}]
    assert REASON not in json.dumps(signed)

    keys = published_keys(uow)
    key = keys.keys[signed["key_id"]]
    assert signature_matches(key.public_key, listing, signed["signature"])
    tampered = {**listing, "certificates": [{**listing["certificates"][1], "status": "valid"}]}
    assert not signature_matches(key.public_key, tampered, signed["signature"])
    assert [c["number"] for c in status_list(uow, date(2025, 3, 2))["list"]["certificates"]] == []


def test_a_store_without_certificates_lists_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.conftest import use_store

    use_store(monkeypatch, tmp_path)
    assert status_list(SqlAlchemyUnitOfWork(), date(2025, 1, 1))["list"]["certificates"] == []


def test_expiry_shows_as_a_change_the_day_after_the_validity_ends() -> None:
    from models.network import Certificate
    from services.register import _changes

    certificate = Certificate(number="N", issued_on=date(2025, 3, 3), valid_until=date(2028, 3, 2),
                              scope="s", companies=("A",), cycle="C")
    assert _changes(certificate, [], date(2028, 3, 2)) == []
    assert [(c.on, c.status) for c in _changes(certificate, [], date(2028, 3, 3))] == [
        (date(2028, 3, 3), S.EXPIRED)]
