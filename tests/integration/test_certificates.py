"""Certificates: signed with an Ed25519 key kept outside the database; tampering is caught."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters import signing
from adapters.settings import reset_settings
from adapters.signing import key_path
from hackefors import PROJECT_ROOT
from services.certificates import IssuedCertificate, issue_certificate, verify_number
from services.unit_of_work import SqlAlchemyUnitOfWork
from tasks.certificates import certificates_folder
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


NUMBER = "HKF-OSTGOTA-SMALL-2025-01"


def test_a_lost_key_is_never_replaced_by_a_new_one_and_says_how_to_restore_it(
        issued: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = key_path()
    backup = tmp_path / "backup.pem"
    backup.write_bytes(path.read_bytes())
    path.unlink()
    capsys.readouterr()
    assert run("certificate", "reduce", NUMBER, "--remove", "VTR", "--reason", "left") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"the signing key is missing: {path} does not exist" in err
    assert "restore it from your backup" in err and "Nothing was signed" in err
    assert "`hackefors keys rotate` makes a new one" in err  # its public half is in the register
    assert not path.exists()  # no new key
    # Verifying needs the public key only: a genuine certificate stays genuine without the private key.
    assert run("certificate", "verify", str(issued), "--as-of", "2025-06-01") == 0
    assert "signature verified" in capsys.readouterr().out
    assert run("certificate", "show", NUMBER) == 0 and "status on" in capsys.readouterr().out
    path.write_bytes(backup.read_bytes())  # restored
    assert run("certificate", "verify", str(issued), "--as-of", "2025-06-01") == 0
    assert run("certificate", "reduce", NUMBER, "--remove", "VTR", "--reason", "left",
               "--as-of", "2026-05-01") == 0


def test_a_replaced_key_signs_nothing_and_genuine_certificates_are_not_called_forged(
        issued: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = key_path()
    path.unlink()
    signing.signing_key(known=())  # somebody made a new key by hand
    capsys.readouterr()
    assert run("certificate", "reduce", NUMBER, "--remove", "VTR", "--reason", "left") == 2
    assert "is not the key that signed this store's certificates" in capsys.readouterr().err
    assert run("certificate", "verify", str(issued), "--as-of", "2025-06-01") == 0  # never "forged"


@pytest.mark.slow  # six processes
def test_two_processes_making_the_first_key_at_once_share_one(tmp_path: Path) -> None:
    script = ("import os, sys, time\n"
              "from adapters import signing\n"
              "start = float(sys.argv[1])\n"
              "time.sleep(max(start - time.time(), 0))\n"
              "print(signing.key_id(signing.signing_key(known=()).public_key()))\n")
    folder = tmp_path / "data"
    start = time.time() + 2  # all six make their key at this moment
    env = {**os.environ, "HACKEFORS_DATA_DIR": str(folder)}
    processes = [subprocess.Popen([sys.executable, "-c", script, str(start)], env=env, cwd=PROJECT_ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
    outcomes = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, [err for _, err in outcomes]
    assert len({out.strip() for out, _ in outcomes}) == 1
    keys = folder / "keys"
    assert [p.name for p in keys.iterdir()] == ["certificate-signing.pem"]  # no temporary left
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / "certificate-signing.pem").stat().st_mode) == 0o600


def test_a_process_that_finds_the_key_made_while_it_was_making_one_takes_that_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The moment of the race: another process created the key after this one saw none.
    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    first = signing.signing_key(known=())
    before = key_path().read_bytes()
    second = signing._create(key_path())
    assert signing.key_id(second.public_key()) == signing.key_id(first.public_key())
    assert key_path().read_bytes() == before and len(list(key_path().parent.iterdir())) == 1
    reset_settings()


def test_a_field_outside_the_signature_is_refused(issued: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(issued.read_text())
    document["note"] = "Valid for all subsidiaries"
    extended = tmp_path / "extended.json"
    extended.write_text(json.dumps(document))
    assert run("certificate", "verify", str(extended)) == 4
    assert "not covered by the signature: 'note'" in capsys.readouterr().err


@pytest.mark.parametrize("signature", [None, "", "drop"])
def test_a_missing_signature_exits_4(issued: Path, tmp_path: Path, signature: str | None,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(issued.read_text())
    if signature == "drop":
        del document["signature"]
    else:
        document["signature"] = signature
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_text(json.dumps(document))
    assert run("certificate", "verify", str(unsigned)) == 4
    assert "not signed: the signature is missing" in capsys.readouterr().err
