"""Continual improvement as raising the standard: objectives against baseline, targets raised from
one cycle to the next, and the trend of the EMAS core indicators."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.network import Company, Direction, IndicatorKind, Network, Objective

# An indicator whose change per year (relative to its mean, in whole percent as the reports print
# it) is smaller than this is stable; this much or more is a trend. One rule for every indicator.
TREND_PERCENT_PER_YEAR = 2


class TargetChange(StrEnum):
    RAISED = "raised"
    KEPT = "kept"
    LOWERED = "lowered"
    FIRST = "first cycle"
    NONE = "no target"


class Trend(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    WORSENING = "worsening"
    UNKNOWN = "too few years"


class ObjectiveProgress(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    objective: str
    description: str
    indicator: str | None
    unit: str | None
    direction: Direction
    baseline_year: int | None
    baseline: float | None
    target: float | None
    target_year: int | None
    measurements: dict[int, float]
    targets: tuple[tuple[int | None, float], ...]  # (year adopted, target), oldest first; current last
    target_change: TargetChange

    @property
    def latest_year(self) -> int | None:
        return max(self.measurements) if self.measurements else None

    @property
    def latest(self) -> float | None:
        return self.measurements[self.latest_year] if self.latest_year is not None else None

    def better(self, a: float, b: float) -> bool:
        """Whether `a` is better than `b` in the objective's direction."""
        return a < b if self.direction is Direction.DECREASE else a > b

    @property
    def improved(self) -> bool | None:
        """Latest measurement better than the baseline; None without both."""
        if self.baseline is None or self.latest is None or self.latest_year == self.baseline_year:
            return None
        return self.better(self.latest, self.baseline)

    @property
    def achieved(self) -> bool | None:
        if self.target is None or self.latest is None:
            return None
        return self.latest == self.target or self.better(self.latest, self.target)

    def progress(self, value: float) -> float | None:
        """Where `value` lies between baseline (0) and target (1)."""
        if self.baseline is None or self.target is None or self.target == self.baseline:
            return None
        return (value - self.baseline) / (self.target - self.baseline)

    def progress_by_year(self) -> dict[int, float]:
        out = {}
        for year, value in sorted(self.measurements.items()):
            share = self.progress(value)
            if share is not None:
                out[year] = share
        return out


def target_change(objective: Objective) -> TargetChange:
    """Whether the current target is more ambitious than the one of the previous cycle."""
    if objective.target is None:
        return TargetChange.NONE
    if not objective.previous_targets:
        return TargetChange.FIRST
    previous = objective.previous_targets[max(objective.previous_targets)]
    if objective.target == previous:
        return TargetChange.KEPT
    more_ambitious = (objective.target < previous if objective.direction is Direction.DECREASE
                      else objective.target > previous)
    return TargetChange.RAISED if more_ambitious else TargetChange.LOWERED


def objective_progress(company: Company, objective: Objective, as_of: date) -> ObjectiveProgress:
    measured = {y: v for y, v in sorted(objective.measurements.items()) if y <= as_of.year}
    targets: list[tuple[int | None, float]] = sorted(objective.previous_targets.items())
    if objective.target is not None:
        targets.append((None, objective.target))
    return ObjectiveProgress(
        company=company.id, objective=objective.id, description=objective.description,
        indicator=objective.indicator, unit=objective.unit, direction=objective.direction,
        baseline_year=objective.baseline_year, baseline=objective.baseline, target=objective.target,
        target_year=objective.target_year, measurements=measured, targets=tuple(targets),
        target_change=target_change(objective))


class IndicatorTrend(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str | None  # None: the network's total
    kind: IndicatorKind
    values: dict[int, float]
    companies: int = 1  # how many companies the total sums
    personnel: int | None = None  # the effective personnel the ratio divides by (EMAS "B")

    @property
    def unit(self) -> str:
        return self.kind.unit

    @property
    def years(self) -> list[int]:
        return sorted(self.values)

    @property
    def latest(self) -> float | None:
        return self.values[self.years[-1]] if self.values else None

    @property
    def per_employee(self) -> float | None:
        return self.latest / self.personnel if self.latest is not None and self.personnel else None

    @property
    def change(self) -> float | None:
        """Relative change from the first year to the last."""
        years = self.years
        if len(years) < 2 or self.values[years[0]] == 0:
            return None
        return self.values[years[-1]] / self.values[years[0]] - 1

    @property
    def annual_change(self) -> float | None:
        """Least-squares slope per year, relative to the mean of the values."""
        years = self.years
        if len(years) < 2:
            return None
        xs, ys = years, [self.values[y] for y in years]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        if mean_y == 0:
            return None
        slope = (sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
                 / sum((x - mean_x) ** 2 for x in xs))
        return slope / mean_y

    @property
    def percent_per_year(self) -> int | None:
        """The change per year in whole percent, as the reports print it and the trend reads it."""
        annual = self.annual_change
        return None if annual is None else round(annual * 100)

    @property
    def trend(self) -> Trend:
        return trend_of(self.percent_per_year)


def trend_of(percent_per_year: int | None) -> Trend:
    """The verdict on a core indicator's change per year; every core indicator is an impact or a use
    of resources, so lower is better."""
    if percent_per_year is None:
        return Trend.UNKNOWN
    if abs(percent_per_year) < TREND_PERCENT_PER_YEAR:
        return Trend.STABLE
    return Trend.IMPROVING if percent_per_year < 0 else Trend.WORSENING


def company_indicators(company: Company, as_of: date) -> list[IndicatorTrend]:
    return [IndicatorTrend(company=company.id, kind=i.kind, personnel=company.personnel,
                           values={y: v for y, v in sorted(i.values.items()) if y <= as_of.year})
            for i in company.indicators]


def network_indicators(network: Network, as_of: date) -> list[IndicatorTrend]:
    """Per core indicator, the sum over the companies reporting it, for the years all of them report
    (a year some company left out would make the total fall for no reason)."""
    reported: dict[IndicatorKind, list[tuple[Company, dict[int, float]]]] = defaultdict(list)
    for company in network.active_companies(as_of):
        for trend in company_indicators(company, as_of):
            reported[trend.kind].append((company, trend.values))
    out = []
    for kind in IndicatorKind:
        series = reported.get(kind)
        if not series:
            continue
        years = set.intersection(*(set(values) for _, values in series))
        out.append(IndicatorTrend(
            company=None, kind=kind, companies=len(series),
            personnel=sum(c.personnel for c, _ in series),
            values={y: round(sum(v[y] for _, v in series), 6) for y in sorted(years)}))
    return out


class CompanyImprovement(BaseModel):
    model_config = ConfigDict(frozen=True)

    company: str
    name: str
    objectives: tuple[ObjectiveProgress, ...]
    indicators: tuple[IndicatorTrend, ...]

    @property
    def improved(self) -> int:
        return sum(o.improved is True for o in self.objectives)

    @property
    def raised(self) -> int:
        return sum(o.target_change is TargetChange.RAISED for o in self.objectives)

    @property
    def improving_indicators(self) -> int:
        return sum(i.trend is Trend.IMPROVING for i in self.indicators)

    @property
    def worsening_indicators(self) -> int:
        return sum(i.trend is Trend.WORSENING for i in self.indicators)

    @property
    def raising_the_standard(self) -> bool:
        """Beyond correcting deviations: an objective improved, a target raised, and the core
        indicators moving the right way (more of them improving than worsening)."""
        return (self.improved > 0 and self.raised > 0
                and self.improving_indicators > self.worsening_indicators)

    @property
    def not_yet(self) -> list[str]:
        """What keeps the company from raising the standard, in words; empty when it does."""
        reasons = []
        if self.improved == 0:
            reasons.append("no objective improved")
        if self.raised == 0:
            reasons.append("no target raised")
        if self.improving_indicators <= self.worsening_indicators:
            worse = f", {self.worsening_indicators} worsening" if self.worsening_indicators else ""
            improving = f"{self.improving_indicators} of {len(self.indicators)} indicators improving"
            reasons.append(improving + worse)
        return reasons


class Improvement(BaseModel):
    model_config = ConfigDict(frozen=True)

    network_id: str
    as_of: date
    companies: tuple[CompanyImprovement, ...]
    indicators: tuple[IndicatorTrend, ...]

    @property
    def objectives(self) -> list[ObjectiveProgress]:
        return [o for c in self.companies for o in c.objectives]

    def count(self, change: TargetChange) -> int:
        return sum(o.target_change is change for o in self.objectives)

    @property
    def improved(self) -> int:
        return sum(o.improved is True for o in self.objectives)

    @property
    def measured(self) -> int:
        return sum(o.improved is not None for o in self.objectives)


def continual_improvement(network: Network, as_of: date) -> Improvement:
    """Per active company and for the network: objectives, targets and indicator trends."""
    companies = tuple(
        CompanyImprovement(company=c.id, name=c.name,
                           objectives=tuple(objective_progress(c, o, as_of) for o in c.objectives),
                           indicators=tuple(company_indicators(c, as_of)))
        for c in network.active_companies(as_of))
    return Improvement(network_id=network.id, as_of=as_of, companies=companies,
                       indicators=tuple(network_indicators(network, as_of)))
