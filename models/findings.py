"""Internal audits, findings and corrective actions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from models.dates import within_months
from models.network import Company, CorrectiveAction, Finding, Grade, Network
from models.policy import Policy
from models.results import Check, check, name_some


def is_open(closed_on: date | None, as_of: date) -> bool:
    return closed_on is None or closed_on > as_of


def is_overdue(action: CorrectiveAction, as_of: date) -> bool:
    return is_open(action.closed_on, as_of) and action.due < as_of


# "Internal audits per year" counts the audits of the trailing 12 calendar months.
AUDIT_WINDOW_MONTHS = 12


def audits_in_window(company: Company, as_of: date, months: int = AUDIT_WINDOW_MONTHS) -> int:
    """Internal audits held within the last `months` calendar months (both ends counted)."""
    return sum(within_months(a.date, months, as_of) for a in company.internal_audits)


def internal_findings(company: Company, as_of: date) -> Iterator[Finding]:
    for audit in company.internal_audits:
        if audit.date <= as_of:
            yield from audit.findings


def open_nonconformities(company: Company, as_of: date) -> list[Finding]:
    return [f for f in internal_findings(company, as_of)
            if f.grade.is_nonconformity and is_open(f.closed_on, as_of)]


def closed_with_open_actions(finding: Finding, as_of: date) -> list[str]:
    """Actions still open when `finding` was closed (a nonconformity cannot close before them)."""
    if finding.closed_on is None or finding.closed_on > as_of:
        return []
    return [a.id for a in finding.actions
            if a.closed_on is None or a.closed_on > finding.closed_on]


def check_internal_audits(network: Network, as_of: date, policy: Policy) -> list[Check]:
    checks: list[Check] = []
    for c in network.active_companies(as_of):
        held = audits_in_window(c, as_of)
        checks.append(check(
            "internal-audit-frequency", c.id,
            [f"{held} internal audit(s) in the last 12 months, {policy.internal_audits_per_year} required"]
            if held < policy.internal_audits_per_year else [],
            f"{held} internal audits in the last 12 months"))

        findings = list(internal_findings(c, as_of))
        majors = [f.id for f in findings if f.grade == Grade.MAJOR and is_open(f.closed_on, as_of)]
        checks.append(check("open-majors", c.id,
                            [f"open major nonconformity {name_some(majors)}"] if majors else [],
                            f"{sum(f.grade == Grade.MAJOR for f in findings)} major(s), all closed"))

        overdue = [f"{a.id} (due {a.due}, owner {a.owner})"
                   for f in findings for a in f.actions if is_overdue(a, as_of)]
        checks.append(check("overdue-actions", c.id,
                            [f"overdue corrective action {name_some(overdue)}"] if overdue else [],
                            f"{sum(len(f.actions) for f in findings)} action(s), none overdue"))

        premature = [f"{f.id} (open: {', '.join(ids)})" for f in findings
                     if (ids := closed_with_open_actions(f, as_of))]
        checks.append(check("premature-closure", c.id,
                            [f"closed while actions were open: {name_some(premature)}"] if premature
                            else [], "no finding closed before its actions"))
    return checks
