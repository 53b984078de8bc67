"""A coordinator's way through the portal, in a real browser: `hackefors serve` (the Prefect server
and the deployments) and `hackefors portal` over a store holding examples/blocked.yaml, where
Lindbergs Bygg (LBY) blocks the training gate. The coordinator asks for a sign-in link, takes it
from the `.eml` the mail path wrote, sees what the company must do, uploads an XLSX with the missing
training (first one with a mistake, whose problems are listed by row and column), imports it and
sees the to-do list shrink and the training gate pass. The import's `hackefors.evidence.recorded`
event makes the readiness deployment's trigger start `check-readiness` for the network, whose
training gate passes for LBY. A second coordinator, of another company, cannot open the first
company's pages.

Chromium as in test_browser.py (Debian's, never downloaded). The screenshots are kept in the test's
folder; with HACKEFORS_README_SCREENSHOTS=1 they are also written to docs/screenshots/, where
docs/portal.md shows them."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.server import free_port
from hackefors import PROJECT_ROOT
from services.accounts import PORTAL
from tests.e2e.test_browser import CHROMIUM_ARGS, STEP_MS, chromium
from tests.integration.test_prefect_server import call, wait_for
from tests.portal.conftest import link_in, read_eml

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HACKEFORS = Path(sys.executable).parent / "hackefors"
NETWORK = "hackefors-blocked"
AS_OF = "1999-02-15"
COORDINATOR = "elisabeth.sjoberg@lby.example.se"  # LBY, short of training
OTHER = "jonas.lindholm@kmv.example.se"  # KMV
PORTAL_PORTS = range(8100, 8120)
PREFECT_PORTS = range(4310, 4320)
SETTLE = 3  # HACKEFORS_READINESS_SETTLE_SECONDS: the trigger's debounce window
RUN_SECONDS = 300
README_SHOTS = PROJECT_ROOT / "docs" / "screenshots"
ATTENDANCE = ["employee_id", "date", "hours", "topics", "trainer"]
ALL_TOPICS = "environmental_basics; ems_and_iso14001; waste_management; industry_impact; legal_requirements"


def environment(folder: Path, home: Path, public_url: str) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(home), "HACKEFORS_DATA_DIR": str(folder / "data"),
           "HACKEFORS_OUTPUT_DIR": str(folder / "out"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "HACKEFORS_PUBLIC_URL": public_url, "HACKEFORS_PORTAL_AS_OF": AS_OF}
    for inherited in ("PREFECT_API_URL", "HACKEFORS_DATABASE_URL", "HACKEFORS_SMTP_HOST"):
        env.pop(inherited, None)
    return env


def hackefors(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(HACKEFORS), *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def served(env: dict[str, str], port: int, log: Path) -> Iterator[httpx.Client]:
    """`hackefors serve` on `port`, as `make ui` starts it; a client of its API. Stopped with Ctrl-C."""
    process = subprocess.Popen([str(HACKEFORS), "serve", "--port", str(port)], cwd=PROJECT_ROOT,
                               env={**env, "PREFECT_RUNNER_POLL_FREQUENCY": "2",
                                    "HACKEFORS_READINESS_SETTLE_SECONDS": str(SETTLE)},
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=30) as client:

            def readiness_trigger() -> bool:
                assert process.poll() is None, log.read_text()[-3000:]
                try:
                    reply = call(client, "GET", f"/deployments/name/check-readiness/weekly-{NETWORK}")
                    if reply.status_code != 200:
                        return False
                    deployment = reply.json()["id"]
                    related = call(client, "GET", f"/automations/related-to/prefect.deployment.{deployment}")
                    return related.status_code == 200 and bool(related.json())
                except httpx.TransportError:
                    return False

            wait_for("the readiness deployment and its trigger", readiness_trigger, timeout=240)
            yield client
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(180)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def training_checks_of(engine_url: str, run_id: str | None, company: str) -> list[Any]:
    """LBY's checks in the training gate: of the run `run_id` as stored, or (None) evaluated today."""
    from datetime import date

    from sqlalchemy import create_engine

    from models.catalogue import Stage
    from services.gates import evaluate, results_of_run
    from services.unit_of_work import SqlAlchemyUnitOfWork

    engine = create_engine(engine_url)
    try:
        uow = SqlAlchemyUnitOfWork(engine)
        if run_id is None:
            result = evaluate(uow, NETWORK, Stage.TRAINING, date.today())
        else:
            result = next(r for r in results_of_run(uow, NETWORK, run_id) if r.stage is Stage.TRAINING)
        return [c for c in result.checks if c.company == company]
    finally:
        engine.dispose()


@contextmanager
def portal(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """`hackefors portal` on `port`, stopped with Ctrl-C as a person stops it; its address."""
    process = subprocess.Popen([str(HACKEFORS), "portal", "--port", str(port)], cwd=PROJECT_ROOT, env=env,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(f"{url}/sign-in", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for("the portal to answer", answers, timeout=120)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def attendance_xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(ATTENDANCE)
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# The missing training of LBY as of 1999-02-15: three people 4 h short and without waste management,
# one new hire with 8 h.
MISSING = [["LBY-E01", "1999-02-10", 4, "waste_management", "Miljöutbildarna AB"],
           ["LBY-E02", "1999-02-10", 4, "waste_management", "Miljöutbildarna AB"],
           ["LBY-E03", "1999-02-10", 4, "waste_management", "Miljöutbildarna AB"],
           ["LBY-E41", "1999-02-11", 22, ALL_TOPICS, "Miljöutbildarna AB"]]


@pytest.fixture
def browser() -> Iterator[Any]:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_a_coordinator_signs_in_from_the_eml_imports_the_missing_training_and_the_gate_passes(
        browser: Any, tmp_path: Path, prefect_home: Path) -> None:
    from playwright.sync_api import expect

    shots = tmp_path / "screenshots"
    shots.mkdir()
    port, prefect_port = free_port(PORTAL_PORTS), free_port(PREFECT_PORTS)
    env = environment(tmp_path, prefect_home, f"http://127.0.0.1:{port}")
    store = f"sqlite:///{tmp_path / 'data' / 'hackefors.sqlite3'}"
    hackefors(env, "import", "examples/blocked.yaml", "--as-of", AS_OF)
    # A readiness check today (as the triggered run makes it): LBY's training is short.
    assert not all(c.passed for c in training_checks_of(store, None, "LBY"))
    hackefors(env, "invite", COORDINATOR, "--role", "coordinator", "--network", NETWORK, "--company", "LBY")
    other_link = hackefors(env, "invite", OTHER, "--role", "coordinator", "--network", NETWORK,
                           "--company", "KMV").split()[-1]
    outbox = tmp_path / "out" / "outbox" / PORTAL  # sign-in emails belong to no network

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=shots / f"portal-{name}.png", full_page=True)
        if os.environ.get("HACKEFORS_README_SCREENSHOTS") == "1":
            README_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shots / f"portal-{name}.png", README_SHOTS / f"portal-{name}.png")

    with served(env, prefect_port, tmp_path / "serve.log") as api, \
            portal({**env, "PREFECT_API_URL": str(api.base_url).rstrip("/")}, port,
                   tmp_path / "portal.log") as url:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(STEP_MS)

        page.goto(f"{url}/sign-in")
        page.get_by_label("Email").fill(COORDINATOR)
        shot(page, "sign-in")
        page.get_by_role("button", name="Send me a sign-in link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        emails = wait_for("the sign-in email", lambda: sorted(outbox.glob("*.eml")), timeout=60)
        message = read_eml(emails[-1])
        assert message["To"] == COORDINATOR
        page.goto(link_in(message))
        page.get_by_role("button", name="Sign in to the hackefors portal").click()

        expect(page.get_by_role("heading", name="What we must do")).to_be_visible()
        items = page.locator("#todo tr.item")
        before = items.count()
        expect(page.locator("#todo")).to_contain_text("Göran Lindqvist: 26 of 30 hours, 4 hours to go")
        expect(page.locator("tr[data-stage=training]")).to_contain_text("blocked")
        shot(page, "todo-before")

        page.get_by_role("link", name="Import").click()
        page.get_by_label("What it holds").select_option("attendance")
        mistaken = attendance_xlsx([*MISSING, ["LBY-E99", "1999-02-30", 4, "gardening", ""]])
        page.get_by_label("File (.csv or .xlsx)").set_input_files(
            {"name": "training.xlsx", "mimeType": "application/octet-stream", "buffer": mistaken})
        page.get_by_role("button", name="Check the file").click()
        problems = page.locator(".problems-table")
        expect(problems).to_contain_text("LBY-E99")
        expect(problems).to_contain_text("date")
        shot(page, "import-problems")

        page.get_by_label("What it holds").select_option("attendance")
        page.get_by_label("File (.csv or .xlsx)").set_input_files(
            {"name": "training.xlsx", "mimeType": "application/octet-stream",
             "buffer": attendance_xlsx(MISSING)})
        page.get_by_role("button", name="Check the file").click()
        expect(page.get_by_text("Ready to import: 2 training session(s), 4 attendance(s)")).to_be_visible()
        shot(page, "import-preview")
        page.get_by_role("button", name="Import all 4 row(s)").click()

        expect(page.get_by_text("Imported training.xlsx.")).to_be_visible()
        expect(page.locator("tr[data-stage=training]")).to_contain_text("passing")
        expect(page.locator("#todo")).not_to_contain_text("short of the required training")
        assert page.locator("#todo tr.item").count() < before
        shot(page, "todo-after")

        # The import announced hackefors.evidence.recorded: the trigger runs check-readiness.
        def triggered_run() -> dict[str, Any] | None:
            runs = call(api, "POST", "/flow_runs/filter", json={"flow_runs": {
                "name": {"any_": [f"check-readiness-{NETWORK}"]}}}).json()
            done = [r for r in runs if not r["auto_scheduled"]
                    and r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
            return done[0] if done else None

        run = wait_for("the triggered check-readiness run", triggered_run, timeout=RUN_SECONDS)
        assert run["created_by"]["type"] == "AUTOMATION", run["created_by"]
        # The run judges the day the portal showed when the training was recorded (issue 30).
        assert run["parameters"] == {"network": NETWORK, "as_of": "1999-02-15"}
        lby = training_checks_of(store, run["id"], "LBY")
        assert lby and all(c.passed for c in lby), lby

        # Another company's coordinator: their own page, and nothing of LBY's.
        other = browser.new_context(viewport={"width": 1280, "height": 700}).new_page()
        other.set_default_timeout(STEP_MS)
        other.goto(other_link)
        other.get_by_role("button", name="Sign in to the hackefors portal").click()
        expect(other.get_by_role("heading", name="What we must do")).to_be_visible()
        expect(other.locator("nav.company")).to_contain_text("Karlssons Mekaniska Verkstad AB")
        for path in ("", "/employees", "/import", "/evidence"):
            response = other.goto(f"{url}/networks/{NETWORK}/companies/LBY{path}")
            assert response is not None and response.status == 404
            expect(other.get_by_role("heading", name="Not found")).to_be_visible()
        shot(other, "other-company")
