"""Progress charts as PNG: each keeps the numbers it plots, so a test can hold them against the rules.

A chart is drawn only when it has something to show: the builders return None for an empty series,
and the report then says so in words instead.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from models.improvement import IndicatorTrend, ObjectiveProgress, Trend
from models.maturity import LEVELS
from models.network import Grade
from models.progress import FindingCount, ReadinessPoint

GRADE_COLOURS = {Grade.MAJOR: "#b2182b", Grade.MINOR: "#ef8a62", Grade.OBSERVATION: "#67a9cf",
                 Grade.IMPROVEMENT: "#999999"}
LEVEL_COLOURS = ("#d7191c", "#fdae61", "#a6d96a", "#1a9641")
GOOD, BAD, INK = "#1a9641", "#d7191c", "#333333"
TREND_COLOURS = {Trend.IMPROVING: GOOD, Trend.WORSENING: BAD}
WIDTH = 7.0  # inches: the text width of an A4 page with the reports' margins
MIN_OPEN_ACTIONS = 3  # fewer open actions read better as the table below the chart


class Chart(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    caption: str
    data: Any  # exactly the numbers plotted
    png: bytes
    count_ticks: tuple[float, ...] = ()  # the ticks drawn on the axes that count things

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@lru_cache(maxsize=1)
def _pyplot() -> Any:
    import matplotlib  # imported late: it costs half a second and only reports need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.titlesize": 8, "figure.dpi": 100})
    return plt


def _render(figure: Any) -> dict[str, Any]:
    """The figure as PNG, with the ticks of its count axes as drawn; checked, then closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    _check_inside(figure)
    ticks = _counted(figure)
    _pyplot().close(figure)
    return {"png": buffer.getvalue(), "count_ticks": ticks}


def _check_inside(figure: Any) -> None:
    """Refuse a chart whose words are cut off at its edge or whose panel titles run into each other."""
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    drawn = list(figure.texts) + [t for t in (figure._supxlabel, figure._supylabel) if t is not None]
    for ax in figure.axes:
        if ax.get_visible():
            drawn += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                      *_tick_labels(ax.xaxis), *_tick_labels(ax.yaxis)]
            legend = ax.get_legend()
            drawn += legend.get_texts() if legend else []
    for text in drawn:
        if text.get_visible() and text.get_text().strip():
            box = text.get_window_extent(renderer)
            if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
                raise AssertionError(f"chart text {text.get_text()!r} is cut off at the figure's edge")
    titles = [(t.get_text(), t.get_window_extent(renderer)) for a in figure.axes if a.get_visible()
              for t in (a.title, a._left_title, a._right_title) if t.get_text()]
    for i, (first, a) in enumerate(titles):
        for second, b in titles[i + 1:]:
            if a.overlaps(b):
                raise AssertionError(f"chart titles {first!r} and {second!r} overlap")


def _tick_labels(axis: Any) -> list[Any]:
    """The labels of the ticks inside the axis's view (the others are not drawn)."""
    low, high = sorted(axis.get_view_interval())
    return [t.label1 for t in axis.get_major_ticks() if low - 1e-9 <= t.get_loc() <= high + 1e-9]


def _counted(figure: Any) -> tuple[float, ...]:
    """The ticks of the axes `_counts_axis` marked, as drawn."""
    return tuple(float(t) for axis in getattr(figure, "count_axes", []) for t in axis.get_majorticklocs()
                 if axis.get_view_interval()[0] - 1e-9 <= t <= axis.get_view_interval()[1] + 1e-9)


def _figure(height: float, rows: int = 1, cols: int = 1, **options: Any) -> tuple[Any, Any]:
    """A figure the width of the page whose layout keeps every label and title inside it."""
    return _pyplot().subplots(rows, cols, figsize=(WIDTH, height), layout="constrained", **options)


def _counts_axis(axis: Any) -> None:
    """Counts are whole numbers: ticks only on integers."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    figure = axis.get_figure()
    figure.count_axes = [*getattr(figure, "count_axes", []), axis]


def training_coverage(companies: Mapping[str, tuple[float, bool]]) -> Chart | None:
    """Per company (id -> (share of employees fully trained, passes the training gate)), a bar
    coloured by the gate's verdict; None for fewer than two companies (a sentence says it better)."""
    if len(companies) < 2:
        return None
    fig, ax = _figure(0.16 * len(companies) + 0.7)
    names = list(companies)[::-1]
    ax.barh(names, [companies[n][0] * 100 for n in names],
            color=[GOOD if companies[n][1] else BAD for n in names])
    ax.set_xlim(0, 100)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("employees with every required hour and topic (%)")
    failing = sum(not passes for _, passes in companies.values())
    return Chart(name="training-coverage", title="Training per company",
                 caption=f"Green: the company passes the training gate; red: it does not "
                         f"({failing} of {len(companies)}). A new hire within the grace period counts "
                         "as short here without blocking the gate.",
                 data={c: {"coverage": v, "passes": p} for c, (v, p) in companies.items()}, **_render(fig))


def readiness(points: Sequence[ReadinessPoint], whose: str = "the network") -> Chart:
    """The certification gates passed on the same day of each month."""
    data = {p.on.isoformat(): p.gates_passed for p in points}
    gates = max((p.gates for p in points), default=0)
    fig, ax = _figure(1.9)
    days = list(data)
    ax.plot(days, list(data.values()), color=INK, linewidth=0.8, zorder=1)
    ax.scatter(days, list(data.values()), zorder=2,
               color=[GOOD if p.gates_passed == p.gates else BAD for p in points])
    ax.set_ylim(-0.3, gates + 0.3)
    _counts_axis(ax.yaxis)
    ax.set_ylabel(f"gates passed (of {gates})")
    ax.tick_params(axis="x", rotation=45, labelsize=7)
    last = points[-1] if points else None
    now = f"{last.gates_passed} of {last.gates} on {last.on}" if last else "none"
    return Chart(name="readiness", title="Certification gates passed, month by month",
                 caption=f"The gates of {whose} evaluated on each date from the records as they stand now; "
                         f"green where every gate passes. Now: {now}.",
                 data=data, **_render(fig))


def findings(counts: Sequence[FindingCount], periods: Sequence[str]) -> Chart | None:
    """Findings per quarter by grade (every quarter in `periods`, empty ones too), and per clause."""
    if not counts:
        return None
    by_period: dict[str, dict[str, int]] = {p: {} for p in periods}
    by_clause: dict[str, dict[str, int]] = {}
    for f in counts:
        for table, key in ((by_period, f.period), (by_clause, f.clause)):
            row = table.setdefault(key, {})
            row[f.grade.value] = row.get(f.grade.value, 0) + f.count
    clauses = sorted(by_clause, key=_clause_key)
    fig, (left, right) = _figure(max(2.0, 0.16 * len(clauses) + 0.9), 1, 2)
    for ax, table, keys, horizontal in ((left, by_period, list(by_period), False),
                                        (right, by_clause, clauses[::-1], True)):
        base = [0] * len(keys)
        for grade in Grade:
            heights = [table[k].get(grade.value, 0) for k in keys]
            if any(heights):
                draw = ax.barh if horizontal else ax.bar
                draw(keys, heights, **({"left": base} if horizontal else {"bottom": base}),
                     color=GRADE_COLOURS[grade], label=grade.value.replace("_", " "))
                base = [b + h for b, h in zip(base, heights, strict=True)]
        _counts_axis(ax.xaxis if horizontal else ax.yaxis)
    left.set_title("by quarter")
    left.set_ylabel("findings")
    right.set_title("by ISO 14001 clause")
    right.set_xlabel("findings")
    left.tick_params(axis="x", rotation=45, labelsize=7)
    left.legend(fontsize=7, frameon=False)
    return Chart(name="findings", title="Audit findings by grade, per quarter and per clause",
                 caption="Findings of internal and external audits, counted in the quarter the audit "
                         "took place; quarters without findings are shown empty.",
                 data={"by_period": by_period, "by_clause": by_clause}, **_render(fig))


def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(p) for p in clause.split(".") if p.isdigit())


def action_ageing(buckets: Mapping[str, tuple[int, int]]) -> Chart | None:
    """Open corrective actions by age, not yet due and overdue; None for fewer than
    MIN_OPEN_ACTIONS (the table lists them)."""
    if sum(a + b for a, b in buckets.values()) < MIN_OPEN_ACTIONS:
        return None
    labels = list(buckets)[::-1]
    on_time = [buckets[b][0] for b in labels]
    overdue = [buckets[b][1] for b in labels]
    fig, ax = _figure(0.22 * len(labels) + 0.7)
    ax.barh(labels, on_time, color=GOOD, label="not yet due")
    ax.barh(labels, overdue, left=on_time, color=BAD, label="overdue")
    _counts_axis(ax.xaxis)
    ax.set_xlabel("open actions")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return Chart(name="action-ageing", title="Open corrective actions by age",
                 caption="Open corrective actions by the age of the finding that raised them.",
                 data={b: list(v) for b, v in buckets.items()}, **_render(fig))


def objectives(progress: Sequence[ObjectiveProgress], names: Mapping[str, str]) -> Chart | None:
    """Small multiples: one panel per company, each objective's measurements between its baseline
    (0 %) and target (100 %), per year; None when no objective has both and a measurement."""
    data: dict[str, dict[str, dict[int, float]]] = {}
    for o in progress:
        series = o.progress_by_year()
        if series:
            data.setdefault(o.company, {})[o.objective] = series
    if not data:
        return None
    cols = min(len(data), 6)
    rows = -(-len(data) // cols)
    fig, axes = _figure(max(2.0, 1.1 * rows + 0.4), rows, cols, sharex=True, sharey=True, squeeze=False)
    years = sorted({y for panel in data.values() for series in panel.values() for y in series})
    for ax, (company, panel) in zip(axes.flat, data.items(), strict=False):
        ax.axhline(0, color=INK, linewidth=0.6)
        ax.axhline(100, color=GOOD, linestyle="--", linewidth=0.6)
        for objective, series in panel.items():
            values = [v * 100 for v in series.values()]
            ax.plot(list(series), values, marker="o", markersize=2.5, linewidth=1,
                    color=GOOD if values[-1] > 0 else BAD)
            ax.annotate(objective, (list(series)[-1], values[-1]), fontsize=6, color=INK,
                        textcoords="offset points", xytext=(3, 0), va="center")
        ax.set_title(_short(f"{company} {names.get(company, company)}", 17 if cols > 3 else 40),
                     fontsize=6.5, loc="left")
        ax.set_xticks(years)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(data):]:
        ax.set_visible(False)
    fig.supylabel("from baseline (0 %) to target (100 %)", fontsize=7)
    return Chart(name="objectives", title="Objectives against baseline and target, per company",
                 caption="One panel per company; each line is an objective, labelled with its id. 0 % is "
                         "the baseline, 100 % the current target (dashed); green lines end better than "
                         "the baseline, red ones at or below it.",
                 data=data, **_render(fig))


def _short(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def indicators(trends: Sequence[IndicatorTrend]) -> Chart | None:
    """The core indicators' annual totals, one panel each, coloured by their trend; None when no
    indicator is reported."""
    if not trends:
        return None
    fig, axes = _figure(1.9, 1, len(trends), squeeze=False)
    for ax, t in zip(axes[0], trends, strict=True):
        ax.plot(list(t.values), list(t.values.values()), marker="o", markersize=3,
                color=TREND_COLOURS.get(t.trend, INK))
        ax.set_title(f"{t.kind.value.replace('_', ' ')}\n({t.unit})")
        ax.set_xticks(t.years)
        ax.tick_params(axis="x", rotation=45, labelsize=6)
        ax.tick_params(axis="y", labelsize=6)
    return Chart(name="indicators", title="Core indicators",
                 caption="Annual totals; green where the trend improves, red where it worsens, grey "
                         "where it is stable.",
                 data={t.kind.value: dict(t.values) for t in trends}, **_render(fig))


def maturity_levels(counts: Mapping[str, list[int]]) -> Chart:
    """Per dimension, how many companies stand at each level."""
    fig, ax = _figure(1.6)
    names = list(counts)[::-1]
    left = [0] * len(names)
    for level, label in enumerate(LEVELS):
        widths = [counts[n][level] for n in names]
        ax.barh(names, widths, left=left, color=LEVEL_COLOURS[level], label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    _counts_axis(ax.xaxis)
    ax.set_xlabel("companies")
    ax.legend(fontsize=7, frameon=False, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return Chart(name="maturity", title="Maturity of the member companies",
                 caption="Per dimension, the companies at each level from immature to mature.",
                 data=dict(counts), **_render(fig))
