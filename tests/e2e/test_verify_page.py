"""The public verification page in a real browser, served by `hackefors portal` in its own process:
a valid, a suspended and an unknown certificate number. The key set it serves verifies a
certificate's `.json` on a machine with an empty data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.links import KEYS_PATH, verify_path
from services.certificates import change_status, issue_certificate
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import build, example_data, save, use_store
from tests.e2e.test_browser import page, shot  # noqa: F401 (fixtures)
from tests.integration.test_prefect_server import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PORT = 8211  # this helper's range: 8200-8219
BASE = f"http://127.0.0.1:{PORT}"
VALID = "HKF-OSTGOTA-SMALL-2025-01"
SUSPENDED = "HKF-OTHER-SMALL-2025-01"
REASON = "Surveillance audit refused (note by Gösta)"


def command() -> str:
    return str(Path(sys.executable).parent / "hackefors")


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A store with two certified networks, one certificate suspended, served by `hackefors portal`."""
    from models.certification import CertificateStatus
    from tasks.certificates import certificates_folder

    use_store(monkeypatch, tmp_path)
    monkeypatch.setenv("HACKEFORS_PUBLIC_URL", BASE)
    small = example_data("small")
    other = example_data("small")
    other["id"], other["name"] = "other-small", "Another network"
    for data in (small, other):
        save(build(data))
        issue_certificate(SqlAlchemyUnitOfWork(), data["id"], date(2025, 3, 3), "run-1",
                          certificates_folder())
    change_status(SqlAlchemyUnitOfWork(), SUSPENDED, CertificateStatus.SUSPENDED, date(2025, 5, 2), REASON,
                  "test")
    env = {**os.environ, "HACKEFORS_PORTAL_AS_OF": "2025-06-01",
           "HACKEFORS_PORTAL_SECRET_KEY": "a key for tests only"}
    log = (tmp_path / "portal.log").open("w")
    server = subprocess.Popen([command(), "portal", "--port", str(PORT)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{BASE}{KEYS_PATH}", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("the portal", up, timeout=60)
        yield tmp_path
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_the_verification_page_shows_valid_suspended_and_unknown_certificates(
        portal: Path, page: Any, shot: Any) -> None:  # noqa: F811
    page.goto(f"{BASE}{verify_path(VALID)}")
    status = page.locator("#status")
    assert status.inner_text().startswith("Status on 2025-06-01: VALID")
    facts = page.locator("table.facts").inner_text()
    assert "Nordisk Certifiering AB (accredited by Swedac, no. 1567)" in facts
    assert page.locator("#members tbody tr").count() == 3
    shot("valid")

    response = page.goto(f"{BASE}{verify_path(SUSPENDED)}")
    assert response.status == 200
    assert "SUSPENDED" in page.locator("#status").inner_text()
    assert "2025-05-02\tsuspended" in page.locator("#changes").inner_text()
    assert "Gösta" not in page.content()  # the reason is not shown
    shot("suspended")

    response = page.goto(f"{BASE}{verify_path('HKF-FORGED-2025-01')}")
    assert response.status == 404
    assert "No certificate numbered HKF-FORGED-2025-01 is in this register." in \
        page.locator("#status").inner_text()
    shot("unknown")


def test_the_served_key_set_verifies_a_certificate_in_an_empty_folder(portal: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "data").mkdir(parents=True)
    shutil.copy(portal / "out" / "certificates" / f"{VALID}.json", elsewhere)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HACKEFORS_")}
    env["HACKEFORS_DATA_DIR"] = str(elsewhere / "data")
    done = subprocess.run([command(), "certificate", "verify", f"{VALID}.json", "--keys",
                           f"{BASE}{KEYS_PATH}", "--as-of", "2025-06-01"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{BASE}{KEYS_PATH}" in " ".join(done.stdout.split())
    assert not list((elsewhere / "data").rglob("*.pem"))
