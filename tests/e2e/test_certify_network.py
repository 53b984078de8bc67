"""The lifecycle through real Prefect flows: certified, blocked, re-run, retried."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    TaskRunFilter,
    TaskRunFilterName,
)
from pypdf import PdfReader
from sqlalchemy import func, select

from flows.certify_network import certify_network
from models.tables import CertificateRow, GateResultRow
from tasks.inputs import SignOff
from tests.conftest import HACKEFORS_AS_OF, SMALL_AS_OF, inspect_store

pytestmark = pytest.mark.e2e
APPROVED = SignOff(decision="approve", decided_by="Test decision maker")

PLANTED = {
    ("OAK", "group-agreement"), ("HTR", "coordinator"), ("network", "central-coordinator"),
    ("LBY", "training-hours"), ("LBY", "training-topics"), ("SGJ", "legal-compliance"),
    ("TVL", "environmental-review"), ("MLT", "open-majors"), ("MLT", "overdue-actions"),
    ("EKT", "internal-audit-frequency"), ("RSB", "review-inputs"), ("RSB", "review-signed"),
    ("network", "external-majors"), ("network", "recommendation"),
}


def certificates(network: str) -> int:
    with inspect_store() as s:
        return s.scalar(select(func.count()).select_from(CertificateRow)
                        .where(CertificateRow.network_id == network)) or 0


def test_a_ready_network_is_certified_with_a_pdf_and_artifacts(store: Path) -> None:
    state = certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED, return_state=True)
    assert state.is_completed(), state.message
    certificate = state.result()
    assert certificate.number == "HKF-OSTGOTA-SMALL-2025-01"
    assert certificate.valid_until.isoformat() == "2028-03-02"
    assert state.message == (f"certified: {certificate.number} issued, valid 2025-03-03 to 2028-03-02, "
                             f"approved by Test decision maker; files: {certificate.pdf_path} (and .html, "
                             ".json beside it)")
    reader = PdfReader(certificate.pdf_path)
    assert len(reader.pages) == 2
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Valdemarsviks Tryck AB" in text and certificate.number in text
    for key in ("gate-formation-ostgota-small", "gate-external-audit-ostgota-small",
                "gate-decision-ostgota-small", "certification-ostgota-small", "readiness-ostgota-small"):
        assert Artifact.get(key) is not None, key
    table = Artifact.get("gate-training-ostgota-small")
    assert table is not None and table.type == "table" and "training-hours" in str(table.data)
    summary = Artifact.get("certification-ostgota-small")
    assert summary is not None and certificate.number in str(summary.data)
    gap = Artifact.get("gap-analysis-ostgota-small")
    assert gap is not None and gap.type == "markdown" and "No gaps" in str(gap.data)
    report = store / "out" / "reports" / "ostgota-small" / f"gap-ostgota-small-{SMALL_AS_OF}"
    assert report.with_suffix(".html").as_uri() in str(gap.data)
    assert len(PdfReader(report.with_suffix(".pdf")).pages) > 0
    # The report is drawn beside the gates, not after them on the way to the sign-off.
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        drawn = [t for t in client.read_task_runs(task_run_filter=TaskRunFilter(
            name=TaskRunFilterName(any_=["publish-gap-report-ostgota-small"]))) if t.flow_run_id == run_id]
        stages = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])))
    assert len(drawn) == 1 and drawn[0].start_time is not None
    last_gate = max(r.start_time for r in stages if r.name.startswith("audit-network") and r.start_time)
    assert drawn[0].start_time < last_gate


def test_a_report_that_cannot_be_written_does_not_block_certification(store: Path) -> None:
    (store / "out").mkdir(exist_ok=True)
    (store / "out" / "reports").write_text("a file where the reports folder should be")
    state = certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED, return_state=True)
    assert state.is_completed(), state.message
    assert certificates("ostgota-small") == 1
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(
            name=TaskRunFilterName(any_=["publish-gap-report-ostgota-small"])))
    newest = max(runs, key=lambda r: r.created)
    assert newest.flow_run_id == state.state_details.flow_run_id
    assert newest.state and newest.state.is_failed() and newest.run_count == 1  # not transient: no retry


def test_a_rerun_issues_no_second_certificate_and_restores_missing_files(store: Path) -> None:
    first = certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED)
    first.pdf_path.unlink()
    second = certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED)
    assert second.number == first.number and not second.newly_issued
    assert certificates("ostgota-small") == 1
    assert second.pdf_path.read_bytes().startswith(b"%PDF")


def test_a_blocked_network_fails_naming_every_planted_reason(store: Path) -> None:
    state = certify_network(network="hackefors-blocked", as_of=HACKEFORS_AS_OF, sign_off=APPROVED,
                            return_state=True)
    assert state.is_failed()
    message = state.message or ""
    with inspect_store() as s:
        rows = s.scalars(select(GateResultRow).where(
            GateResultRow.network_id == "hackefors-blocked")).all()
    failed = {(c["company"] or "network", c["requirement"])
              for r in rows if r.stage != "decision" for c in r.checks if not c["passed"]}
    assert failed == PLANTED
    for company, requirement in PLANTED:
        who = "network" if company == "network" else f"({company})"  # companies by name and code
        assert f"{who}: {requirement} (" in message, (company, requirement)
    assert "Östgöta Åkeri AB (OAK): group-agreement (IAF MD 1)" in message
    gates = {r.stage: r.passed for r in rows}
    assert gates == {"formation": False, "training": False, "planning": False,
                     "internal_audits": False, "management_review": False,
                     "external_audit": False, "decision": False}
    assert certificates("hackefors-blocked") == 0


def test_a_locked_database_is_retried_and_the_run_then_succeeds(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.db import reset_engines
    from adapters.settings import reset_settings

    monkeypatch.setenv("HACKEFORS_SQLITE_TIMEOUT", "0.2")
    reset_settings()
    reset_engines()
    locked = threading.Event()

    def hold_write_lock() -> None:
        conn = sqlite3.connect(store / "data" / "hackefors.sqlite3", isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(2.5)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_write_lock)
    holder.start()
    locked.wait(5)
    try:
        state = certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED,
                                return_state=True)
    finally:
        holder.join()
    assert state.is_completed(), state.message
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(
            name=TaskRunFilterName(any_=["record-formation-ostgota-small"])))
    run = max(runs, key=lambda r: r.created)
    assert run.run_count >= 2, "the locked write should have been retried"
    assert run.state and run.state.is_completed()




def test_the_readiness_check_publishes_readiness_and_issues_nothing(store: Path) -> None:
    from flows.check_readiness import check_readiness

    assert check_readiness(network="ostgota-small", as_of=SMALL_AS_OF) == 100.0
    blocked = check_readiness(network="hackefors-blocked", as_of=HACKEFORS_AS_OF, return_state=True)
    assert blocked.is_failed() and (blocked.message or "").startswith("readiness 0% (0 of 6 gates passed)")
    assert certificates("ostgota-small") == 0
    progress = Artifact.get("readiness-hackefors-blocked")
    # Readiness counts gates: blocked at all six is 0 %, however many checks are met.
    assert progress is not None and progress.type == "progress" and float(progress.data) == 0
    assert "0 of 6 gates passed, 97% of" in (progress.description or "")
    gap = Artifact.get("gap-analysis-hackefors-blocked")
    assert gap is not None and "14 gap(s) to close" in str(gap.data)


def test_a_refused_sign_off_issues_nothing_and_says_who_refused(store: Path) -> None:
    refused = SignOff(decision="refuse", decided_by="Karin Holm, Altea", comment="binder 2 not seen")
    state = certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=refused,
                            return_state=True)
    assert state.is_failed()
    expected = "sign-off (ISO/IEC 17021-1): refused by Karin Holm, Altea: binder 2 not seen"
    assert expected in (state.message or "")
    assert certificates("ostgota-small") == 0


def test_an_attended_run_pauses_for_the_sign_off_and_a_timeout_reminds_the_central_coordinator(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off_timeout=2,
                            return_state=True)
    written = list((store / "out" / "outbox" / "ostgota-small").glob("*.eml"))
    assert len(written) == 1
    assert b"waits for its sign-off" in written[0].read_bytes().replace(b"=\r\n", b"")
    # Prefect itself ends a run whose pause timed out: Failed, "never resumed".
    assert state.is_failed() and "never resumed" in (state.message or "")
    assert certificates("ostgota-small") == 0


def test_an_attended_run_asks_the_auditors_then_the_decision_maker(store: Path) -> None:
    import threading
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.flow_runs import resume_flow_run

    from tests.conftest import build, example_data, save

    data = example_data("small")
    data["external_audits"][1]["recommendation"] = "pending"
    save(build(data))
    outcome: dict[str, object] = {}
    runner = threading.Thread(target=lambda: outcome.update(state=certify_network(
        network="ostgota-small", as_of=SMALL_AS_OF, return_state=True)))
    runner.start()

    def paused(name: str) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with get_client(sync_client=True) as client:
                runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                    name=FlowRunFilterName(any_=[name])))
            waiting = [r for r in runs if r.state and r.state.is_paused()]
            if waiting:
                return str(waiting[0].id)
            time.sleep(0.5)
        raise AssertionError(f"{name} never paused")

    resume_flow_run(paused("audit-network-ostgota-small"), run_input={
        "recommendation": "recommended", "lead_auditor": "Gösta Wennberg", "note": "no majors"})
    signing = paused("certify-network-ostgota-small")
    from prefect.input.actions import read_flow_run_input

    with get_client(sync_client=True) as client:
        keyset = client.read_flow_run(signing).state.state_details.run_input_keyset  # type: ignore[union-attr]
    brief = str(read_flow_run_input(keyset["description"], flow_run_id=signing))
    for shown in ("as of 2025-03-03", "valid 2025-03-03 to 2028-03-02", "Valdemarsviks Tryck AB (VTR)",
                  "Open minor findings", "⋮ menu → **Resume**", f"gap-ostgota-small-{SMALL_AS_OF}.pdf",
                  "readiness 100%: 6 of 6 gates passed"):
        assert shown in brief, shown
    resume_flow_run(signing, run_input={
        "decision": "approve", "decided_by": "Karin Holm, Altea", "comment": ""})
    runner.join(120)
    state = outcome["state"]
    assert state.is_completed(), state.message  # type: ignore[attr-defined]
    assert certificates("ostgota-small") == 1
    with inspect_store() as session:
        from models.tables import ExternalAuditRow

        audit = session.get(ExternalAuditRow, ("ostgota-small", "EXT-S2"))
        assert audit is not None and audit.recommendation == "recommended"


def test_gate_and_certificate_events_reach_prefect(store: Path) -> None:
    from tests.e2e.conftest import events_seen

    certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED)
    certify_network(network="hackefors-blocked", as_of=HACKEFORS_AS_OF, sign_off=APPROVED,
                    return_state=True)
    wanted = {("hackefors.gate.passed", "hackefors.network.ostgota-small"),
              ("hackefors.certificate.issued", "hackefors.network.ostgota-small"),
              ("hackefors.gate.failed", "hackefors.network.hackefors-blocked")}
    seen = events_seen(wanted)
    assert wanted <= seen, seen
    # An event's card shows its resource's name: the network's name and the stage, in words.
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        reply = client._client.post("/events/filter", json={
            "filter": {"event": {"name": ["hackefors.gate.passed"]},
                       "resource": {"id": ["hackefors.network.ostgota-small"]}}, "limit": 50})
    names = {e["resource"]["prefect.resource.name"] for e in reply.json()["events"]}
    assert "Östgöta Småföretag Miljönätverk: training gate" in names, names


def test_an_attended_run_of_a_blocked_network_asks_nobody(store: Path) -> None:
    """The blocked example's certification audit has no recommendation yet, but five gates already
    fail: asking the auditors could not lead to a certificate, so the run never pauses."""
    from prefect.client.orchestration import get_client

    state = certify_network(network="hackefors-blocked", as_of=HACKEFORS_AS_OF, sign_off_timeout=600,
                            report=False, return_state=True)
    assert state.is_failed() and (state.message or "").startswith("not certified:")
    with get_client(sync_client=True) as client:
        runs = [r for r in client.read_flow_runs(limit=200) if r.name.endswith("-hackefors-blocked")]
        paused = [r.name for r in runs for st in client.read_flow_run_states(r.id) if st.is_paused()]
    assert any(r.name == "audit-network-hackefors-blocked" for r in runs) and paused == []
