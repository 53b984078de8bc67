"""The portfolio: one row per network saying how far it is, what blocks it, who must act by when,
and which rows need action first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.catalogue import Stage
from models.certification import CertificateEvent, CertificateStatus, certificate_status, held_certificate
from models.gap import ACTION_REQUIREMENTS, GapItem, Status, gap_analysis, gap_stages
from models.gates import CERTIFICATION_GATES, evaluate_gate
from models.network import ExternalAuditKind, Network
from models.policy import Policy
from models.programme import audit_programme
from models.results import GateResult


class Group(StrEnum):
    """Where a network stands for the operator, in the order the portfolio lists them."""

    ACT_NOW = "act now"
    ON_TRACK = "on track"
    CERTIFIED = "certified"


GROUP_ORDER = tuple(Group)


class Deadline(BaseModel):
    """The earliest due date of a gap analysis item: what, where, who."""

    model_config = ConfigDict(frozen=True)

    due: date
    owner: str
    requirement: str
    company: str | None  # None: the network as a whole
    met: bool  # met now, due again on `due` (a next internal audit, say)


class HeldCertificate(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: str
    status: CertificateStatus  # on the portfolio's date
    valid_until: date


class NextAudit(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ExternalAuditKind
    due_by: date
    status: str  # planned or overdue


class PortfolioRow(BaseModel):
    """One network in the portfolio on a date."""

    model_config = ConfigDict(frozen=True)

    network_id: str
    name: str
    group: Group
    gates_passed: int  # of the certification gates
    gates: int
    blocking: tuple[Stage, ...]  # failed gates, surveillance included once certified
    unmet: int  # unmet requirements (failed checks) over those gates
    deadline: Deadline | None
    certificate: HeldCertificate | None
    next_audit: NextAudit | None
    reasons: tuple[str, ...]  # why it is in "act now"
    undeliverable: int = 0  # reminders the mail server refused for good


def stage_label(stage: Stage) -> str:
    return stage.value.replace("_", " ")


def evaluate_stages(network: Network, as_of: date, policy: Policy) -> dict[Stage, GateResult]:
    """Every gate the portfolio shows for a network: the certification gates, and surveillance once
    certified (the same gates as its gap analysis)."""
    return {stage: evaluate_gate(stage, network, as_of, policy) for stage in gap_stages(network)}


def earliest_deadline(items: Iterable[GapItem]) -> Deadline | None:
    """The gap item due first (an unmet one before a met one due the same day)."""
    dated = [i for i in items if i.due is not None]
    if not dated:
        return None
    first = min(dated, key=lambda i: (i.due, i.status is not Status.GAP, i.company or "", i.requirement))
    assert first.due is not None
    return Deadline(due=first.due, owner=first.owner, requirement=first.requirement, company=first.company,
                    met=first.status is not Status.GAP)


def shown_certificate(network: Network, events: Sequence[CertificateEvent], as_of: date,
                      policy: Policy) -> HeldCertificate | None:
    """The certificate to show on `as_of`: the newest one issued by then that is valid or suspended,
    else the newest one issued by then (expired, withdrawn or superseded); its status by the one
    rule (`certificate_status`: the recorded `events` and those the audit records imply)."""
    issued = [c for c in network.certificates if c.issued_on <= as_of]
    if not issued:
        return None
    status = {c.number: certificate_status(network, c, events, as_of, policy) for c in issued}
    live = (CertificateStatus.VALID, CertificateStatus.SUSPENDED)
    chosen = max(issued, key=lambda c: (status[c.number] in live, c.issued_on, c.number))
    return HeldCertificate(number=chosen.number, status=status[chosen.number], valid_until=chosen.valid_until)


def next_external_audit(network: Network, as_of: date, policy: Policy) -> NextAudit | None:
    """The first audit of the audit programme that is not done yet."""
    programme = audit_programme(network, as_of, policy, held_certificate(network.certificates, as_of))
    audit = next((a for a in programme.audits if a.status != "done"), None)
    return None if audit is None else NextAudit(kind=audit.kind, due_by=audit.due_by, status=audit.status)


def _where(item: GapItem) -> str:
    return f"at {item.company}" if item.company else "for the network"


def action_reasons(items: Sequence[GapItem], certificate: HeldCertificate | None,
                   next_audit: NextAudit | None, as_of: date, policy: Policy) -> list[str]:
    """Why a network needs action now; none: it is on track (or certified).

    An unmet requirement needs action when its deadline has passed or falls within
    `policy.due_soon_days`. One without a deadline needs it when it is a nonconformity that no open
    corrective action answers (nobody is on it), and once the network is certified, when it puts the
    certificate at risk; before that it is work still to be done before the certification audit. A
    suspended certificate and an overdue external audit need action too.
    """
    gaps = [i for i in items if i.status is Status.GAP]
    reasons = []
    horizon = as_of + timedelta(days=policy.due_soon_days)
    due_soon = sorted((i for i in gaps if i.due is not None and i.due <= horizon),
                      key=lambda i: i.due or as_of)
    if due_soon:
        first = due_soon[0]
        when = "overdue since" if first.due and first.due < as_of else "due"
        more = f" and {len(due_soon) - 1} more due by {horizon}" if len(due_soon) > 1 else ""
        reasons.append(f"{first.requirement} {_where(first)} {when} {first.due} ({first.owner}){more}")
    unanswered = [i for i in gaps if i.due is None and i.requirement in ACTION_REQUIREMENTS]
    if unanswered:
        reasons.append("no corrective action for " + ", ".join(
            f"{i.requirement} {_where(i)} ({i.owner})" for i in unanswered))
    certified = certificate is not None and certificate.status is CertificateStatus.VALID
    undated = [i for i in gaps if i.due is None]
    if certified and undated:
        reasons.append(f"certified, with {len(undated)} unmet requirement(s) without a deadline: "
                       + ", ".join(sorted({i.requirement for i in undated})))
    if certificate is not None and certificate.status is CertificateStatus.SUSPENDED:
        reasons.append(f"certificate {certificate.number} is suspended")
    if next_audit is not None and next_audit.status == "overdue":
        reasons.append(f"{next_audit.kind.value} audit overdue since {next_audit.due_by}")
    return reasons


def portfolio_row(network: Network, as_of: date, policy: Policy, results: Mapping[Stage, GateResult],
                  events: Sequence[CertificateEvent], undeliverable: int = 0) -> PortfolioRow:
    """A network's portfolio row from its gate results on `as_of` (see `evaluate_stages`), with the
    deadlines of its gap analysis, its certificate (status from `events`) and its audit programme.
    Reminders the mail server refused for good (`undeliverable`) need action too: someone was not
    told what they must do."""
    gaps = gap_analysis(network, as_of, policy, results)
    evaluated = {stage: results.get(stage) or evaluate_gate(stage, network, as_of, policy)
                 for stage in gaps.stages}
    certificate = shown_certificate(network, events, as_of, policy)
    next_audit = next_external_audit(network, as_of, policy)
    reasons = action_reasons(gaps.items, certificate, next_audit, as_of, policy)
    if undeliverable:
        reasons.append(f"{undeliverable} reminder(s) undeliverable: hackefors outbox list --network "
                       f"{network.id}")
    if reasons:
        group = Group.ACT_NOW
    elif certificate is not None and certificate.status is CertificateStatus.VALID:
        group = Group.CERTIFIED
    else:
        group = Group.ON_TRACK
    return PortfolioRow(
        network_id=network.id, name=network.name, group=group,
        gates_passed=sum(evaluated[s].passed for s in CERTIFICATION_GATES), gates=len(CERTIFICATION_GATES),
        blocking=tuple(s for s, r in evaluated.items() if not r.passed), unmet=len(gaps.gaps),
        deadline=earliest_deadline(gaps.items), certificate=certificate, next_audit=next_audit,
        reasons=tuple(reasons), undeliverable=undeliverable)


def needs_action_first(row: PortfolioRow) -> tuple[int, date, int, str]:
    """Sort key: act now, on track, certified; within each, the earliest deadline first, then the most
    unmet requirements."""
    return (GROUP_ORDER.index(row.group), row.deadline.due if row.deadline else date.max, -row.unmet,
            row.network_id)


class Portfolio(BaseModel):
    """Every network checked on one date, what needs action first."""

    model_config = ConfigDict(frozen=True)

    as_of: date
    rows: tuple[PortfolioRow, ...]

    def in_group(self, group: Group) -> list[PortfolioRow]:
        return [r for r in self.rows if r.group is group]

    def counts(self) -> dict[str, int]:
        return {g.value: len(self.in_group(g)) for g in GROUP_ORDER}

    def summary(self) -> str:
        return f"{len(self.rows)} network(s) as of {self.as_of}: " + ", ".join(
            f"{n} {group}" for group, n in self.counts().items())


def portfolio(as_of: date, rows: Iterable[PortfolioRow]) -> Portfolio:
    return Portfolio(as_of=as_of, rows=tuple(sorted(rows, key=needs_action_first)))


COLUMNS = ("network", "name", "status", "gates", "blocking", "unmet", "earliest deadline", "owner",
           "certificate", "expires", "next external audit", "undeliverable")


def deadline_text(deadline: Deadline | None, as_of: date) -> str:
    if deadline is None:
        return "none"
    where = deadline.company or "network"
    late = " (overdue)" if deadline.due < as_of and not deadline.met else ""
    return f"{deadline.due}{late}: {deadline.requirement}, {where}"


def portfolio_cells(row: PortfolioRow, as_of: date) -> dict[str, str]:
    """A row as the text the table artifact, the markdown and `hackefors portfolio` show."""
    cert = row.certificate
    audit = row.next_audit
    cells = (
        row.network_id, row.name, row.group.value, f"{row.gates_passed}/{row.gates}",
        ", ".join(stage_label(s) for s in row.blocking) or "none", str(row.unmet),
        deadline_text(row.deadline, as_of), row.deadline.owner if row.deadline else "",
        f"{cert.number} ({cert.status.value})" if cert else "none",
        str(cert.valid_until) if cert else "",
        f"{audit.kind.value} by {audit.due_by} ({audit.status})" if audit else "none",
        str(row.undeliverable),
    )
    return dict(zip(COLUMNS, cells, strict=True))
