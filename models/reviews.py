"""Management review (ISO 14001 9.3) by each company's top management."""

from __future__ import annotations

from datetime import date

from models.dates import add_months, within_months
from models.network import Company, ManagementReview, Network
from models.policy import Policy
from models.results import Check, check


def latest_review(company: Company, as_of: date) -> ManagementReview | None:
    held = [r for r in company.management_reviews if r.date <= as_of]
    return max(held, key=lambda r: r.date, default=None)


def review_due_on(company: Company, as_of: date, policy: Policy) -> date | None:
    """The last day on which the next review is in time, or None when none was ever held."""
    review = latest_review(company, as_of)
    return add_months(review.date, policy.management_review_interval_months) if review else None


def check_management_review(network: Network, as_of: date, policy: Policy) -> list[Check]:
    checks: list[Check] = []
    for c in network.active_companies(as_of):
        review = latest_review(c, as_of)
        if review is None:
            none = ["no management review held"]
            checks += [check(code, c.id, none, "") for code in
                       ("review-held", "review-inputs", "review-signed")]
            continue
        months = policy.management_review_interval_months
        checks.append(check(
            "review-held", c.id,
            [] if within_months(review.date, months, as_of) else
            [f"last review {review.date} is more than {months} months old: the next was due by "
             f"{add_months(review.date, months)}"],
            f"review {review.id} on {review.date}"))
        missing = [i for i in policy.management_review_inputs if i not in review.inputs]
        checks.append(check("review-inputs", c.id,
                            [f"review {review.id} misses inputs: {', '.join(missing)}"] if missing else [],
                            f"all {len(policy.management_review_inputs)} inputs covered"))
        signed = review.signed_on is not None and review.signed_on <= as_of and review.signed_by
        checks.append(check("review-signed", c.id,
                            [] if signed else [f"review {review.id} is not signed"],
                            f"signed by {review.signed_by} on {review.signed_on}"))
    return checks
