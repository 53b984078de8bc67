"""Use cases about networks as a whole: import, export, list, choose, status, schedules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict

from adapters.repositories.networks import ALL_PARTS, SyncSummary
from models.certification import held_certificate, in_force
from models.errors import NetworkIdTaken, NetworkNotChosen, NetworkNotFound
from models.events import DomainEvent
from models.evidence import EVIDENCE_RECORDED
from models.gates import CERTIFICATION_GATES, CompanyProgress, company_progress, evaluate_gate, policy_for
from models.network import Certificate, ExternalAuditKind, Network
from models.policy import Policy
from models.programme import audit_programme
from models.results import Check, GateResult
from services.certificates import certificate_history
from services.unit_of_work import AbstractUnitOfWork


def resolve_network(uow: AbstractUnitOfWork, network_id: str | None) -> str:
    """The network a request means: the one named, or the only one in the store."""
    with uow:
        known = uow.networks.ids()
    if network_id is None:
        if len(known) == 1:
            return known[0]
        if not known:
            raise NetworkNotChosen("the store holds no network yet: run `hackefors import FILE` first")
        raise NetworkNotChosen(f"the store holds {len(known)} networks; choose one with --network: "
                               f"{', '.join(known)}")
    if network_id not in known:
        raise NetworkNotFound(network_id, known)
    return network_id


def list_networks(uow: AbstractUnitOfWork) -> list[str]:
    with uow:
        return uow.networks.ids()


def load_network(uow: AbstractUnitOfWork, network_id: str, parts: Iterable[str] = ALL_PARTS) -> Network:
    """The network as stored, with the parts asked for."""
    with uow:
        return uow.networks.load(network_id, parts)


def run_refusal(uow: AbstractUnitOfWork, network_ids: Iterable[str], as_of: date, today: date,
                allow_future: bool = False) -> str | None:
    """Why a run with these parameters must not start, in one line (None: it may): a network the
    store does not hold (naming those it does), or a day after `today` unless `allow_future`."""
    if as_of > today and not allow_future:
        return (f"as_of {as_of} is after today ({today}): a run judges what has happened by a day that has "
                "come; set allow_future to look ahead")
    wanted = list(network_ids)
    if wanted:
        with uow:
            known = uow.networks.ids()
        unknown = [n for n in wanted if n not in known]
        if unknown:
            return str(NetworkNotFound(unknown[0], known))
    return None


def import_network(uow: AbstractUnitOfWork, network: Network, actor: str, source: str = "file",
                   replace: bool = False, as_of: date | None = None) -> SyncSummary:
    """Write a validated network in one transaction, each change in the history under `actor` and
    `source`; a network that is already stored as given changes nothing. An id that another network
    has but for case is refused.

    What was recorded in the portal merges with the file (the merge rules in the README): the file
    keeps it where it says nothing, and a value the file contradicts is a conflict (ImportConflicts,
    nothing written) unless `replace`, which lets the file win everywhere.

    Imports of one network are serialised: a second import waits for the first to commit and then
    applies in full on top of it, so the history records the old values that really stood.
    """
    with uow:
        uow.networks.lock(network.id)
        taken = [k for k in uow.networks.ids() if k != network.id and k.casefold() == network.id.casefold()]
        if taken:
            raise NetworkIdTaken(network.id, taken[0])
        summary = uow.networks.save(network, actor, datetime.now(UTC), source=source, replace=replace)
        uow.history.add(summary.changes)
        if summary.changed:
            uow.collect(DomainEvent(name=EVIDENCE_RECORDED, network_id=network.id, subject=network.name,
                                    payload={"network_id": network.id, "kind": "network-file", "actor": actor,
                                             "source": source, "changes": len(summary.changes),
                                             "as_of": (as_of or datetime.now(UTC).date()).isoformat()}))
        uow.commit()
    return summary


class NetworkStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    network: Network
    policy: Policy
    certificate: Certificate | None  # the newest certificate in force on the date
    companies: list[CompanyProgress]
    gates: list[GateResult] = []  # the certification gates on the date, as a run would find them

    def unmet(self, company: str | None) -> list[Check]:
        """The unmet requirements of one company (None: of the network itself)."""
        return [c for g in self.gates for c in g.checks if not c.passed and c.company == company]


def network_status(uow: AbstractUnitOfWork, network_id: str, as_of: date) -> NetworkStatus:
    """The network, the certificate in force, each active company's progress on `as_of` and the
    certification gates on that day (evaluated by the rules, recorded nowhere)."""
    with uow:
        network = uow.networks.load(network_id)
        held = [c for c in network.certificates
                if in_force(c, certificate_history(uow, network_id, c, as_of), as_of)]
    policy = policy_for(network)
    return NetworkStatus(network=network, policy=policy, certificate=held[-1] if held else None,
                         companies=company_progress(network, as_of, policy),
                         gates=[evaluate_gate(s, network, as_of, policy) for s in CERTIFICATION_GATES])


def surveillance_due_dates(uow: AbstractUnitOfWork, as_of: date) -> list[tuple[str, date | None]]:
    """Each network in the store and the due date of its next surveillance audit, if certified."""
    plans = []
    with uow:
        for network_id in uow.networks.ids():
            network = uow.networks.load(network_id, parts={"external_audits", "certificates"})
            certificate = held_certificate(network.certificates, as_of)
            due = None
            if certificate:
                programme = audit_programme(network, as_of, policy_for(network), certificate)
                due = next((a.due_by for a in programme.audits
                            if a.kind == ExternalAuditKind.SURVEILLANCE and a.status != "done"), None)
            plans.append((network_id, due))
    return plans
