"""Use case: the cycle's audit programme, with what was planned kept in the history."""

from __future__ import annotations

from datetime import UTC, date, datetime

from models.certification import held_certificate
from models.events import HistoryEntry
from models.gates import policy_for
from models.network import Network
from models.programme import Programme, audit_programme
from services.unit_of_work import AbstractUnitOfWork


def plan_audits(uow: AbstractUnitOfWork, network_id: str, as_of: date,
                actor: str) -> tuple[Network, Programme]:
    """The network and its audit programme as of `as_of`. The samples are reproducible from their
    seeds; the history keeps what was planned."""
    with uow:
        network = uow.networks.load(network_id)
        programme = audit_programme(network, as_of, policy_for(network),
                                    held_certificate(network.certificates, as_of))
        now = datetime.now(UTC)
        uow.history.add(HistoryEntry(
            at=now, actor=actor, network_id=network.id, entity="audit_programme",
            entity_id=f"{a.kind.value}/{a.due_by}", action="insert",
            detail={"seed": a.sample.seed, "sample": list(a.sample.companies), "status": a.status,
                    "days": a.time.total_days}) for a in programme.audits)
        uow.commit()
    return network, programme
