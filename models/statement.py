"""The figures of an EMAS-style environmental statement (Annex IV), for a network or one company."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from models.certification import held_certificate
from models.improvement import Improvement, continual_improvement
from models.network import Certificate, Company, ManagementReview, Network, Significance
from models.progress import ActionAge, open_action_ages
from models.reviews import latest_review

NOT_ASSESSED = "not assessed"


def company_view(network: Network, company: Company | None) -> Network:
    """The network as one company's report sees it: its own records, the network's frame."""
    return network.model_copy(update={"companies": (company,)}) if company else network


@dataclass(frozen=True)
class StatementFigures:
    members: tuple[Company, ...]
    personnel: int
    certificate: Certificate | None
    guidelines: list[str]  # versions of the steering committee's review guideline in use
    significance: list[tuple[str, int]]  # aspects per significance level, highest first
    significant: list[tuple[Company, object]]  # (company, aspect) of every highly significant aspect
    improvement: Improvement
    decisions: list[tuple[Company, ManagementReview]]  # each member's latest review with decisions
    open_actions: list[ActionAge]
    laws: list[tuple[str, list[tuple[str, bool | None]]]]  # obligation -> (company, compliant)


def statement_figures(network: Network, as_of: date, company: Company | None = None) -> StatementFigures:
    scoped = company_view(network, company)
    members = scoped.active_companies(as_of)
    significance = Counter(a.significance.value if a.significance else NOT_ASSESSED
                           for c in members for a in c.aspects)
    laws: dict[str, list[tuple[str, bool | None]]] = defaultdict(list)
    for c in members:
        for r in c.legal_register:
            laws[r.obligation].append((c.id, r.compliant))
    return StatementFigures(
        members=members,
        personnel=sum(c.personnel for c in members),
        certificate=held_certificate(network.certificates, as_of),
        guidelines=sorted({c.review.guideline_version for c in members
                           if c.review and c.review.guideline_version}),
        significance=[(level, significance[level]) for level in
                      [s.value for s in Significance] + [NOT_ASSESSED] if significance[level]],
        significant=[(c, a) for c in members for a in c.aspects
                     if a.significance is Significance.HIGH],
        improvement=continual_improvement(scoped, as_of),
        decisions=[(c, review) for c in members if (review := latest_review(c, as_of)) and review.decisions],
        open_actions=open_action_ages(scoped, as_of, company.id if company else None),
        laws=sorted(laws.items()),
    )
