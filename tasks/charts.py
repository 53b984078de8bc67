"""Progress charts as PNG: each keeps the numbers it plots, so a test can hold them against the rules."""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from models.gates import CompanyProgress
from models.improvement import IndicatorTrend, ObjectiveProgress
from models.maturity import LEVELS
from models.network import Grade
from models.progress import FindingCount, ReadinessPoint

GRADE_COLOURS = {Grade.MAJOR: "#b2182b", Grade.MINOR: "#ef8a62", Grade.OBSERVATION: "#67a9cf",
                 Grade.IMPROVEMENT: "#999999"}
LEVEL_COLOURS = ("#d7191c", "#fdae61", "#a6d96a", "#1a9641")
GOOD, BAD, INK = "#1a9641", "#d7191c", "#333333"


class Chart(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    caption: str
    data: Any  # exactly the numbers plotted
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@lru_cache(maxsize=1)
def _pyplot() -> Any:
    import matplotlib  # imported late: it costs half a second and only reports need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.titlesize": 9, "figure.dpi": 110})
    return plt


def _png(figure: Any) -> bytes:
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=INK)
    ax.set_xticks([])
    ax.set_yticks([])


def training_coverage(companies: list[CompanyProgress], required: float) -> Chart:
    """Share of each company's employees with complete training."""
    data = {c.company: c.training_coverage for c in companies}
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, max(1.6, 0.22 * len(data) + 0.8)))
    names = list(data)[::-1]
    values = [data[n] * 100 for n in names]
    ax.barh(names, values, color=[GOOD if v >= required * 100 else BAD for v in values])
    ax.axvline(required * 100, color=INK, linestyle="--", linewidth=0.8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("employees with complete training (%)")
    return Chart(name="training-coverage", title="Training coverage per company",
                 caption=f"Share of active employees with every required hour and topic; the dashed line "
                         f"is {required:.0%}, below which a site counts as a risk.",
                 data=data, png=_png(fig))


def findings(counts: list[FindingCount]) -> Chart:
    """Findings per quarter by grade, and per clause by grade."""
    by_period: dict[str, dict[str, int]] = {}
    by_clause: dict[str, dict[str, int]] = {}
    for f in counts:
        for table, key in ((by_period, f.period), (by_clause, f.clause)):
            row = table.setdefault(key, {})
            row[f.grade.value] = row.get(f.grade.value, 0) + f.count
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 2.8))
    if not counts:
        _empty(left, "no findings")
        _empty(right, "no findings")
    for ax, table, horizontal in ((left, by_period, False), (right, by_clause, True)):
        keys = sorted(table, key=_clause_key if horizontal else str)
        base = [0] * len(keys)
        for grade in Grade:
            heights = [table[k].get(grade.value, 0) for k in keys]
            if any(heights):
                draw = ax.barh if horizontal else ax.bar
                draw(keys, heights, **({"left": base} if horizontal else {"bottom": base}),
                     color=GRADE_COLOURS[grade], label=grade.value.replace("_", " "))
                base = [b + h for b, h in zip(base, heights, strict=True)]
    left.set_title("by quarter")
    right.set_title("by ISO 14001 clause")
    left.tick_params(axis="x", rotation=45)
    if counts:
        left.legend(fontsize=7, frameon=False)
    return Chart(name="findings", title="Audit findings by clause and grade over time",
                 caption="Findings of internal and external audits, counted in the quarter the audit "
                         "took place.",
                 data={"by_period": by_period, "by_clause": by_clause}, png=_png(fig))


def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(p) for p in clause.split(".") if p.isdigit())


def action_ageing(buckets: dict[str, tuple[int, int]]) -> Chart:
    """Open corrective actions by age, not yet due and overdue."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 2.2))
    labels = list(buckets)
    on_time = [buckets[b][0] for b in labels]
    overdue = [buckets[b][1] for b in labels]
    if not any(on_time) and not any(overdue):
        _empty(ax, "no open corrective actions")
    else:
        ax.bar(labels, on_time, color=GOOD, label="not yet due")
        ax.bar(labels, overdue, bottom=on_time, color=BAD, label="overdue")
        ax.set_ylabel("open actions")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=7, frameon=False)
    return Chart(name="action-ageing", title="Corrective-action ageing",
                 caption="Open corrective actions by the age of the finding that raised them.",
                 data={b: list(v) for b, v in buckets.items()}, png=_png(fig))


def readiness(points: list[ReadinessPoint]) -> Chart:
    """Share of requirement checks met, month by month."""
    data = {p.on.isoformat(): p.share for p in points}
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 2.4))
    ax.plot(list(data), [v * 100 for v in data.values()], marker="o", color=GOOD)
    for p in points:
        ax.annotate(f"{p.gates_passed}/{p.gates}", (p.on.isoformat(), p.share * 100), fontsize=6,
                    textcoords="offset points", xytext=(0, 5), ha="center", color=INK)
    ax.set_ylim(0, 105)
    ax.set_ylabel("checks met (%)")
    ax.tick_params(axis="x", rotation=45)
    return Chart(name="readiness", title="Readiness over time",
                 caption="Share of the certification checks met on each date, from the records as they "
                         "stand now; the labels count the gates passed.",
                 data=data, png=_png(fig))


def objectives(progress: list[ObjectiveProgress]) -> Chart:
    """Each objective's measurements between its baseline (0 %) and target (100 %), per year."""
    data = {f"{o.company}/{o.objective}": o.progress_by_year() for o in progress}
    data = {k: v for k, v in data.items() if v}
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 2.8))
    if not data:
        _empty(ax, "no objective with baseline, target and measurements")
    for name, series in data.items():
        years = list(series)
        values = [v * 100 for v in series.values()]
        ax.plot(years, values, marker="o", linewidth=1, alpha=0.6 if len(data) > 8 else 1,
                label=name if len(data) <= 8 else None)
    ax.axhline(0, color=INK, linewidth=0.8)
    ax.axhline(100, color=GOOD, linestyle="--", linewidth=0.8)
    ax.set_ylabel("of the way from baseline to target (%)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    if 0 < len(data) <= 8:
        ax.legend(fontsize=7, frameon=False)
    return Chart(name="objectives", title="Objectives against baseline and target",
                 caption="0 % is the baseline, 100 % the current target (dashed); above 100 % the "
                         "target is passed, below 0 % the value moved away from it.",
                 data=data, png=_png(fig))


def indicators(trends: list[IndicatorTrend]) -> Chart:
    """The core indicators' annual totals, one panel each."""
    data = {t.kind.value: dict(t.values) for t in trends}
    plt = _pyplot()
    panels = max(1, len(trends))
    fig, axes = plt.subplots(1, panels, figsize=(7, 2.2), squeeze=False)
    if not trends:
        _empty(axes[0][0], "no indicators reported")
    for ax, t in zip(axes[0], trends, strict=False):
        ax.plot(list(t.values), list(t.values.values()), marker="o",
                color={"improving": GOOD, "worsening": BAD}.get(t.trend.value, INK))
        ax.set_title(f"{t.kind.value.replace('_', ' ')} ({t.unit})")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(axis="x", rotation=45)
    return Chart(name="indicators", title="Core indicators",
                 caption="Annual totals; green where the trend improves, red where it worsens.",
                 data=data, png=_png(fig))


def maturity_levels(counts: dict[str, list[int]]) -> Chart:
    """Per dimension, how many companies stand at each level."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 2.2))
    names = list(counts)[::-1]
    left = [0] * len(names)
    for level, label in enumerate(LEVELS):
        widths = [counts[n][level] for n in names]
        ax.barh(names, widths, left=left, color=LEVEL_COLOURS[level], label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlabel("companies")
    ax.legend(fontsize=7, frameon=False, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return Chart(name="maturity", title="Maturity of the member companies",
                 caption="Per dimension, the companies at each level from immature to mature.",
                 data=counts, png=_png(fig))
