"""The parameters of the Hackefors requirements, in one frozen object a network can override."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

TRAINING_TOPICS: tuple[str, ...] = (
    "environmental_basics",
    "ems_and_iso14001",
    "waste_management",
    "industry_impact",
    "legal_requirements",
)

MANAGEMENT_REVIEW_INPUTS: tuple[str, ...] = (
    "previous_actions",
    "changes_in_issues_and_obligations",
    "objectives_achieved",
    "environmental_performance",
    "adequacy_of_resources",
    "interested_party_communications",
    "improvement_opportunities",
)


# Parameters counted in days before the rules counted calendar months.
RENAMED = {"management_review_interval_days": "management_review_interval_months",
           "legal_evaluation_interval_days": "legal_evaluation_interval_months"}


class Policy(BaseModel):
    """Numbers the rules use; defaults follow the Hackefors factsheet and IAF MD 1 / ISO 17021-1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    training_hours: Decimal = Field(
        Decimal(30), gt=0, le=1000, decimal_places=4,
        description="Minimum training hours per employee (exact, at most 4 decimal places).")
    training_topics: tuple[str, ...] = Field(
        TRAINING_TOPICS, description="Topics every employee's training must cover."
    )
    new_hire_grace_days: int = Field(
        180, ge=0, le=3650, description="Days a new employee has to complete training."
    )
    internal_audits_per_year: int = Field(
        2, ge=1, le=52, description="Internal audits each company needs in the trailing 12 months."
    )
    management_review_interval_months: int = Field(
        12, ge=1, le=120, description="Longest interval between two management reviews, in calendar months."
    )
    legal_evaluation_interval_months: int = Field(
        12, ge=1, le=120, description="Longest age of the legal register's compliance evaluation, in "
                                      "calendar months."
    )
    management_review_inputs: tuple[str, ...] = Field(
        MANAGEMENT_REVIEW_INPUTS, description="ISO 14001 9.3 inputs each review must cover."
    )
    steering_committee_size: int = Field(
        7, ge=1, le=100, description="Coordinators on the steering committee."
    )
    certificate_validity_years: int = Field(3, ge=1, le=10, description="Years a certificate is valid.")
    initial_sample_factor: float = Field(1.0, gt=0, le=10, description="Initial audit: ceil(f * sqrt(x)).")
    surveillance_sample_factor: float = Field(
        0.6, gt=0, le=10, description="Surveillance: ceil(f * sqrt(x))."
    )
    recertification_sample_factor: float = Field(
        0.8, gt=0, le=10, description="Recertification: ceil(f * sqrt(x))."
    )
    random_sample_share: float = Field(
        0.25, ge=0, le=1, description="Share of each sample drawn at random."
    )
    high_risk_extra_sites: int = Field(
        1, ge=0, le=100, description="Sites added when any site is high-risk (open major, overdue action)."
    )
    cover_all_sites_in_cycle: bool = Field(
        True, description="Raise samples so that every company is visited within the 3-year cycle."
    )
    low_training_coverage: float = Field(
        0.9, ge=0, le=1, description="Below this share of trained employees a site counts as a risk."
    )
    audit_time_reduction: float = Field(
        0.0, ge=0, le=0.3, description="Overall reduction of audit time (IAF MD 5: at most 30 %)."
    )
    sampled_site_reduction: float = Field(
        0.0, ge=0, le=0.5, description="Reduction of a sampled site's time (at most 50 %)."
    )
    suspension_max_months: int = Field(
        6, ge=1, le=120, description="Longest suspension before withdrawal, in calendar months."
    )
    stage2_major_verification_months: int = Field(
        6, ge=1, le=120, description="Calendar months to verify a stage 2 major before stage 2 is repeated."
    )
    action_reminder_days: int = Field(
        10, ge=0, le=3650, description="Remind this many days before an action is due."
    )
    review_reminder_days: int = Field(
        30, ge=0, le=3650, description="Remind this many days before a review is due."
    )
    certificate_expiry_reminder_days: int = Field(90, ge=0, le=3650, description="Remind before expiry.")
    due_soon_days: int = Field(30, ge=0, le=3650, description="Remind this early of audits and evaluations.")
    external_audit_reminder_days: int = Field(
        60, ge=0, le=3650, description="Announce external audits this early."
    )
    escalation_days: int = Field(
        14, ge=0, le=3650, description="Overdue longer: escalated to the central one."
    )
    reminder_cadence_days: int = Field(
        7, ge=1, le=3650, description="Do not repeat a reminder more often than this."
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        # The intervals in days became calendar months: a network file that still names them is
        # told what to write instead of being refused as unknown.
        if isinstance(data, dict):
            for old, new in RENAMED.items():
                if old in data:
                    raise ValueError(f"{old} is no longer a parameter: the interval is counted in calendar "
                                     f"months; write {new} (default 12)")
        return data

    def with_overrides(self, overrides: dict[str, object]) -> Policy:
        """Return this policy with a network's overrides applied (validated like the defaults)."""
        return Policy.model_validate({**self.model_dump(), **overrides})


DEFAULT_POLICY = Policy()
