"""Use cases of the portfolio: check every network at once and record its gates, or just look."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime

from models.certification import CertificateEvent
from models.errors import NetworkNotFound
from models.events import DomainEvent, HistoryEntry
from models.gates import policy_for
from models.network import Network
from models.portfolio import Group, Portfolio, PortfolioRow, evaluate_stages, portfolio, portfolio_row
from models.results import GateResult
from services.unit_of_work import AbstractUnitOfWork

# Networks loaded and evaluated together: one set of SELECTs and one transaction each. At the seed's
# scale (about 19 companies and 830 employees a network) a batch of 12 takes about 70 MiB while it is
# checked, so memory stays flat however many networks there are; fewer, larger batches save little.
BATCH_SIZE = 12


def portfolio_networks(uow: AbstractUnitOfWork, wanted: Sequence[str] | None = None) -> list[str]:
    """The networks to check: every one in the store, or those `wanted` (a shard), each known."""
    with uow:
        known = uow.networks.ids()
    if wanted is None:
        return known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise NetworkNotFound(unknown[0], known)
    return list(dict.fromkeys(wanted))


def batches(network_ids: Sequence[str], size: int = BATCH_SIZE) -> Iterator[list[str]]:
    for start in range(0, len(network_ids), max(1, size)):
        yield list(network_ids[start:start + max(1, size)])


def _evaluate(networks: list[Network], events: list[CertificateEvent], undeliverable: dict[str, int],
              as_of: date) -> list[tuple[PortfolioRow, list[GateResult]]]:
    checked = []
    for network in networks:
        policy = policy_for(network)
        results = evaluate_stages(network, as_of, policy)
        row = portfolio_row(network, as_of, policy, results, events, undeliverable.get(network.id, 0))
        checked.append((row, list(results.values())))
    return checked


def _load(uow: AbstractUnitOfWork,
          network_ids: list[str]) -> tuple[list[Network], list[CertificateEvent], dict[str, int]]:
    networks = uow.networks.load_many(network_ids)
    events = uow.certificates.events([c.number for n in networks for c in n.certificates])
    return networks, events, uow.outbox.undeliverable_counts(network_ids)


def check_networks(uow: AbstractUnitOfWork, network_ids: list[str], as_of: date,
                   run_id: str) -> list[PortfolioRow]:
    """Evaluate every gate of a batch of networks and store all their results under `run_id` in one
    transaction (replacing a retried attempt), with their history; each network's portfolio row."""
    now = datetime.now(UTC)
    with uow:
        checked = _evaluate(*_load(uow, network_ids), as_of)
        results = [r for _, rs in checked for r in rs]
        uow.gate_results.replace_many(results, run_id, now)
        uow.history.add(HistoryEntry(
            at=now, actor=f"flow-run:{run_id}", network_id=r.network_id, entity="gate_results",
            entity_id=f"{run_id}/{r.stage.value}", action="insert",
            detail={"passed": r.passed, "blockers": len(r.blockers)}) for r in results)
        uow.commit()
    return [row for row, _ in checked]


def announce_check(uow: AbstractUnitOfWork, checked: Portfolio, run_id: str, shard: str | None) -> None:
    """Announce a finished portfolio check (`portfolio.checked`) once its gate results are stored: who
    needs action, and how many are on track or certified. Writes nothing of its own."""
    with uow:
        uow.collect(DomainEvent(name="portfolio.checked", network_id=None, payload={
            "as_of": checked.as_of.isoformat(), "run_id": run_id, "shard": shard,
            "networks": len(checked.rows), **{g.replace(" ", "_"): n for g, n in checked.counts().items()},
            "act_now_networks": [r.network_id for r in checked.in_group(Group.ACT_NOW)][:100]}))
        uow.commit()


def view_portfolio(uow: AbstractUnitOfWork, as_of: date, network_ids: Sequence[str] | None = None,
                   batch_size: int = BATCH_SIZE) -> Portfolio:
    """The portfolio on `as_of` from the same rules as the check, recording nothing."""
    rows: list[PortfolioRow] = []
    for batch in batches(portfolio_networks(uow, network_ids), batch_size):
        with uow:
            rows += [row for row, _ in _evaluate(*_load(uow, batch), as_of)]
    return portfolio(as_of, rows)
