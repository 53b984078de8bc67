"""Both forms of the deployments register with a real Prefect API: from code and from prefect.yaml."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL

from deployments.serve import build_deployments, surveillance_cron
from flows.certify_network import certify_network
from flows.check_certificates import check_certificates
from hackefors import PROJECT_ROOT
from tasks.inputs import SignOff
from tests.conftest import SMALL_AS_OF

pytestmark = pytest.mark.e2e
APPROVED = SignOff(decision="approve", decided_by="Test decision maker")
PREFECT_YAML = PROJECT_ROOT / "deployments" / "prefect.yaml"


def registered() -> dict[str, object]:
    with get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        return {f"{flows[d.flow_id]}/{d.name}": d for d in client.read_deployments()}


def test_the_code_deployments_register_with_their_schedules(store: Path) -> None:
    # Certified, so it gets a surveillance deployment.
    certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED)
    for deployment in build_deployments(as_of=date(2025, 6, 1)):
        deployment.apply()
    found = registered()
    for name in ("send-reminders/daily", "certify-network/on-demand", "check-certificates/daily",
                 "check-portfolio/daily", "check-readiness/weekly-ostgota-small",
                 "check-readiness/weekly-hackefors-blocked", "survey-network/annual-ostgota-small"):
        assert name in found, name
    assert "survey-network/annual-hackefors-blocked" not in found  # not certified: no surveillance
    reminders = found["send-reminders/daily"]
    assert reminders.schedules[0].schedule.cron == "0 6 * * *"  # type: ignore[attr-defined]
    portfolio = found["check-portfolio/daily"]
    assert portfolio.schedules[0].schedule.cron == "45 5 * * *"  # type: ignore[attr-defined]
    survey = found["survey-network/annual-ostgota-small"]
    assert survey.parameters == {"network": "ostgota-small"}  # type: ignore[attr-defined]
    assert survey.schedules[0].schedule.cron == surveillance_cron(date(2026, 3, 3))  # type: ignore[attr-defined]


def test_the_prefect_yaml_deployments_register_with_prefect_deploy(store: Path) -> None:
    with get_client(sync_client=True) as client:
        from prefect.client.schemas.actions import WorkPoolCreate

        with contextlib.suppress(Exception):  # already there from an earlier test in this session
            client.create_work_pool(WorkPoolCreate(name="hackefors", type="process"))
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()),
           "HACKEFORS_HOME": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all",
         "--prefect-file", str(PREFECT_YAML)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    declared = yaml.safe_load(PREFECT_YAML.read_text())["deployments"]
    found = registered()
    for d in declared:
        flow_name = d["entrypoint"].split(":")[1].replace("_", "-")
        assert f"{flow_name}/{d['name']}" in found, d
    assert found["check-certificates/daily"].work_pool_name == "hackefors"  # type: ignore[attr-defined]


def test_the_certificate_check_expires_what_ran_out(store: Path) -> None:
    certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED)
    soon = check_certificates(as_of=date(2027, 12, 31), allow_future=True)
    assert [(n.number, n.days_left) for n in soon] == [("HKF-OSTGOTA-SMALL-2025-01", 62)]
    late = check_certificates(as_of=date(2028, 3, 3), allow_future=True)
    assert late[0].status == "expired"
