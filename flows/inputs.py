"""The forms a paused run shows in the Prefect UI."""

from __future__ import annotations

from prefect.input import RunInput
from pydantic import Field

from models.network import Recommendation


class SignOff(RunInput):
    """The certification decision maker's sign-off."""

    approve: bool = Field(description="Issue the certificate?")
    decided_by: str = Field(min_length=1, max_length=200, description="Your name and role.")
    comment: str = Field("", max_length=2000, description="Reasons, conditions, references.")


class AuditorInput(RunInput):
    """The external auditors' recommendation, when the store does not hold it yet."""

    recommendation: Recommendation = Field(description="The audit team's recommendation.")
    lead_auditor: str = Field(min_length=1, max_length=200)
    note: str = Field("", max_length=2000, description="Summary of findings, if any.")
