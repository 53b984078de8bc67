"""What one company must do, as its coordinator sees it in the portal: its open reminder items and
its gates, each item with an owner, a due date and the page that resolves it. Pure: a network, a
company and a date."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from models.catalogue import Stage
from models.certification import held_certificate
from models.gap import Status, gap_analysis
from models.links import PAGE_FOR_KIND, Page
from models.network import Network
from models.policy import Policy
from models.programme import audit_programme
from models.reminders import reminder_items

# The page that resolves an unmet requirement of a company's gate.
PAGE_FOR_REQUIREMENT: dict[str, Page] = {
    "training-hours": Page.TRAINING, "training-topics": Page.TRAINING,
    "legal-evaluation": Page.LEGAL, "legal-compliance": Page.LEGAL,
    "open-majors": Page.ACTIONS, "overdue-actions": Page.ACTIONS, "premature-closure": Page.ACTIONS,
    "review-held": Page.REVIEW, "review-inputs": Page.REVIEW, "review-signed": Page.REVIEW,
}


class TodoItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    lines: tuple[str, ...] = ()
    owner: str
    due: date | None
    overdue_days: int = 0
    page: Page


class GateLine(BaseModel):
    """One gate for one company: passed, or the requirements that block it."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    passed: bool
    blockers: tuple[TodoItem, ...] = ()


class CompanyTodo(BaseModel):
    model_config = ConfigDict(frozen=True)

    network_id: str
    network_name: str
    company_id: str
    company_name: str
    coordinator: str | None
    as_of: date
    items: tuple[TodoItem, ...]
    gates: tuple[GateLine, ...]


def company_todo(network: Network, company_id: str, as_of: date, policy: Policy) -> CompanyTodo:
    """The company's open reminder items (what its coordinator is reminded of) and the status of
    each gate for it (the gap analysis' checks of this company)."""
    company = next(c for c in network.companies if c.id == company_id)
    owner = company.coordinator.name if company.coordinator else f"top management of {company.name}"
    programme = audit_programme(network, as_of, policy, held_certificate(network.certificates, as_of))
    reminders = reminder_items(network, as_of, policy, programme).get(company_id, [])
    items = tuple(TodoItem(subject=i.subject, lines=i.lines, owner=owner, due=i.due,
                           overdue_days=i.overdue_days, page=PAGE_FOR_KIND[i.kind]) for i in reminders)
    gaps = gap_analysis(network, as_of, policy)
    gates = []
    for stage in gaps.stages:
        mine = [i for i in gaps.items if i.stage is stage and i.company == company_id]
        blockers = tuple(
            TodoItem(subject=f"{i.title} ({i.clause})", lines=(i.detail,), owner=i.owner, due=i.due,
                     overdue_days=max(0, (as_of - i.due).days) if i.due else 0,
                     page=PAGE_FOR_REQUIREMENT.get(i.requirement, Page.TODO))
            for i in mine if i.status is Status.GAP)
        if mine:
            gates.append(GateLine(stage=stage, passed=not blockers, blockers=blockers))
    return CompanyTodo(network_id=network.id, network_name=network.name, company_id=company.id,
                       company_name=company.name, coordinator=owner if company.coordinator else None,
                       as_of=as_of, items=items, gates=tuple(gates))
