"""The auditors' side of the portal: a network's external audits as its certification body's
auditors see them (the sample against the IAF MD 1 minimum, findings, recommendation), and the
recommendation, recorded in the auditor's name and handed to a certification run that waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, ConfigDict

from models.accounts import Role
from models.certification import check_audit_outcome
from models.evidence import Actor
from models.gates import policy_for
from models.network import ExternalAudit, Recommendation
from models.sampling import sample_size
from services.errors import NotAllowed, RefusedChange
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


def external_audits(uow: AbstractUnitOfWork, network_id: str, as_of: date) -> AuditsPage:
    """The network's external audits, newest first, each with its sample checked against the
    IAF MD 1 minimum (and the central function)."""
    with uow:
        network = uow.networks.load(network_id, parts={"external_audits"})
    policy = policy_for(network)
    members = len(network.active_companies(as_of))
    summaries = []
    for audit in sorted(network.external_audits, key=lambda a: a.start, reverse=True):
        outcome = check_audit_outcome(audit, network, as_of, policy)
        sample = next(c for c in outcome if c.requirement == "audit-sample")
        summaries.append(AuditSummary(audit=audit, members=members,
                                      required=sample_size(audit.kind, members, policy),
                                      sample_ok=sample.passed, sample_detail=sample.detail))
    body = network.certification_body.name if network.certification_body else None
    return AuditsPage(network_id=network.id, network_name=network.name, certification_body=body,
                      audits=summaries)


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
    if actor.role is not Role.AUDITOR or actor.network != network_id:
        raise NotAllowed(f"{actor.who} ({actor.role.value}) may not give the recommendation of network "
                         f"{network_id!r}: its certification body's auditors do")
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
