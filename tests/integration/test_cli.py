"""The command line as a user meets it: exit codes, messages, nothing written on bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hackefors.cli import main
from models import tables as t
from tests.conftest import EXAMPLES_DIR, build, example_data, inspect_store, save


def run(*args: str) -> int:
    """Run the `hackefors` entry point in-process, as the console script does; its exit code."""
    old = sys.argv
    sys.argv = ["hackefors", *args]
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.argv = old
    raise AssertionError("main() must end in SystemExit")


def snapshot() -> dict[str, list[tuple]]:
    with inspect_store() as s:
        return {table.name: sorted(map(tuple, s.execute(select(table)).all()), key=repr)
                for table in t.Base.metadata.sorted_tables if table.name != "history"}


def test_validate_reports_every_problem_with_its_line_and_exits_2(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = example_data("small")
    data["steering_committee"].append("NOBODY")
    data["training_sessions"][0]["attendees"].append("GHOST-1")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code = run("validate", str(bad))
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}:" in err and "steering_committee[3]: 'NOBODY' is not the coordinator" in err
    assert "unknown employee 'GHOST-1'" in err
    assert "2 problem(s)" in err and "nothing was written" in err


def test_validate_as_of_previews_the_gates_exit_3_when_blocked_0_when_ready(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("validate", str(EXAMPLES_DIR / "blocked.yaml"), "--as-of", "1999-02-15") == 3
    out, err = capsys.readouterr()
    assert "valid network 'hackefors-blocked'" in out
    assert err.count(": gate: ") == 14 and "14 gate blocker(s) as of 1999-02-15" in err
    assert "gate: companies[6]: internal_audits: MLT: open-majors (10.2)" in err
    assert run("validate", str(EXAMPLES_DIR / "small.yaml"), "--as-of", "2025-03-03") == 0
    assert "Every certification gate passes as of 2025-03-03." in capsys.readouterr().out
    assert run("validate", str(EXAMPLES_DIR / "blocked.yaml")) == 0  # without --as-of: the file only


def test_validate_labels_structure_and_reference_problems_found_in_one_run(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = example_data("small")
    data["steering_committee"].append("NSM-C")
    data["companies"][2]["personnel"] = -3
    data["training_sessions"][1]["attendees"].append("GHOST-1")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert run("validate", str(bad), "--as-of", "2025-03-03") == 2
    err = capsys.readouterr().err
    assert ": structure: companies[2].personnel: Input should be greater than or equal to 1" in err
    assert ": reference: steering_committee[3]: duplicate steering committee member id 'NSM-C'" in err
    assert ": reference: training_sessions[1].attendees[" in err and "unknown employee 'GHOST-1'" in err
    assert "The gates were not previewed" in err
    assert "3 problem(s) in" in err and "(1 structure, 2 reference)" in err


def test_a_network_id_taken_but_for_case_is_refused_with_exit_2(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("import", str(EXAMPLES_DIR / "small.yaml")) == 0
    data = example_data("small")
    data["id"] = "Ostgota-Small"
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert run("import", str(other)) == 2
    assert "'Ostgota-Small' differs only in case from network 'ostgota-small'" in capsys.readouterr().err
    assert run("networks") == 0 and capsys.readouterr().out.split() == ["ostgota-small"]


def test_an_internal_error_is_exit_1_with_a_clear_message(
        store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import services.networks

    def broken(uow: object) -> list[str]:
        raise RuntimeError("the store answered nonsense")

    monkeypatch.setattr(services.networks, "list_networks", broken)
    assert run("networks") == 1
    err = capsys.readouterr().err
    assert "internal error (RuntimeError): the store answered nonsense" in err
    assert "Traceback" not in err and "not certified" not in err.lower()


def test_import_twice_then_status_and_export(store: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    small = str(EXAMPLES_DIR / "small.yaml")
    assert run("import", small) == 0
    assert "Imported network 'ostgota-small'" in capsys.readouterr().out
    assert run("import", small) == 0
    assert "already up to date" in capsys.readouterr().out
    assert run("status", "--as-of", "2025-03-03") == 0
    out = capsys.readouterr().out
    assert "Östgöta Småföretag Miljönätverk" in out and "NSM" in out and "100%" in out
    assert "Ready: every certification gate passes on this day." in out
    exported = tmp_path / "out.json"
    assert run("export", "--format", "json", "-o", str(exported)) == 0
    assert json.loads(exported.read_text())["id"] == "ostgota-small"


def test_status_gives_each_company_a_verdict_from_the_gates(
        store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per company
    assert run("import", str(EXAMPLES_DIR / "blocked.yaml"), "--as-of", "1999-02-15") == 0
    assert run("status", "--as-of", "1999-02-15") == 0
    rows = {line.split("│")[1].strip(): line.split("│")[-2].strip()
            for line in capsys.readouterr().out.splitlines() if line.startswith("│")}
    assert rows["KMV"] == "ready"
    assert rows["LBY"] == "blocked: training-hours, training-topics"
    assert rows["MLT"] == "blocked: open-majors, overdue-actions"
    assert rows[""] == "blocked: central-coordinator, external-majors, recommendation"  # the network itself
    assert sum(v.startswith("blocked") for v in rows.values()) == 9  # 8 companies and the network


def test_plan_shows_the_audits_and_each_sample_as_tables_in_words(
        store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    assert run("import", str(EXAMPLES_DIR / "hackefors.yaml"), "--as-of", "1999-02-15") == 0
    capsys.readouterr()
    assert run("plan", "--as-of", "1999-02-15") == 0
    out = capsys.readouterr().out
    rows = [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in out.splitlines() if line.startswith("│")]
    assert ["Stage 2", "1999-01-20", "done (EXT-S2)", "6 + central function", "6", "27.5 (22)"] in rows
    assert ["Surveillance", "2000-02-15", "planned", "10 + central function", "4", "16.5 (13.5)"] in rows
    assert ("Surveillance due by 2000-02-15: 10 companies; the IAF MD 1 minimum is ceil(0.6 × √26) = 4 for a "
            "surveillance audit of 26 member companies; raised by the coverage policy: 20 companies not yet "
            "visited in this cycle and 2 audit(s) left, so 10 per audit.") in out
    assert ["RSB", "Roxens Snickeri & Bygg AB", "by risk and coverage",
            "not yet visited in this cycle"] in rows
    assert "site(s) still to visit" not in out and "no risk flag" not in out


def test_init_refuses_a_name_that_cannot_be_an_id(store: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run("init", "my network", "-o", str(tmp_path / "x.yaml")) == 2
    assert "'my network' cannot be a network id" in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()


def test_bad_as_of_and_unknown_network_exit_2(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("status", "--as-of", "1999-02-30") == 2
    assert "not a date" in capsys.readouterr().err
    assert run("status", "--network", "nope") == 2
    assert "no network yet" in capsys.readouterr().err


def test_schema_is_a_json_schema_of_the_network_file(store: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run("schema") == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Hackefors network file"
    assert {"id", "name", "operator", "scope"} <= set(schema["required"])


# --- malformed files never leave a partial import ------------------------------------------

def _paths(value, prefix=()):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


BASE = example_data("small")
PATHS = list(_paths(BASE))
JUNK = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=12), st.just("2025-02-30"),
                 st.just([]), st.just({}), st.just("NSM-E01"), st.just("9.9"))


@st.composite
def malformed(draw):  # type: ignore[no-untyped-def]
    data = example_data("small")
    data["name"] = draw(st.sampled_from(["Östgöta v2", data["name"]]))  # sometimes a real change
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(JUNK)
        except (KeyError, IndexError, TypeError):
            continue
    return data


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=malformed())
def test_a_malformed_file_never_leaves_a_partial_import(
        data, store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("import", str(EXAMPLES_DIR / "small.yaml")) in (0,)
    before = snapshot()
    path = tmp_path / "mutated.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    code = run("import", str(path))
    after = snapshot()
    if code == 0:
        from adapters.networkfile import read_network
        from services.networks import load_network
        from services.unit_of_work import SqlAlchemyUnitOfWork

        assert load_network(SqlAlchemyUnitOfWork(), "ostgota-small") == read_network(path)
    else:
        assert code == 2
        assert after == before


SMALL_YAML = (EXAMPLES_DIR / "small.yaml").read_text(encoding="utf-8")
SMALL_JSON = json.dumps(example_data("small"), ensure_ascii=False, indent=1)
CONTROL = st.sampled_from([chr(c) for c in (*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f,
                                            0x85, 0x9b)])


def _insert(text: str, at: int, piece: str) -> str:
    return text[:at] + piece + text[at:]


@st.composite
def hostile(draw):  # type: ignore[no-untyped-def]
    """A network file (YAML or JSON, as text) with one to three hostile edits."""
    is_json = draw(st.booleans())
    text = SMALL_JSON if is_json else SMALL_YAML
    for _ in range(draw(st.integers(1, 3))):
        edit = draw(st.sampled_from(["alias", "duplicate", "nan", "deep", "huge", "bom", "control"]))
        lines = text.split("\n")
        line = draw(st.integers(0, len(lines) - 1))
        if edit == "alias" and not is_json:
            count = draw(st.integers(1, 12))
            bomb = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
            bomb += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, count)]
            text = "\n".join(bomb) + "\n" + text
        elif edit == "duplicate":
            if is_json:
                text = text.replace("{", '{"id": "dup", ', 1) if draw(st.booleans()) else \
                    "\n".join([*lines[:line], lines[line], lines[line], *lines[line + 1:]])
            else:
                text = "\n".join([*lines[:line], lines[line], lines[line], *lines[line + 1:]])
        elif edit == "nan":
            word = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400"] if is_json else
                                        [".nan", ".inf", "-.Inf", ".NaN", "1.0e+400"]))
            text = text.replace("8.0" if not is_json else "8.0,", word + ("," if is_json else ""), 1)
        elif edit == "deep":
            depth = draw(st.integers(1, 5000))
            nested = "[" * depth + "]" * depth
            text = text.replace("{", '{"deep": ' + nested + ", ", 1) if is_json else \
                f"deep: {nested}\n" + text
        elif edit == "huge":
            size = draw(st.sampled_from([1_000, 100_000, 2_000_000]))
            piece = draw(st.sampled_from(["x" * size, "9" * size]))
            text = text.replace("Östgöta Småföretag Miljönätverk", piece, 1)
        elif edit == "bom":
            text = "\ufeff" + text.removeprefix("\ufeff")
        else:
            text = _insert(text, draw(st.integers(0, len(text))), draw(CONTROL))
    return ("hostile.json" if is_json else "hostile.yaml"), text


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(case=hostile())
def test_a_hostile_file_is_refused_cleanly_or_imported_whole(
        case, store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    name, text = case
    assert run("import", str(EXAMPLES_DIR / "small.yaml")) == 0
    before = snapshot()
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    capsys.readouterr()
    checked = run("validate", str(path), "--as-of", "2025-03-03")
    code = run("import", str(path), "--as-of", "2025-03-03")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err
    assert checked in (0, 2, 3) and code in (0, 2)
    assert (checked == 2) == (code == 2)
    if code == 0:
        from adapters.networkfile import read_network
        from services.networks import load_network
        from services.unit_of_work import SqlAlchemyUnitOfWork

        assert load_network(SqlAlchemyUnitOfWork(), "ostgota-small") == read_network(path)
    else:
        assert snapshot() == before
        assert f"{path}" in err and "nothing was written" in err


def test_portfolio_lists_every_network_in_the_store_as_json_csv_or_a_table(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("small", "blocked"):
        save(build(example_data(name)))
    assert run("networks") == 0
    in_store = capsys.readouterr().out.split()
    assert run("portfolio", "--as-of", "1999-02-15", "--format", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["as_of"] == "1999-02-15"
    assert sorted(r["network_id"] for r in shown["rows"]) == sorted(in_store) == ["hackefors-blocked",
                                                                                 "ostgota-small"]
    blocked = shown["rows"][0]  # what needs action comes first
    assert (blocked["network_id"], blocked["group"], blocked["gates_passed"], blocked["unmet"]) == (
        "hackefors-blocked", "act now", 0, 14)
    assert run("portfolio", "--as-of", "1999-02-15", "--format", "csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("network,name,status,gates,blocking,unmet,earliest deadline,owner")
    assert [line.split(",")[0] for line in lines[1:]] == ["hackefors-blocked", "ostgota-small"]
    assert run("portfolio", "--as-of", "1999-02-15") == 0
    assert "2 network(s) as of 1999-02-15: 1 act now, 1 on track, 0 certified" in capsys.readouterr().out
    assert snapshot()["gate_results"] == []  # a view: nothing recorded
    assert run("portfolio", "--format", "xml") == 2


@pytest.mark.parametrize("url", ["postgresql://hk:s3cret@127.0.0.1:1/hackefors",
                                 "postgresql+psycopg://hk:s3cret@127.0.0.1:1/hackefors"])
def test_an_unreachable_store_is_one_paragraph_with_exit_5_and_its_password_masked(
        url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.db import reset_engines
    from adapters.settings import reset_settings

    monkeypatch.setenv("HACKEFORS_DATABASE_URL", url)  # port 1: nothing listens there
    reset_settings()
    reset_engines()
    try:
        code = run("status", "--network", "anything")
    finally:
        reset_settings()
        reset_engines()
    out, err = capsys.readouterr()
    assert code == 5
    assert "s3cret" not in out + err and "Traceback" not in out + err
    assert err.startswith("error: the store postgresql")
    assert "hk:***@127.0.0.1:1/hackefors cannot be reached: connection failed" in err
    assert "run the command again" in " ".join(err.split())
    assert len(err.strip().split("\n\n")) == 1  # one paragraph


def test_a_sqlite_store_that_vanished_is_reported_not_recreated_empty(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.db import get_engine

    save(build(example_data("small")))
    get_engine().dispose()  # no connection kept open on the file about to go
    path = store / "data" / "hackefors.sqlite3"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    assert run("status", "--network", "ostgota-small") == 5
    assert "cannot be reached: unable to open database file" in capsys.readouterr().err
    assert not path.exists()  # not an empty new store that later writes would go into
