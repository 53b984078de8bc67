"""Surveillance timeliness, derived from the audit records: a late audit is never forgotten."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.settings import reset_settings
from models.catalogue import Stage
from models.certification import (
    CertificateStatus,
    check_surveillance,
    lapse_events,
    status_as_of,
    status_history,
    surveillance_dues,
)
from models.dates import add_years
from models.gates import evaluate_gate
from models.network import Certificate, Network
from models.policy import DEFAULT_POLICY
from models.programme import SurveillanceVerdict, audit_programme
from services import certificates, networks
from tests.conftest import SMALL_AS_OF, build, example_data
from tests.fakes import FakeUnitOfWork

S = CertificateStatus
D = date.fromisoformat
DUE = D("2026-03-03")  # 12 months after the small network's decision on 2025-03-03
NUMBER = "HKF-OSTGOTA-SMALL-2025-01"


def surveillance(end: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"SURV-{end}", "kind": "surveillance", "start": end, "end": end,
            "certification_body": "Nordisk Certifiering AB", "lead_auditor": "Gösta Wennberg",
            "companies_visited": ["NSM", "VTR"], "recommendation": "recommended", **extra}


def certified(*audits: dict[str, Any], issued: date = SMALL_AS_OF) -> Network:
    """The small network certified on `issued`, with these surveillance audits recorded."""
    data = example_data("small")
    data["external_audits"] += list(audits)
    network = build(data)
    certificate = Certificate(number=NUMBER, issued_on=issued, scope="s", companies=("NSM", "SKT", "VTR"),
                              valid_until=add_years(issued, 3) - timedelta(days=1), cycle="EXT-S2")
    return network.model_copy(update={"certificates": (certificate,)})


def status(network: Network, on: date, known_on: date | None = None) -> CertificateStatus:
    """The certificate's status on `on`, from what the records said on `known_on` (default: `on`)."""
    certificate = network.certificates[0]
    dues = surveillance_dues(network, certificate, known_on or on, DEFAULT_POLICY)
    return status_as_of(certificate, status_history([], lapse_events(certificate, dues)), on)


def test_an_audit_one_day_late_suspends_the_certificate_from_the_due_date_until_it_passed() -> None:
    network = certified(surveillance("2026-03-04"))
    [due] = surveillance_dues(network, network.certificates[0], D("2026-06-01"), DEFAULT_POLICY)
    assert (due.due, due.audit, due.held_on, due.late, due.reinstated_on) == (
        DUE, "SURV-2026-03-04", D("2026-03-04"), True, D("2026-03-04"))
    events = lapse_events(network.certificates[0], [due])
    assert [(e.on, e.status, e.reason) for e in events] == [
        (DUE, S.SUSPENDED, "surveillance due by 2026-03-03 not held by then"),
        (D("2026-03-04"), S.VALID, "reinstated: surveillance audit SURV-2026-03-04, held late on 2026-03-04, "
                                   "passed")]
    assert all(e.derived for e in events)
    assert [status(network, day) for day in (D("2026-03-02"), DUE, D("2026-03-04"))] == [S.VALID, S.SUSPENDED,
                                                                                       S.VALID]


@pytest.mark.parametrize("looked_on", ["2026-03-03", "2026-03-04", "2026-03-10", "2027-01-01"])
def test_the_gap_shows_whenever_anyone_looks(looked_on: str) -> None:
    network = certified(surveillance("2026-03-04"))
    assert status(network, DUE, known_on=D(looked_on)) == S.SUSPENDED
    if D(looked_on) >= D("2026-03-04"):
        assert status(network, D("2026-03-04"), known_on=D(looked_on)) == S.VALID


def test_an_audit_on_the_due_date_is_in_time() -> None:
    network = certified(surveillance("2026-03-03"))
    [due] = surveillance_dues(network, network.certificates[0], D("2026-06-01"), DEFAULT_POLICY)
    assert not due.late and lapse_events(network.certificates[0], [due]) == []
    assert status(network, DUE) == S.VALID


def test_a_late_audit_reinstates_only_from_the_day_its_outcome_passed() -> None:
    minor = {"id": "SURV-F1", "company": "NSM", "grade": "minor", "clause": "9.2", "description": "Plan late",
             "plan_accepted_on": "2026-03-20"}
    network = certified(surveillance("2026-03-10", findings=[minor]))
    assert status(network, D("2026-03-19")) == S.SUSPENDED
    assert status(network, D("2026-03-20")) == S.VALID


def test_a_missed_surveillance_ends_in_withdrawal_after_six_months_whatever_comes_later() -> None:
    network = certified(surveillance("2026-09-10"))  # after the limit of 2026-09-03
    assert status(network, D("2026-09-02")) == S.SUSPENDED
    assert status(network, D("2026-09-03")) == S.WITHDRAWN
    assert status(network, D("2026-12-01")) == S.WITHDRAWN
    [due] = surveillance_dues(network, network.certificates[0], D("2026-12-01"), DEFAULT_POLICY)
    assert due.withdrawn_on == D("2026-09-03") and due.reinstated_on is None


def test_a_certificate_issued_on_29_february_is_due_on_28_february() -> None:
    network = certified(surveillance("2025-03-01"), issued=D("2024-02-29"))
    [due] = surveillance_dues(network, network.certificates[0], D("2025-06-01"), DEFAULT_POLICY)
    assert (due.due, due.late) == (D("2025-02-28"), True)
    assert status(network, D("2025-02-28")) == S.SUSPENDED
    assert status(network, D("2025-03-01")) == S.VALID


def test_later_years_are_due_by_the_end_of_each_calendar_year() -> None:
    network = certified(surveillance("2026-02-20"), surveillance("2028-01-20"))
    dues = surveillance_dues(network, network.certificates[0], D("2028-02-01"), DEFAULT_POLICY)
    assert [(d.due, d.audit, d.late) for d in dues] == [
        (DUE, "SURV-2026-02-20", False), (D("2027-12-31"), "SURV-2028-01-20", True)]
    assert status(network, D("2027-12-31")) == S.SUSPENDED and status(network, D("2028-01-20")) == S.VALID


def test_the_surveillance_gate_passes_once_the_late_audit_is_held_and_says_it_was_late() -> None:
    network = certified(surveillance("2026-03-04"))
    missed = {c.requirement: c for c in check_surveillance(network, DUE, DEFAULT_POLICY)}["surveillance-held"]
    assert not missed.passed and "no surveillance audit between 2025-03-04 and 2026-03-03" in missed.detail
    held = {c.requirement: c for c in check_surveillance(network, D("2026-03-10"), DEFAULT_POLICY)}
    assert held["surveillance-held"].passed
    assert "SURV-2026-03-04 held late on 2026-03-04 (due by 2026-03-03)" in held["surveillance-held"].detail


def test_the_plan_shows_the_audit_as_held_late_and_the_suspension() -> None:
    network = certified(surveillance("2026-03-04"))
    programme = audit_programme(network, D("2026-06-01"), DEFAULT_POLICY, network.certificates[0])
    first = next(a for a in programme.audits if a.kind == "surveillance")
    assert (first.status, first.audit_id, first.late_for) == ("done", "SURV-2026-03-04", DUE)
    [lapse] = programme.lapses
    assert (lapse.due, lapse.reinstated_on) == (DUE, D("2026-03-04"))


# --- through the services: the flow's run date does not change the outcome -----------------------


@pytest.fixture
def folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HACKEFORS_OUTPUT_DIR", str(tmp_path / "out"))
    reset_settings()
    yield tmp_path
    reset_settings()


def survey(uow: FakeUnitOfWork, on: date) -> str | None:
    """What survey-network does on `on`, without Prefect: the gate, then its consequence."""
    network = uow.networks.load("ostgota-small")
    verdict = SurveillanceVerdict(stage_failures=(), gate=evaluate_gate(Stage.SURVEILLANCE, network, on))
    return certificates.apply_surveillance(uow, "ostgota-small", on, verdict, "test")


def register(folders: Path, runs: list[date]) -> FakeUnitOfWork:
    """The small network certified and surveyed on each of `runs`; the late audit of 2026-03-04 is
    recorded for the runs after it."""
    uow = FakeUnitOfWork()
    networks.import_network(uow, build(example_data("small")), actor="test")
    certificates.issue_certificate(uow, "ostgota-small", SMALL_AS_OF, "run-1", folders)
    for on in runs:
        if on >= D("2026-03-04"):
            data = example_data("small")
            data["external_audits"].append(surveillance("2026-03-04"))
            networks.import_network(uow, build(data), actor="test")
        survey(uow, on)
    return uow


def test_the_status_history_is_the_same_whenever_the_surveillance_flow_ran(folders: Path) -> None:
    on_the_due_date = register(folders, [DUE, D("2026-03-10")])
    only_afterwards = register(folders, [D("2026-03-10")])
    days = [DUE + timedelta(days=n) for n in range(-2, 10)]
    for uow in (on_the_due_date, only_afterwards):
        statuses = [certificates.verify_number(uow, NUMBER, day).status for day in days]
        assert statuses == [S.VALID, S.VALID, S.SUSPENDED] + [S.VALID] * 9
        shown = certificates.show_certificate(uow, NUMBER, D("2026-06-01"))
        assert [(e.on, e.status) for e in shown.events if e.derived] == [
            (DUE, S.SUSPENDED), (D("2026-03-04"), S.VALID)]
        assert uow.certificates.stored[NUMBER].status == S.VALID  # the register's current status
    # The run on the due date suspended the certificate then, and the later run reinstated it.
    assert [(e.on, e.status) for e in on_the_due_date.certificates.history] == [
        (DUE, S.SUSPENDED), (D("2026-03-10"), S.VALID)]
    assert only_afterwards.certificates.history == []


def test_a_missed_surveillance_is_recorded_as_a_suspension_by_the_run_that_sees_it(folders: Path) -> None:
    uow = register(folders, [])
    done = survey(uow, D("2026-04-01"))
    assert done == f"{NUMBER}: suspended (surveillance due by 2026-03-03 not held by then)"
    assert certificates.verify_number(uow, NUMBER, DUE).status == S.SUSPENDED
    assert survey(uow, D("2026-09-03")) == (
        f"{NUMBER}: withdrawn (suspended since 2026-03-03: no surveillance audit passed in time)")
    assert certificates.verify_number(uow, NUMBER, D("2026-09-03")).status == S.WITHDRAWN
