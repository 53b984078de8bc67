"""Use cases of the gates: evaluate one, record it under a run, decide, take the auditors' word."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict

from models.catalogue import Stage
from models.certification import (
    CertificateDraft,
    CertificateEvent,
    certification_audit,
    check_decision,
    check_sign_off,
    draft_certificate,
    lapsed_on_issue,
)
from models.events import DomainEvent, HistoryEntry
from models.findings import is_open
from models.gates import CERTIFICATION_GATES, STAGE_PARTS, evaluate_gate, policy_for
from models.network import Grade, Recommendation
from models.results import Check, GateResult
from services.unit_of_work import AbstractUnitOfWork


def evaluate(uow: AbstractUnitOfWork, network_id: str, stage: Stage, as_of: date) -> GateResult:
    """Load the parts of the network a gate reads and run every one of its checks."""
    with uow:
        network = uow.networks.load(network_id, parts=STAGE_PARTS[stage])
    return evaluate_gate(stage, network, as_of, policy_for(network))


def record(uow: AbstractUnitOfWork, result: GateResult, run_id: str) -> None:
    """Store a gate's result under `run_id` (replacing a retried attempt), with its history, and
    announce it once stored."""
    now = datetime.now(UTC)
    with uow:
        uow.gate_results.replace(result, run_id, now)
        uow.history.add([HistoryEntry(
            at=now, actor=f"flow-run:{run_id}", network_id=result.network_id, entity="gate_results",
            entity_id=f"{run_id}/{result.stage.value}", action="insert",
            detail={"passed": result.passed, "blockers": len(result.blockers)})])
        uow.collect(DomainEvent(
            name=f"gate.{'passed' if result.passed else 'failed'}", network_id=result.network_id,
            payload={"stage": result.stage.value, "as_of": result.as_of.isoformat(), "run_id": run_id,
                     "unmet": [c.line(result.companies) for c in result.blockers][:50]},
            labels={"hackefors.stage": result.stage.value},
            subject=f"{result.network_name or result.network_id}: {result.stage.value} gate"))
        uow.commit()


def discard_run(uow: AbstractUnitOfWork, network_id: str, run_id: str, reason: str) -> int:
    """Void a run that could not finish: delete the gate results it stored, with a history entry
    saying why; how many were deleted."""
    now = datetime.now(UTC)
    with uow:
        gone = uow.gate_results.discard_run(network_id, run_id)
        uow.history.add([HistoryEntry(
            at=now, actor=f"flow-run:{run_id}", network_id=network_id, entity="gate_results",
            entity_id=run_id, action="delete", detail={"results": gone, "reason": reason})])
        uow.commit()
    return gone


def results_of_run(uow: AbstractUnitOfWork, network_id: str, run_id: str,
                   include_decision: bool = False) -> list[GateResult]:
    """The gate results stored for one run, in the order they were evaluated."""
    stages = [s.value for s in Stage if include_decision or s != Stage.DECISION]
    with uow:
        return uow.gate_results.for_run(network_id, run_id, stages)


def unmet_in_run(gates: list[GateResult]) -> list[Check] | None:
    """What stopped a certification run that issued nothing: the unmet requirements of its gates,
    the sign-off included. None when the run stopped without any (a gate that never ran, or every
    requirement met): an internal error, never a domain outcome."""
    ran = {g.stage for g in gates}
    if any(stage not in ran for stage in (*CERTIFICATION_GATES, Stage.DECISION)):
        return None
    unmet = [c for g in gates for c in g.blockers
             if g.stage != Stage.DECISION or c.requirement == "sign-off"]
    return unmet or None


def decide(uow: AbstractUnitOfWork, network_id: str, as_of: date, run_id: str, approved: bool | None,
           decided_by: str = "", comment: str = "") -> GateResult:
    """The certification decision: every gate of this run passed, and a person signed off
    (`approved` None: nobody has)."""
    gates = results_of_run(uow, network_id, run_id)
    checks = check_decision(gates, CERTIFICATION_GATES) + [check_sign_off(approved, decided_by, comment)]
    return GateResult(network_id=network_id, stage=Stage.DECISION, as_of=as_of, checks=tuple(checks))


class RunSummary(BaseModel):
    """A run's gates, how many of the certification gates passed (its readiness) and the share of
    their checks that were met."""

    model_config = ConfigDict(frozen=True)

    network_id: str
    as_of: date
    gates: list[GateResult]

    @property
    def checks(self) -> int:
        return sum(len(g.checks) for g in self.gates)

    @property
    def gates_passed(self) -> int:
        return sum(g.passed for g in self.gates if g.stage in CERTIFICATION_GATES)

    @property
    def readiness(self) -> float:
        """Per cent of the certification gates passed."""
        return 100.0 * self.gates_passed / len(CERTIFICATION_GATES)

    @property
    def checks_met(self) -> float:
        """Per cent of the run's checks met: a second figure, for progress within blocked gates."""
        met = sum(c.passed for g in self.gates for c in g.checks)
        return 100.0 * met / self.checks if self.checks else 0.0

    def headline(self) -> str:
        return (f"readiness {self.readiness:.0f}%: {self.gates_passed} of {len(CERTIFICATION_GATES)} gates "
                f"passed, {self.checks_met:.0f}% of {self.checks} checks met")


def summarise_run(uow: AbstractUnitOfWork, network_id: str, as_of: date, run_id: str) -> RunSummary:
    return RunSummary(network_id=network_id, as_of=as_of, gates=results_of_run(uow, network_id, run_id))


def pending_recommendation(uow: AbstractUnitOfWork, network_id: str, as_of: date) -> str | None:
    """The certification audit whose recommendation the store does not hold yet, if any."""
    with uow:
        network = uow.networks.load(network_id, parts={"external_audits"})
    audit = certification_audit(network, as_of)
    return audit.id if audit and audit.recommendation == Recommendation.PENDING else None


def record_recommendation(uow: AbstractUnitOfWork, network_id: str, audit_id: str,
                          recommendation: Recommendation, lead_auditor: str, note: str, actor: str,
                          source: str | None = None) -> None:
    """Store the auditors' recommendation for an external audit, with its history. The same
    recommendation again changes nothing: the history keeps who gave it first (the auditor in the
    portal, when the run they resumed hands it on)."""
    with uow:
        before = uow.networks.set_recommendation(network_id, audit_id, recommendation.value)
        if before is None:
            raise LookupError(f"no external audit {audit_id!r} in network {network_id!r}")
        if before == recommendation.value:
            return
        uow.history.add([HistoryEntry(
            at=datetime.now(UTC), actor=actor, network_id=network_id, entity="external_audits",
            entity_id=audit_id, action="update",
            detail={"recommendation": [before, recommendation.value], "lead_auditor": lead_auditor,
                    "note": note}, source=source)])
        uow.commit()


class SignOffBrief(BaseModel):
    """What the decision maker reads above the sign-off form."""

    model_config = ConfigDict(frozen=True)

    network_name: str
    as_of: date
    certificate: CertificateDraft  # what would be issued: scope, validity, members
    open_minors: list[str]  # minor findings of the certification audit still open, with their plans
    run: RunSummary
    today: date | None = None  # the day the decision maker reads this
    lapsed: list[CertificateEvent] = []  # what the certificate would already have gone through by today


def sign_off_brief(uow: AbstractUnitOfWork, network_id: str, as_of: date, run_id: str,
                   today: date | None = None) -> SignOffBrief:
    """The certificate a sign-off would issue and what is still open, for a run whose gates passed;
    with `today`, whether that certificate, dated `as_of`, is already past its surveillance dates."""
    with uow:
        network = uow.networks.load(network_id, parts={"external_audits"})
    audit = certification_audit(network, as_of)
    minors = [f"{f.id} at {f.company or 'the central function'} ({f.clause}): {f.description}"
              + (f"; plan accepted on {f.plan_accepted_on}" if f.plan_accepted_on else "")
              for f in (audit.findings if audit else ())
              if f.grade == Grade.MINOR and is_open(f.closed_on, as_of)]
    draft = draft_certificate(network, as_of, policy_for(network))
    return SignOffBrief(network_name=network.name, as_of=as_of, certificate=draft, open_minors=minors,
                        run=summarise_run(uow, network_id, as_of, run_id), today=today,
                        lapsed=lapsed_on_issue(network, draft, today, policy_for(network)) if today else [])
