"""The auditors in the portal: the lead auditor records the recommendation of a certification
audit, and the certification run that was paused waiting for it resumes through Prefect's API
with the same typed input, goes on to the sign-off and issues the certificate. The history names
the auditor."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.flow_runs import resume_flow_run

from flows.certify_network import certify_network
from models.accounts import Role
from services.accounts import invite
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import SMALL_AS_OF, build, example_data, save
from tests.portal.conftest import csrf_of, follow_link

pytestmark = pytest.mark.e2e

NETWORK = "ostgota-small"
AUDITOR = "lead.auditor@nordisk-cert.example"
BASE_URL = "http://portal.test"
PAGE = f"/networks/{NETWORK}/external-audits"


def paused(name: str, timeout: float = 180) -> str:
    """The id of the flow run called `name` once it is paused."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name])))
        waiting = [r for r in runs if r.state and r.state.is_paused()]
        if waiting:
            return str(waiting[0].id)
        time.sleep(0.5)
    raise AssertionError(f"{name} never paused")


@pytest.fixture
def portal(store: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    from adapters.settings import reset_settings
    from portal.app import create_app

    monkeypatch.setenv("HACKEFORS_PUBLIC_URL", BASE_URL)
    monkeypatch.setenv("HACKEFORS_PORTAL_AS_OF", SMALL_AS_OF.isoformat())
    monkeypatch.setenv("HACKEFORS_PORTAL_SECRET_KEY", "a key for tests only")
    reset_settings()
    return TestClient(create_app(), base_url=BASE_URL)


def test_the_auditors_recommendation_in_the_portal_resumes_the_paused_run_which_issues_the_certificate(
        portal: TestClient) -> None:
    data = example_data("small")
    data["external_audits"][1]["recommendation"] = "pending"
    save(build(data))
    _, link = invite(SqlAlchemyUnitOfWork(), AUDITOR, Role.AUDITOR, NETWORK, None, "test", BASE_URL)
    outcome: dict[str, object] = {}
    runner = threading.Thread(target=lambda: outcome.update(state=certify_network(
        network=NETWORK, as_of=SMALL_AS_OF, return_state=True)))
    runner.start()
    try:
        waiting = paused(f"audit-network-{NETWORK}")
        with portal:
            assert follow_link(portal, link).status_code == 303  # type: ignore[attr-defined]
            page = portal.get(PAGE)
            assert page.status_code == 200
            assert "Record the recommendation" in page.text and "pending" in page.text
            assert "visited 2 of 3 (at least 2) and the central function" in page.text
            answer = portal.post(f"{PAGE}/EXT-S2/recommendation", data={
                "csrf": csrf_of(page.text), "recommendation": "recommended",
                "lead_auditor": "Gösta Wennberg", "note": "No majors; one minor with an accepted plan."})
            assert answer.status_code == 200, answer.text
            assert "Recorded: recommended for audit EXT-S2" in answer.text
            assert "was resumed (1 run)" in answer.text
        # The run goes on: its audit gate passes and it waits for the decision maker.
        signing = paused(f"certify-network-{NETWORK}")
        with get_client(sync_client=True) as client:
            assert not client.read_flow_run(waiting).state.is_paused()  # type: ignore[union-attr]
        resume_flow_run(signing, run_input={"decision": "approve", "decided_by": "Karin Holm, Altea",
                                            "comment": ""})
    finally:
        runner.join(240)
    state = outcome["state"]
    assert state.is_completed(), state.message  # type: ignore[attr-defined]
    assert "certified: HKF-OSTGOTA-SMALL-2025-01 issued" in (state.message or "")  # type: ignore[attr-defined]

    with SqlAlchemyUnitOfWork() as uow:
        entries = [e for e in uow.history.newest(NETWORK, 200)
                   if e.entity == "external_audits" and e.entity_id == "EXT-S2" and e.source != "file"]
    assert len(entries) == 1  # the run handed the same answer on: nothing recorded twice
    (entry,) = entries
    assert entry.actor == f"portal:{AUDITOR} (auditor)" and entry.source == "portal"
    assert entry.detail == {"recommendation": ["pending", "recommended"], "lead_auditor": "Gösta Wennberg",
                            "note": "No majors; one minor with an accepted plan."}


def test_only_the_networks_auditor_records_a_recommendation(portal: TestClient) -> None:
    _, auditor = invite(SqlAlchemyUnitOfWork(), AUDITOR, Role.AUDITOR, NETWORK, None, "test", BASE_URL)
    _, operator = invite(SqlAlchemyUnitOfWork(), "op@altea.example", Role.OPERATOR, None, None, "test",
                         BASE_URL)
    with portal:
        assert follow_link(portal, operator).status_code == 303  # type: ignore[attr-defined]
        page = portal.get(PAGE)
        assert page.status_code == 200 and "Record the recommendation" not in page.text
        refused = portal.post(f"{PAGE}/EXT-S2/recommendation", data={
            "csrf": csrf_of(page.text), "recommendation": "not_recommended", "lead_auditor": "X"})
        assert refused.status_code == 404
        portal.cookies.clear()
        assert follow_link(portal, auditor).status_code == 303  # type: ignore[attr-defined]
        page = portal.get(PAGE)
        bad = portal.post(f"{PAGE}/EXT-S2/recommendation", data={
            "csrf": csrf_of(page.text), "recommendation": "maybe", "lead_auditor": "  "})
        assert bad.status_code == 400 and "Nothing was recorded" in bad.text
        unknown = portal.post(f"{PAGE}/NOPE/recommendation", data={
            "csrf": csrf_of(page.text), "recommendation": "recommended", "lead_auditor": "G"})
        assert unknown.status_code == 404
    with SqlAlchemyUnitOfWork() as uow:
        assert uow.networks.load(NETWORK, parts={"external_audits"}).external_audits[1].recommendation == \
            "recommended"  # as the example file has it: nothing changed
