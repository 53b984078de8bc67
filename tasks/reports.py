"""Reports from the store: gap analysis, continual improvement, environmental statement, maturity.

Building a report is pure (network + date -> HTML with its charts); writing it is a separate step
that replaces files atomically, so a failed PDF never leaves half a report behind.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel, ConfigDict

from hackefors.settings import get_settings
from models.certification import held_certificate
from models.gap import gap_analysis
from models.gates import policy_for, readiness
from models.improvement import TargetChange, continual_improvement
from models.maturity import DIMENSIONS, LEVELS, level_counts, maturity
from models.network import Company, Network, Significance
from models.policy import Policy
from models.progress import (
    ageing_buckets,
    findings_by_clause_and_grade,
    open_action_ages,
    readiness_over_time,
)
from models.reviews import latest_review
from tasks import charts
from tasks.certificates import write_atomically
from tasks.db import transaction
from tasks.gates import artifact_key
from tasks.rendering import html_to_pdf, render
from tasks.retrying import IO_TASK
from tasks.store import load_network

LAYOUT = "report.html.j2"
TITLES: dict[str, str] = {
    "gap": "Gap analysis",
    "improvement": "Continual improvement",
    "statement": "Environmental statement",
    "maturity": "EMS maturity",
}
REPORT_KINDS: tuple[str, ...] = tuple(TITLES)
FORMATS: tuple[str, ...] = ("html", "pdf")


class UnknownCompany(LookupError):
    def __init__(self, company: str, network: Network) -> None:
        known = ", ".join(c.id for c in network.companies)
        super().__init__(f"no company {company!r} in network {network.id!r}; known: {known}")


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    network_id: str
    company: str | None
    as_of: date
    summary: str  # one line: what the report found
    html: str
    charts: tuple[charts.Chart, ...]

    @property
    def stem(self) -> str:
        return report_stem(self.kind, self.network_id, self.company, self.as_of)

    def chart(self, name: str) -> charts.Chart:
        return next(c for c in self.charts if c.name == name)


def report_stem(kind: str, network_id: str, company: str | None, as_of: date) -> str:
    """The file name of a report, without its extension."""
    who = f"{network_id}-{company}" if company else network_id
    return f"{kind}-{who}-{as_of.isoformat()}"


def companies(n: int) -> str:
    return f"{n} company" if n == 1 else f"{n} companies"


def only(network: Network, company: Company | None) -> Network:
    """The network as one company's report sees it: its own records, the network's frame."""
    return network.model_copy(update={"companies": (company,)}) if company else network


def _gap(network: Network, as_of: date, policy: Policy, company: Company | None) -> dict[str, Any]:
    cid = company.id if company else None
    analysis = gap_analysis(network, as_of, policy)
    people = [r for r in readiness(network, as_of, policy) if cid is None or r.company == cid]
    ages = open_action_ages(network, as_of, cid)
    shown = [c for c in analysis.companies if cid is None or c.company == cid]
    gaps = [i for i in analysis.gaps if cid is None or i.company in (cid, None)]
    return {
        "summary": (f"{len(gaps)} gap(s) to close before certification" if gaps else
                    "No gaps: every requirement checked is met") + f"; {companies(len(shown))} checked.",
        "analysis": analysis,
        "companies": shown,
        "items": {c.company: analysis.for_company(c.company) for c in shown},
        "network_items": analysis.for_company(None),
        "requirements": analysis.by_requirement() if cid is None else [],
        "gaps": gaps,
        "ages": ages,
        "charts": [
            charts.training_coverage(people, policy.low_training_coverage),
            charts.readiness(readiness_over_time(network, as_of, policy, company=cid)),
            charts.findings(findings_by_clause_and_grade(network, as_of, cid)),
            charts.action_ageing(ageing_buckets(ages)),
        ],
    }


def _improvement(network: Network, as_of: date, policy: Policy, company: Company | None) -> dict[str, Any]:
    improvement = continual_improvement(only(network, company), as_of)
    return {
        "summary": f"{improvement.improved} of {improvement.measured} measured objective(s) improved on "
                   f"their baseline; {improvement.count(TargetChange.RAISED)} target(s) raised.",
        "improvement": improvement,
        "changes": {change: improvement.count(change) for change in TargetChange},
        "charts": [charts.objectives(improvement.objectives),
                   charts.indicators(list(improvement.indicators))],
    }


def _statement(network: Network, as_of: date, policy: Policy, company: Company | None) -> dict[str, Any]:
    scoped = only(network, company)
    members = scoped.active_companies(as_of)
    improvement = continual_improvement(scoped, as_of)
    significance = Counter(a.significance.value if a.significance else "not assessed"
                           for c in members for a in c.aspects)
    laws: dict[str, list[tuple[str, bool | None]]] = defaultdict(list)
    for c in members:
        for r in c.legal_register:
            laws[r.obligation].append((c.id, r.compliant))
    decisions = [(c, review) for c in members if (review := latest_review(c, as_of)) and review.decisions]
    return {
        "summary": f"{len(members)} site(s), {len(improvement.indicators)} core indicator(s) reported.",
        "members": members,
        "personnel": sum(c.personnel for c in members),
        "certificate": held_certificate(network.certificates, as_of),
        "guidelines": sorted({c.review.guideline_version for c in members
                              if c.review and c.review.guideline_version}),
        "significance": [(level, significance[level]) for level in
                         [s.value for s in Significance] + ["not assessed"] if significance[level]],
        "significant": [(c, a) for c in members for a in c.aspects if a.significance is Significance.HIGH],
        "improvement": improvement,
        "objectives": improvement.objectives,
        "decisions": decisions,
        "open_actions": open_action_ages(scoped, as_of, company.id if company else None),
        "laws": sorted(laws.items()),
        "charts": [charts.indicators(list(improvement.indicators))],
    }


def _maturity(network: Network, as_of: date, policy: Policy, company: Company | None) -> dict[str, Any]:
    rated = maturity(only(network, company), as_of, policy)
    counts = level_counts(rated)
    mature = sum(c.level == len(LEVELS) - 1 for c in rated)
    return {"summary": f"{mature} of {companies(len(rated))} mature on every dimension.",
            "companies": rated, "counts": counts, "levels": LEVELS, "dimensions": DIMENSIONS,
            "charts": [charts.maturity_levels(counts)]}


BUILDERS = {"gap": _gap, "improvement": _improvement, "statement": _statement, "maturity": _maturity}


def build_report(kind: str, network: Network, as_of: date, company_id: str | None = None,
                 policy: Policy | None = None) -> Report:
    """Render one report of `network` as of `as_of`, for the network or one of its companies."""
    if kind not in BUILDERS:
        raise ValueError(f"unknown report {kind!r}; choose one of {', '.join(REPORT_KINDS)}")
    company = None
    if company_id is not None:
        try:
            company = network.company(company_id)
        except KeyError:
            raise UnknownCompany(company_id, network) from None
    policy = policy or policy_for(network)
    context = BUILDERS[kind](network, as_of, policy, company)
    html = render(f"{kind}.html.j2", layout=LAYOUT, title=TITLES[kind], network=network, company=company,
                  as_of=as_of, policy=policy, **context)
    return Report(kind=kind, network_id=network.id, company=company_id, as_of=as_of, html=html,
                  summary=context["summary"], charts=tuple(context["charts"]))


def write_report(report: Report, folder: Path, formats: Iterable[str] = ("html",)) -> list[Path]:
    """Write the report in each format; PDFs are rendered before anything is written."""
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {', '.join(FORMATS)}")
    content = {f: report.html.encode("utf-8") if f == "html" else html_to_pdf(report.html) for f in formats}
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt, data in content.items():
        path = folder / f"{report.stem}.{fmt}"
        write_atomically(path, data)
        paths.append(path)
    return paths


def reports_folder(network_id: str) -> Path:
    return get_settings().output_dir / "reports" / network_id


def make_report(kind: str, network_id: str, as_of: date, company_id: str | None = None,
                formats: Iterable[str] = ("html",), folder: Path | None = None) -> tuple[Report, list[Path]]:
    """Load the network from the store, build the report and write it; the paths written."""
    with transaction() as session:
        network = load_network(session, network_id)
    report = build_report(kind, network, as_of, company_id)
    return report, write_report(report, folder or reports_folder(network_id), formats)


@task(name="publish-gap-report", task_run_name="publish-gap-report-{network_id}", **IO_TASK)
def publish_gap_report(network_id: str, as_of: date) -> list[str]:
    """Write the network's gap analysis (HTML and PDF) and link it from the run."""
    report, paths = make_report("gap", network_id, as_of, formats=FORMATS)
    links = " · ".join(f"[{p.suffix[1:].upper()}]({p.resolve().as_uri()})" for p in paths)
    create_markdown_artifact(
        key=artifact_key("gap-analysis", network_id),
        description=f"Gap analysis of {network_id} as of {as_of}",
        markdown=f"# Gap analysis of `{network_id}` as of {as_of}\n\n{report.summary}\n\n{links}\n\n"
                 + "\n".join(f"- `{p}`" for p in paths))
    return [str(p) for p in paths]

