"""Exact hours and calendar months: every interval the rules name, at month ends and across 29 February."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from models.catalogue import Stage
from models.certification import CertificateStatus, check_external_audit, surveillance_windows
from models.dates import add_months, add_years, within_months
from models.gates import evaluate_gate
from models.network import TrainingSession
from models.policy import DEFAULT_POLICY, Policy
from models.programme import surveillance_consequence
from models.reminders import internal_audit_due, legal_due
from models.reviews import review_due_on
from models.training import format_hours, training_status
from tests.conftest import build, example_data

D = date.fromisoformat


def add_days(day: str, days: int) -> str:
    return (D(day) + timedelta(days=days)).isoformat()


@pytest.mark.parametrize("day,months,expected", [
    ("2024-01-31", 1, "2024-02-29"),   # a leap February ends on the 29th
    ("2023-01-31", 1, "2023-02-28"),
    ("2024-01-31", 2, "2024-03-31"),   # counted from the first day, not month by month
    ("2024-02-29", 12, "2025-02-28"),  # 12 months after 29 February is 28 February
    ("2024-02-29", 48, "2028-02-29"),
    ("2023-03-01", 12, "2024-03-01"),  # 366 days, and still 12 months
    ("2023-08-31", 6, "2024-02-29"),
    ("2024-08-31", 6, "2025-02-28"),
    ("2024-03-31", -1, "2024-02-29"),
    ("2023-12-31", 2, "2024-02-29"),
    ("2024-12-15", 1, "2025-01-15"),
])
def test_months_are_calendar_months_with_the_month_end_rule(day: str, months: int, expected: str) -> None:
    assert add_months(D(day), months) == D(expected)


def test_years_move_29_february_to_28_february() -> None:
    assert add_years(D("2024-02-29"), 1) == D("2025-02-28")
    assert add_years(D("2024-02-29"), 4) == D("2028-02-29")
    assert add_years(D("2025-03-03"), 3) == D("2028-03-03")


def test_within_months_counts_both_ends() -> None:
    assert within_months(D("2023-03-01"), 12, D("2024-03-01"))
    assert not within_months(D("2023-03-01"), 12, D("2024-03-02"))
    assert not within_months(D("2023-03-01"), 12, D("2023-02-28"))


# --- exact hours -------------------------------------------------------------------------------


def with_sessions(hours: list[str]) -> Any:
    """The small example with NSM-E01's training replaced by sessions of `hours` (all five topics)."""
    data = example_data("small")
    for session in data["training_sessions"]:
        session["attendees"] = [a for a in session["attendees"] if a != "NSM-E01"]
    data["training_sessions"] += [
        {"id": f"T{i}", "date": "2024-01-10", "hours": float(h), "attendees": ["NSM-E01"],
         "topics": list(DEFAULT_POLICY.training_topics)} for i, h in enumerate(hours)]
    return build(data)


def nsm_e01(hours: list[str]) -> Any:
    statuses = training_status(with_sessions(hours), D("2025-03-03"), DEFAULT_POLICY)["NSM"]
    return next(s for s in statuses if s.employee == "NSM-E01")


def test_tenths_that_add_up_to_thirty_hours_are_thirty_hours() -> None:
    # In binary floating point these four add up to 29.999999999999996.
    assert 6.6 + 3.3 + 1.7 + 18.4 < 30
    status = nsm_e01(["6.6", "3.3", "1.7", "18.4"])
    assert status.hours == Decimal(30) and status.hours_short == 0 and status.complete
    gate = evaluate_gate(Stage.TRAINING, with_sessions(["6.6", "3.3", "1.7", "18.4"]), D("2025-03-03"))
    assert next(c for c in gate.checks if c.company == "NSM" and c.requirement == "training-hours").passed


def test_a_tenth_short_is_reported_exactly() -> None:
    status = nsm_e01(["6.6", "3.3", "1.7", "18.3"])
    assert status.hours_short == Decimal("0.1")
    gate = evaluate_gate(Stage.TRAINING, with_sessions(["6.6", "3.3", "1.7", "18.3"]), D("2025-03-03"))
    check = next(c for c in gate.checks if c.company == "NSM" and c.requirement == "training-hours")
    assert "Malin Gustafsson (0.1 h short)" in check.detail and "below 30 h" in check.detail


def test_hours_are_decimals_of_at_most_four_places() -> None:
    assert TrainingSession(id="s", date=D("2024-01-01"), hours=0.1).hours == Decimal("0.1")
    assert TrainingSession(id="s", date=D("2024-01-01"), hours=1.3333).hours == Decimal("1.3333")
    with pytest.raises(ValueError, match="decimal places"):
        TrainingSession(id="s", date=D("2024-01-01"), hours=1.33333)
    for bad in (float("nan"), float("inf"), 0, 201):
        with pytest.raises(ValueError):
            TrainingSession(id="s", date=D("2024-01-01"), hours=bad)


def test_hours_are_written_back_as_numbers() -> None:
    session = TrainingSession(id="s", date=D("2024-01-01"), hours=Decimal("7.5000"))
    assert session.model_dump(mode="json")["hours"] == 7.5
    assert format_hours(Decimal("30.0000")) == "30" and format_hours(Decimal("0.25")) == "0.25"


# --- every interval the rules count in months --------------------------------------------------


def nsm_check(stage: Stage, requirement: str, as_of: str, **nsm: Any) -> Any:
    data = example_data("small")
    data["companies"][0].update(nsm)
    gate = evaluate_gate(stage, build(data), D(as_of))
    return next(c for c in gate.checks if c.company == "NSM" and c.requirement == requirement)


def review(on: str) -> dict[str, Any]:
    inputs = list(DEFAULT_POLICY.management_review_inputs)
    return {"id": f"MR-{on}", "date": on, "inputs": inputs, "signed_by": "VD", "signed_on": on}


@pytest.mark.parametrize("held,last_day", [
    ("2023-03-01", "2024-03-01"),  # across 29 February: 366 days, still 12 months
    ("2024-02-29", "2025-02-28"),  # from 29 February: the 28th
    ("2024-01-31", "2025-01-31"),
    ("2024-08-31", "2025-08-31"),
])
def test_a_management_review_is_within_twelve_months_up_to_the_same_day(held: str, last_day: str) -> None:
    reviews = [review(held)]
    assert nsm_check(Stage.MANAGEMENT_REVIEW, "review-held", last_day, management_reviews=reviews).passed
    late = nsm_check(Stage.MANAGEMENT_REVIEW, "review-held", add_days(last_day, 1),
                     management_reviews=reviews)
    assert not late.passed and f"the next was due by {last_day}" in late.detail
    data = example_data("small")
    data["companies"][0]["management_reviews"] = reviews
    assert review_due_on(build(data).companies[0], D(held), DEFAULT_POLICY) == D(last_day)


@pytest.mark.parametrize("first,last_day", [("2023-03-01", "2024-03-01"), ("2024-02-29", "2025-02-28")])
def test_internal_audits_count_for_twelve_calendar_months(first: str, last_day: str) -> None:
    audits = [{"id": "IA-1", "date": first, "auditor": "Altea"},
              {"id": "IA-2", "date": add_days(first, 120), "auditor": "Altea"}]
    on_time = nsm_check(Stage.INTERNAL_AUDITS, "internal-audit-frequency", last_day, internal_audits=audits)
    assert on_time.passed and "2 internal audits" in on_time.detail
    after = nsm_check(Stage.INTERNAL_AUDITS, "internal-audit-frequency", add_days(last_day, 1),
                      internal_audits=audits)
    assert not after.passed and "1 internal audit(s)" in after.detail
    data = example_data("small")
    data["companies"][0]["internal_audits"] = audits
    assert internal_audit_due(build(data).companies[0], D(last_day), DEFAULT_POLICY) == D(last_day)


@pytest.mark.parametrize("evaluated,last_day", [("2023-03-01", "2024-03-01"), ("2024-02-29", "2025-02-28")])
def test_a_legal_evaluation_holds_for_twelve_calendar_months(evaluated: str, last_day: str) -> None:
    register = [{"id": "L1", "obligation": "Permit", "evaluated_on": evaluated, "compliant": True}]
    assert nsm_check(Stage.PLANNING, "legal-evaluation", last_day, legal_register=register).passed
    stale = nsm_check(Stage.PLANNING, "legal-evaluation", add_days(last_day, 1), legal_register=register)
    assert not stale.passed and "not evaluated in the last 12 months: L1" in stale.detail
    data = example_data("small")
    data["companies"][0]["legal_register"] = register
    assert legal_due(build(data).companies[0], D(last_day), DEFAULT_POLICY) == D(last_day)


@pytest.mark.parametrize("issued,due", [("2024-02-29", "2025-02-28"), ("2023-03-01", "2024-03-01"),
                                        ("2024-01-31", "2025-01-31")])
def test_the_first_surveillance_is_due_twelve_calendar_months_on(issued: str, due: str) -> None:
    assert surveillance_windows(D(issued), D(add_days(due, -1))) == []
    assert surveillance_windows(D(issued), D(due)) == [(D(add_days(issued, 1)), D(due))]


def stage2_with_open_major(end: str) -> Any:
    data = example_data("small")
    stage2 = data["external_audits"][1]
    stage2.update(start=end, end=end)
    stage2["findings"].append({"id": "S2-MAJ", "company": "SKT", "grade": "major", "clause": "8.1",
                               "description": "Spill kit missing"})
    return build(data)


@pytest.mark.parametrize("end,last_day", [("2023-08-31", "2024-02-29"), ("2024-08-31", "2025-02-28"),
                                          ("2024-03-31", "2024-09-30")])
def test_a_stage2_major_has_six_calendar_months_before_stage2_is_repeated(end: str, last_day: str) -> None:
    network = stage2_with_open_major(end)

    def stages(on: str) -> str:
        return next(c.detail for c in check_external_audit(network, D(on), DEFAULT_POLICY)
                    if c.requirement == "audit-stages")

    assert "must be repeated" not in stages(last_day)
    assert "stage 2 EXT-S2 must be repeated: major(s) S2-MAJ not verified within 6 months" \
        in stages(add_days(last_day, 1))


@pytest.mark.parametrize("suspended,withdrawn", [("2023-08-31", "2024-02-29"), ("2024-08-31", "2025-02-28"),
                                                 ("2024-02-29", "2024-08-29")])
def test_a_suspension_ends_in_withdrawal_after_six_calendar_months(suspended: str, withdrawn: str) -> None:
    def consequence(on: str) -> Any:
        return surveillance_consequence(CertificateStatus.SUSPENDED, D(suspended), False, ["x"], D(on),
                                        DEFAULT_POLICY)

    assert consequence(add_days(withdrawn, -1)) is None
    action = consequence(withdrawn)
    assert action is not None and action.status == CertificateStatus.WITHDRAWN


def test_the_old_day_counted_intervals_are_refused_with_what_to_write() -> None:
    with pytest.raises(ValueError, match="write management_review_interval_months"):
        Policy.model_validate({"management_review_interval_days": 365})
    assert DEFAULT_POLICY.with_overrides({"legal_evaluation_interval_months": 6}) \
        .legal_evaluation_interval_months == 6
