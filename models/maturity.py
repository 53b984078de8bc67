"""Where each company's EMS stands, from immature to mature, on the four dimensions of the municipal
study: focus, scope, actors and integration. Each dimension has three criteria read from the records;
the level is the number met."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from models.network import Company, IndicatorKind, Network, Significance
from models.policy import Policy
from models.reviews import latest_review
from models.training import TrainingStatus, coverage, training_status

LEVELS: tuple[str, ...] = ("immature", "emerging", "established", "mature")
CORE_INDICATORS = tuple(k for k in IndicatorKind if k is not IndicatorKind.LAND_USE)
MOST_EMPLOYEES = 0.5


class Criterion(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    met: bool
    evidence: str


class Dimension(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    immature: str  # what the immature end looks like
    mature: str
    criteria: tuple[Criterion, ...]

    @property
    def level(self) -> int:
        return sum(c.met for c in self.criteria)

    @property
    def label(self) -> str:
        return LEVELS[self.level]


DIMENSIONS: dict[str, tuple[str, str]] = {
    "focus": ("technical functions only", "the whole organisation and society"),
    "scope": ("direct impacts", "direct and indirect impacts"),
    "actors": ("environmental experts", "a coordinator, most employees and stakeholders"),
    "integration": ("a separate system", "part of the overall management system"),
}


class CompanyMaturity(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    name: str
    dimensions: tuple[Dimension, ...]

    @property
    def level(self) -> int:
        """The company's overall stage: its least mature dimension."""
        return min(d.level for d in self.dimensions)


def _dimension(name: str, *criteria: Criterion) -> Dimension:
    immature, mature = DIMENSIONS[name]
    return Dimension(name=name, immature=immature, mature=mature, criteria=criteria)


def _company_maturity(company: Company, people: list[TrainingStatus], as_of: date) -> CompanyMaturity:
    targeted = [o for o in company.objectives if o.baseline is not None and o.target is not None]
    areas = sorted({o.indicator or o.description for o in company.objectives})
    reported = [k for k in CORE_INDICATORS if any(i.kind is k and i.values for i in company.indicators)]
    focus = _dimension(
        "focus",
        Criterion(text="Objectives with a baseline and a target, not only compliance",
                  met=bool(targeted), evidence=f"{len(targeted)} of {len(company.objectives)} objective(s)"),
        Criterion(text="Objectives span more than one area of the business",
                  met=len(areas) > 1, evidence="; ".join(areas) or "no objectives"),
        Criterion(text=f"All {len(CORE_INDICATORS)} core indicators reported",
                  met=len(reported) == len(CORE_INDICATORS),
                  evidence=", ".join(k.value for k in reported) or "none reported"))

    assessed = [a for a in company.aspects if a.significance is not None]
    significant = [a for a in company.aspects if a.significance is Significance.HIGH]
    indirect = [a for a in company.aspects if not a.direct]
    indirect_ids = {a.id for a in indirect}
    addressing = [o for o in company.objectives if o.aspect in indirect_ids]
    scope = _dimension(
        "scope",
        Criterion(text="Every aspect assessed, significant ones identified",
                  met=bool(company.aspects) and len(assessed) == len(company.aspects) and bool(significant),
                  evidence=f"{len(assessed)} of {len(company.aspects)} assessed, "
                           f"{len(significant)} significant"),
        Criterion(text="Indirect aspects identified (suppliers, customers, transport, products)",
                  met=bool(indirect), evidence=", ".join(a.description for a in indirect) or "none"),
        Criterion(text="An objective addresses an indirect aspect",
                  met=bool(addressing), evidence=", ".join(o.id for o in addressing) or "none"))

    share = coverage(people)
    review = latest_review(company, as_of)
    heard = review is not None and "interested_party_communications" in review.inputs
    actors = _dimension(
        "actors",
        Criterion(text="An environmental coordinator and manager named",
                  met=company.coordinator is not None and company.environmental_manager is not None,
                  evidence=company.coordinator.name if company.coordinator else "no coordinator"),
        Criterion(text="Most employees have completed the environmental training",
                  met=bool(people) and share > MOST_EMPLOYEES,
                  evidence=f"{share:.0%} of {len(people)} employee(s)"),
        Criterion(text="Interested parties heard in the management review",
                  met=heard, evidence=f"review {review.date}" if review else "no review held"))

    integration = _dimension(
        "integration",
        Criterion(text="Top management committed and roles defined",
                  met=(company.commitment is not None and company.commitment.signed_on <= as_of
                       and company.roles_defined_on is not None and company.roles_defined_on <= as_of),
                  evidence=company.commitment.signed_by if company.commitment else "no commitment"),
        Criterion(text="Management review signed with decisions recorded",
                  met=review is not None and review.signed_by is not None and bool(review.decisions),
                  evidence=f"{len(review.decisions)} decision(s), signed by {review.signed_by or 'nobody'}"
                  if review else "no review held"),
        Criterion(text="Integrated with another management system",
                  met=bool(company.integrated_with),
                  evidence=", ".join(company.integrated_with) or "stand-alone"))
    return CompanyMaturity(company=company.id, name=company.name,
                           dimensions=(focus, scope, actors, integration))


def maturity(network: Network, as_of: date, policy: Policy) -> list[CompanyMaturity]:
    """Every active company's maturity as of `as_of`."""
    people = training_status(network, as_of, policy)
    return [_company_maturity(c, people[c.id], as_of) for c in network.active_companies(as_of)]


def level_counts(companies: list[CompanyMaturity]) -> dict[str, list[int]]:
    """Per dimension, how many companies stand at each level."""
    counts = {name: [0] * len(LEVELS) for name in DIMENSIONS}
    for company in companies:
        for d in company.dimensions:
            counts[d.name][d.level] += 1
    return counts
