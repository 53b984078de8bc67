"""`hackefors run` as an operator reads it: the stages as they pass, Prefect's log in a file, the
blockers once, under each company's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HACKEFORS_AS_OF, SMALL_AS_OF
from tests.integration.test_cli import run

pytestmark = pytest.mark.e2e
STAGES = ("form-network", "train-employees", "plan-environment", "audit-companies", "review-management",
          "audit-network", "publish-gap-report", "decide-certification")


def test_a_blocked_run_shows_each_stage_and_every_blocker_once_by_company(
        store: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert run("run", "--network", "hackefors-blocked", "--as-of", HACKEFORS_AS_OF.isoformat(),
               "--decided-by", "Test") == 3
    captured = capfd.readouterr()  # at the descriptors, where Prefect's console handler writes
    out = captured.out
    for stage in STAGES:  # one line per step, in order, with its outcome
        [line] = [row for row in out.splitlines() if f"({stage})" in row]
        assert ("✓" if stage == "publish-gap-report" else "✗ blocked") in line, line
    assert [out.index(f"({s})") for s in STAGES] == sorted(out.index(f"({s})") for s in STAGES)
    # Prefect's own log is not on the screen but in the file named there.
    assert "Beginning flow run" not in out + captured.err and "| INFO" not in out + captured.err
    log = store / "out" / "logs" / f"run-hackefors-blocked-{HACKEFORS_AS_OF}.log"
    assert f"Prefect's log: {log}" in out and "Beginning flow run" in log.read_text(encoding="utf-8")
    # Every blocker once, under its company's name; the network's own first.
    blockers = out[out.index("Not certified: 14 unmet requirement(s)"):]
    assert blockers.count("open major nonconformity MLT-IA1-F9") == 1
    assert ("\nMalmslätts Lackering AB (MLT) (2)\n"
            "  - open-majors (10.2): open major nonconformity MLT-IA1-F9\n") in blockers
    assert blockers.splitlines()[1] == "The network (3)"
    assert sum(line.startswith("  - ") for line in blockers.splitlines()) == 14


def test_a_certified_run_says_so_and_verbose_leaves_prefects_log_on_the_screen(
        store: Path, capfd: pytest.CaptureFixture[str]) -> None:
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    def on_screen() -> bool:
        return any(isinstance(h, PrefectConsoleHandler) for h in logging.getLogger().handlers)

    assert on_screen()
    assert run("run", "--network", "ostgota-small", "--as-of", SMALL_AS_OF.isoformat(), "--no-report",
               "--verbose") == 0
    captured = capfd.readouterr()
    assert "Certified: certificate HKF-OSTGOTA-SMALL-2025-01" in captured.out
    # --verbose: Prefect's console log stays where Prefect put it (the stream it was configured
    # with, which pytest may have swapped), and no log file is written.
    assert on_screen() and "Prefect's log:" not in captured.out
    assert not (store / "out" / "logs").exists()


def test_the_starter_network_of_init_validates_and_certifies_through_the_flow(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.networkfile import STARTER_READY_ON

    path = store / "first.yaml"
    assert run("init", "first-network", "-o", str(path)) == 0
    assert f"ready for certification as of {STARTER_READY_ON}" in capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    assert text.count("\n  - id: ") == 3 and "# " in text  # three companies, commented
    assert run("init", "first-network", "-o", str(path)) == 2  # never overwritten unasked
    assert "exists" in capsys.readouterr().err
    day = STARTER_READY_ON.isoformat()
    assert run("validate", str(path), "--as-of", day) == 0
    assert f"Every certification gate passes as of {day}." in capsys.readouterr().out
    assert run("import", str(path), "--as-of", day) == 0
    assert run("run", "--network", "first-network", "--as-of", day, "--no-report") == 0
    assert "Certified: certificate HKF-FIRST-NETWORK-2026-01" in capsys.readouterr().out
