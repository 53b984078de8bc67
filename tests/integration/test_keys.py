"""Public-key verification: a certificate and the published key set are all a verifier needs; keys
rotate without making any certificate unverifiable."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters import signing
from adapters.signing import canonical, key_path
from models.keys import KeySet
from services.keys import rotate_key
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.integration.test_certificates import NUMBER, issued  # noqa: F401 (the fixture)
from tests.integration.test_cli import run


def hackefors(*args: str, data: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed command in its own process, with `data` as its (otherwise empty) data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HACKEFORS_")}
    env.update(HACKEFORS_DATA_DIR=str(data), HACKEFORS_OUTPUT_DIR=str(cwd / "out"))
    command = str(Path(sys.executable).parent / "hackefors")
    return subprocess.run([command, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def export(tmp_path: Path, name: str = "keys.json") -> Path:
    out = tmp_path / name
    assert run("keys", "export", "--output", str(out)) == 0
    return out


def test_a_certificate_and_the_published_key_set_verify_in_an_empty_folder(issued: Path,  # noqa: F811
                                                                            tmp_path: Path) -> None:
    keys = export(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "data").mkdir(parents=True)
    certificate = elsewhere / issued.name
    certificate.write_bytes(issued.read_bytes())
    (elsewhere / "keys.json").write_bytes(keys.read_bytes())

    done = hackefors("certificate", "verify", certificate.name, "--keys", "keys.json",
                     "--as-of", "2025-06-01", data=elsewhere / "data", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert f"VALID {NUMBER}: signature verified" in done.stdout
    assert "status follows from its dates alone" in done.stdout  # this store does not hold it
    assert not list((elsewhere / "data").rglob("*.pem"))  # no private key was made or needed

    # The key set is kept: later verifications need only the certificate.
    again = hackefors("certificate", "verify", certificate.name, "--as-of", "2025-06-01",
                      data=elsewhere / "data", cwd=elsewhere)
    assert again.returncode == 0, again.stderr
    assert "from the key set kept at" in " ".join(again.stdout.split())
    expired = hackefors("certificate", "verify", certificate.name, "--as-of", "2028-03-03",
                        data=elsewhere / "data", cwd=elsewhere)
    assert expired.returncode == 3 and "EXPIRED" in expired.stdout

    document = json.loads(certificate.read_text())
    document["certificate"]["valid_until"] = "2035-03-02"
    (elsewhere / "altered.json").write_text(json.dumps(document))
    altered = hackefors("certificate", "verify", "altered.json", "--keys", "keys.json",
                        data=elsewhere / "data", cwd=elsewhere)
    assert altered.returncode == 4 and "altered or forged" in altered.stderr


def test_without_any_key_set_verification_says_where_to_get_one(
        issued: Path, tmp_path: Path) -> None:  # noqa: F811
    empty = tmp_path / "empty"
    (empty / "data").mkdir(parents=True)
    done = hackefors("certificate", "verify", str(issued), data=empty / "data", cwd=empty)
    assert done.returncode == 2
    assert "no key set to verify with" in done.stderr and "--keys FILE_OR_URL" in done.stderr
    (empty / "bad.json").write_text('{"format": "hackefors-keys/1", "keys": {"abc": {}}}')
    bad = hackefors("certificate", "verify", str(issued), "--keys", "bad.json",
                    data=empty / "data", cwd=empty)
    assert bad.returncode == 2 and "key set bad.json: not a hackefors key set" in bad.stderr


def signed_by(key: Ed25519PrivateKey, document: dict[str, object]) -> dict[str, object]:
    payload = document["certificate"]
    assert isinstance(payload, dict)
    signature = base64.b64encode(key.sign(canonical(payload))).decode()
    return {**document, "signature": signature, "key_id": signing.key_id(key.public_key())}


def test_after_a_rotation_old_certificates_verify_and_new_ones_carry_the_new_key(
        issued: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    before = KeySet.model_validate_json(export(tmp_path, "before.json").read_text())
    old_key = json.loads(issued.read_text())["key_id"]
    assert list(before.keys) == [old_key] and before.signing_key_id == old_key

    assert run("keys", "rotate") == 0
    new_key = signing.key_id(signing._load(key_path()).public_key())
    assert f"New signing key {new_key}; key {old_key} signs no more" in capsys.readouterr().out
    # The old private key is gone.
    assert [p.name for p in key_path().parent.glob("*.pem")] == [key_path().name]

    after = KeySet.model_validate_json(export(tmp_path, "after.json").read_text())
    assert set(after.keys) == {old_key, new_key} and after.signing_key_id == new_key
    assert after.keys[old_key].valid_until == after.keys[new_key].valid_from

    # Signed before the rotation: still verifies, with the published set and with the store's.
    assert run("certificate", "verify", str(issued), "--keys", str(tmp_path / "after.json"),
               "--as-of", "2025-06-01") == 0
    assert f"with key {old_key} (a key retired on" in capsys.readouterr().out
    assert run("certificate", "verify", NUMBER, "--as-of", "2025-06-01") == 0

    # Signed after: the new key.
    assert run("certificate", "reduce", NUMBER, "--remove", "VTR", "--reason", "left",
               "--as-of", "2026-05-01") == 0
    reissued = issued.with_name("HKF-OSTGOTA-SMALL-2026-02.json")
    assert json.loads(reissued.read_text())["key_id"] == new_key
    assert run("certificate", "verify", str(reissued), "--as-of", "2026-05-02") == 0
    capsys.readouterr()
    # The key set published before the rotation does not know the new key: an unknown key, exit 4.
    assert run("certificate", "verify", str(reissued), "--keys", str(tmp_path / "before.json")) == 4
    assert f"unknown key: signed with key {new_key}, which is not in" in capsys.readouterr().err

    # A certificate signed by a key that is not in the set: exit 4, with its own message.
    stranger = Ed25519PrivateKey.generate()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(signed_by(stranger, json.loads(issued.read_text()))))
    assert run("certificate", "verify", str(forged), "--keys", str(tmp_path / "after.json")) == 4
    err = capsys.readouterr().err
    assert f"unknown key: signed with key {signing.key_id(stranger.public_key())}" in err
    assert run("certificate", "verify", str(forged)) == 4  # with the store's own keys too


def test_a_rotation_interrupted_before_the_key_was_moved_is_finished_by_the_next_signature(
        issued: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    old = key_path().read_bytes()
    with monkeypatch.context() as patched:
        patched.setattr(signing, "install_pending_key", lambda new_key_id: None)  # the process stops here
        rotation = rotate_key(SqlAlchemyUnitOfWork(), "test")
    assert key_path().read_bytes() == old and signing.pending_path(rotation.new).exists()
    assert run("certificate", "reduce", NUMBER, "--remove", "VTR", "--reason", "left",
               "--as-of", "2026-05-01") == 0
    assert signing.key_id(signing._load(key_path()).public_key()) == rotation.new
    assert not signing.pending_path(rotation.new).exists()


def test_a_rotation_is_kept_in_the_history(
        issued: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert run("keys", "rotate") == 0
    capsys.readouterr()
    assert run("history", "--network", "ostgota-small", "--limit", "1") == 0
    assert "signing_keys" in capsys.readouterr().out
