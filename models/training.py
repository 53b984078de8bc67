"""The training rule: every employee has enough hours and every topic."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from models.memo import per_network
from models.network import Company, Employee, Network
from models.policy import Policy
from models.results import Check, check, name_some


class TrainingStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    employee: str
    name: str
    company: str
    hours: Decimal
    missing_topics: tuple[str, ...]
    hours_short: Decimal
    in_grace: bool

    @property
    def complete(self) -> bool:
        return self.hours_short <= 0 and not self.missing_topics


def format_hours(hours: Decimal) -> str:
    """Hours as written by people: 30, 7.5, 0.25 (no trailing zeros, no exponent)."""
    return f"{hours.normalize():f}"


def employed_on(employee: Employee, day: date) -> bool:
    return employee.hired_on <= day and (employee.left_on is None or employee.left_on > day)


def active_employees(company: Company, as_of: date) -> list[Employee]:
    return [e for e in company.employees if employed_on(e, as_of)]


@per_network
def training_status(network: Network, as_of: date, policy: Policy) -> dict[str, list[TrainingStatus]]:
    """Per company, each active employee's hours, hours short and missing topics as of `as_of`.

    Hours are summed and compared as decimals, so the sum is exact. Computed once per network,
    day and policy however many gates, reports and programmes ask (the result is shared: read it,
    never change it)."""
    hours: dict[str, Decimal] = defaultdict(Decimal)
    topics: dict[str, set[str]] = defaultdict(set)
    for session in network.training_sessions:
        if session.date <= as_of:
            for employee in session.attendees:
                hours[employee] += session.hours
                topics[employee].update(session.topics)
    grace_start = as_of - timedelta(days=policy.new_hire_grace_days)
    out: dict[str, list[TrainingStatus]] = {}
    for company in network.companies:
        out[company.id] = [
            TrainingStatus(
                employee=e.id, name=e.name, company=company.id, hours=hours[e.id],
                missing_topics=tuple(t for t in policy.training_topics if t not in topics[e.id]),
                hours_short=max(Decimal(0), policy.training_hours - hours[e.id]),
                in_grace=e.hired_on > grace_start)
            for e in active_employees(company, as_of)]
    return out


def coverage(statuses: list[TrainingStatus]) -> float:
    """Share of active employees whose training is complete (1.0 when there is nobody)."""
    if not statuses:
        return 1.0
    return sum(s.complete for s in statuses) / len(statuses)


def check_training(network: Network, as_of: date, policy: Policy) -> list[Check]:
    checks: list[Check] = []
    status = training_status(network, as_of, policy)
    for company in network.active_companies(as_of):
        people = status[company.id]
        due = [s for s in people if not s.in_grace]
        grace = len(people) - len(due)
        note = f" ({grace} new hire(s) within the grace period)" if grace else ""
        if not people:
            none = ["no active employees recorded"]
            checks += [check("training-hours", company.id, none, ""),
                       check("training-topics", company.id, none, "")]
            continue
        short = [s for s in due if s.hours_short > 0]
        checks.append(check(
            "training-hours", company.id,
            [f"{len(short)} of {len(due)} employee(s) below {format_hours(policy.training_hours)} h: "
             + name_some([f"{s.name} ({format_hours(s.hours_short)} h short)" for s in short])]
            if short else [],
            f"all {len(due)} employee(s) have at least {format_hours(policy.training_hours)} h{note}"))
        gaps = [s for s in due if s.missing_topics]
        checks.append(check(
            "training-topics", company.id,
            [f"{len(gaps)} of {len(due)} employee(s) miss topics: "
             + name_some([f"{s.name} ({', '.join(s.missing_topics)})" for s in gaps])] if gaps else [],
            f"all {len(due)} employee(s) covered all {len(policy.training_topics)} topics{note}"))
    return checks
