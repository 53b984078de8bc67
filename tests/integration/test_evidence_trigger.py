"""Recorded evidence moves readiness by itself: a real `prefect server start`, the deployments
served (`python -m deployments.serve`), two writes through the evidence services in quick
succession (their `hackefors.evidence.recorded` events go to the server), and the readiness
deployment's event trigger starts one debounced `check-readiness` run for that network only, which
completes, evaluated on the day the writes were (the portal's HACKEFORS_PORTAL_AS_OF: the example's
own day, not today). The server's log is checked for errors (the `prefect_home` fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from deployments.server import free_port, start_server, stop
from hackefors import PROJECT_ROOT
from models.evidence import Actor, NewEmployee, Role, Source, TrainingRecord
from tests.conftest import SMALL_AS_OF, build, example_data, save
from tests.integration.test_prefect_server import call, wait_for

pytestmark = pytest.mark.e2e

PORTS = range(4320, 4330)  # the Prefect ports of this work; the first one free is used


def free_prefect_port() -> int:
    """The first port of PORTS nothing listens on (another checkout may be running this test)."""
    try:
        return free_port(PORTS)
    except RuntimeError as exc:
        pytest.skip(str(exc))
SETTLE = 20  # seconds: HACKEFORS_READINESS_SETTLE_SECONDS for this test
NETWORK = "ostgota-small"


def test_recorded_evidence_starts_one_debounced_readiness_run_for_its_network(
    prefect_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.events.clients import PrefectEventsClient
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from adapters.db import get_engine, reset_engines
    from adapters.settings import reset_settings
    from services import evidence
    from tasks.events import recording_unit_of_work

    today = SMALL_AS_OF  # the portal's day, as HACKEFORS_PORTAL_AS_OF sets it for the example
    store = tmp_path / "data"
    store.mkdir()
    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(store))
    monkeypatch.setenv("HACKEFORS_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("HACKEFORS_DATABASE_URL", raising=False)
    reset_settings()
    reset_engines()
    engine = get_engine()
    save(build(example_data("small")), engine)
    save(build(example_data("blocked")), engine)

    server, api = start_server(prefect_home, port=free_prefect_port())
    env = {
        **os.environ,
        "PREFECT_API_URL": api,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "HACKEFORS_READINESS_SETTLE_SECONDS": str(SETTLE),
    }
    runner = subprocess.Popen(
        [sys.executable, "-m", "deployments.serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=(tmp_path / "serve.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with httpx.Client(base_url=api, timeout=30) as client:

            def deployment(name: str) -> Any:
                reply = call(client, "GET", f"/deployments/name/check-readiness/{name}")
                return reply.json() if reply.status_code == 200 else None

            def automations(deployment_id: str) -> list[dict[str, Any]]:
                reply = call(client, "GET", f"/automations/related-to/prefect.deployment.{deployment_id}")
                return reply.json() if reply.status_code == 200 else []

            ours = wait_for("the readiness deployment", lambda: deployment(f"weekly-{NETWORK}"))
            other = wait_for("the other network's", lambda: deployment("weekly-hackefors-blocked"))
            (automation,) = wait_for("its trigger", lambda: automations(ours["id"]))
            trigger = automation["trigger"]
            assert trigger["expect"] == ["hackefors.evidence.recorded"]
            assert trigger["match"] == {"prefect.resource.id": f"hackefors.network.{NETWORK}"}
            assert (trigger["posture"], trigger["threshold"], trigger["within"]) == ("Reactive", 1, SETTLE)

            coordinator = Actor(
                email="malin.gustafsson@nsm.example.se",
                role=Role.COORDINATOR,
                source=Source.PORTAL,
                network=NETWORK,
                company="NSM",
            )
            # Prefect keeps one events worker per client type, whatever its API URL: one left by an earlier
            # test (the e2e harness's server) would take these events. This test's server gets its own.
            EventsWorker.set_client_override(PrefectEventsClient, api_url=api)
            with temporary_settings({PREFECT_API_URL: api}):
                uow = recording_unit_of_work()
                evidence.add_employee(
                    uow,
                    NETWORK,
                    "NSM",
                    NewEmployee(id="NSM-E15", name="Ny Anställd", hired_on=today - timedelta(days=400)),
                    coordinator,
                    today=today,
                )
                evidence.record_training(
                    uow,
                    NETWORK,
                    "NSM",
                    TrainingRecord(
                        date=today,
                        hours=30,
                        topics=(
                            "environmental_basics",
                            "ems_and_iso14001",
                            "waste_management",
                            "industry_impact",
                            "legal_requirements",
                        ),
                        attendees=("NSM-E15",),
                    ),
                    coordinator,
                    today=today,
                )
                EventsWorker.drain_all(timeout=60)
            EventsWorker.set_client_override(None)

            def recorded() -> list[dict[str, Any]]:
                reply = call(client, "POST", "/events/filter",
                             json={"filter": {"event": {"name": ["hackefors.evidence.recorded"]}}})
                found = reply.json()["events"] if reply.status_code == 200 else []
                return found if len(found) == 2 else []

            events = wait_for("both events to reach the server", recorded, timeout=120)
            assert [e["payload"]["kind"] for e in sorted(events, key=lambda e: e["occurred"])] == [
                "employee", "training"]

            def runs(deployment_id: str) -> list[dict[str, Any]]:
                """The deployment's runs but those its weekly schedule created ahead."""
                reply = call(client, "POST", "/flow_runs/filter",
                             json={"flow_runs": {"deployment_id": {"any_": [deployment_id]}}})
                return [r for r in reply.json() if not r["auto_scheduled"]]

            def finished() -> dict[str, Any] | None:
                found = runs(ours["id"])
                done = [r for r in found if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")]
                return done[0] if done else None

            run = wait_for("the triggered readiness run to finish", finished, timeout=300)
            assert run["state_type"] == "COMPLETED", run["state"]
            assert run["parameters"] == {"network": NETWORK, "as_of": SMALL_AS_OF.isoformat()}
            assert run["created_by"]["type"] == "AUTOMATION", run["created_by"]
            # Debounced: two writes within the window start one run (on a machine so busy that the second
            # came after the window, it opens the next window: two runs); nothing for the other network.
            first, second = (datetime.fromisoformat(e["occurred"]) for e in
                             sorted(events, key=lambda e: e["occurred"]))
            expected = 1 if (second - first).total_seconds() < SETTLE else 2
            assert len(wait_for("every triggered run", lambda: len(runs(ours["id"])) >= expected and
                                runs(ours["id"]))) == expected
            assert runs(other["id"]) == []
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT network_id, stage, passed FROM gate_results WHERE run_id = :run"),
                {"run": run["id"]},
            ).all()
        assert {r.network_id for r in stored} == {NETWORK} and len(stored) == 6
        # Hired 400 days ago (past the grace period): the training gate passes only with their 30 h counted.
        assert next(r.passed for r in stored if r.stage == "training")
    finally:
        EventsWorker.set_client_override(None)
        stop(runner)
        stop(server)
        engine.dispose()
        reset_settings()
        reset_engines()
