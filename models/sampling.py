"""Multi-site sampling (IAF MD 1): how many member companies an external audit must visit."""

from __future__ import annotations

import math
import random
from datetime import date
from fractions import Fraction
from math import isqrt

from pydantic import BaseModel, ConfigDict

from models.network import Company, ExternalAuditKind
from models.policy import Policy


def ceil_factor_sqrt(factor: float, x: int) -> int:
    """ceil(factor * sqrt(x)) in exact integer arithmetic (no floating-point edge errors)."""
    if x < 0:
        raise ValueError("the number of sites cannot be negative")
    f = Fraction(factor).limit_denominator(10_000)
    # n >= f*sqrt(x)  <=>  n^2 >= f^2 * x  for n >= 0
    target = f * f * x
    n = isqrt(int(target))
    while Fraction(n * n) < target:
        n += 1
    return n


def sample_factor(kind: ExternalAuditKind, policy: Policy) -> float:
    return {
        ExternalAuditKind.STAGE1: policy.initial_sample_factor,
        ExternalAuditKind.STAGE2: policy.initial_sample_factor,
        ExternalAuditKind.SURVEILLANCE: policy.surveillance_sample_factor,
        ExternalAuditKind.RECERTIFICATION: policy.recertification_sample_factor,
    }[kind]


def sample_size(kind: ExternalAuditKind, companies: int, policy: Policy) -> int:
    """Member companies to visit, the central function not counted (it is always visited)."""
    return min(companies, ceil_factor_sqrt(sample_factor(kind, policy), companies))


def minimum_reason(kind: ExternalAuditKind, companies: int, policy: Policy) -> str:
    """How IAF MD 1 gives the minimum, in figures: 'ceil(0.6 × √26) = 4 for a surveillance audit'."""
    words = {ExternalAuditKind.STAGE1: "an initial audit", ExternalAuditKind.STAGE2: "an initial audit",
             ExternalAuditKind.SURVEILLANCE: "a surveillance audit",
             ExternalAuditKind.RECERTIFICATION: "a recertification audit"}[kind]
    return (f"ceil({sample_factor(kind, policy):g} × √{companies}) = {sample_size(kind, companies, policy)} "
            f"for {words} of {companies} member companies")


class SiteRisk(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    open_majors: int
    overdue_actions: int
    training_coverage: float
    visited_in_cycle: bool

    def reasons(self, policy: Policy) -> list[str]:
        out = []
        if self.open_majors:
            out.append(f"{self.open_majors} open major(s)")
        if self.overdue_actions:
            out.append(f"{self.overdue_actions} overdue action(s)")
        if self.training_coverage < policy.low_training_coverage:
            out.append(f"training coverage {self.training_coverage:.0%}")
        if not self.visited_in_cycle:
            out.append("not yet visited in this cycle")
        return out

    @property
    def high(self) -> bool:
        return bool(self.open_majors or self.overdue_actions)


class SampledSite(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    how: str  # "random" or "risk"
    reasons: tuple[str, ...] = ()


class SamplePlan(BaseModel):
    """Which member companies an external audit visits, and why (the central function always)."""

    model_config = ConfigDict(frozen=True)

    kind: ExternalAuditKind
    population: int
    minimum: int  # what IAF MD 1 requires
    minimum_reason: str = ""
    size: int  # what is planned: the minimum, raised for risk and for coverage of the cycle
    seed: int
    eligible: bool
    ineligible: tuple[str, ...] = ()
    raised_because: tuple[str, ...] = ()
    sites: tuple[SampledSite, ...]

    @property
    def companies(self) -> tuple[str, ...]:
        return tuple(s.company for s in self.sites)


def is_eligible(company: Company, as_of: date) -> bool:
    """IAF MD 1: only companies bound to the central function by a signed agreement can be sampled."""
    agreement = company.group_agreement
    return bool(agreement and agreement.signed_on <= as_of and agreement.authority_for_corrective_action)


def plan_sample(kind: ExternalAuditKind, members: list[Company], risks: dict[str, SiteRisk],
                policy: Policy, seed: int, audits_left_in_cycle: int = 1) -> SamplePlan:
    """The sample for one audit: the IAF MD 1 minimum, raised for risk and for coverage of the
    cycle; at least `random_sample_share` of it drawn at random (seeded, so reproducible), the
    rest chosen by risk, companies not yet visited in the cycle first."""
    ids = sorted(c.id for c in members)
    x = len(ids)
    ineligible = tuple(sorted(c.id for c in members if not is_eligible(c, date.max)))
    minimum, why = sample_size(kind, x, policy), minimum_reason(kind, x, policy)
    if ineligible:
        # Without the agreement there is no group: sampling does not apply, every site is visited.
        sites = tuple(SampledSite(company=c, how="all", reasons=("no sampling: network not eligible",))
                      for c in ids)
        return SamplePlan(kind=kind, population=x, minimum=minimum, minimum_reason=why, size=x, seed=seed,
                          eligible=False, ineligible=ineligible, sites=sites)
    size, raised = minimum, []
    high = [c for c in ids if risks[c].high]
    if high and policy.high_risk_extra_sites:
        size += policy.high_risk_extra_sites
        raised.append(f"risk policy: {len(high)} high-risk site(s): +{policy.high_risk_extra_sites}"
                      f" (open majors or overdue actions at {', '.join(high)})")
    unvisited = [c for c in ids if not risks[c].visited_in_cycle]
    if policy.cover_all_sites_in_cycle and unvisited:
        needed = -(-len(unvisited) // max(1, audits_left_in_cycle))
        if needed > size:
            raised.append(f"coverage policy: {len(unvisited)} companies not yet visited in this cycle "
                          f"and {audits_left_in_cycle} audit(s) left, so {needed} per audit")
            size = needed
    size = min(size, x)

    rng = random.Random(seed)
    n_random = min(size, math.ceil(policy.random_sample_share * size))
    pool = unvisited if len(unvisited) >= n_random else ids
    drawn = sorted(rng.sample(pool, n_random))
    rest = [c for c in ids if c not in drawn]
    rest.sort(key=lambda c: (risks[c].visited_in_cycle, -risks[c].open_majors,
                             -risks[c].overdue_actions, risks[c].training_coverage, c))
    chosen = rest[:size - n_random]
    sites = tuple([SampledSite(company=c, how="random") for c in drawn]
                  + [SampledSite(company=c, how="risk", reasons=tuple(risks[c].reasons(policy)))
                     for c in chosen])
    return SamplePlan(kind=kind, population=x, minimum=minimum, minimum_reason=why, size=size, seed=seed,
                      eligible=True, raised_because=tuple(raised), sites=sites)
