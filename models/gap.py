"""The gap analysis: every requirement, per company and for the network, with its status, the evidence
or what is missing, who owns it and by when."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.catalogue import CATALOGUE, REQUIREMENTS, Level, Requirement, Stage
from models.findings import internal_findings, is_open
from models.gates import CERTIFICATION_GATES, evaluate_gate
from models.network import Company, Grade, Network
from models.policy import Policy
from models.reminders import internal_audit_due, legal_due, training_due
from models.results import Check, GateResult
from models.reviews import review_due_on
from models.training import TrainingStatus, training_status

ACTION_REQUIREMENTS = frozenset({"open-majors", "overdue-actions", "premature-closure"})


class Status(StrEnum):
    MET = "met"
    GAP = "gap"
    OPTIONAL = "optional"


class GapItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    requirement: str
    title: str
    clause: str
    stage: Stage
    company: str | None  # None: the network as a whole
    status: Status
    detail: str  # the evidence when met, what is missing when not
    owner: str
    due: date | None = None


class CompanyGaps(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    name: str
    coordinator: str | None
    met: int
    gaps: int


STAGE_TITLES: dict[Stage, str] = {
    Stage.FORMATION: "Formation", Stage.TRAINING: "Training", Stage.PLANNING: "Planning",
    Stage.INTERNAL_AUDITS: "Internal audits", Stage.MANAGEMENT_REVIEW: "Management review",
    Stage.EXTERNAL_AUDIT: "External audit", Stage.DECISION: "Decision", Stage.SURVEILLANCE: "Surveillance"}


class GateStatus(BaseModel):
    """One gate as a gap analysis sees it: passed or not, and how many gaps block it."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    gaps: int

    @property
    def title(self) -> str:
        return STAGE_TITLES[self.stage]

    @property
    def short(self) -> str:
        """The title in a narrow column."""
        return "Review" if self.stage is Stage.MANAGEMENT_REVIEW else self.title

    @property
    def passed(self) -> bool:
        return self.gaps == 0


class GapGroup(BaseModel):
    """The gaps of one company (or of the network, `company` None), with their earliest due date."""

    model_config = ConfigDict(frozen=True)

    company: str | None
    name: str
    items: tuple[GapItem, ...]

    @property
    def due(self) -> date | None:
        return min((i.due for i in self.items if i.due), default=None)


class GapAnalysis(BaseModel):
    model_config = ConfigDict(frozen=True)

    network_id: str
    network_name: str
    as_of: date
    stages: tuple[Stage, ...]
    items: tuple[GapItem, ...]
    companies: tuple[CompanyGaps, ...]

    @property
    def gaps(self) -> list[GapItem]:
        return [i for i in self.items if i.status is Status.GAP]

    @property
    def ready(self) -> bool:
        return not self.gaps

    def for_company(self, company: str | None) -> list[GapItem]:
        return [i for i in self.items if i.company == company]

    def gates(self, company: str | None = None, with_network: bool = False) -> list[GateStatus]:
        """Each gate with its gaps: all of them, or with `company` only that company's own (and the
        network's, which block it too, `with_network`)."""
        mine = [i for i in self.gaps
                if company is None or i.company == company or (with_network and i.company is None)]
        return [GateStatus(stage=stage, gaps=sum(i.stage is stage for i in mine)) for stage in self.stages]

    def gap_groups(self, company: str | None = None) -> list[GapGroup]:
        """The gaps grouped by who must close them: the companies in file order, then the network;
        with `company`, that company's own gaps and the network's (which block it too)."""
        names = {c.company: c.name for c in self.companies}
        out = []
        for who in [*names, None]:
            if company is not None and who not in (company, None):
                continue
            items = tuple(i for i in self.gaps if i.company == who)
            if items:
                out.append(GapGroup(company=who, name=names[who] if who else self.network_name,
                                    items=items))
        return out

    def by_requirement(self) -> list[tuple[Requirement, int, int]]:
        """(requirement, met, gaps) in catalogue order, for the requirements checked."""
        out = []
        for r in REQUIREMENTS:
            items = [i for i in self.items if i.requirement == r.code and i.status is not Status.OPTIONAL]
            if items:
                out.append((r, sum(i.status is Status.MET for i in items),
                            sum(i.status is Status.GAP for i in items)))
        return out


def _network_owner(network: Network, stage: Stage) -> str:
    if stage is Stage.EXTERNAL_AUDIT:
        return network.operator
    central = network.central_coordinator
    coordinators = network.coordinators()
    if central and central.coordinator in coordinators:
        return f"{coordinators[central.coordinator][1].name} (central coordinator)"
    return network.operator


def _open_actions(company: Company, as_of: date, majors_only: bool) -> list[tuple[str, date]]:
    return [(a.owner, a.due) for f in internal_findings(company, as_of)
            if not majors_only or f.grade is Grade.MAJOR
            for a in f.actions if is_open(a.closed_on, as_of)]


def _owner_and_due(check: Check, company: Company, network: Network, people: list[TrainingStatus],
                   as_of: date, policy: Policy) -> tuple[str, date | None]:
    code = check.requirement
    owner = company.coordinator.name if company.coordinator else f"top management of {company.name}"
    due: date | None = None
    if code in ("training-hours", "training-topics"):
        short = [s for s in people if not s.complete]
        due = training_due(company, short, network, policy) if short else None
    elif code == "internal-audit-frequency":
        due = internal_audit_due(company, as_of, policy)
    elif code == "review-held":
        due = review_due_on(company, as_of, policy) or as_of
    elif code == "legal-evaluation":
        due = legal_due(company, as_of, policy)
    elif code in ACTION_REQUIREMENTS and not check.passed:
        actions = _open_actions(company, as_of, majors_only=code == "open-majors")
        if actions:
            owner = ", ".join(sorted({o for o, _ in actions}))
            due = min(d for _, d in actions)
    elif code in ("commitment", "review-signed"):
        owner = f"top management of {company.name}"
    return owner, due


def gap_stages(network: Network) -> tuple[Stage, ...]:
    """The gates a gap analysis covers: every certification gate, and surveillance once certified."""
    return CERTIFICATION_GATES + ((Stage.SURVEILLANCE,) if network.certificates else ())


def gap_analysis(network: Network, as_of: date, policy: Policy,
                 results: Mapping[Stage, GateResult] | None = None) -> GapAnalysis:
    """Every check of every gate in `gap_stages`, as gap items; `results` holds gates the caller has
    already evaluated on `as_of` (the others are evaluated here)."""
    stages = gap_stages(network)
    people = training_status(network, as_of, policy)
    companies = {c.id: c for c in network.companies}
    items: list[GapItem] = []
    for stage in stages:
        result = (results or {}).get(stage) or evaluate_gate(stage, network, as_of, policy)
        for c in result.checks:
            requirement = CATALOGUE[c.requirement]
            if c.company is not None and c.company in companies:
                owner, due = _owner_and_due(c, companies[c.company], network, people[c.company],
                                            as_of, policy)
            else:
                owner, due = _network_owner(network, stage), None
            items.append(GapItem(
                requirement=c.requirement, title=requirement.title, clause=c.clause, stage=stage,
                company=c.company, status=Status.MET if c.passed else Status.GAP, detail=c.detail,
                owner=owner, due=due))
    for requirement in REQUIREMENTS:
        if requirement.level is Level.NOT_REQUIRED:
            items.append(GapItem(
                requirement=requirement.code, title=requirement.title,
                clause=requirement.clause_label, stage=requirement.stage, company=None,
                status=Status.OPTIONAL, detail="not required by the Hackefors model; the statement "
                                               "report (hackefors report statement) drafts one",
                owner=_network_owner(network, requirement.stage)))
    summary = tuple(
        CompanyGaps(company=c.id, name=c.name, coordinator=c.coordinator.name if c.coordinator else None,
                    met=sum(i.company == c.id and i.status is Status.MET for i in items),
                    gaps=sum(i.company == c.id and i.status is Status.GAP for i in items))
        for c in network.active_companies(as_of))
    return GapAnalysis(network_id=network.id, network_name=network.name, as_of=as_of, stages=stages,
                       items=tuple(items), companies=summary)
