"""The portfolio's rules: each network's row, which group it is in, and what comes first."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from models.catalogue import Stage
from models.certification import CertificateEvent, CertificateStatus
from models.gap import GapItem, Status, gap_analysis
from models.gates import CERTIFICATION_GATES, evaluate_gate, policy_for
from models.network import ExternalAuditKind, Network
from models.policy import DEFAULT_POLICY
from models.portfolio import (
    Group,
    HeldCertificate,
    NextAudit,
    PortfolioRow,
    action_reasons,
    evaluate_stages,
    portfolio,
    portfolio_cells,
    portfolio_row,
    shown_certificate,
)
from tests.conftest import EXAMPLES, HACKEFORS_AS_OF, build, example_data

NUMBER = "HKF-HACKEFORS-1999-01"
VALID_UNTIL = date(2002, 2, 14)


def certified_hackefors(**certificate: Any) -> Network:
    """The Hackefors network holding a certificate issued on the example's date."""
    data = example_data("hackefors")
    data["certificates"] = [{"number": NUMBER, "issued_on": HACKEFORS_AS_OF, "valid_until": VALID_UNTIL,
                             "scope": data["scope"], "companies": [c["id"] for c in data["companies"]],
                             "cycle": "S2", **certificate}]
    return build(data)


def row_of(network: Network, as_of: date, events: list[CertificateEvent] | None = None) -> PortfolioRow:
    policy = policy_for(network)
    return portfolio_row(network, as_of, policy, evaluate_stages(network, as_of, policy), events or [])


def gap(due: date | None, status: Status = Status.GAP, requirement: str = "training-hours") -> GapItem:
    return GapItem(requirement=requirement, title="", clause="", stage=Stage.TRAINING, company="A",
                   status=status, detail="", owner="Karin", due=due)


def test_a_ready_network_not_yet_certified_is_on_track_with_every_gate_passed() -> None:
    row = row_of(build(example_data("hackefors")), HACKEFORS_AS_OF)
    assert (row.group, row.gates_passed, row.gates, row.blocking, row.unmet) == (Group.ON_TRACK, 6, 6, (), 0)
    assert row.certificate is None
    assert row.deadline is not None and (row.deadline.due, row.deadline.company) == (date(1999, 4, 16), "FTR")
    assert row.deadline.owner == "Åsa Persson" and row.deadline.met
    assert row.next_audit == NextAudit(kind=ExternalAuditKind.SURVEILLANCE, due_by=date(2000, 2, 15),
                                       status="planned")


def test_the_blocked_network_must_act_now_and_names_every_blocking_gate() -> None:
    row = row_of(build(example_data("blocked")), HACKEFORS_AS_OF)
    assert row.group is Group.ACT_NOW
    assert (row.gates_passed, row.blocking, row.unmet) == (0, CERTIFICATION_GATES, 14)
    assert row.deadline is not None
    assert (row.deadline.due, row.deadline.requirement, row.deadline.company, row.deadline.owner) == (
        date(1995, 10, 28), "training-hours", "LBY", "Elisabeth Sjöberg")
    assert not row.deadline.met
    assert row.reasons[0].startswith("training-hours at LBY overdue since 1995-10-28 (Elisabeth Sjöberg)")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_row_agrees_with_the_gates_and_the_gap_analysis(name: str) -> None:
    network, as_of = build(example_data(name)), EXAMPLES[name]
    policy = policy_for(network)
    row = row_of(network, as_of)
    results = {s: evaluate_gate(s, network, as_of, policy) for s in CERTIFICATION_GATES}
    analysis = gap_analysis(network, as_of, policy)
    assert row.gates_passed == sum(r.passed for r in results.values())
    assert row.blocking == tuple(s for s, r in results.items() if not r.passed)
    assert row.unmet == len(analysis.gaps) == sum(len(r.blockers) for r in results.values())
    dated = [i for i in analysis.items if i.due]
    assert row.deadline is not None and row.deadline.due == min(i.due for i in dated if i.due)


def test_a_certified_network_is_certified_with_its_certificate_and_next_surveillance() -> None:
    row = row_of(certified_hackefors(), HACKEFORS_AS_OF)
    assert row.group is Group.CERTIFIED
    assert row.certificate == HeldCertificate(number=NUMBER, status=CertificateStatus.VALID,
                                              valid_until=VALID_UNTIL)
    assert row.next_audit is not None and row.next_audit.kind is ExternalAuditKind.SURVEILLANCE
    assert row.next_audit.due_by == date(2000, 2, 15)
    assert Stage.SURVEILLANCE not in row.blocking


def test_a_suspended_certificate_needs_action_now() -> None:
    suspended = [CertificateEvent(number=NUMBER, on=date(1999, 3, 1), status=CertificateStatus.SUSPENDED,
                                  reason="missed")]
    row = row_of(certified_hackefors(status="suspended"), date(1999, 3, 2), suspended)
    assert row.group is Group.ACT_NOW
    assert row.certificate is not None and row.certificate.status is CertificateStatus.SUSPENDED
    assert f"certificate {NUMBER} is suspended" in row.reasons


def test_a_missed_surveillance_blocks_and_needs_action_now() -> None:
    row = row_of(certified_hackefors(), date(2000, 3, 1))
    assert row.group is Group.ACT_NOW
    assert Stage.SURVEILLANCE in row.blocking
    # Suspended since the due date by the audit records (the one rule), though nobody recorded it.
    assert "certificate HKF-HACKEFORS-1999-01 is suspended" in row.reasons
    assert row.certificate is not None and row.certificate.status is CertificateStatus.SUSPENDED


AS_OF = date(2025, 3, 3)
IN_FORCE = HeldCertificate(number="C", status=CertificateStatus.VALID, valid_until=date(2027, 1, 1))


@pytest.mark.parametrize(("gaps", "certificate", "audit_status", "acts"), [
    ([gap(AS_OF - timedelta(days=1))], None, "planned", True),  # overdue
    ([gap(AS_OF + timedelta(days=DEFAULT_POLICY.due_soon_days))], None, "planned", True),  # due soon
    ([gap(AS_OF + timedelta(days=DEFAULT_POLICY.due_soon_days + 1))], None, "planned", False),
    ([gap(None)], None, "planned", False),  # work before the certification audit
    ([gap(None, requirement="open-majors")], None, "planned", True),  # a major nobody acts on
    ([gap(AS_OF - timedelta(days=1), Status.MET)], None, "planned", False),  # met: not a blocker
    ([gap(None)], IN_FORCE, "planned", True),  # the certificate is at risk
    ([], IN_FORCE, "planned", False),
    ([], None, "overdue", True),  # an external audit overdue
])
def test_action_is_needed_for_what_is_overdue_due_soon_or_puts_a_certificate_at_risk(
        gaps: list[GapItem], certificate: HeldCertificate | None, audit_status: str, acts: bool) -> None:
    audit = NextAudit(kind=ExternalAuditKind.SURVEILLANCE, due_by=AS_OF, status=audit_status)
    assert bool(action_reasons(gaps, certificate, audit, AS_OF, DEFAULT_POLICY)) is acts


def test_the_certificate_shown_is_the_newest_issued_by_the_date_with_its_status_then() -> None:
    network = certified_hackefors()
    assert shown_certificate(network, [], HACKEFORS_AS_OF - timedelta(days=1), DEFAULT_POLICY) is None
    after = shown_certificate(network, [], VALID_UNTIL + timedelta(days=1), DEFAULT_POLICY)
    # No surveillance audit in the records: withdrawn six months after the first was due, long
    # before it would have expired (the status every view gives, models.certification).
    assert after is not None and after.status is CertificateStatus.WITHDRAWN


def row(network_id: str, group: Group, due: date | None = None, unmet: int = 0) -> PortfolioRow:
    deadline = None if due is None else {"due": due, "owner": "o", "requirement": "r", "company": None,
                                         "met": False}
    return PortfolioRow.model_validate(dict(
        network_id=network_id, name=network_id, group=group, gates_passed=6, gates=6, blocking=(),
        unmet=unmet, deadline=deadline, certificate=None, next_audit=None, reasons=()))


def test_what_needs_action_comes_first_then_the_earliest_deadline_then_the_most_unmet() -> None:
    rows = [row("cert", Group.CERTIFIED, date(2025, 1, 1)), row("track", Group.ON_TRACK),
            row("late", Group.ACT_NOW, date(2025, 2, 1)), row("later", Group.ACT_NOW, date(2025, 3, 1)),
            row("few", Group.ON_TRACK, date(2025, 5, 1), unmet=1),
            row("many", Group.ON_TRACK, date(2025, 5, 1), unmet=9)]
    checked = portfolio(AS_OF, rows)
    assert [r.network_id for r in checked.rows] == ["late", "later", "many", "few", "track", "cert"]
    assert checked.counts() == {"act now": 2, "on track": 3, "certified": 1}


def test_a_row_reads_as_text_in_the_table() -> None:
    cells = portfolio_cells(row_of(build(example_data("blocked")), HACKEFORS_AS_OF), HACKEFORS_AS_OF)
    assert cells["status"] == "act now" and cells["gates"] == "0/6" and cells["unmet"] == "14"
    assert cells["blocking"].startswith("formation, training, planning, internal audits")
    assert cells["earliest deadline"] == "1995-10-28 (overdue): training-hours, LBY"
    assert cells["owner"] == "Elisabeth Sjöberg" and cells["certificate"] == "none"
    certified = portfolio_cells(row_of(certified_hackefors(), HACKEFORS_AS_OF), HACKEFORS_AS_OF)
    assert certified["certificate"] == f"{NUMBER} (valid)" and certified["expires"] == str(VALID_UNTIL)
    assert certified["next external audit"] == "surveillance by 2000-02-15 (planned)"
