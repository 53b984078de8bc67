"""The auditors' side of the portal: a network's external audits as its certification body's
auditors see them (the sample against the IAF MD 1 minimum, findings, recommendation), and the
recommendation, recorded in the auditor's name and handed to a certification run that waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict

from models.accounts import Role
from models.catalogue import ISO14001_CLAUSES
from models.certification import check_audit_outcome, held_certificate
from models.errors import NotAllowed, RefusedChange
from models.evidence import Actor
from models.gates import policy_for
from models.network import ExternalAudit, ExternalAuditKind, Network, Recommendation
from models.policy import Policy
from models.programme import audit_programme
from models.sampling import minimum_reason, sample_size
from services.evidence import check_date
from services.gates import record_recommendation
from services.unit_of_work import AbstractUnitOfWork

# Hands a recommendation to the certification runs of a network that wait for it; their ids.
Resume = Callable[[str, Recommendation, str, str], list[str]]


class AuditSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    audit: ExternalAudit
    members: int  # x: the member companies the sample is drawn from
    required: int  # the IAF MD 1 minimum for this kind of audit
    sample_ok: bool
    sample_detail: str


class AuditsPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    network_id: str
    network_name: str
    certification_body: str | None
    audits: list[AuditSummary]
    companies: list[tuple[str, str]]  # the member companies (id, name) that can be visited
    company_names: dict[str, str]  # every company's name by id, members past included


def external_audits(uow: AbstractUnitOfWork, network_id: str, as_of: date) -> AuditsPage:
    """The network's external audits, newest first, each with its sample checked against the
    IAF MD 1 minimum (and the central function)."""
    with uow:
        network = uow.networks.load(network_id, parts={"external_audits"})
    policy = policy_for(network)
    members = len(network.active_companies(as_of))
    summaries = []
    for audit in sorted(network.external_audits, key=lambda a: a.start, reverse=True):
        if audit.kind is ExternalAuditKind.STAGE1:  # readiness: no sample of sites is required
            summaries.append(AuditSummary(
                audit=audit, members=members, required=0, sample_ok=True,
                sample_detail="stage 1 (readiness review): no sample of sites required"))
            continue
        outcome = check_audit_outcome(audit, network, as_of, policy)
        sample = next(c for c in outcome if c.requirement == "audit-sample")
        summaries.append(AuditSummary(audit=audit, members=members,
                                      required=sample_size(audit.kind, members, policy),
                                      sample_ok=sample.passed, sample_detail=sample.detail))
    body = network.certification_body.name if network.certification_body else None
    return AuditsPage(network_id=network.id, network_name=network.name, certification_body=body,
                      audits=summaries, companies=[(c.id, c.name) for c in network.active_companies(as_of)],
                      company_names={c.id: c.name for c in network.companies})


class Recommended(BaseModel):
    audit_id: str
    recommendation: Recommendation
    resumed: list[str]  # the runs that were waiting for it and now go on
    not_resumed: str | None = None  # why a waiting run could not be resumed


def recommend(uow: AbstractUnitOfWork, network_id: str, audit_id: str, recommendation: Recommendation,
              lead_auditor: str, note: str, actor: Actor, resume: Resume) -> Recommended:
    """Record the audit team's recommendation in the name of the network's auditor who gives it,
    then resume the certification runs that wait for it with the same answer.

    Only an auditor of the network, for an audit by the network's certification body. The
    recommendation is stored first: a run that cannot be resumed now finds it when it is run again.
    """
    _auditor_or_refuse(actor, network_id, "give the recommendation")
    with uow:
        network = uow.networks.load(network_id, parts={"external_audits"})
    audit = next((a for a in network.external_audits if a.id == audit_id), None)
    if audit is None:
        raise LookupError(f"no external audit {audit_id!r} in network {network_id!r}")
    body = network.certification_body
    if body is not None and audit.certification_body != body.name:
        raise RefusedChange(f"audit {audit_id} was made by {audit.certification_body}, not by the network's "
                            f"certification body {body.name}")
    record_recommendation(uow, network_id, audit_id, recommendation, lead_auditor, note,
                          f"portal:{actor.who} (auditor)", source=actor.source.value)
    if recommendation is Recommendation.PENDING:
        return Recommended(audit_id=audit_id, recommendation=recommendation, resumed=[])
    try:
        resumed = resume(network_id, recommendation, lead_auditor, note)
    except Exception as exc:  # Prefect unreachable, the run ended meanwhile: the answer is stored
        return Recommended(audit_id=audit_id, recommendation=recommendation, resumed=[],
                           not_resumed=f"{type(exc).__name__}: {exc}")
    return Recommended(audit_id=audit_id, recommendation=recommendation, resumed=resumed)


class RecordedAudit(BaseModel):
    audit_id: str
    minimum: int  # the IAF MD 1 minimum the sample met
    minimum_reason: str
    planned: tuple[str, ...]  # the programme's planned sample for this audit
    planned_not_visited: tuple[str, ...]  # planned, yet not visited (the auditor chose otherwise)
    changes: int


def _auditor_or_refuse(actor: Actor, network_id: str, what: str) -> None:
    if actor.role is not Role.AUDITOR or actor.network != network_id:
        raise NotAllowed(f"{actor.who} ({actor.role.value}) may not {what} of network {network_id!r}: its "
                         "certification body's auditors do")


def _planned_sample(network: Network, audit: ExternalAudit, policy: Policy) -> tuple[str, ...]:
    """The companies the cycle's programme plans to visit at the next audit of this kind."""
    held = held_certificate(network.certificates, audit.start)
    programme = audit_programme(network, audit.start, policy, held)
    planned = next((a for a in programme.audits if a.kind == audit.kind and a.status != "done"), None)
    return planned.sample.companies if planned else ()


def record_external_audit(uow: AbstractUnitOfWork, network_id: str, audit: ExternalAudit, actor: Actor,
                          today: date) -> RecordedAudit:
    """Record an external audit the network's certification body held, as its auditor gives it.

    Refused, writing nothing: an audit by another body, an id or a finding id already used, dates
    after today, a company that is no member, a finding at a company not visited, and a sample
    below the IAF MD 1 minimum or without the central function. The programme's planned sample is
    compared, and what it planned but the auditor did not visit is reported.
    """
    _auditor_or_refuse(actor, network_id, "record an external audit")
    check_date("end", audit.end, today)
    with uow:
        uow.networks.lock(network_id)
        network = uow.networks.load(network_id, parts={"external_audits", "internal_audits", "certificates"})
        body = network.certification_body
        if body is None or audit.certification_body != body.name:
            raise RefusedChange("the network's certification body is not recorded (the network file's "
                                "certification_body)" if body is None else
                                f"the audit is by {audit.certification_body}, not by the network's "
                                f"certification body {body.name}")
        if any(a.id.casefold() == audit.id.casefold() for a in network.external_audits):
            raise RefusedChange(f"external audit {audit.id!r} is already recorded")
        used = {f.id.casefold() for a in network.external_audits for f in a.findings}
        used |= {f.id.casefold() for c in network.companies for a in c.internal_audits for f in a.findings}
        taken = [f.id for f in audit.findings if f.id.casefold() in used]
        if taken:
            raise RefusedChange(f"finding id {taken[0]!r} is already used in the network")
        members = {c.id for c in network.active_companies(audit.start)}
        unknown = [c for c in audit.companies_visited if c not in members]
        if unknown:
            raise RefusedChange(f"not a member company on {audit.start}: {', '.join(unknown)}")
        wrong = [f.clause for f in audit.findings if f.clause not in ISO14001_CLAUSES]
        if wrong:
            raise RefusedChange(f"clause {wrong[0]!r} does not exist in ISO 14001:2015")
        elsewhere = [f.id for f in audit.findings if f.company and f.company not in audit.companies_visited]
        if elsewhere:
            raise RefusedChange(f"finding {elsewhere[0]} is raised at a company the audit did not visit")
        policy = policy_for(network)
        minimum = sample_size(audit.kind, len(members), policy)
        reason = minimum_reason(audit.kind, len(members), policy)
        if audit.kind is not ExternalAuditKind.STAGE1:
            if len(set(audit.companies_visited)) < minimum:
                raise RefusedChange(f"the audit visited {len(set(audit.companies_visited))} member "
                                    f"companies; IAF MD 1 requires at least {reason}")
            if not audit.central_function_visited:
                raise RefusedChange("the central function is audited at every audit (IAF MD 1)")
        planned = _planned_sample(network, audit, policy)
        changed = network.model_copy(update={"external_audits": (*network.external_audits, audit)})
        summary = uow.networks.save(changed, f"portal:{actor.who} (auditor)", datetime.now(UTC),
                                    source=actor.source.value,
                                    tables=["external_audits", "findings", "corrective_actions"])
        uow.history.add(summary.changes)
        uow.commit()
    return RecordedAudit(audit_id=audit.id, minimum=minimum, minimum_reason=reason, planned=planned,
                         planned_not_visited=tuple(c for c in planned if c not in audit.companies_visited),
                         changes=len(summary.changes))
