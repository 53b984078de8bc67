"""A wrong parameter fails a run at once: an unknown network, or a day still to come, ends the run
before its first stage with one line (the known networks named), no stage run and no artifact."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
)

from flows.certify_network import certify_network
from flows.check_portfolio import check_portfolio
from flows.check_readiness import check_readiness
from flows.send_reminders import send_reminders
from flows.survey_network import survey_network

pytestmark = pytest.mark.e2e
KNOWN = "known networks: hackefors-blocked, ostgota-small"


def children_and_artifacts(run_id: UUID) -> tuple[int, int]:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])))
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    return len(runs), len(artifacts)


@pytest.mark.parametrize("flow", [certify_network, check_readiness, survey_network])
def test_an_unknown_network_fails_before_the_first_stage_in_one_line(store: Path, flow: object) -> None:
    started = time.monotonic()
    state = flow(network="nope", as_of=date(2025, 3, 3), return_state=True)  # type: ignore[operator]
    assert state.is_failed()
    assert state.message == f"no network 'nope' in the store; {KNOWN}"
    assert "\n" not in state.message
    assert children_and_artifacts(state.state_details.flow_run_id) == (0, 0)
    assert time.monotonic() - started < 10  # not seven stages' worth


def test_the_other_flows_refuse_an_unknown_network_too(store: Path) -> None:
    reminders = send_reminders(network="nope", as_of=date(2025, 3, 3), return_state=True)
    portfolio = check_portfolio(networks=["ostgota-small", "nope"], as_of=date(2025, 3, 3), return_state=True)
    for state in (reminders, portfolio):
        assert state.is_failed() and state.message == f"no network 'nope' in the store; {KNOWN}"
        assert children_and_artifacts(state.state_details.flow_run_id)[1] == 0


def test_a_day_to_come_is_refused_unless_the_run_allows_it(store: Path) -> None:
    tomorrow = date.today() + timedelta(days=1)
    state = check_readiness(network="ostgota-small", as_of=tomorrow, return_state=True)
    assert state.is_failed() and state.message.startswith(f"as_of {tomorrow} is after today")
    assert "allow_future" in state.message
    assert children_and_artifacts(state.state_details.flow_run_id) == (0, 0)
    allowed = check_readiness(network="ostgota-small", as_of=tomorrow, report=False, allow_future=True,
                              return_state=True)
    assert "after today" not in (allowed.message or "")  # it ran: the gates judged the network
    assert children_and_artifacts(allowed.state_details.flow_run_id)[0] == 6
