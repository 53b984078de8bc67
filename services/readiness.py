"""Readiness kept, not recomputed: each company's to-do list and gates, read from the store.

A to-do list is derived from the whole network by the pure rules (the reminders' items, the gap
analysis, the training status). Computing it costs the network, about 80 ms for the 26-company
example, while reading it back costs one row. So the lists of every company of a network are
computed together, once, and kept in the store with the day they are for and the network's history
mark: every write appends to the history, so a kept list is valid exactly until the next write to
its network (or the next day). A page reads the kept list; on a miss one request per process
computes the network's lists again while the others wait for it, then all read.

The rules stay the authority: `company_todo` (services/evidence.py) computes the same list fresh, and
the tests hold the kept list equal to it after every kind of write.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from pydantic import BaseModel

from adapters.mail import say, strings
from models.certification import held_certificate
from models.errors import UnknownCompany
from models.gap import CompanyGaps, GapAnalysis, Status, gap_analysis
from models.gates import policy_for
from models.network import Network
from models.programme import audit_programme
from models.reminders import reminder_items
from models.todo import CompanyTodo
from models.todo import company_todo as build_todo
from models.training import training_status
from services.unit_of_work import AbstractUnitOfWork

NETWORK_ROW = "*"  # the kept row of the network's own overview, beside its companies' rows

# One computation of a network's lists at a time in this process; the others wait, then read it.
_computing: dict[str, threading.Lock] = {}
_computing_guard = threading.Lock()


def _network_lock(network_id: str) -> threading.Lock:
    with _computing_guard:  # two first requests at once must get the same lock
        return _computing.setdefault(network_id, threading.Lock())


class NetworkOverview(BaseModel):
    network_id: str
    network_name: str
    as_of: date
    companies: tuple[CompanyGaps, ...]  # each active company: its coordinator, requirements met and not
    network_gaps: int  # the network's own unmet requirements


def overview(network: Network, as_of: date, gaps: GapAnalysis) -> NetworkOverview:
    """The network's page: each active company with its met and unmet requirements (the gap
    analysis as of `as_of`), and the network's own unmet ones."""
    return NetworkOverview(network_id=network.id, network_name=network.name, as_of=as_of,
                           companies=gaps.companies,
                           network_gaps=sum(i.company is None and i.status is Status.GAP for i in gaps.items))


def network_todos(network: Network, as_of: date, lang: str = "en",
                  gaps: GapAnalysis | None = None) -> dict[str, CompanyTodo]:
    """Every company's to-do list as of `as_of`, worded in `lang`: the network's rules run once."""
    policy = policy_for(network)
    programme = audit_programme(network, as_of, policy, held_certificate(network.certificates, as_of))
    reminders = reminder_items(network, as_of, policy, programme)
    gaps = gaps or gap_analysis(network, as_of, policy)
    people = training_status(network, as_of, policy)
    words = partial(say, strings(lang))
    return {c.id: build_todo(network, c, as_of, reminders.get(c.id, []), gaps, people.get(c.id, []), words)
            for c in network.companies}


def kept_overview(uow: AbstractUnitOfWork, network_id: str, as_of: date, lang: str = "en") -> NetworkOverview:
    """The network's overview as of `as_of`, kept beside its companies' to-do lists."""
    return NetworkOverview.model_validate(_kept(uow, network_id, NETWORK_ROW, as_of, lang))


def kept_todo(uow: AbstractUnitOfWork, network_id: str, company_id: str, as_of: date,
              lang: str = "en") -> CompanyTodo:
    """The company's to-do list as of `as_of`: the kept one when the network has not changed since it
    was computed, else the network's lists computed once, kept and read."""
    if company_id == NETWORK_ROW:
        raise UnknownCompany(company_id, network_id, [])
    return CompanyTodo.model_validate(_kept(uow, network_id, company_id, as_of, lang))


def _kept(uow: AbstractUnitOfWork, network_id: str, row: str, as_of: date, lang: str) -> dict[str, Any]:
    """The kept row of a company (or the network's overview), computed with every other row of
    the network when the network changed since (or the day is another)."""
    found = _read(uow, network_id, row, as_of, lang)
    if found is not None:
        return found
    with _network_lock(network_id):
        found = _read(uow, network_id, row, as_of, lang)  # another request kept it meanwhile
        if found is not None:
            return found
        with uow:
            mark = uow.readiness.mark(network_id)  # before the network: a write in between only
            network = uow.networks.load(network_id)  # makes the kept rows stale, never wrong
        gaps = gap_analysis(network, as_of, policy_for(network))
        rows = {c: t.model_dump(mode="json") for c, t in network_todos(network, as_of, lang, gaps).items()}
        rows[NETWORK_ROW] = overview(network, as_of, gaps).model_dump(mode="json")
        with uow:
            uow.readiness.keep(network_id, lang, as_of, mark, rows, datetime.now(UTC))
            uow.commit()
    if row not in rows:
        raise UnknownCompany(row, network_id, sorted(set(rows) - {NETWORK_ROW}))
    return rows[row]


def _read(uow: AbstractUnitOfWork, network_id: str, row: str, as_of: date,
          lang: str) -> dict[str, Any] | None:
    with uow:
        return uow.readiness.kept(network_id, row, lang, as_of, uow.readiness.mark(network_id))
