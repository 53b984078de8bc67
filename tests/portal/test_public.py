"""The public pages, without signing in: a certificate's verification page, the key set at its
well-known URL and the signed status list; rate-limited per client address."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.signing import signature_matches
from models.keys import KeySet
from models.links import KEYS_PATH, STATUS_LIST_PATH, verify_path
from services.certificates import issue_certificate
from services.unit_of_work import SqlAlchemyUnitOfWork
from tasks.certificates import certificates_folder
from tests.integration.test_cli import run
from tests.portal.conftest import BASE_URL, NETWORK

NUMBER = "HKF-OSTGOTA-SMALL-2025-01"
REASON = "Missed surveillance (internal note by Gösta)"


@pytest.fixture
def certificate(portal_store: Path) -> str:
    issue_certificate(SqlAlchemyUnitOfWork(), NETWORK, date(2025, 3, 3), "run-1", certificates_folder())
    return NUMBER


def test_the_verification_page_needs_no_sign_in_and_shows_the_status(client: TestClient,
                                                                      certificate: str) -> None:
    page = client.get(verify_path(certificate))
    assert page.status_code == 200
    text = page.text
    assert "Status on 2025-03-03: <strong>VALID</strong>" in text
    assert "Östgöta Småföretag Miljönätverk" in text and "Nordisk Certifiering AB" in text
    assert "accredited by Swedac, no. 1567" in text and "Altea AB" in text
    assert "556490-8548" in text and "central function" in text
    assert "Sign out" not in text  # nobody is signed in


def test_a_suspension_shows_with_its_date_and_without_its_reason(client: TestClient,
                                                                 certificate: str) -> None:
    assert run("certificate", "suspend", certificate, "--reason", REASON, "--as-of", "2025-03-03") == 0
    text = client.get(verify_path(certificate)).text
    assert "<strong>SUSPENDED</strong>" in text
    assert "<td>2025-03-03</td><td>suspended</td>" in text
    assert "Gösta" not in text and "internal note" not in text


@pytest.mark.parametrize("number", ["HKF-NOPE-2025-01", "HKF<script>x", "x" * 100])
def test_an_unknown_number_is_not_found(client: TestClient, certificate: str, number: str) -> None:
    page = client.get(verify_path(number))
    assert page.status_code == 404 and "Certificate not found" in page.text


def test_the_key_set_and_the_signed_status_list_are_published(client: TestClient, certificate: str) -> None:
    keys = client.get(KEYS_PATH)
    assert keys.status_code == 200 and keys.headers["content-type"] == "application/json"
    key_set = KeySet.model_validate(keys.json())
    assert key_set.issuer == BASE_URL and key_set.signing_key_id

    signed = client.get(STATUS_LIST_PATH).json()
    assert [(c["number"], c["status"]) for c in signed["list"]["certificates"]] == [(NUMBER, "valid")]
    key = key_set.keys[signed["key_id"]]
    assert signature_matches(key.public_key, signed["list"], signed["signature"])


def test_the_public_pages_are_rate_limited(monkeypatch: pytest.MonkeyPatch, certificate: str) -> None:
    from adapters.settings import reset_settings
    from portal.app import create_app

    monkeypatch.setenv("HACKEFORS_PORTAL_VERIFY_PER_MINUTE", "3")
    reset_settings()
    with TestClient(create_app(), base_url=BASE_URL) as client:
        answers = [client.get(path).status_code for path in
                   (verify_path(NUMBER), KEYS_PATH, STATUS_LIST_PATH, verify_path(NUMBER))]
    assert answers == [200, 200, 200, 429]
