"""Every validator of the domain models."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from models.network import (
    Coordinator,
    CorrectiveAction,
    Employee,
    ExternalAudit,
    ManagementReview,
    Network,
    Objective,
    TrainingSession,
    is_valid_email,
)
from models.policy import DEFAULT_POLICY, Policy

D = date(1998, 6, 1)


def test_a_name_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValidationError, match="single line"):
        Coordinator(id="c1", name="Anna\r\nBcc: evil@example.com", email="anna@example.se")


def test_a_malformed_email_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a valid email"):
        Coordinator(id="c1", name="Anna", email="anna(at)example.se")


@pytest.mark.parametrize("email,valid", [("anna.berg@kmv.example.se", True), ("a@b", False),
                                         ("", False), (None, False), ("x y@z.se", False)])
def test_is_valid_email(email: str | None, valid: bool) -> None:
    assert is_valid_email(email) is valid


def test_ids_must_be_short_plain_tokens() -> None:
    with pytest.raises(ValidationError, match="pattern"):
        Coordinator(id="has space", name="Anna")


def test_training_session_refuses_unknown_topics() -> None:
    with pytest.raises(ValidationError, match="unknown training topic"):
        TrainingSession(id="s1", date=D, hours=4, topics=("knitting",))


def test_training_session_hours_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        TrainingSession(id="s1", date=D, hours=0)


def test_employee_cannot_leave_before_being_hired() -> None:
    with pytest.raises(ValidationError, match="before hired_on"):
        Employee(id="e1", name="Per", hired_on=D, left_on=date(1998, 1, 1))


def test_action_cannot_be_verified_before_it_is_closed() -> None:
    with pytest.raises(ValidationError, match="not closed"):
        CorrectiveAction(id="a", description="x", owner="o", due=D, verified_effective_on=D)
    with pytest.raises(ValidationError, match="before closed_on"):
        CorrectiveAction(id="a", description="x", owner="o", due=D, closed_on=D,
                         verified_effective_on=date(1998, 5, 1))


def test_management_review_refuses_unknown_inputs() -> None:
    with pytest.raises(ValidationError, match="unknown 9.3 input"):
        ManagementReview(id="r", date=D, inputs=("coffee",))


def test_external_audit_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="before start"):
        ExternalAudit(id="x", kind="stage2", start=D, end=date(1998, 5, 1),
                      certification_body="CB", lead_auditor="L")


def test_network_language_is_english_or_swedish() -> None:
    with pytest.raises(ValidationError, match="pattern"):
        Network(id="n", name="N", operator="O", scope="S", language="de")


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Objective(id="o", description="d", colour="green")


def test_policy_overrides_are_validated_like_the_defaults() -> None:
    assert DEFAULT_POLICY.with_overrides({"training_hours": 40}).training_hours == 40
    with pytest.raises(ValidationError):
        DEFAULT_POLICY.with_overrides({"training_hours": -1})
    with pytest.raises(ValidationError):
        DEFAULT_POLICY.with_overrides({"no_such_parameter": 1})


def test_policy_is_frozen() -> None:
    with pytest.raises(ValidationError):
        Policy().training_hours = 10  # type: ignore[misc]
