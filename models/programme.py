"""The 3-year cycle: the audit programme, certificate status, and what a surveillance result does."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from models.audit_time import AuditTime, audit_time
from models.certification import (
    CertificateStatus,
    SurveillanceDue,
    certification_audit,
    surveillance_dues,
)
from models.dates import add_months, add_years
from models.findings import is_open, is_overdue, open_nonconformities
from models.network import Certificate, ExternalAudit, ExternalAuditKind, Grade, Network
from models.policy import Policy
from models.results import GateResult
from models.sampling import SamplePlan, SiteRisk, plan_sample
from models.training import coverage, training_status

K = ExternalAuditKind


class SurveillanceAction(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: CertificateStatus
    reason: str


def surveillance_consequence(status: CertificateStatus, suspended_on: date | None, passed: bool,
                             reasons: list[str], as_of: date, policy: Policy) -> SurveillanceAction | None:
    """What a surveillance result does to the certificate (ISO/IEC 17021-1): a failed or missed
    surveillance suspends it; a later pass reinstates it; a suspension not resolved within
    `suspension_max_months` ends in withdrawal. None: nothing changes."""
    if status == CertificateStatus.VALID and not passed:
        return SurveillanceAction(status=CertificateStatus.SUSPENDED,
                                  reason="surveillance failed: " + "; ".join(reasons))
    if status == CertificateStatus.SUSPENDED and passed:
        return SurveillanceAction(status=CertificateStatus.VALID,
                                  reason="reinstated: surveillance requirements met again")
    if (status == CertificateStatus.SUSPENDED and suspended_on is not None
            and as_of >= add_months(suspended_on, policy.suspension_max_months)):
        return SurveillanceAction(status=CertificateStatus.WITHDRAWN,
                                  reason=f"suspended since {suspended_on}, not resolved within "
                                         f"{policy.suspension_max_months} months")
    return None


class SurveillanceVerdict(BaseModel):
    """Whether a certified network still meets its obligations, and the words for it."""

    model_config = ConfigDict(frozen=True)

    stage_failures: tuple[str, ...]  # messages of the blocked internal-audit and review gates
    gate: GateResult  # the surveillance gate itself

    @property
    def unmet(self) -> list[str]:
        # A suspension alone does not count, or a suspended certificate could never be reinstated.
        return [*self.stage_failures,
                *(c.line(self.gate.companies) for c in self.gate.blockers
                  if c.requirement != "certificate-in-force")]

    @property
    def passed(self) -> bool:
        return not self.unmet

    def summary(self, consequence: str | None) -> str:
        """The run's message: what blocks, and what it did to the certificate."""
        if self.passed:
            return consequence or "certificate stays valid"
        lines = [*self.stage_failures, *([] if self.gate.passed else [self.gate.message()]),
                 *([consequence] if consequence else [])]
        return "surveillance blocked:\n" + "\n".join(m for m in lines if m)


class PlannedAudit(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ExternalAuditKind
    due_by: date
    status: str  # done, planned or overdue
    audit_id: str | None = None
    held_on: date | None = None
    late_for: date | None = None  # the surveillance due date it was held after
    visited: tuple[str, ...] = ()
    closes_cycle: bool = False  # the recertification that opens the next cycle
    sample: SamplePlan
    time: AuditTime


class SpreadCheck(BaseModel):
    """A nonconformity found at one company is checked at the others (IAF MD 1)."""

    model_config = ConfigDict(frozen=True)

    finding: str
    clause: str
    raised_at: str
    checked: tuple[str, ...]
    also_found: tuple[str, ...]
    pending: tuple[str, ...]


class Programme(BaseModel):
    model_config = ConfigDict(frozen=True)

    network_id: str
    as_of: date
    members: tuple[str, ...]
    cycle_start: date
    certificate: str | None
    valid_until: date | None
    audits: tuple[PlannedAudit, ...]
    spread_checks: tuple[SpreadCheck, ...]
    lapses: tuple[SurveillanceDue, ...] = ()  # surveillance held late or not at all: suspensions

    @property
    def unvisited(self) -> list[str]:
        """Members that no audit of this cycle (done or planned) visits."""
        seen = {c for a in self.audits if not a.closes_cycle for c in a.visited}
        return sorted(set(self.members) - seen)


def seed_for(network_id: str, kind: ExternalAuditKind, due_by: date) -> int:
    """A reproducible seed per network and audit, printed with the plan so anyone can redraw it."""
    digest = hashlib.sha256(f"{network_id}/{kind.value}/{due_by.isoformat()}".encode()).hexdigest()
    return int(digest[:8], 16)


def site_risks(network: Network, as_of: date, policy: Policy, visited: set[str]) -> dict[str, SiteRisk]:
    trained = training_status(network, as_of, policy)
    return {c.id: SiteRisk(
        company=c.id,
        open_majors=sum(f.grade == Grade.MAJOR for f in open_nonconformities(c, as_of)),
        overdue_actions=sum(is_overdue(a, as_of) for audit in c.internal_audits if audit.date <= as_of
                            for f in audit.findings for a in f.actions),
        training_coverage=coverage(trained[c.id]), visited_in_cycle=c.id in visited)
        for c in network.active_companies(as_of)}


def audit_programme(network: Network, as_of: date, policy: Policy,
                    certificate: Certificate | None) -> Programme:
    """The cycle's external audits with their dates, samples and auditor-days.

    The cycle starts with the audit the certificate rests on (stage 2, or a recertification), held
    or still to hold; from the decision come the first surveillance within 12 months, the second
    12 months later, and recertification 60 days before expiry, leaving time for the decision.
    Every visit of the cycle counts towards visiting each company once, so the plan reads the same
    before the decision and after it.
    """
    members = list(network.active_companies(as_of))
    central_host = _central_host(network)
    opening: ExternalAudit | None
    if certificate is None:
        opening = max((a for a in network.external_audits if a.kind == K.STAGE2), key=lambda a: a.end,
                      default=None)
        start = opening.end if opening else as_of
        decision = max(start, as_of)  # the decision has not been taken yet
        plan = [(K.STAGE2, start)]
    else:
        opening = certification_audit(network, certificate.issued_on)
        decision = certificate.issued_on
        start = opening.end if opening else decision
        plan = [(opening.kind, start)] if opening else []
    # Surveillance at least once per calendar year, the first within 12 months of the decision;
    # the second a year later, so both precede the recertification audit that closes the cycle.
    plan += [(K.SURVEILLANCE, add_months(decision, 12)), (K.SURVEILLANCE, add_months(decision, 24)),
             (K.RECERTIFICATION, add_years(decision, policy.certificate_validity_years)
              - timedelta(days=60))]
    closing = len(plan) - 1
    done = sorted((a for a in network.external_audits if start - timedelta(days=1) <= a.end <= as_of
                   and a.kind != K.STAGE1), key=lambda a: a.end)
    dues = surveillance_dues(network, certificate, as_of, policy) if certificate else []
    visited: set[str] = set()
    audits = []
    base_risks = site_risks(network, as_of, policy, visited)  # the costly part, computed once
    for index, (kind, due_by) in enumerate(plan):
        match = next((a for a in done if a.kind == kind), None)
        if match:
            done.remove(match)
        risks = {cid: r.model_copy(update={"visited_in_cycle": cid in visited})
                 for cid, r in base_risks.items()}
        sample = plan_sample(kind, members, risks, policy, seed_for(network.id, kind, due_by),
                             audits_left_in_cycle=max(1, closing - index))
        companies = list(match.companies_visited) if match else list(sample.companies)
        sites = [c for c in members if c.id in set(companies) | ({central_host} if central_host else set())]
        status = "done" if match else ("overdue" if due_by < as_of else "planned")
        late_for = next((d.due for d in dues if match and d.audit == match.id and d.late), None)
        audits.append(PlannedAudit(kind=kind, due_by=due_by, status=status,
                                   audit_id=match.id if match else None, held_on=match.end if match else None,
                                   late_for=late_for, visited=tuple(companies), closes_cycle=index == closing,
                                   sample=sample, time=audit_time(sites, kind, policy)))
        if index != closing:
            visited |= set(companies)
    return Programme(network_id=network.id, as_of=as_of, members=tuple(c.id for c in members),
                     cycle_start=start,
                     certificate=certificate.number if certificate else None,
                     valid_until=certificate.valid_until if certificate else None,
                     audits=tuple(audits), spread_checks=tuple(spread_checks(network, as_of)),
                     lapses=tuple(d for d in dues if d.late))


def _central_host(network: Network) -> str | None:
    if network.central_coordinator is None:
        return None
    owner = network.coordinators().get(network.central_coordinator.coordinator)
    return owner[0].id if owner else None


def spread_checks(network: Network, as_of: date) -> list[SpreadCheck]:
    """For each external nonconformity at a company: which other companies had an internal audit
    since (checked), found the same clause (also found), or are still to be checked (pending)."""
    out = []
    members = network.active_companies(as_of)
    for audit in network.external_audits:
        for finding in audit.findings:
            if not (finding.grade.is_nonconformity and finding.company) or audit.end > as_of:
                continue
            checked, also = [], []
            for c in members:
                if c.id == finding.company:
                    continue
                since = [a for a in c.internal_audits if audit.end <= a.date <= as_of]
                if since:
                    checked.append(c.id)
                    if any(f.clause == finding.clause for a in since for f in a.findings
                           if f.grade.is_nonconformity or is_open(f.closed_on, as_of)):
                        also.append(c.id)
            pending = [c.id for c in members if c.id not in checked and c.id != finding.company]
            out.append(SpreadCheck(finding=finding.id, clause=finding.clause, raised_at=finding.company,
                                   checked=tuple(checked), also_found=tuple(also), pending=tuple(pending)))
    return out
