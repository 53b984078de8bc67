"""The gates: which checks each lifecycle stage runs, in which order, and per-company progress."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, ConfigDict

from models.catalogue import Stage
from models.certification import (
    check_external_audit,
    check_surveillance,
)
from models.findings import audits_in_window, check_internal_audits, open_nonconformities
from models.formation import check_formation
from models.network import Network
from models.planning import check_planning
from models.policy import DEFAULT_POLICY, Policy
from models.results import Check, GateResult
from models.reviews import check_management_review
from models.training import check_training, coverage, training_status

Rule = Callable[[Network, date, Policy], list[Check]]

RULES: dict[Stage, Rule] = {
    Stage.FORMATION: check_formation,
    Stage.TRAINING: check_training,
    Stage.PLANNING: check_planning,
    Stage.INTERNAL_AUDITS: check_internal_audits,
    Stage.MANAGEMENT_REVIEW: check_management_review,
    Stage.EXTERNAL_AUDIT: check_external_audit,
    Stage.SURVEILLANCE: check_surveillance,
}

# The parts of a network each gate reads: the store loads only these.
STAGE_PARTS: dict[Stage, frozenset[str]] = {
    Stage.FORMATION: frozenset(),
    Stage.TRAINING: frozenset({"training"}),
    Stage.PLANNING: frozenset({"registers"}),
    Stage.INTERNAL_AUDITS: frozenset({"internal_audits"}),
    Stage.MANAGEMENT_REVIEW: frozenset({"reviews"}),
    Stage.EXTERNAL_AUDIT: frozenset({"external_audits"}),
    Stage.SURVEILLANCE: frozenset({"external_audits", "certificates"}),
}

# The gates a certificate needs, in the order the lifecycle runs them: the one source of that order.
CERTIFICATION_GATES: tuple[Stage, ...] = (
    Stage.FORMATION, Stage.TRAINING, Stage.PLANNING, Stage.INTERNAL_AUDITS,
    Stage.MANAGEMENT_REVIEW, Stage.EXTERNAL_AUDIT,
)


def policy_for(network: Network, base: Policy = DEFAULT_POLICY) -> Policy:
    return base.with_overrides(network.policy_overrides) if network.policy_overrides else base


def evaluate_gate(stage: Stage, network: Network, as_of: date, policy: Policy | None = None) -> GateResult:
    """Run every check of `stage` for every company and for the network."""
    rule = RULES[stage]
    checks = rule(network, as_of, policy or policy_for(network))
    return GateResult(network_id=network.id, stage=stage, as_of=as_of, checks=tuple(checks),
                      network_name=network.name, companies={c.id: c.name for c in network.companies})


class CompanyProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    name: str
    employees: int
    training_coverage: float
    audits_last_12_months: int
    open_findings: int


def company_progress(network: Network, as_of: date, policy: Policy | None = None) -> list[CompanyProgress]:
    """The figures `hackefors status` shows per company: training coverage, audits, open findings."""
    policy = policy or policy_for(network)
    status = training_status(network, as_of, policy)
    return [CompanyProgress(company=c.id, name=c.name, employees=len(status[c.id]),
                             training_coverage=coverage(status[c.id]),
                             audits_last_12_months=audits_in_window(c, as_of),
                             open_findings=len(open_nonconformities(c, as_of)))
            for c in network.active_companies(as_of)]
