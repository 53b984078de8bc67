"""Network files: every problem reported at once, with file, place and line; nothing half-read."""

from __future__ import annotations

from datetime import date

import pytest

from models.validation import check_network
from tasks.networkfile import NetworkFileError, parse_text, validate_data
from tests.conftest import build, example_data

YAML = """\
id: demo
name: Demo network
operator: Altea AB
scope: Demo scope
steering_committee: [C1, C9]
companies:
  - id: A
    name: Alfa AB
    sector: manufacturing
    personnel: 4
    complexity: medium
    joined_on: 1997-02-01
    coordinator: {id: C1, name: Anna Berg, email: anna@alfa.example.se}
    employees:
      - {id: A-1, name: Per Holm, hired_on: 1990-01-01}
    internal_audits:
      - id: IA1
        date: 1998-05-01
        auditor: Kjell
        findings:
          - {id: F1, grade: minor, clause: "9.9", description: Bad clause}
training_sessions:
  - {id: S1, date: 1998-03-01, hours: 8, topics: [environmental_basics], attendees: [A-1, A-7]}
external_audits:
  - {id: X1, kind: stage2, start: 1998-10-02, end: 1998-10-01, certification_body: CB,
     lead_auditor: L}
"""


def problems_of(text: str, as_of: date | None = None) -> list[str]:
    data, lines = parse_text(text, "net.yaml")
    with pytest.raises(NetworkFileError) as caught:
        validate_data(data, "net.yaml", lines, as_of)
    return [str(p) for p in caught.value.problems]


def test_structural_errors_name_file_line_and_path() -> None:
    found = problems_of(YAML)
    assert found == ["net.yaml:25: external_audits[0]: end 1998-10-01 is before start 1998-10-02"]


def test_cross_reference_errors_are_all_reported_with_lines() -> None:
    fixed = YAML.replace("start: 1998-10-02", "start: 1998-09-30")
    found = problems_of(fixed, as_of=date(1998, 4, 1))
    assert "net.yaml:5: steering_committee[1]: 'C9' is not the coordinator of any member company" in found
    assert "net.yaml:23: training_sessions[0].attendees[1]: unknown employee 'A-7'" in found
    assert ("net.yaml:21: companies[0].internal_audits[0].findings[0].clause: "
            "clause '9.9' does not exist in ISO 14001:2015") in found
    assert ("net.yaml:18: companies[0].internal_audits[0].date: 1998-05-01 is after the as-of date "
            "1998-04-01") in found
    assert len(found) == 4  # external audits may be announced ahead: their dates may lie later


def test_impossible_dates_are_reported_by_place() -> None:
    found = problems_of(YAML.replace("joined_on: 1997-02-01", "joined_on: 1997-02-30"))
    assert any(p.startswith("net.yaml:12: companies[0].joined_on:") and "day value is outside" in p
               for p in found)


def test_a_yaml_syntax_error_names_its_line() -> None:
    with pytest.raises(NetworkFileError, match=r"net.yaml:3: .*not valid YAML"):
        parse_text("id: x\nname: [unclosed\nscope: y: z\n", "net.yaml")


def test_a_json_syntax_error_names_its_line() -> None:
    with pytest.raises(NetworkFileError, match=r"net.json:2: .*not valid JSON"):
        parse_text('{"id": "x",\n oops}', "net.json")


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(NetworkFileError, match="one mapping"):
        validate_data(["a", "list"], "net.yaml", {}, None)


def test_duplicate_ids_are_reported_at_the_second_occurrence() -> None:
    data = example_data("small")
    data["companies"][1]["employees"][0]["id"] = data["companies"][0]["employees"][0]["id"]
    problems = {p.path: p.message for p in check_network(build(data))}
    assert "duplicate employee id" in problems["companies[1].employees[0].id"]
    assert "companies[0].employees[0].id" not in problems


def test_planned_dates_may_lie_after_as_of() -> None:
    data = example_data("small")  # an external action is due after the certification date
    assert check_network(build(data), as_of=date(2025, 3, 3)) == []


def test_policy_overrides_are_checked_by_name() -> None:
    data = example_data("small")
    data["policy_overrides"] = {"training_hours": 0}
    problems = check_network(build(data))
    assert [p.path for p in problems] == ["policy_overrides.training_hours"]
