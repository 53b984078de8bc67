"""The portfolio through a real Prefect API: every network's gates in one run, rows true to the rules."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from sqlalchemy import select

from deployments.server import portfolio_page
from flows.certify_network import certify_network
from flows.check_portfolio import check_portfolio
from models.catalogue import Stage
from models.certification import CertificateStatus
from models.gates import CERTIFICATION_GATES, evaluate_gate, policy_for
from models.portfolio import Group
from models.tables import GateResultRow
from services.networks import load_network
from services.unit_of_work import SqlAlchemyUnitOfWork
from tasks.inputs import SignOff
from tests.conftest import HACKEFORS_AS_OF, build, example_data, inspect_store, save

pytestmark = pytest.mark.e2e
APPROVED = SignOff(decision="approve", decided_by="Test decision maker")


def portfolio_events(run_id: str, timeout: float = 30) -> list[dict]:  # type: ignore[type-arg]
    """The `hackefors.portfolio.checked` events of one run (the server stores events a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            reply = client._client.post("/events/filter", json={
                "filter": {"event": {"name": ["hackefors.portfolio.checked"]}}, "limit": 50})
        found = [e for e in reply.json()["events"] if e["payload"].get("run_id") == run_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def test_the_portfolio_checks_every_network_in_one_run_true_to_the_gate_rules(store: Path) -> None:
    save(build(example_data("hackefors")))
    issued = certify_network(network="hackefors", as_of=HACKEFORS_AS_OF, sign_off=APPROVED, report=False)

    state = check_portfolio(as_of=HACKEFORS_AS_OF, batch_size=2, return_state=True)
    assert state.is_completed(), state.message  # blocked networks are a finding, not a failed run
    checked = state.result()
    run_id = str(state.state_details.flow_run_id)

    assert [(r.network_id, r.group) for r in checked.rows] == [
        ("hackefors-blocked", Group.ACT_NOW), ("ostgota-small", Group.ON_TRACK),
        ("hackefors", Group.CERTIFIED)]
    for row in checked.rows:
        network = load_network(SqlAlchemyUnitOfWork(), row.network_id)
        policy = policy_for(network)
        gates = {s: evaluate_gate(s, network, HACKEFORS_AS_OF, policy) for s in CERTIFICATION_GATES}
        assert row.gates_passed == sum(g.passed for g in gates.values()), row.network_id
        assert set(row.blocking) - {Stage.SURVEILLANCE} == {s for s, g in gates.items() if not g.passed}
        assert row.unmet >= sum(len(g.blockers) for g in gates.values())
    blocked, small, certified = checked.rows
    assert blocked.blocking == CERTIFICATION_GATES and blocked.unmet == 14
    assert blocked.deadline is not None and blocked.deadline.company == "LBY"
    assert small.blocking == (Stage.FORMATION, Stage.EXTERNAL_AUDIT)
    assert certified.blocking == () and certified.certificate is not None
    held = certified.certificate
    assert (held.number, held.status, held.valid_until) == (issued.number, CertificateStatus.VALID,
                                                            issued.valid_until)

    with inspect_store() as s:
        stored = s.execute(select(GateResultRow.network_id, GateResultRow.stage, GateResultRow.passed)
                           .where(GateResultRow.run_id == run_id)).all()
    assert len(stored) == 3 * 6 + 1  # six gates each, and surveillance of the certified network
    assert {(n, st) for n, st, passed in stored if not passed} == {
        ("hackefors-blocked", s.value) for s in CERTIFICATION_GATES} | {
        ("ostgota-small", "formation"), ("ostgota-small", "external_audit")}

    table = Artifact.get("portfolio")
    assert table is not None and table.type == "table"
    rows = json.loads(str(table.data))
    assert [r["network"] for r in rows] == ["hackefors-blocked", "ostgota-small", "hackefors"]
    assert rows[2]["certificate"] == f"{issued.number} (valid)" and rows[0]["gates"] == "0/6"
    grouped = Artifact.get("portfolio-by-group")
    assert grouped is not None and grouped.type == "markdown"
    markdown = str(grouped.data)
    assert markdown.index("## Act now (1)") < markdown.index("hackefors-blocked") < markdown.index(
        "## On track (1)") < markdown.index("ostgota-small") < markdown.index("## Certified (1)")

    (event,) = portfolio_events(run_id)
    assert event["resource"]["prefect.resource.id"] == "hackefors.portfolio"
    payload = event["payload"]
    assert (payload["act_now"], payload["on_track"], payload["certified"]) == (1, 1, 1)

    # What `hackefors serve` prints: the artifact's page once a run published it, else the artifacts page.
    page, published = portfolio_page("http://ui")
    assert page == "http://ui/artifacts/key/portfolio" and published
    assert portfolio_page("http://ui", key="portfolio-never-published") == ("http://ui/artifacts", None)


def test_a_shard_checks_only_its_networks_under_its_own_key(store: Path) -> None:
    state = check_portfolio(as_of=HACKEFORS_AS_OF, networks=["ostgota-small"], shard="east",
                            return_state=True)
    assert state.is_completed(), state.message
    assert [r.network_id for r in state.result().rows] == ["ostgota-small"]
    table = Artifact.get("portfolio-east")
    assert table is not None and [r["network"] for r in json.loads(str(table.data))] == ["ostgota-small"]
    unknown = check_portfolio(as_of=HACKEFORS_AS_OF, networks=["nowhere"], return_state=True)
    assert unknown.is_failed() and "nowhere" in (unknown.message or "")
