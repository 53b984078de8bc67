"""Use cases of the portal's company pages that only read: a company's people and their training,
its records (actions, legal register, reviews, files), a network's companies. (What a company must
do, and every write, are in services/evidence.py.)"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from models.evidence import EvidenceFile
from models.gates import policy_for
from models.network import CorrectiveAction, Employee, LegalRequirement, ManagementReview
from models.policy import MANAGEMENT_REVIEW_INPUTS
from models.training import TrainingStatus, format_hours, training_status
from services.evidence import find_company
from services.readiness import NetworkOverview, kept_overview
from services.unit_of_work import AbstractUnitOfWork


class Person(BaseModel):
    employee: Employee
    training: TrainingStatus | None  # None: not active on the date (left, or not hired yet)


class CompanyPeople(BaseModel):
    network_id: str
    company_id: str
    company_name: str
    as_of: date
    people: list[Person]
    training_hours: str  # the policy's minimum, as people write it
    topics: tuple[str, ...]


def people(uow: AbstractUnitOfWork, network_id: str, company_id: str, as_of: date) -> CompanyPeople:
    """The company's employees, each with their hours and missing topics as of `as_of`."""
    with uow:
        network = uow.networks.load(network_id, parts=("training",))
    company = find_company(network, company_id)
    policy = policy_for(network)
    status = {s.employee: s for s in training_status(network, as_of, policy)[company_id]}
    return CompanyPeople(network_id=network_id, company_id=company_id, company_name=company.name, as_of=as_of,
                         people=[Person(employee=e, training=status.get(e.id)) for e in company.employees],
                         training_hours=format_hours(policy.training_hours), topics=policy.training_topics)


def network_overview(uow: AbstractUnitOfWork, network_id: str, as_of: date) -> NetworkOverview:
    """The network's page: each active company with its met and unmet requirements (the gap
    analysis as of `as_of`), and the network's own unmet ones; kept beside the to-do lists."""
    return kept_overview(uow, network_id, as_of)


class ActionLine(BaseModel):
    action: CorrectiveAction
    finding: str  # the finding's grade, clause and description


class CompanyRecords(BaseModel):
    """What the company's record pages show: its actions, legal register, reviews and files."""

    network_id: str
    company_id: str
    company_name: str
    actions: list[ActionLine]
    legal_register: list[LegalRequirement]
    reviews: list[ManagementReview]
    review_inputs: tuple[str, ...]
    files: list[EvidenceFile]


def records(uow: AbstractUnitOfWork, network_id: str, company_id: str) -> CompanyRecords:
    """The company's corrective actions (with their findings), legal register, management reviews
    and evidence files."""
    with uow:
        network = uow.networks.load(network_id, parts=("registers", "internal_audits", "reviews",
                                                       "external_audits"))
        company = find_company(network, company_id)
        files = uow.evidence.for_company(network_id, company_id)
    findings = [f for audit in company.internal_audits for f in audit.findings]
    findings += [f for audit in network.external_audits for f in audit.findings if f.company == company_id]
    actions = [ActionLine(action=a, finding=f"{f.grade.value} ({f.clause}): {f.description}")
               for f in findings for a in f.actions]
    return CompanyRecords(network_id=network_id, company_id=company_id, company_name=company.name,
                          actions=actions, legal_register=list(company.legal_register),
                          reviews=sorted(company.management_reviews, key=lambda r: r.date, reverse=True),
                          review_inputs=MANAGEMENT_REVIEW_INPUTS, files=files)
