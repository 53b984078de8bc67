"""Schedules fire: `hackefors serve` schedules its deployments' runs and runs a due one to the end,
with nobody triggering it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from deployments.server import free_port, stop
from hackefors import PROJECT_ROOT
from tests.conftest import assert_server_log_clean
from tests.integration.test_prefect_server import call, wait_for

pytestmark = pytest.mark.e2e
HACKEFORS = Path(sys.executable).parent / "hackefors"  # the console script, as operators run it
STOCKHOLM = ZoneInfo("Europe/Stockholm")
# Each scheduled deployment of the small example, and when its runs start (Stockholm time).
SCHEDULED = {"send-reminders/daily": "06:00", "check-certificates/daily": "05:30",
             "check-portfolio/daily": "05:45", "check-readiness/weekly-ostgota-small": "Mon 05:00"}


@contextmanager
def hackefors_serve(home: Path, folder: Path) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    """`hackefors serve` on a free port over a store holding the small example: an API client and
    the process, which is stopped with Ctrl-C (SIGINT) as an operator stops it."""
    env = {**os.environ, "PREFECT_HOME": str(home), "HACKEFORS_DATA_DIR": str(folder / "data"),
           "HACKEFORS_OUTPUT_DIR": str(folder / "out"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1",
           # Prefect's own settings, so that the test waits seconds, not minutes: the server's
           # scheduler fills schedules every 2 s (default 60), the runner asks for due runs every 2 s.
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2", "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    for inherited in ("PREFECT_API_URL", "HACKEFORS_DATABASE_URL"):
        env.pop(inherited, None)
    subprocess.run([HACKEFORS, "import", "examples/small.yaml", "--as-of", "2025-03-03"],
                   cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen([HACKEFORS, "serve", "--port", str(port)], cwd=PROJECT_ROOT, env=env,
                               stdout=(folder / "serve.log").open("wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=30) as client:

            def answers() -> bool:
                assert process.poll() is None, (folder / "serve.log").read_text()[-3000:]
                try:
                    return client.get("/health").status_code == 200
                except httpx.TransportError:
                    return False

            wait_for("the server to answer", answers, timeout=180)
            yield client, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(180)  # a loaded machine drains logs and stops the server slowly
        finally:
            stop(process)  # only if Ctrl-C did not stop it


def test_served_deployments_are_scheduled_and_a_due_run_completes_by_itself(
        prefect_home: Path, tmp_path: Path) -> None:
    with hackefors_serve(prefect_home, tmp_path) as (client, serve):

        def healthy(probe: Any) -> Any:
            """`probe`, failing at once when the server logged an error (the scheduler's traceback)
            or `hackefors serve` exited, rather than waiting for a run that never comes."""
            def checked() -> Any:
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                assert_server_log_clean(prefect_home)
                return probe()
            return checked

        def deployment(name: str) -> Any:
            reply = call(client, "GET", f"/deployments/name/{name}")
            return reply.json() if reply.status_code == 200 else None

        def runs(deployment_ids: list[str]) -> list[dict[str, Any]]:
            return call(client, "POST", "/flow_runs/filter", json={
                "flow_runs": {"deployment_id": {"any_": deployment_ids}}, "sort": "EXPECTED_START_TIME_ASC",
            }).json()

        def served() -> dict[str, str] | None:
            found = {name: deployment(name) for name in SCHEDULED}
            return {name: d["id"] for name, d in found.items()} if all(found.values()) else None

        ids = wait_for("the scheduled deployments to be served", healthy(served), timeout=120)

        def first_scheduled() -> dict[str, str] | None:
            first: dict[str, str] = {}
            for run in runs(list(ids.values())):
                if run["state_type"] == "SCHEDULED":
                    first.setdefault(run["deployment_id"], run["expected_start_time"])
            return first if len(first) == len(ids) else None

        upcoming = wait_for("upcoming scheduled runs", healthy(first_scheduled), timeout=60)
        for name, deployment_id in ids.items():
            start = datetime.fromisoformat(upcoming[deployment_id]).astimezone(STOCKHOLM)
            assert start > datetime.now(UTC), name
            assert start.strftime("%a %H:%M").endswith(SCHEDULED[name]), (name, start)

        # A daily schedule anchored a few seconds ahead (the scheduler looks every 2 s): one run
        # due now, the next tomorrow.
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)
        checks = ids["check-certificates/daily"]
        added = call(client, "POST", f"/deployments/{checks}/schedules", json=[
            {"schedule": {"interval": 86400, "anchor_date": soon.isoformat(), "timezone": "UTC"},
             "active": True}])
        assert added.status_code == 201, added.text
        schedule_id = added.json()[0]["id"]

        def due_run() -> dict[str, Any] | None:
            mine = [r for r in runs([checks]) if (r["created_by"] or {}).get("id") == schedule_id]
            return mine[0] if mine else None

        run = wait_for("the scheduler to create the due run", healthy(due_run), timeout=30)
        assert datetime.fromisoformat(run["expected_start_time"]) == soon

        def finished() -> str | None:
            state = call(client, "GET", f"/flow_runs/{run['id']}").json()["state_type"]
            return state if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

        assert wait_for("the served runner to run it", healthy(finished), timeout=90) == "COMPLETED"
    assert serve.returncode == 0
    log = (tmp_path / "serve.log").read_text()
    assert "Stopped." in log
    # A fresh server: no portfolio published yet, so it points at the artifacts page and says so.
    assert re.search(r"Portfolio: http://127\.0\.0\.1:\d+/artifacts \(no check-portfolio run", log), log
