"""Environmental review and planning: aspects, legal register, objectives, documentation."""

from __future__ import annotations

from datetime import date

from models.dates import within_months
from models.network import LegalRequirement, Network
from models.policy import Policy
from models.results import Check, check, name_some


def unresolved_noncompliance(requirement: LegalRequirement, as_of: date) -> bool:
    return requirement.compliant is False and (
        requirement.resolved_on is None or requirement.resolved_on > as_of)


def check_planning(network: Network, as_of: date, policy: Policy) -> list[Check]:
    checks: list[Check] = []
    manual = network.ems_manual
    for c in network.active_companies(as_of):
        review = c.review
        problems = []
        if review is None or review.completed_on > as_of:
            problems.append("environmental review not done")
        if not c.aspects:
            problems.append("aspects register is empty")
        unassessed = [a.id for a in c.aspects if a.significance is None]
        if unassessed:
            problems.append(f"significance not assessed for aspect(s) {name_some(unassessed)}")
        significant = sum(a.significance == "high" for a in c.aspects)
        checks.append(check("environmental-review", c.id, problems,
                            f"review {review.completed_on if review else ''}, {len(c.aspects)} aspects, "
                            f"{significant} highly significant"))

        months = policy.legal_evaluation_interval_months
        stale = [r.id for r in c.legal_register
                 if r.evaluated_on is None or not within_months(r.evaluated_on, months, as_of)]
        problems = ["legal register is empty"] if not c.legal_register else []
        if stale:
            problems.append(f"not evaluated in the last {months} months: {name_some(stale)}")
        latest = max((r.evaluated_on for r in c.legal_register if r.evaluated_on), default=None)
        checks.append(check("legal-evaluation", c.id, problems,
                            f"{len(c.legal_register)} obligations, last evaluated {latest}"))

        open_ = [f"{r.id} ({r.obligation})" for r in c.legal_register if unresolved_noncompliance(r, as_of)]
        checks.append(check("legal-compliance", c.id,
                            [f"unresolved non-compliance: {name_some(open_)}"] if open_ else [],
                            "no unresolved non-compliance"))

        targeted = [o for o in c.objectives if o.target is not None]
        checks.append(check("objectives", c.id,
                            [] if targeted else ["no objective with a target"],
                            f"{len(targeted)} objective(s) with targets"))

        problems = []
        if manual is None or manual.issued_on > as_of:
            problems.append("shared EMS manual not issued")
        if c.binder is None or c.binder.updated_on > as_of:
            problems.append("company binder missing")
        checks.append(check("documentation", c.id, problems,
                            f"manual {manual.version if manual else ''}, binder "
                            f"{c.binder.version if c.binder else ''}"))
    return checks
