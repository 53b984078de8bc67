"""What one company must do, as of a date: its open items from the reminders' rules and the gap
analysis, each with its owner, due date and the portal page that resolves it; its gate status; and
each employee's training."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from models.catalogue import Stage
from models.gap import GapAnalysis, Status
from models.links import PAGE_FOR_KIND, Page, company_path, page_for_requirement
from models.network import Company, Network
from models.reminders import Kind, ReminderItem
from models.training import TrainingStatus

# The gap requirements a reminder of each kind already stands for: listed once, as the reminder.
COVERED_BY: dict[Kind, frozenset[str]] = {
    Kind.TRAINING: frozenset({"training-hours", "training-topics"}),
    Kind.INTERNAL_AUDIT: frozenset({"internal-audit-frequency"}),
    Kind.CORRECTIVE_ACTION: frozenset({"overdue-actions"}),
    Kind.MANAGEMENT_REVIEW: frozenset({"review-held"}),
    Kind.LEGAL_EVALUATION: frozenset({"legal-evaluation"}),
}


class TodoItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    subject: str
    lines: tuple[str, ...] = ()
    owner: str
    due: date | None
    overdue_days: int = 0
    page: Page
    path: str  # the portal page that resolves it
    kind: str  # a reminder's kind, or "gap" for a requirement of a gate
    requirement: str | None = None
    stage: Stage | None = None


class CompanyGate(BaseModel):
    """One certification gate for one company: its own checks and the network's that fail."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    passed: bool  # every check of this company in this gate is met
    unmet: tuple[str, ...]  # the company's unmet requirements, with what is missing
    network_unmet: tuple[str, ...]  # the network's unmet requirements in this gate


class CompanyTodo(BaseModel):
    model_config = ConfigDict(frozen=True)

    network_id: str
    network_name: str
    company_id: str
    company_name: str
    as_of: date
    items: tuple[TodoItem, ...]
    gates: tuple[CompanyGate, ...]
    employees: tuple[TrainingStatus, ...]

    @property
    def ready(self) -> bool:
        return all(g.passed and not g.network_unmet for g in self.gates)


def _owner(item: ReminderItem, company: Company, action_owners: dict[str, str]) -> str:
    if item.kind is Kind.CORRECTIVE_ACTION:
        return action_owners.get(item.key.removeprefix("action/"), "")
    return company.coordinator.name if company.coordinator else f"top management of {company.name}"


def company_todo(network: Network, company: Company, as_of: date, reminders: list[ReminderItem],
                 gaps: GapAnalysis, people: list[TrainingStatus]) -> CompanyTodo:
    """The company's to-do list: every reminder item, then each unmet requirement of its gates no
    reminder stands for; overdue first, then by due date."""
    action_owners = {a.id: a.owner for audit in company.internal_audits for f in audit.findings
                     for a in f.actions}
    items = [TodoItem(key=r.key, subject=r.subject, lines=r.lines, owner=_owner(r, company, action_owners),
                      due=r.due,
                      overdue_days=r.overdue_days, page=PAGE_FOR_KIND[r.kind],
                      path=company_path(network.id, company.id, PAGE_FOR_KIND[r.kind]), kind=r.kind.value)
             for r in reminders]
    covered = {code for r in reminders for code in COVERED_BY.get(r.kind, ())}
    mine = gaps.for_company(company.id)
    for gap in mine:
        if gap.status is Status.GAP and gap.requirement not in covered:
            page = page_for_requirement(gap.requirement)
            items.append(TodoItem(
                key=f"gap/{gap.stage.value}/{gap.requirement}/{company.id}", subject=gap.title,
                lines=(gap.detail,), owner=gap.owner, due=gap.due,
                overdue_days=max(0, (as_of - gap.due).days) if gap.due else 0, page=page,
                path=company_path(network.id, company.id, page), kind="gap", requirement=gap.requirement,
                stage=gap.stage))
    items.sort(key=lambda i: (-i.overdue_days, i.due or date.max, i.subject))
    network_items = gaps.for_company(None)
    gates = tuple(CompanyGate(
        stage=stage,
        passed=all(g.status is not Status.GAP for g in mine if g.stage is stage),
        unmet=tuple(f"{g.title}: {g.detail}" for g in mine if g.stage is stage and g.status is Status.GAP),
        network_unmet=tuple(f"{g.title}: {g.detail}" for g in network_items
                            if g.stage is stage and g.status is Status.GAP))
        for stage in gaps.stages)
    return CompanyTodo(network_id=network.id, network_name=network.name, company_id=company.id,
                       company_name=company.name, as_of=as_of, items=tuple(items), gates=gates,
                       employees=tuple(people))
