"""Progress charts as PNG: each keeps the numbers it plots, so a test can hold them against the rules.

A chart is drawn only when it has something to show: the builders return None for an empty series,
and the report then says so in words instead.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from adapters.svg import GRID, Canvas, text_width, whole_ticks
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
    image: bytes
    media_type: str  # image/png (matplotlib) or image/svg+xml (adapters/svg.py)
    count_ticks: tuple[float, ...] = ()  # the ticks drawn on the axes that count things

    @property
    def data_uri(self) -> str:
        return f"data:{self.media_type};base64," + base64.b64encode(self.image).decode("ascii")


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
    return {"image": buffer.getvalue(), "media_type": "image/png", "count_ticks": ticks}


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


# The gap report's charts are drawn as SVG (adapters/svg.py): the report is on the certification run's
# way to the sign-off, and this spares it importing and running matplotlib.
PAGE = WIDTH * 72  # points
LABEL = 7  # font size of labels, points


def _svg_chart(canvas: Canvas, ticks: Sequence[int] = (), **fields: Any) -> Chart:
    return Chart(image=canvas.svg(), media_type="image/svg+xml", count_ticks=tuple(float(t) for t in ticks),
                 **fields)


def _legend(canvas: Canvas, right: float, y: float, entries: Sequence[tuple[str, str]]) -> None:
    """Colour keys in a row ending at `right`, baseline `y`."""
    x = right - sum(text_width(label, LABEL) + 14 for label, _ in entries)
    for label, colour in entries:
        canvas.rect(x, y - 6, 7, 7, colour)
        canvas.text(x + 10, y, label)
        x += text_width(label, LABEL) + 14


def _x_axis(canvas: Canvas, left: float, width: float, y: float, ticks: Sequence[int], top: float,
            label: str, grid_top: float) -> None:
    """A horizontal value axis from 0 to `top` at `y`, with its ticks, grid and label."""
    canvas.line(left, y, left + width, y)
    for t in ticks:
        x = left + width * t / top
        canvas.line(x, grid_top, x, y, GRID)
        canvas.line(x, y, x, y + 3)
        canvas.text(x, y + 11, f"{t}", anchor="middle")
    canvas.text(left + width / 2, y + 22, label, anchor="middle")


def _y_axis(canvas: Canvas, left: float, width: float, bottom: float, height: float, ticks: Sequence[int],
            label: str) -> None:
    """A vertical count axis from 0 to the last tick, its grid across `width`, its label above it."""
    top = ticks[-1]
    for t in ticks:
        y = bottom - height * t / top
        canvas.line(left, y, left + width, y, GRID)
        canvas.text(left - 4, y + 2.5, f"{t}", anchor="end")
    canvas.line(left, bottom, left, bottom - height)
    canvas.text(left - 4 - text_width(str(top), LABEL), bottom - height - 7, label)


def training_coverage(companies: Mapping[str, tuple[float, bool]]) -> Chart | None:
    """Per company (id -> (share of employees fully trained, passes the training gate)), a bar
    coloured by the gate's verdict; None for fewer than two companies (a sentence says it better)."""
    if len(companies) < 2:
        return None
    row, top, bottom = 11.0, 4.0, 30.0
    left = max(text_width(c, LABEL) for c in companies) + 8
    width = PAGE - left - 12
    canvas = Canvas(PAGE, top + row * len(companies) + bottom)
    axis_y = top + row * len(companies)
    _x_axis(canvas, left, width, axis_y, list(range(0, 101, 20)), 100,
            "employees with every required hour and topic (%)", top)
    for i, (company, (coverage, passes)) in enumerate(companies.items()):
        y = top + i * row
        canvas.rect(left, y + 1.5, width * coverage, row - 3, GOOD if passes else BAD,
                    title=f"{company}: {coverage:.0%}")
        canvas.text(left - 4, y + row - 3, company, anchor="end")
    failing = sum(not passes for _, passes in companies.values())
    return _svg_chart(
        canvas, name="training-coverage", title="Training per company",
        caption=f"Green: the company passes the training gate; red: it does not ({failing} of "
                f"{len(companies)}). A new hire within the grace period counts as short here without "
                "blocking the gate.",
        data={c: {"coverage": v, "passes": p} for c, (v, p) in companies.items()})


def readiness(points: Sequence[ReadinessPoint], whose: str = "the network") -> Chart:
    """The certification gates passed on the same day of each month."""
    data = {p.on.isoformat(): p.gates_passed for p in points}
    gates = max((p.gates for p in points), default=1)
    ticks = list(range(gates + 1))
    left, top, bottom = 24.0, 16.0, 18.0
    canvas = Canvas(PAGE, 120)
    height, width = canvas.height - top - bottom, PAGE - left - 10
    _y_axis(canvas, left, width, top + height, height, ticks, f"gates passed (of {gates})")
    step = width / max(1, len(points))
    placed = [(left + step * (i + 0.5), top + height - height * p.gates_passed / gates)
              for i, p in enumerate(points)]
    canvas.polyline(placed)
    for (x, y), p in zip(placed, points, strict=True):
        canvas.dot(x, y, 3, GOOD if p.gates_passed == p.gates else BAD)
        canvas.text(x, top + height + 11, p.on.strftime("%Y-%m"), size=6.5, anchor="middle")
    last = points[-1] if points else None
    now = f"{last.gates_passed} of {last.gates} on {last.on}" if last else "none"
    return _svg_chart(
        canvas, ticks, name="readiness", title="Certification gates passed, month by month",
        caption=f"The gates of {whose} evaluated on the same day of each month from the records as they "
                f"stand now; green where every gate passes. Now: {now}.",
        data=data)


def _stacked(table: Mapping[str, Mapping[str, int]], key: str) -> list[tuple[Grade, int]]:
    return [(g, table[key].get(g.value, 0)) for g in Grade if table[key].get(g.value, 0)]


def findings(counts: Sequence[FindingCount], periods: Sequence[str]) -> Chart | None:
    """Findings per quarter by grade (every quarter in `periods`, empty ones too), and per clause."""
    if not counts:
        return None
    by_period: dict[str, dict[str, int]] = {p: {} for p in periods}
    by_clause: dict[str, dict[str, int]] = {}
    for f in counts:
        for table, key in ((by_period, f.period), (by_clause, f.clause)):
            cell = table.setdefault(key, {})
            cell[f.grade.value] = cell.get(f.grade.value, 0) + f.count
    clauses = sorted(by_clause, key=_clause_key)
    row, top, bottom = 11.0, 26.0, 30.0
    canvas = Canvas(PAGE, max(110.0, top + row * len(clauses) + bottom))
    half = PAGE / 2
    # Left: per quarter, a stacked column each.
    per_quarter = whole_ticks(max(sum(r.values()) for r in by_period.values()))
    left, height = 26.0, canvas.height - top - bottom
    width = half - left - 16
    _y_axis(canvas, left, width, top + height, height, per_quarter, "findings per quarter")
    step = width / len(by_period)
    every = max(1, math.ceil(text_width("1998 Q1", 6.5) / step))
    for i, period in enumerate(by_period):
        y = top + height
        for grade, n in _stacked(by_period, period):
            h = height * n / per_quarter[-1]
            bar = min(step * 0.7, 28)
            canvas.rect(left + step * (i + 0.5) - bar / 2, y - h, bar, h, GRADE_COLOURS[grade],
                        title=f"{period}: {n} {grade.value}")
            y -= h
        if i % every == 0:
            canvas.text(left + step * (i + 0.5), top + height + 11, period, size=6.5, anchor="middle")
    # Right: per clause, a stacked bar each.
    per_clause = whole_ticks(max(sum(r.values()) for r in by_clause.values()))
    label = max(text_width(c, LABEL) for c in clauses) + 8
    x0, bars = half + label, PAGE - half - label - 12
    _x_axis(canvas, x0, bars, top + row * len(clauses), per_clause, per_clause[-1], "findings per clause",
            top)
    for i, clause in enumerate(clauses):
        y, x = top + i * row, x0
        for grade, n in _stacked(by_clause, clause):
            w = bars * n / per_clause[-1]
            canvas.rect(x, y + 1.5, w, row - 3, GRADE_COLOURS[grade], title=f"{clause}: {n} {grade.value}")
            x += w
        canvas.text(x0 - 4, y + row - 3, clause, anchor="end")
    shown = [g for g in Grade if any(g.value in r for r in by_clause.values())]
    _legend(canvas, PAGE - 4, 10, [(g.value.replace("_", " "), GRADE_COLOURS[g]) for g in shown])
    return _svg_chart(
        canvas, [*per_quarter, *per_clause], name="findings",
        title="Audit findings by grade, per quarter and per ISO 14001 clause",
        caption="Findings of internal and external audits, counted in the quarter the audit took place; "
                "quarters without findings are shown empty.",
        data={"by_period": by_period, "by_clause": by_clause})


def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(p) for p in clause.split(".") if p.isdigit())


def action_ageing(buckets: Mapping[str, tuple[int, int]]) -> Chart | None:
    """Open corrective actions by age, not yet due and overdue; None for fewer than
    MIN_OPEN_ACTIONS (the table lists them)."""
    if sum(a + b for a, b in buckets.values()) < MIN_OPEN_ACTIONS:
        return None
    ticks = whole_ticks(max(a + b for a, b in buckets.values()))
    row, top, bottom = 12.0, 16.0, 30.0
    left = max(text_width(b, LABEL) for b in buckets) + 8
    width = PAGE - left - 12
    canvas = Canvas(PAGE, top + row * len(buckets) + bottom)
    _x_axis(canvas, left, width, top + row * len(buckets), ticks, ticks[-1], "open actions", top)
    for i, (bucket, (on_time, overdue)) in enumerate(buckets.items()):
        y = top + i * row
        scale = width / ticks[-1]
        canvas.rect(left, y + 2, scale * on_time, row - 4, GOOD, title=f"{bucket}: {on_time} not yet due")
        canvas.rect(left + scale * on_time, y + 2, scale * overdue, row - 4, BAD,
                    title=f"{bucket}: {overdue} overdue")
        canvas.text(left - 4, y + row - 3.5, bucket, anchor="end")
    _legend(canvas, PAGE - 4, 9, [("not yet due", GOOD), ("overdue", BAD)])
    return _svg_chart(
        canvas, ticks, name="action-ageing", title="Open corrective actions by age",
        caption="Open corrective actions by the age of the finding that raised them.",
        data={b: list(v) for b, v in buckets.items()})


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
    for ax in list(axes.flat)[len(data) - cols:len(data)]:  # the lowest panel of each column shows years
        ax.xaxis.set_tick_params(labelbottom=True)
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
