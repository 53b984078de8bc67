"""What a gate check yields: pass or fail, the requirement and clause, the company, and why."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict

from models.catalogue import CATALOGUE, Stage

MAX_NAMES = 5


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    requirement: str
    company: str | None = None
    passed: bool
    detail: str

    @property
    def clause(self) -> str:
        return CATALOGUE[self.requirement].clause_label

    @property
    def title(self) -> str:
        return CATALOGUE[self.requirement].title

    def line(self, names: Mapping[str, str] | None = None) -> str:
        """One line: who (a company's name and code when `names` has it), requirement, clause, why."""
        who = self.company or "network"
        if self.company and names and self.company in names:
            who = f"{names[self.company]} ({self.company})"
        return f"{who}: {self.requirement} ({self.clause}): {self.detail}"


class GateResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    network_id: str
    stage: Stage
    as_of: date
    checks: tuple[Check, ...]
    network_name: str = ""  # for people; results read back from the store leave these empty
    companies: dict[str, str] = {}  # company id -> name

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def blockers(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def message(self) -> str:
        """A Failed state's message: every unmet requirement, or that the gate passed."""
        if self.passed:
            return f"{self.stage.value} gate passed ({len(self.checks)} checks)"
        lines = [f"{self.stage.value} gate blocked by {len(self.blockers)} unmet requirement(s):"]
        lines += [f"- {c.line(self.companies)}" for c in self.blockers]
        return "\n".join(lines)


def check(requirement: str, company: str | None, failures: list[str], evidence: str) -> Check:
    """A check that passes when `failures` is empty; its detail is the evidence or the reasons."""
    assert requirement in CATALOGUE, requirement
    if failures:
        return Check(requirement=requirement, company=company, passed=False, detail="; ".join(failures))
    return Check(requirement=requirement, company=company, passed=True, detail=evidence)


def name_some(names: list[str]) -> str:
    """'a, b, c' or 'a, b, c, d, e and 7 more' for long lists."""
    shown = ", ".join(names[:MAX_NAMES])
    rest = len(names) - MAX_NAMES
    return f"{shown} and {rest} more" if rest > 0 else shown
