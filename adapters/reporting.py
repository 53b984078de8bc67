"""Reports as documents: gap analysis, continual improvement, environmental statement, maturity.

Building a report is pure (network + date -> HTML with its charts); writing it is a separate step
that replaces files atomically, so a failed PDF never leaves half a report behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from adapters import charts
from adapters.charts import Chart
from adapters.private_files import private_folder, write_private
from adapters.rendering import html_to_pdf, render
from adapters.settings import get_settings
from models.catalogue import Stage
from models.gap import GapGroup, GapItem, gap_analysis
from models.gates import company_progress, policy_for
from models.improvement import TREND_PERCENT_PER_YEAR, TargetChange, continual_improvement
from models.maturity import DIMENSIONS, LEVELS, level_counts, maturity
from models.network import Company, Network
from models.policy import Policy
from models.progress import (
    ageing_buckets,
    finding_periods,
    findings_by_clause_and_grade,
    open_action_ages,
    readiness_over_time,
)
from models.statement import company_view, statement_figures

LAYOUT = "report.html.j2"
TITLES: dict[str, str] = {
    "gap": "Gap analysis",
    "improvement": "Continual improvement",
    "statement": "Environmental statement",
    "maturity": "EMS maturity",
}
REPORT_KINDS: tuple[str, ...] = tuple(TITLES)
FORMATS: tuple[str, ...] = ("html", "pdf")


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    network_id: str
    company: str | None
    as_of: date
    summary: str  # one line: what the report found
    html: str
    charts: tuple[Chart, ...]

    @property
    def stem(self) -> str:
        return report_stem(self.kind, self.network_id, self.company, self.as_of)

    def chart(self, name: str) -> Chart:
        for c in self.charts:
            if c.name == name:
                return c
        raise KeyError(f"the {self.kind} report has no {name!r} chart (nothing to show)")

    def has_chart(self, name: str) -> bool:
        return any(c.name == name for c in self.charts)


def report_stem(kind: str, network_id: str, company: str | None, as_of: date) -> str:
    """The file name of a report, without its extension."""
    who = f"{network_id}-{company}" if company else network_id
    return f"{kind}-{who}-{as_of.isoformat()}"


def companies(n: int) -> str:
    return f"{n} company" if n == 1 else f"{n} companies"


def _gap(network: Network, as_of: date, policy: Policy, company: Company | None) -> dict[str, Any]:
    cid = company.id if company else None
    analysis = gap_analysis(network, as_of, policy)
    shown = [c for c in analysis.companies if cid is None or c.company == cid]
    groups = analysis.gap_groups(cid)
    own = [i for i in analysis.gaps if cid is None or i.company == cid]
    shared = [i for i in analysis.gaps if cid is not None and i.company is None]
    training_gaps = {i.company for i in analysis.gaps if i.stage is Stage.TRAINING}
    coverage = {r.company: (r.training_coverage, r.company not in training_gaps)
                for r in company_progress(network, as_of, policy) if cid is None or r.company == cid}
    ages = open_action_ages(network, as_of, cid)
    counts = findings_by_clause_and_grade(network, as_of, cid)
    found = (
        charts.training_coverage(coverage),
        charts.readiness(readiness_over_time(network, as_of, policy, company=cid),
                         company.name if company else "the network"),
        charts.findings(counts, finding_periods(counts, as_of)),
        charts.action_ageing(ageing_buckets(ages)),
    )
    return {
        "summary": _gap_summary(own, shared, groups, company, len(shown)),
        "ready": not own and not shared,
        "analysis": analysis,
        "gates": analysis.gates(cid, with_network=True),
        "groups": groups,
        "companies": shown,
        "company_gates": {c.company: analysis.gates(c.company) for c in shown},
        "items": analysis.for_company(cid) if cid else [],
        "network_items": analysis.for_company(None),
        "requirements": analysis.by_requirement() if cid is None else [],
        "ages": ages,
        "charts": _drawn(*found),
    }


def _gap_summary(own: list[GapItem], shared: list[GapItem], groups: list[GapGroup],
                 company: Company | None, checked: int) -> str:
    """One line: the verdict, how many gaps and whose, and how many companies were checked."""
    if not own and not shared:
        return f"Ready. No gaps: every requirement checked is met; {companies(checked)} checked."
    if company is None:
        at = [g for g in groups if g.company is not None]
        whose = companies(len(at)) + (" and the network" if len(at) < len(groups) else "")
        return (f"Blocked. {len(own)} gap(s) to close before certification, at {whose}; "
                f"{companies(checked)} checked.")
    network = f", and {len(shared)} of the network's that block it too" if shared else ""
    return (f"Blocked. {len(own)} gap(s) of {company.name}'s own to close before certification{network}; "
            f"{companies(1)} checked.")


def _improvement(network: Network, as_of: date, policy: Policy, company: Company | None) -> dict[str, Any]:
    improvement = continual_improvement(company_view(network, company), as_of)
    return {
        "summary": f"{improvement.improved} of {improvement.measured} measured objective(s) improved on "
                   f"their baseline; {improvement.count(TargetChange.RAISED)} target(s) raised.",
        "improvement": improvement,
        "changes": {change: improvement.count(change) for change in TargetChange},
        "trend_percent": TREND_PERCENT_PER_YEAR,
        "charts": _drawn(charts.objectives(improvement.objectives,
                                           {c.company: c.name for c in improvement.companies}),
                         charts.indicators(improvement.indicators)),
    }


def _statement(network: Network, as_of: date, policy: Policy, company: Company | None) -> dict[str, Any]:
    figures = statement_figures(network, as_of, company)
    return {
        "summary": f"{len(figures.members)} site(s), {len(figures.improvement.indicators)} core indicator(s) "
                   "reported.",
        **vars(figures),
        "objectives": figures.improvement.objectives,
        "charts": _drawn(charts.indicators(figures.improvement.indicators)),
    }


def _maturity(network: Network, as_of: date, policy: Policy, company: Company | None) -> dict[str, Any]:
    rated = maturity(company_view(network, company), as_of, policy)
    counts = level_counts(rated)
    mature = sum(c.level == len(LEVELS) - 1 for c in rated)
    return {"summary": f"{mature} of {companies(len(rated))} mature on every dimension.",
            "companies": rated, "counts": counts, "levels": LEVELS, "dimensions": DIMENSIONS,
            "charts": [charts.maturity_levels(counts)]}


def _drawn(*found: Chart | None) -> list[Chart]:
    """The charts that had something to show."""
    return [c for c in found if c is not None]


BUILDERS = {"gap": _gap, "improvement": _improvement, "statement": _statement, "maturity": _maturity}


def build_report(kind: str, network: Network, as_of: date, company_id: str | None = None,
                 policy: Policy | None = None) -> Report:
    """Render one report of `network` as of `as_of`, for the network or one of its companies."""
    if kind not in BUILDERS:
        raise ValueError(f"unknown report {kind!r}; choose one of {', '.join(REPORT_KINDS)}")
    company = network.company(company_id) if company_id is not None else None
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
    private_folder(folder)
    paths = []
    for fmt, data in content.items():
        path = folder / f"{report.stem}.{fmt}"
        write_private(path, data)
        paths.append(path)
    return paths


def reports_folder(network_id: str) -> Path:
    return get_settings().output_dir / "reports" / network_id
