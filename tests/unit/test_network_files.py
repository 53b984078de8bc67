"""Network files: every problem reported at once, with file, place and line; nothing half-read."""

from __future__ import annotations

import json
import time
import tracemalloc
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.networkfile import (
    MAX_DEPTH,
    NetworkFileError,
    examine_data,
    examine_file,
    parse_text,
    read_network,
    validate_data,
)
from adapters.settings import reset_settings
from hackefors import EXAMPLES_DIR
from models.validation import check_network
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


def test_structural_and_cross_reference_problems_are_reported_together_by_kind() -> None:
    found = problems_of(YAML)
    assert found == [
        "net.yaml:25: structure: external_audits[0]: end 1998-10-01 is before start 1998-10-02",
        "net.yaml:5: reference: steering_committee[1]: 'C9' is not the coordinator of any member company",
        "net.yaml:23: reference: training_sessions[0].attendees[1]: unknown employee 'A-7'",
        "net.yaml:21: reference: companies[0].internal_audits[0].findings[0].clause: clause '9.9' does not "
        "exist in ISO 14001:2015"]


def test_cross_reference_errors_are_all_reported_with_lines() -> None:
    fixed = YAML.replace("start: 1998-10-02", "start: 1998-09-30")
    found = problems_of(fixed, as_of=date(1998, 4, 1))
    assert "net.yaml:5: reference: steering_committee[1]: 'C9' is not the coordinator of any member company" \
        in found
    assert "net.yaml:23: reference: training_sessions[0].attendees[1]: unknown employee 'A-7'" in found
    assert ("net.yaml:21: reference: companies[0].internal_audits[0].findings[0].clause: "
            "clause '9.9' does not exist in ISO 14001:2015") in found
    assert ("net.yaml:18: reference: companies[0].internal_audits[0].date: 1998-05-01 is after the as-of "
            "date 1998-04-01") in found
    assert len(found) == 4  # external audits may be announced ahead: their dates may lie later


def test_impossible_dates_are_reported_by_place() -> None:
    found = problems_of(YAML.replace("joined_on: 1997-02-01", "joined_on: 1997-02-30"))
    assert any(p.startswith("net.yaml:12: structure: companies[0].joined_on:") and "day value is outside" in p
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


def test_ids_are_unique_without_regard_to_case() -> None:
    data = example_data("small")
    data["companies"][1]["id"] = "nsm"
    data["companies"][2]["employees"][0]["id"] = data["companies"][0]["employees"][0]["id"].lower()
    problems = {p.path: p.message for p in check_network(build(data))}
    assert problems["companies[1].id"] == ("duplicate company id 'nsm': ids are unique without regard to "
                                           "case ('NSM')")
    assert "ids are unique without regard to case ('NSM-E01')" in problems["companies[2].employees[0].id"]


def test_planned_dates_may_lie_after_as_of() -> None:
    data = example_data("small")  # an external action is due after the certification date
    assert check_network(build(data), as_of=date(2025, 3, 3)) == []


def test_policy_overrides_are_checked_by_name() -> None:
    data = example_data("small")
    data["policy_overrides"] = {"training_hours": 0}
    problems = check_network(build(data))
    assert [p.path for p in problems] == ["policy_overrides.training_hours"]


# --- hostile and odd files: refused whole, with the line, quickly ------------------------------


def refusal(text: str, name: str = "net.yaml") -> list[str]:
    with pytest.raises(NetworkFileError) as caught:
        parse_text(text, name)
    return [str(p) for p in caught.value.problems]


def test_yaml_aliases_are_refused_at_their_line_before_they_expand() -> None:
    bomb = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    started = time.perf_counter()
    tracemalloc.start()
    try:
        found = refusal("\n".join(bomb) + "\nid: *a9\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == ["net.yaml:2: file: (root): YAML aliases (*a0) are not allowed in a network file: "
                     "write the value out"]
    assert time.perf_counter() - started < 1 and peak < 5_000_000


def test_duplicate_keys_are_refused_with_their_lines_in_yaml_and_json() -> None:
    assert refusal("id: a\nname: A\nname: B\ncompanies:\n- {id: X, id: Y}\n") == [
        "net.yaml:3: file: name: duplicate key 'name' (first on line 2): keep one",
        "net.yaml:5: file: companies[0].id: duplicate key 'id' (first on line 5): keep one"]
    assert refusal('{"id": "a",\n "name": "A",\n "name": "B"}', "net.json") == [
        "net.json:3: file: name: duplicate key 'name' (first on line 2): keep one"]


@pytest.mark.parametrize("text,name", [
    ('{"hours": NaN}', "net.json"), ('{"hours": Infinity}', "net.json"),
    ('{"hours": -Infinity}', "net.json"), ('{"hours": 1e400}', "net.json"),
    ("hours: .nan", "net.yaml"), ("hours: .inf", "net.yaml"),
    ("hours: -.Inf", "net.yaml"), ("hours: 1.0e+999", "net.yaml"), ("hours: !!float nan", "net.yaml"),
])
def test_nan_and_infinities_are_refused(text: str, name: str) -> None:
    [found] = refusal(text, name)
    assert found.startswith(f"{name}:1: file: hours: ") and "NaN and infinities are refused" in found


DEEP_BLOCK = "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  v"


@pytest.mark.parametrize("text,name", [("[" * 10_000 + "]" * 10_000, "net.json"),
                                       ("a: " + "[" * 10_000 + "]" * 10_000, "net.yaml"),
                                       (DEEP_BLOCK, "net.yaml")])
def test_nesting_deeper_than_the_limit_is_refused(text: str, name: str) -> None:
    [found] = refusal(text, name)
    assert found.endswith(f"nested more than {MAX_DEPTH} levels deep")
    assert found.startswith(f"{name}:")


def test_overlong_numbers_are_refused() -> None:
    assert refusal("id: x\npersonnel: " + "9" * 5000) == [
        "net.yaml:2: file: (root): a number of 5000 characters"]
    assert refusal('{"personnel": ' + "9" * 5000 + "}", "net.json") == [
        "net.json:1: file: (root): a number of 5000 characters"]


def test_a_byte_order_mark_is_accepted_in_yaml_and_json(tmp_path: Path) -> None:
    small = (EXAMPLES_DIR / "small.yaml").read_text(encoding="utf-8")
    for name, text in (("bom.yaml", small), ("bom.json", json.dumps(example_data("small"), default=str))):
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
        assert read_network(path).id == "ostgota-small"


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * 300_000)  # 3 MB of comments: valid YAML, but too big
    monkeypatch.setenv("HACKEFORS_MAX_FILE_MB", "2")
    reset_settings()
    try:
        with pytest.raises(NetworkFileError, match=r"big.yaml: file: \(root\): the file has 2.9 MB, more "
                                                   r"than the limit of 2 MB \(HACKEFORS_MAX_FILE_MB\)"):
            read_network(path)
    finally:
        monkeypatch.delenv("HACKEFORS_MAX_FILE_MB")
        reset_settings()


def test_bytes_that_are_not_utf8_and_control_characters_are_refused_by_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: x\nname: Bäckström\n".encode("latin-1"))
    with pytest.raises(NetworkFileError, match=r"latin1.yaml:2: file: \(root\): not UTF-8: byte 0xe4"):
        read_network(path)
    assert refusal("id: x\nname: A\x01B\n") == [
        "net.yaml:2: file: (root): not valid YAML: control characters are not allowed"]
    assert refusal('{"name": "\\ud800"}', "net.json") == [
        "net.json:1: file: name: the text holds a lone surrogate (\\ud800-\\udfff): it is not valid Unicode"]
    data = example_data("small")
    data["companies"][0]["name"] = "Red \x1b[31m AB"
    found = problems_of(yaml.safe_dump(data, allow_unicode=True))
    assert any("companies[0].name: must be a single line of text without control characters; it contains "
               "a line break or control character: U+001B" in p for p in found)


def test_tags_and_keys_that_are_not_single_values_are_refused() -> None:
    assert refusal("id: !!python/object:os.system x") == [
        "net.yaml:1: file: (root): the YAML tag tag:yaml.org,2002:python/object:os.system is not allowed "
        "in a network file"]
    assert refusal("? [a, b]\n: c\n") == ["net.yaml:1: file: (root): a mapping key must be a single value"]
    assert refusal("a: 1\n---\nb: 2\n") == [
        "net.yaml:2: file: (root): a network file holds one YAML document"]


def test_long_values_are_quoted_short_in_problems() -> None:
    data = example_data("small")
    data["name"] = "x" * 100_000
    [found] = problems_of(yaml.safe_dump(data, allow_unicode=True, width=10**6))
    assert found.endswith(f"(got {'x' * 60!r}… (100000 characters))")


# --- one run shows every kind of problem ---------------------------------------------------------


def examined(data: dict[str, Any]) -> list[str]:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    parsed, lines = parse_text(text, "net.yaml")
    return [f"{p.kind}: {p.path}: {p.message}" for p in examine_data(parsed, "net.yaml", lines, None)[1]]


def test_a_structural_error_does_not_hide_the_cross_reference_problems() -> None:
    data = example_data("small")
    data["steering_committee"].append(data["steering_committee"][0])  # the example
    data["companies"][0]["employees"][0]["hired_on"] = "2024-02-30"   # structure: left out
    data["companies"][0]["employees"].append({"id": "NSM-E03", "name": "Twin", "hired_on": "2020-01-01"})
    data["training_sessions"][0]["attendees"].append("GHOST-1")
    found = examined(data)
    assert found[0].startswith("structure: companies[0].employees[0].hired_on: Input should be a valid date")
    assert found[1:] == [
        "reference: companies[0].employees[14].id: duplicate employee id 'NSM-E03'",  # the file's index
        "reference: steering_committee[3]: duplicate steering committee member id 'NSM-C'",
        "reference: training_sessions[0].attendees[20]: unknown employee 'GHOST-1'"]


def test_references_to_an_entry_left_out_for_its_structure_are_not_reported() -> None:
    data = example_data("small")
    del data["companies"][1]["personnel"]  # the whole company SKT is left out of the cross-checks
    found = examined(data)
    assert found == ["structure: companies[1].personnel: field required"]


def test_without_the_network_itself_only_the_structure_is_reported() -> None:
    data = example_data("small")
    del data["name"]
    data["steering_committee"].append("NOBODY")
    assert examined(data) == ["structure: name: field required"]


def test_the_gates_are_previewed_on_a_structurally_valid_file(tmp_path: Path) -> None:
    found = examine_file(EXAMPLES_DIR / "blocked.yaml", date(1999, 2, 15), preview_gates_on=date(1999, 2, 15))
    assert found.gates_previewed and {p.kind for p in found.problems} == {"gate"}
    lines = [str(p) for p in found.problems]
    assert len(lines) == 14
    assert any(line.endswith(": gate: companies[3]: training: LBY: training-hours (7.2): 3 of 40 employee(s) "
                             "below 30 h: Göran Lindqvist (4 h short), Fredrik Forsberg (4 h short), Olof "
                             "Lindqvist (4 h short)") for line in lines)
    data = example_data("blocked")
    data["companies"][0]["personnel"] = "many"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    found = examine_file(broken, date(1999, 2, 15), preview_gates_on=date(1999, 2, 15))
    assert not found.gates_previewed and [p.kind for p in found.problems] == ["structure"]


def test_a_clause_written_as_a_number_is_read_as_the_clause() -> None:
    text = YAML.replace('clause: "9.9"', "clause: 7.5").replace("end: 1998-10-01", "end: 1998-10-03") \
        .replace("attendees: [A-1, A-7]", "attendees: [A-1]").replace("steering_committee: [C1, C9]",
                                                                       "steering_committee: [C1]")
    data, lines = parse_text(text, "net.yaml")
    [audit] = validate_data(data, "net.yaml", lines, date(1999, 1, 1)).companies[0].internal_audits
    assert audit.findings[0].clause == "7.5"  # YAML's float 7.5: the clause all the same
    data["companies"][0]["internal_audits"][0]["findings"][0]["clause"] = 10.2
    assert validate_data(data, "net.yaml", lines, date(1999, 1, 1)).companies[0].internal_audits[0] \
        .findings[0].clause == "10.2"


def test_a_value_where_a_json_key_belongs_is_a_syntax_error_with_its_line() -> None:
    # Found by the hostile-file property test: "{" twice made a location with no key.
    assert refusal('{\n{\n "id": "x"\n}', "net.json") == [
        "net.json:2: file: (root): not valid JSON: Expecting property name enclosed in double quotes"]
    assert refusal('{\n "a": 1,\n 5: 2\n}', "net.json") == [
        "net.json:3: file: (root): not valid JSON: Expecting property name enclosed in double quotes"]
