"""The rules behind the reports: gap analysis, continual improvement, maturity, progress figures."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from models.catalogue import Stage
from models.gap import Status, gap_analysis
from models.gates import CERTIFICATION_GATES, evaluate_gate, policy_for
from models.improvement import (
    IndicatorTrend,
    TargetChange,
    Trend,
    continual_improvement,
    network_indicators,
    target_change,
    trend_of,
)
from models.maturity import maturity
from models.network import IndicatorKind, Objective
from models.progress import (
    ageing_buckets,
    findings_by_clause_and_grade,
    open_action_ages,
    quarters,
    readiness_over_time,
)
from models.validation import check_network
from tests.conftest import HACKEFORS_AS_OF, SMALL_AS_OF, build, example_data


def objective(**fields: Any) -> Objective:
    return Objective.model_validate({"id": "O", "description": "d", **fields})


@pytest.mark.parametrize("direction,previous,target,expected", [
    ("decrease", 30.0, 25.0, TargetChange.RAISED),
    ("decrease", 30.0, 32.0, TargetChange.LOWERED),
    ("increase", 60.0, 70.0, TargetChange.RAISED),
    ("increase", 60.0, 50.0, TargetChange.LOWERED),
    ("increase", 60.0, 60.0, TargetChange.KEPT),
])
def test_a_target_counts_as_raised_only_when_more_ambitious_in_its_direction(
        direction: str, previous: float, target: float, expected: TargetChange) -> None:
    assert target_change(objective(direction=direction, target=target,
                                   previous_targets={2020: 99.0 if direction == "decrease" else 1.0,
                                                     2021: previous})) is expected


def test_a_first_target_and_a_missing_target_are_told_apart() -> None:
    assert target_change(objective(target=5.0)) is TargetChange.FIRST
    assert target_change(objective()) is TargetChange.NONE


def test_objective_progress_measures_from_baseline_to_target_and_ignores_later_years() -> None:
    data = example_data("small")
    data["companies"][0]["objectives"] = [{
        "id": "O1", "description": "Waste sorted", "direction": "increase", "baseline_year": 2022,
        "baseline": 40.0, "target": 80.0, "measurements": {2022: 40.0, 2023: 50.0, 2024: 70.0, 2026: 90.0},
        "previous_targets": {2022: 60.0}}]
    progress = continual_improvement(build(data), SMALL_AS_OF).companies[0].objectives[0]
    assert progress.latest_year == 2024 and progress.latest == 70.0  # 2026 lies after the as-of date
    assert progress.improved is True and progress.achieved is False
    assert progress.progress_by_year() == {2022: 0.0, 2023: 0.25, 2024: 0.75}
    assert progress.target_change is TargetChange.RAISED
    assert progress.targets == ((2022, 60.0), (None, 80.0))


@pytest.mark.parametrize("values,trend", [
    ({2020: 100.0, 2021: 90.0, 2022: 80.0}, Trend.IMPROVING),
    ({2020: 100.0, 2021: 101.0, 2022: 100.5}, Trend.STABLE),
    ({2020: 100.0, 2021: 110.0, 2022: 125.0}, Trend.WORSENING),
    ({2022: 100.0}, Trend.UNKNOWN),
])
def test_an_indicator_trend_follows_its_least_squares_slope(values: dict[int, float], trend: Trend) -> None:
    assert IndicatorTrend(company="A", kind=IndicatorKind.ENERGY, values=values).trend is trend


def test_the_network_total_sums_only_the_years_every_reporting_company_has() -> None:
    data = example_data("small")
    data["companies"][0]["indicators"] = [{"kind": "water", "values": {2022: 10.0, 2023: 12.0, 2024: 11.0}}]
    data["companies"][1]["indicators"] = [{"kind": "water", "values": {2023: 5.0, 2024: 4.0}}]
    data["companies"][2]["indicators"] = []
    totals = network_indicators(build(data), SMALL_AS_OF)
    assert [(t.kind, t.values, t.companies) for t in totals] == [
        (IndicatorKind.WATER, {2023: 17.0, 2024: 15.0}, 2)]


def test_maturity_counts_the_criteria_met_per_dimension() -> None:
    data = example_data("small")
    company = data["companies"][0]
    company["integrated_with"] = []
    network = build(data)
    before = {d.name: d.level for d in maturity(network, SMALL_AS_OF, policy_for(network))[0].dimensions}
    company["integrated_with"] = ["Quality (ISO 9001)"]
    network = build(data)
    after = {d.name: d.level for d in maturity(network, SMALL_AS_OF, policy_for(network))[0].dimensions}
    assert after["integration"] == before["integration"] + 1
    assert {k: v for k, v in after.items() if k != "integration"} == \
        {k: v for k, v in before.items() if k != "integration"}


def test_a_company_with_nothing_recorded_is_immature_on_every_dimension() -> None:
    data = example_data("small")
    bare = {k: data["companies"][0][k] for k in ("id", "name", "sector", "personnel", "complexity",
                                                  "joined_on")}
    data["companies"][0] = bare
    network = build(data)
    first = maturity(network, SMALL_AS_OF, policy_for(network))[0]
    assert [d.label for d in first.dimensions] == ["immature"] * 4 and first.level == 0


def test_the_gap_analysis_of_a_ready_network_has_no_gaps() -> None:
    network = build(example_data("hackefors"))
    analysis = gap_analysis(network, HACKEFORS_AS_OF, policy_for(network))
    assert analysis.ready and len(analysis.companies) == 26
    optional = [i for i in analysis.items if i.status is Status.OPTIONAL]
    assert [i.requirement for i in optional] == ["environmental-statement"]


def test_the_gap_analysis_lists_exactly_the_unmet_checks_with_owner_and_due_date() -> None:
    network = build(example_data("blocked"))
    policy = policy_for(network)
    analysis = gap_analysis(network, HACKEFORS_AS_OF, policy)
    failing = {(c.company, c.requirement) for stage in CERTIFICATION_GATES
               for c in evaluate_gate(stage, network, HACKEFORS_AS_OF, policy).blockers}
    assert {(i.company, i.requirement) for i in analysis.gaps} == failing and len(failing) == 14
    overdue = next(i for i in analysis.gaps if (i.company, i.requirement) == ("MLT", "overdue-actions"))
    owner = network.company("MLT").coordinator.name  # type: ignore[union-attr]
    assert overdue.owner == owner and overdue.due == date(1998, 12, 29) and overdue.clause == "10.2"
    audits = next(i for i in analysis.gaps if i.requirement == "internal-audit-frequency")
    assert audits.company == "EKT" and audits.due == HACKEFORS_AS_OF  # too few audits: due now
    external = next(i for i in analysis.gaps if i.requirement == "recommendation")
    assert external.company is None and external.owner == network.operator


def test_findings_are_counted_per_quarter_clause_and_grade() -> None:
    network = build(example_data("blocked"))
    counts = findings_by_clause_and_grade(network, HACKEFORS_AS_OF)
    internal = sum(len(a.findings) for c in network.companies for a in c.internal_audits
                   if a.date <= HACKEFORS_AS_OF)
    external = sum(len(x.findings) for x in network.external_audits if x.start <= HACKEFORS_AS_OF)
    assert sum(f.count for f in counts if not f.external) == internal
    assert sum(f.count for f in counts if f.external) == external == 2
    mlt = findings_by_clause_and_grade(network, HACKEFORS_AS_OF, company="MLT")
    assert any(f.clause == "8.2" and f.grade.value == "major" and f.period == "1998 Q4" for f in mlt)


def test_open_actions_are_aged_from_their_audit_and_bucketed() -> None:
    network = build(example_data("blocked"))
    ages = {a.action: a for a in open_action_ages(network, HACKEFORS_AS_OF)}
    assert set(ages) == {"MLT-IA1-F9-A1", "EXT-S2-F1-A1", "EXT-S2-F2-A1"}
    major = ages["MLT-IA1-F9-A1"]
    assert major.overdue_days == (HACKEFORS_AS_OF - date(1998, 12, 29)).days
    assert major.age_days == (HACKEFORS_AS_OF - major.raised_on).days
    buckets = ageing_buckets(list(ages.values()))
    assert sum(a + b for a, b in buckets.values()) == 3
    assert buckets[major.bucket][1] >= 1  # counted as overdue


def test_readiness_over_time_ends_with_the_gates_of_the_as_of_date() -> None:
    network = build(example_data("blocked"))
    policy = policy_for(network)
    points = readiness_over_time(network, HACKEFORS_AS_OF, policy, months=3)
    assert [p.on for p in points] == [date(1998, 12, 15), date(1999, 1, 15), date(1999, 2, 15)]
    results = [evaluate_gate(s, network, HACKEFORS_AS_OF, policy) for s in CERTIFICATION_GATES]
    checks = [c for r in results for c in r.checks]
    assert (points[-1].checks, points[-1].passed) == (len(checks), sum(c.passed for c in checks))
    assert points[-1].gates_passed == 0


def test_an_objective_for_an_unknown_aspect_and_a_doubled_indicator_are_refused() -> None:
    data = example_data("small")
    data["companies"][0]["objectives"][0]["aspect"] = "A99"
    data["companies"][0]["indicators"].append({"kind": "energy", "values": {2023: 1.0}})
    problems = {(p.path, p.message) for p in check_network(build(data), SMALL_AS_OF)}
    assert ("companies[0].objectives[0].aspect", "unknown aspect 'A99' of company 'NSM'") in problems
    assert any(path.startswith("companies[0].indicators[") and "listed twice" in message
               for path, message in problems)


def test_a_value_for_a_year_after_the_as_of_date_is_refused() -> None:
    data = example_data("small")
    data["companies"][0]["indicators"][0]["values"][2026] = 5.0
    problems = [p.message for p in check_network(build(data), SMALL_AS_OF)]
    assert problems == ["a value for 2026, after the as-of year 2025"]


def per_year(percent: float) -> dict[int, float]:
    """Three years falling (or rising) by `percent` of the middle value a year, exactly linear."""
    return {2020: 100.0 + percent, 2021: 100.0, 2022: 100.0 - percent}


@pytest.mark.parametrize("percent,trend", [
    (1.4, Trend.STABLE), (1.6, Trend.IMPROVING), (2.4, Trend.IMPROVING), (-1.6, Trend.WORSENING),
    (-1.4, Trend.STABLE), (0.0, Trend.STABLE)])
def test_one_trend_rule_for_every_indicator_read_from_the_percent_the_report_prints(
        percent: float, trend: Trend) -> None:
    verdicts = {IndicatorTrend(company="A", kind=kind, values=per_year(percent)).trend
                for kind in IndicatorKind}
    assert verdicts == {trend}


def test_two_indicators_printed_with_the_same_change_per_year_get_the_same_verdict() -> None:
    # Energy fell 2.4 % a year and materials 1.6 %: both print as -2 %/yr, both are improving (the
    # rule once said "improving" for the one and "stable" for the other).
    energy = IndicatorTrend(company="A", kind=IndicatorKind.ENERGY, values=per_year(2.4))
    materials = IndicatorTrend(company="A", kind=IndicatorKind.MATERIALS, values=per_year(1.6))
    assert energy.percent_per_year == materials.percent_per_year == -2
    assert energy.trend is materials.trend is Trend.IMPROVING
    assert trend_of(-2) is Trend.IMPROVING and trend_of(-1) is Trend.STABLE
    assert trend_of(None) is Trend.UNKNOWN


def test_no_company_raises_the_standard_without_an_improving_indicator() -> None:
    network = build(example_data("blocked"))
    companies = {c.company: c for c in continual_improvement(network, HACKEFORS_AS_OF).companies}
    maf = companies["MAF"]  # an objective improved and a target raised, but 0 of 5 indicators improving
    assert (maf.improved, maf.raised, maf.improving_indicators, len(maf.indicators)) == (1, 1, 0, 5)
    assert not maf.raising_the_standard
    assert maf.not_yet == ["0 of 5 indicators improving, 3 worsening"]
    raising = [c for c in companies.values() if c.raising_the_standard]
    assert raising and all(c.improving_indicators > c.worsening_indicators for c in raising)
    assert all(c.improved and c.raised for c in raising)


def test_quarters_run_from_first_to_last_with_the_empty_ones() -> None:
    assert quarters(date(2024, 5, 18), date(2025, 3, 3)) == ["2024 Q2", "2024 Q3", "2024 Q4", "2025 Q1"]
    assert quarters(date(1998, 12, 31), date(1999, 1, 1)) == ["1998 Q4", "1999 Q1"]


def test_gaps_are_grouped_by_company_and_a_company_sees_its_own_and_the_networks() -> None:
    network = build(example_data("blocked"))
    analysis = gap_analysis(network, HACKEFORS_AS_OF, policy_for(network))
    groups = analysis.gap_groups()
    assert sum(len(g.items) for g in groups) == len(analysis.gaps) == 14
    assert groups[-1].company is None and groups[-1].name == network.name
    mlt = next(g for g in groups if g.company == "MLT")
    assert mlt.name == "Malmslätts Lackering AB" and mlt.due == date(1998, 12, 29)
    assert [g.company for g in analysis.gap_groups("MLT")] == ["MLT", None]
    own = {g.stage: g.gaps for g in analysis.gates("MLT")}
    assert sum(own.values()) == 2 and own[Stage.INTERNAL_AUDITS] == 2
    assert sum(g.gaps for g in analysis.gates("MLT", with_network=True)) == 2 + 3
    assert sum(g.gaps for g in analysis.gates()) == 14
