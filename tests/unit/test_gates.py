"""A unit test for every gate check: the small example passes; each mutation fails one check."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from models.catalogue import CATALOGUE, Stage
from models.certification import check_decision, surveillance_windows
from models.gates import CERTIFICATION_GATES, evaluate_gate
from models.network import Certificate, Network
from models.results import GateResult
from tests.conftest import SMALL_AS_OF, build, example_data

Mutation = Callable[[dict[str, Any]], None]


def results(stage: Stage, mutate: Mutation | None = None, as_of: date = SMALL_AS_OF,
            name: str = "small") -> dict[tuple[str, str], Any]:
    data = example_data(name)
    if mutate:
        mutate(data)
    gate = evaluate_gate(stage, build(data), as_of)
    return {(c.company or "network", c.requirement): c for c in gate.checks}


@pytest.mark.parametrize("stage", CERTIFICATION_GATES)
def test_the_small_example_passes_every_gate(stage: Stage) -> None:
    failed = [c.line() for c in results(stage).values() if not c.passed]
    assert failed == []


def company(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return data["companies"][index]


def drop_from_topic(employee: str, topic: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for s in data["training_sessions"]:
            if topic in s["topics"]:
                s["attendees"] = [a for a in s["attendees"] if a != employee]
    return mutate


def add_internal_finding(finding: dict[str, Any]) -> Mutation:
    return lambda d: company(d)["internal_audits"][0]["findings"].append(finding)


ACTION = {"id": "X-A1", "description": "Fix it", "owner": "Malin", "due": "2025-01-10"}
STAGE2 = 1  # index of the stage 2 audit in external_audits

CASES: list[tuple[Stage, str, str, Mutation, str]] = [
    (Stage.FORMATION, "NSM", "coordinator", lambda d: company(d)["coordinator"].pop("email"),
     "has no valid email"),
    (Stage.FORMATION, "NSM", "coordinator", lambda d: company(d).pop("coordinator"),
     "no environmental coordinator"),
    (Stage.FORMATION, "NSM", "commitment", lambda d: company(d).pop("commitment"),
     "top management has not signed"),
    (Stage.FORMATION, "NSM", "environmental-manager", lambda d: company(d).pop("environmental_manager"),
     "no environmental manager"),
    (Stage.FORMATION, "NSM", "environmental-manager", lambda d: company(d).pop("roles_defined_on"),
     "roles and responsibilities not defined"),
    (Stage.FORMATION, "NSM", "group-agreement", lambda d: company(d).pop("group_agreement"),
     "no signed group agreement"),
    (Stage.FORMATION, "NSM", "group-agreement",
     lambda d: company(d)["group_agreement"].update(authority_for_corrective_action=False),
     "no authority to require corrective action"),
    (Stage.FORMATION, "network", "steering-committee", lambda d: d["steering_committee"].pop(),
     "2 coordinator(s) from distinct member companies on the committee, 3 required"),
    (Stage.FORMATION, "network", "central-coordinator", lambda d: d.pop("central_coordinator"),
     "no central coordinator selected"),
    (Stage.FORMATION, "network", "policy", lambda d: d["policy"].update(public=False),
     "policy not available to the public"),
    (Stage.FORMATION, "network", "policy", lambda d: d["policy"].pop("communicated_on"),
     "policy not communicated to employees"),
    (Stage.TRAINING, "NSM", "training-hours", drop_from_topic("NSM-E02", "waste_management"),
     "1 of 13 employee(s) below 30 h"),
    (Stage.TRAINING, "NSM", "training-topics", drop_from_topic("NSM-E02", "waste_management"),
     "NSM-E02" and "(waste_management)"),
    (Stage.TRAINING, "NSM", "training-hours", lambda d: company(d).update(employees=[]),
     "no active employees recorded"),
    (Stage.PLANNING, "NSM", "environmental-review",
     lambda d: company(d)["aspects"][1].update(significance=None), "not assessed for aspect(s) A2"),
    (Stage.PLANNING, "NSM", "environmental-review", lambda d: company(d).pop("review"),
     "environmental review not done"),
    (Stage.PLANNING, "NSM", "legal-evaluation",
     lambda d: company(d)["legal_register"][0].update(evaluated_on="2023-12-01"),
     "not evaluated in the last 12 months: L1"),
    (Stage.PLANNING, "NSM", "legal-compliance",
     lambda d: company(d)["legal_register"][0].update(compliant=False), "unresolved non-compliance: L1"),
    (Stage.PLANNING, "NSM", "objectives", lambda d: [o.pop("target") for o in company(d)["objectives"]],
     "no objective with a target"),
    (Stage.PLANNING, "NSM", "documentation", lambda d: company(d).pop("binder"), "company binder missing"),
    (Stage.PLANNING, "NSM", "documentation", lambda d: d.pop("ems_manual"), "shared EMS manual not issued"),
    (Stage.INTERNAL_AUDITS, "NSM", "internal-audit-frequency",
     lambda d: company(d).update(internal_audits=company(d)["internal_audits"][:1]),
     "1 internal audit(s) in the last 12 months, 2 required"),
    (Stage.INTERNAL_AUDITS, "NSM", "open-majors",
     add_internal_finding({"id": "X", "grade": "major", "clause": "8.2", "description": "No plan"}),
     "open major nonconformity X"),
    (Stage.INTERNAL_AUDITS, "NSM", "overdue-actions",
     add_internal_finding({"id": "X", "grade": "minor", "clause": "8.2", "description": "d",
                           "actions": [ACTION]}),
     "overdue corrective action X-A1 (due 2025-01-10, owner Malin)"),
    (Stage.INTERNAL_AUDITS, "NSM", "premature-closure",
     add_internal_finding({"id": "X", "grade": "minor", "clause": "8.2", "description": "d",
                           "closed_on": "2025-01-05",
                           "actions": [{**ACTION, "due": "2025-06-01"}]}),
     "closed while actions were open: X (open: X-A1)"),
    (Stage.MANAGEMENT_REVIEW, "NSM", "review-held",
     lambda d: company(d)["management_reviews"][0].update(date="2024-01-10", signed_on="2024-01-12"),
     "is more than 12 months old: the next was due by 2025-01-10"),
    (Stage.MANAGEMENT_REVIEW, "NSM", "review-inputs",
     lambda d: company(d)["management_reviews"][0]["inputs"].remove("adequacy_of_resources"),
     "misses inputs: adequacy_of_resources"),
    (Stage.MANAGEMENT_REVIEW, "NSM", "review-signed",
     lambda d: company(d)["management_reviews"][0].pop("signed_on"), "is not signed"),
    (Stage.MANAGEMENT_REVIEW, "NSM", "review-held", lambda d: company(d).update(management_reviews=[]),
     "no management review held"),
    (Stage.EXTERNAL_AUDIT, "network", "audit-stages", lambda d: d["external_audits"].pop(0),
     "no stage 1 audit before stage 2 EXT-S2"),
    (Stage.EXTERNAL_AUDIT, "network", "audit-sample",
     lambda d: d["external_audits"][STAGE2].update(companies_visited=["NSM"]),
     "visited 1 member companies, 2 required for 3 (stage2)"),
    (Stage.EXTERNAL_AUDIT, "network", "audit-sample",
     lambda d: d["external_audits"][STAGE2].update(central_function_visited=False),
     "did not audit the central function"),
    (Stage.EXTERNAL_AUDIT, "network", "external-majors",
     lambda d: d["external_audits"][STAGE2]["findings"][0].update(grade="major"),
     "major EXT-S2-F1 at"),
    (Stage.EXTERNAL_AUDIT, "network", "external-minors",
     lambda d: d["external_audits"][STAGE2]["findings"][0].pop("plan_accepted_on"),
     "has no accepted plan"),
    (Stage.EXTERNAL_AUDIT, "network", "recommendation",
     lambda d: d["external_audits"][STAGE2].update(recommendation="not_recommended"),
     "recommendation is not recommended"),
    (Stage.EXTERNAL_AUDIT, "network", "recommendation", lambda d: d["external_audits"].pop(STAGE2),
     "no stage 2 or recertification audit done"),
]


@pytest.mark.parametrize("stage,who,requirement,mutate,reason", CASES,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_check_fails_for_its_reason(stage: Stage, who: str, requirement: str, mutate: Mutation,
                                         reason: str) -> None:
    found = results(stage, mutate)[(who, requirement)]
    assert not found.passed
    assert reason in found.detail


def test_every_requirement_with_a_gate_has_a_failing_case() -> None:
    tested = {case[2] for case in CASES} | {"all-gates", "sign-off", "certificate-in-force",
                                            "surveillance-held"}
    checked = {code for code, r in CATALOGUE.items() if r.level != "not required"}
    assert checked <= tested


def test_a_new_hire_within_the_grace_period_does_not_block_training() -> None:
    def hire(data: dict[str, Any]) -> None:
        company(data)["employees"].append({"id": "NSM-NEW", "name": "Ny Anställd",
                                           "hired_on": (SMALL_AS_OF - timedelta(days=30)).isoformat()})
    found = results(Stage.TRAINING, hire)[("NSM", "training-hours")]
    assert found.passed and "2 new hire(s) within the grace period" in found.detail  # one was already
    later = results(Stage.TRAINING, hire, as_of=SMALL_AS_OF + timedelta(days=200))
    assert not later[("NSM", "training-hours")].passed


def test_a_resolved_noncompliance_no_longer_blocks() -> None:
    found = results(Stage.PLANNING, lambda d: company(d)["legal_register"][0].update(
        compliant=False, resolved_on="2025-01-20"))[("NSM", "legal-compliance")]
    assert found.passed


def test_the_steering_committee_needs_seven_in_a_large_network() -> None:
    as_of = date(1999, 2, 15)
    assert results(Stage.FORMATION, None, as_of, "hackefors")[("network", "steering-committee")].passed
    short = results(Stage.FORMATION, lambda d: d["steering_committee"].pop(), as_of, "hackefors")
    assert "6 coordinator(s)" in short[("network", "steering-committee")].detail


def gate(stage: Stage, passed: bool) -> GateResult:
    from models.results import Check

    return GateResult(network_id="n", stage=stage, as_of=SMALL_AS_OF, checks=(
        Check(requirement="policy", passed=passed, detail="x"),))


def test_the_decision_passes_only_when_every_gate_ran_and_passed() -> None:
    all_pass = [gate(s, True) for s in CERTIFICATION_GATES]
    assert check_decision(all_pass, CERTIFICATION_GATES)[0].passed
    one_fails = [gate(s, s != Stage.TRAINING) for s in CERTIFICATION_GATES]
    assert "blocked gates: training (1 unmet)" in check_decision(one_fails, CERTIFICATION_GATES)[0].detail
    missing = all_pass[:-1]
    assert "external_audit gate did not run" in check_decision(missing, CERTIFICATION_GATES)[0].detail


def test_the_sign_off_passes_only_when_approved() -> None:
    from models.certification import check_sign_off

    assert check_sign_off(True, "Karin", "").passed
    refused = check_sign_off(False, "Karin Holm", "binder missing")
    assert not refused.passed and refused.detail == "refused by Karin Holm: binder missing"
    assert check_sign_off(None, "", "").detail == "no sign-off given"


def certified(network: Network, issued: date) -> Network:
    certificate = Certificate(number="C-1", issued_on=issued, valid_until=date(issued.year + 3, 1, 1),
                              scope="s", companies=("NSM",), cycle="EXT-S2")
    return network.model_copy(update={"certificates": (certificate,)})


def surveillance_audit(end: str) -> dict[str, Any]:
    return {"id": f"SURV-{end}", "kind": "surveillance", "start": end, "end": end,
            "certification_body": "CB", "lead_auditor": "L", "companies_visited": ["NSM", "SKT"],
            "recommendation": "recommended"}


def test_surveillance_needs_a_certificate_in_force() -> None:
    gate_ = evaluate_gate(Stage.SURVEILLANCE, build(example_data("small")), SMALL_AS_OF)
    details = {c.requirement: c.detail for c in gate_.checks}
    assert details["certificate-in-force"] == "no certificate in force"


def test_surveillance_is_due_within_twelve_months_then_every_calendar_year() -> None:
    assert surveillance_windows(date(2025, 3, 3), date(2026, 3, 2)) == []
    assert surveillance_windows(date(2025, 3, 3), date(2027, 6, 1)) == [
        (date(2025, 3, 4), date(2026, 3, 3))]
    assert surveillance_windows(date(2025, 3, 3), date(2028, 1, 2))[-1] == (date(2027, 1, 1),
                                                                          date(2027, 12, 31))
    data = example_data("small")
    data["external_audits"].append(surveillance_audit("2026-02-20"))
    held = evaluate_gate(Stage.SURVEILLANCE, certified(build(data), SMALL_AS_OF), date(2026, 6, 1))
    assert held.passed, held.message()
    missed = evaluate_gate(Stage.SURVEILLANCE, certified(build(example_data("small")), SMALL_AS_OF),
                           date(2026, 6, 1))
    assert "no surveillance audit between 2025-03-04 and 2026-03-03" in missed.message()
