"""The forms a paused run shows in the Prefect UI (in Prefect 3.8's UI: the run's ⋮ menu → Resume)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from prefect.input import RunInput
from pydantic import Field, StringConstraints

from models.network import Recommendation

# A person's name: required, and blank is no name. The pattern (some character that is not a space)
# goes into the form's JSON schema, so that Prefect's server refuses a name of spaces when the form
# is submitted; min_length alone is checked there before stripping, and the run would fail later.
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                              pattern=r"\S")]


class Decision(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


class SignOff(RunInput):
    """The certification decision maker's sign-off."""

    decision: Decision = Field(description="approve issues the certificate; refuse ends the run without one.")
    decided_by: PersonName = Field(description="Your name and role.")
    comment: str = Field("", max_length=2000, description="Reasons, conditions, references.")

    @property
    def approve(self) -> bool:
        return self.decision == Decision.APPROVE


class AuditorInput(RunInput):
    """The external auditors' recommendation, when the store does not hold it yet."""

    recommendation: Recommendation = Field(description="The audit team's recommendation.")
    lead_auditor: PersonName = Field(description="The lead auditor's name.")
    note: str = Field("", max_length=2000, description="Summary of findings, if any.")
