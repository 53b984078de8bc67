"""Certificates: signed with an Ed25519 key kept outside the database; tampering is caught."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.certificates import IssuedCertificate, issue_certificate, verify_number
from services.unit_of_work import SqlAlchemyUnitOfWork
from tasks.certificates import certificates_folder
from tasks.signing import key_path
from tests.conftest import SMALL_AS_OF, build, example_data, save, use_store
from tests.integration.test_cli import run


def issue(network_id: str, run_id: str) -> IssuedCertificate:
    """Issue the network's certificate of this cycle in the configured store, as the flow's task does."""
    return issue_certificate(SqlAlchemyUnitOfWork(), network_id, SMALL_AS_OF, run_id, certificates_folder())


@pytest.fixture
def issued(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A store holding the small network and its certificate; the certificate's JSON path."""
    use_store(monkeypatch, tmp_path)
    save(build(example_data("small")))
    certificate = issue("ostgota-small", "run-1")
    assert certificate.newly_issued and certificate.json_path.is_file()
    yield certificate.json_path


def test_the_signing_key_is_created_once_outside_the_database_with_mode_0600(issued: Path) -> None:
    path = key_path()
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "hackefors.sqlite3" not in str(path)
    before = path.read_bytes()
    again = issue("ostgota-small", "run-2")  # the same cycle: no new certificate, same key
    assert not again.newly_issued and again.json_path == issued
    assert path.read_bytes() == before


def test_a_genuine_certificate_verifies_as_valid(issued: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("certificate", "verify", str(issued), "--as-of", "2025-06-01") == 0
    assert "VALID HKF-OSTGOTA-SMALL-2025-01: signature verified" in capsys.readouterr().out
    assert verify_number(SqlAlchemyUnitOfWork(), "HKF-OSTGOTA-SMALL-2025-01", SMALL_AS_OF).valid


@pytest.mark.parametrize("field,value", [("valid_until", "2035-03-02"), ("companies", [["NSM", "X"]]),
                                         ("network_name", "Another network")])
def test_an_altered_certificate_fails_verification(issued: Path, tmp_path: Path, field: str,
                                                   value: object,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(issued.read_text())
    document["certificate"][field] = value
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    assert run("certificate", "verify", str(forged)) == 4
    assert "altered or forged" in capsys.readouterr().err


def test_a_garbled_signature_or_file_is_reported(issued: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(issued.read_text())
    document["signature"] = "not base64!"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    assert run("certificate", "verify", str(bad)) == 4
    (tmp_path / "empty.json").write_text("{}")
    assert run("certificate", "verify", str(tmp_path / "empty.json")) == 2
    assert "not a signed certificate" in capsys.readouterr().err


def test_status_changes_show_in_verification(issued: Path, capsys: pytest.CaptureFixture[str]) -> None:
    number = "HKF-OSTGOTA-SMALL-2025-01"
    assert run("certificate", "suspend", number, "--reason", "missed surveillance",
               "--as-of", "2026-04-01") == 0
    assert run("certificate", "verify", number, "--as-of", "2026-04-02") == 3
    assert "SUSPENDED" in capsys.readouterr().out
    assert run("certificate", "verify", number, "--as-of", "2026-03-02") == 0  # before suspension
    # No surveillance audit is recorded: from its due date the certificate counts as suspended.
    assert run("certificate", "verify", number, "--as-of", "2026-03-03") == 3
    assert run("certificate", "withdraw", number, "--reason", "not resolved", "--as-of", "2026-10-02") == 0
    assert run("certificate", "verify", number, "--as-of", "2026-10-03") == 3
    assert "WITHDRAWN" in capsys.readouterr().out
    assert run("certificate", "reinstate", number, "--reason", "x") == 2  # withdrawal is final
    assert run("certificate", "verify", number, "--as-of", "2028-03-03") == 3  # and later expired too


def test_a_reduced_scope_reissues_without_the_company(issued: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    number = "HKF-OSTGOTA-SMALL-2025-01"
    assert run("certificate", "reduce", number, "--remove", "VTR", "--reason", "left the network",
               "--as-of", "2026-05-01") == 0
    out = capsys.readouterr().out
    assert "as HKF-OSTGOTA-SMALL-2026-02 without VTR" in out
    assert run("certificate", "verify", number, "--as-of", "2026-05-02") == 3
    assert run("certificate", "show", "HKF-OSTGOTA-SMALL-2026-02") == 0
    shown = capsys.readouterr().out
    assert "companies (2): NSM, SKT" in shown and f"replaces {number}" in shown
    assert "valid until 2028-03-02" in shown  # the cycle's expiry stays
    assert run("certificate", "reduce", "HKF-OSTGOTA-SMALL-2026-02", "--remove", "NOPE",
               "--reason", "x") == 2
