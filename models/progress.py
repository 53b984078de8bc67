"""The figures behind the progress charts: findings by clause and grade over time, the age of open
corrective actions, and readiness month by month. Pure functions of the network and a date."""

from __future__ import annotations

from collections import Counter
from datetime import date

from pydantic import BaseModel, ConfigDict

from models.dates import add_months
from models.findings import is_open
from models.gates import CERTIFICATION_GATES, evaluate_gate
from models.network import Finding, Grade, Network
from models.policy import Policy

# (label, oldest age in days it holds): an open action's age counts from the audit that raised it.
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-30 days", 30), ("31-90 days", 90), ("91-180 days", 180), ("over 180 days", None))


def quarter(day: date) -> str:
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def quarters(first: date, last: date) -> list[str]:
    """Every quarter from the one holding `first` to the one holding `last`, empty ones included."""
    out, day = [], date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    while day <= last:
        out.append(quarter(day))
        day = add_months(day, 3)
    return out


class FindingCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    period: str  # the quarter the audit started in, "1998 Q3"
    clause: str
    grade: Grade
    external: bool
    count: int


def findings_by_clause_and_grade(network: Network, as_of: date,
                                 company: str | None = None) -> list[FindingCount]:
    """How many findings each quarter raised per clause and grade, internal and external apart."""
    counts: Counter[tuple[str, str, Grade, bool]] = Counter()
    for c in network.companies:
        if company is None or c.id == company:
            for audit in c.internal_audits:
                if audit.date <= as_of:
                    for f in audit.findings:
                        counts[(quarter(audit.date), f.clause, f.grade, False)] += 1
    for x in network.external_audits:
        if x.start <= as_of:
            for xf in x.findings:
                if company is None or xf.company == company:
                    counts[(quarter(x.start), xf.clause, xf.grade, True)] += 1
    return [FindingCount(period=y, clause=cl, grade=g, external=e, count=n)
            for (y, cl, g, e), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))]


def finding_periods(counts: list[FindingCount], as_of: date) -> list[str]:
    """The quarters a findings chart spans: from the first with a finding to the as-of date's."""
    if not counts:
        return []
    year, q = min(counts, key=lambda f: f.period).period.split(" Q")
    return quarters(date(int(year), 3 * int(q) - 2, 1), as_of)


class ActionAge(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str
    company: str | None
    finding: str
    grade: Grade
    owner: str
    raised_on: date
    due: date
    age_days: int
    overdue_days: int

    @property
    def bucket(self) -> str:
        for label, oldest in AGE_BUCKETS:
            if oldest is None or self.age_days <= oldest:
                return label
        raise AssertionError("unreachable")


def open_action_ages(network: Network, as_of: date, company: str | None = None) -> list[ActionAge]:
    """Every corrective action open on `as_of`, internal and external, with its age."""
    out = []
    raised: list[tuple[str | None, date, Finding]] = []
    for c in network.companies:
        if company is None or c.id == company:
            raised += [(c.id, a.date, f) for a in c.internal_audits if a.date <= as_of for f in a.findings]
    raised += [(xf.company, x.start, xf) for x in network.external_audits if x.start <= as_of
               for xf in x.findings if company is None or xf.company == company]
    for who, day, finding in raised:
        for action in finding.actions:
            if is_open(action.closed_on, as_of):
                out.append(ActionAge(
                    action=action.id, company=who, finding=finding.id, grade=finding.grade,
                    owner=action.owner, raised_on=day, due=action.due, age_days=(as_of - day).days,
                    overdue_days=max(0, (as_of - action.due).days)))
    return sorted(out, key=lambda a: (-a.age_days, a.action))


def ageing_buckets(ages: list[ActionAge]) -> dict[str, tuple[int, int]]:
    """Per age bucket: (open and not yet due, overdue)."""
    out = {label: (0, 0) for label, _ in AGE_BUCKETS}
    for a in ages:
        on_time, overdue = out[a.bucket]
        out[a.bucket] = (on_time, overdue + 1) if a.overdue_days else (on_time + 1, overdue)
    return out


class ReadinessPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    on: date
    checks: int
    passed: int
    gates_passed: int
    gates: int

    @property
    def share(self) -> float:
        return self.passed / self.checks if self.checks else 0.0


def readiness_over_time(network: Network, as_of: date, policy: Policy, months: int = 12,
                        company: str | None = None) -> list[ReadinessPoint]:
    """The certification gates evaluated on the same day of each of the last `months` months, from
    the records as they now stand; with `company`, only its own checks (a gate counts as passed for
    it when none of them fails)."""
    points = []
    for back in range(months - 1, -1, -1):
        day = add_months(as_of, -back)
        results = [evaluate_gate(stage, network, day, policy) for stage in CERTIFICATION_GATES]
        mine = [[c for c in r.checks if company is None or c.company == company] for r in results]
        checks = [c for gate in mine for c in gate]
        points.append(ReadinessPoint(on=day, checks=len(checks), passed=sum(c.passed for c in checks),
                                     gates_passed=sum(all(c.passed for c in gate) for gate in mine),
                                     gates=len(results)))
    return points

