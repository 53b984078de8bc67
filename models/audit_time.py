"""Audit time (IAF MD 5, EMS): auditor-days per company and for the network."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from models.network import Company, Complexity, ExternalAuditKind
from models.policy import Policy

# Initial audit (stage 1 + stage 2) in auditor-days of 8 h, by effective personnel (upper bound
# of the band) and environmental complexity: high, medium, low.
MD5_INITIAL_DAYS: tuple[tuple[int, float, float, float], ...] = (
    (5, 3.0, 2.5, 2.5),
    (10, 3.5, 3.0, 3.0),
    (15, 4.5, 3.5, 3.0),
    (25, 5.5, 4.5, 3.5),
    (45, 7.0, 5.5, 4.0),
    (65, 8.0, 6.0, 4.5),
    (85, 9.0, 7.0, 5.0),
    (125, 11.0, 8.0, 5.5),
    (175, 12.0, 9.0, 6.0),
    (275, 13.0, 10.0, 7.0),
)
SHARE_OF_INITIAL = {
    ExternalAuditKind.STAGE1: 1.0,  # stage 1 and stage 2 together make the initial audit
    ExternalAuditKind.STAGE2: 1.0,
    ExternalAuditKind.SURVEILLANCE: 1 / 3,
    ExternalAuditKind.RECERTIFICATION: 2 / 3,
}
MAX_TOTAL_REDUCTION = 0.30
MAX_SITE_REDUCTION = 0.50
MIN_ON_SITE_SHARE = 0.80


def initial_audit_days(personnel: int, complexity: Complexity) -> float:
    """The MD 5 table. `limited` complexity uses the low column (the table here has no other)."""
    if personnel < 1:
        raise ValueError("effective personnel must be at least 1")
    column = {Complexity.HIGH: 1, Complexity.MEDIUM: 2, Complexity.LOW: 3, Complexity.LIMITED: 3}
    for upper, *days in MD5_INITIAL_DAYS:
        if personnel <= upper:
            return days[column[complexity] - 1]
    raise ValueError(f"{personnel} personnel is beyond the table (at most {MD5_INITIAL_DAYS[-1][0]}); "
                     "set the audit time by the certification body's own rule")


class CompanyAuditTime(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    personnel: int
    complexity: Complexity
    initial_days: float
    days: float


class AuditTime(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ExternalAuditKind
    companies: tuple[CompanyAuditTime, ...]
    reduction: float
    total_days: float
    on_site_days: float


def round_half(days: float) -> float:
    """Auditor-days are planned in half days, rounded up."""
    return -(-days * 2 // 1) / 2


def audit_time(companies: list[Company], kind: ExternalAuditKind, policy: Policy) -> AuditTime:
    """Auditor-days for an audit visiting `companies` (central function's host included).

    Each company's time is its MD 5 initial time times the audit's share (1/3 surveillance,
    2/3 recertification), reduced by the policy's site reduction (at most 50 %); the network's
    total is their sum less the policy's overall reduction (at most 30 %); at least 80 % on site.
    """
    site = min(policy.sampled_site_reduction, MAX_SITE_REDUCTION)
    overall = min(policy.audit_time_reduction, MAX_TOTAL_REDUCTION)
    rows = []
    for c in companies:
        initial = initial_audit_days(c.personnel, c.complexity)
        rows.append(CompanyAuditTime(company=c.id, personnel=c.personnel, complexity=c.complexity,
                                     initial_days=initial,
                                     days=round_half(initial * SHARE_OF_INITIAL[kind] * (1 - site))))
    total = round_half(sum(r.days for r in rows) * (1 - overall))
    return AuditTime(kind=kind, companies=tuple(rows), reduction=overall, total_days=total,
                     on_site_days=round_half(total * MIN_ON_SITE_SHARE))
