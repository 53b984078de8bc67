"""Everything a full `make run` and the portal's sign-in write is owner-only: every folder 0700,
every file 0600 (the store, its keys, the certificates and the gap report, Prefect's log and home,
the sign-in emails holding live links, the portal's key, a previewed spreadsheet, an evidence file),
on SQLite and on PostgreSQL, whatever the umask says."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hackefors import PROJECT_ROOT
from tests.conftest import postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BASE_URL = "http://portal.test"


def written(*roots: Path) -> Iterator[tuple[Path, int]]:
    for root in roots:
        yield root, stat.S_IMODE(root.stat().st_mode)
        for folder, folders, files in os.walk(root):
            for name in folders + files:
                path = Path(folder) / name
                yield path, stat.S_IMODE(path.lstat().st_mode)


def sign_in_through_the_portal(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ask for a sign-in link as the operator, sign in with it, preview a roster and store an
    evidence file, through the portal's pages."""
    from adapters.db import reset_engines
    from adapters.settings import reset_settings
    from portal.app import create_app

    subprocess.run(
        [
            str(PROJECT_ROOT / ".venv" / "bin" / "hackefors"),
            "invite",
            "op@consult.example",
            "--role",
            "operator",
        ],
        check=True,
        capture_output=True,
        env=os.environ | {},
    )
    reset_settings()
    reset_engines()
    with TestClient(create_app(), base_url=BASE_URL) as client:
        page = client.get("/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert client.post("/sign-in", data={"csrf": csrf, "email": "op@consult.example"}).status_code == 200
        assert client.app.state.sign_in_mail.drain()  # type: ignore[attr-defined]
        [eml] = (folder / "out" / "outbox" / "(portal)").glob("*.eml")
        link = re.search(rb"/sign-in/[\w-]+", eml.read_bytes()).group(0).decode()  # type: ignore[union-attr]
        confirm = client.get(link)
        csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
        assert client.post(link, data={"csrf": csrf}).status_code == 200
        company = "/networks/hackefors/companies/KMV"
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(company + "/import").text).group(1)  # type: ignore[union-attr]
        roster = b"employee_id,name,hired_on\nKMV-NEW-1,Ny Person,1999-01-04\n"
        preview = client.post(
            company + "/import",
            data={"csrf": csrf, "kind": "roster"},
            files={"file": ("r.csv", roster, "text/csv")},
        )
        assert preview.status_code == 200, preview.text[:500]
        evidence = client.post(
            company + "/evidence",
            data={"csrf": csrf},
            files={"file": ("policy.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        )
        assert evidence.status_code == 200, evidence.text[:500]
    reset_settings()
    reset_engines()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_full_run_and_a_sign_in_write_nothing_anyone_else_may_read(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "HACKEFORS_DATA_DIR": tmp_path / "data",
        "HACKEFORS_OUTPUT_DIR": tmp_path / "out",
        "PREFECT_HOME": tmp_path / ".prefect",
        "HACKEFORS_PUBLIC_URL": BASE_URL,
        "HACKEFORS_PORTAL_AS_OF": "1999-02-15",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    for inherited in ("PREFECT_API_URL", "HACKEFORS_SMTP_HOST", "HACKEFORS_DATABASE_URL"):
        monkeypatch.delenv(inherited, raising=False)
    os.umask(old := os.umask(0o022))  # what a login shell usually gives
    try:
        with postgres_database() if store == "postgres" else contextlib.nullcontext() as engine:
            if engine is not None:
                monkeypatch.setenv("HACKEFORS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
            done = subprocess.run(
                ["make", "--no-print-directory", "run"],
                cwd=PROJECT_ROOT,
                env=os.environ | {},
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            sign_in_through_the_portal(tmp_path, monkeypatch)
            if engine is not None:
                engine.dispose()
    finally:
        os.umask(old)
    found = dict(written(tmp_path / "data", tmp_path / "out", tmp_path / ".prefect"))
    assert any(p.suffix == ".eml" for p in found) and any(p.suffix == ".pdf" for p in found)
    assert (tmp_path / "data" / "keys" / "certificate-signing.pem") in found
    assert any("portal-uploads" in p.parts for p in found)
    loose = {
        str(p.relative_to(tmp_path)): oct(mode)
        for p, mode in found.items()
        if mode != (0o700 if p.is_dir() else 0o600)
    }
    assert not loose, loose
