"""HACKEFORS_REQUIRE_ALL=1 turns every skip into a failure with its reason; without it a skip stays one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hackefors import PROJECT_ROOT

SKIPPING = '''\
import pytest

def test_skipped_in_its_body():
    pytest.skip("no pdftoppm")

@pytest.mark.skipif(True, reason="no Chromium")
def test_skipped_by_its_mark():
    pass

@pytest.fixture
def server():
    pytest.skip("PostgreSQL not reachable")

def test_skipped_by_its_fixture(server):
    pass

@pytest.mark.xfail(reason="a known failure, not a missing tool")
def test_expected_to_fail():
    assert False
'''


def run(tmp_path: Path, require_all: str | None) -> tuple[str, str]:
    """pytest's output on the file above and its summary line."""
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items() if k != "HACKEFORS_REQUIRE_ALL"}
    if require_all is not None:
        env["HACKEFORS_REQUIRE_ALL"] = require_all
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p",
                           "tests.require_all", "test_skipping.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.stdout, done.stdout.splitlines()[-1].split(" in ")[0]


@pytest.mark.slow
def test_every_skip_fails_with_its_reason_when_all_is_required(tmp_path: Path) -> None:
    output, summary = run(tmp_path, None)
    assert summary == "3 skipped, 1 xfailed", output
    output, summary = run(tmp_path, "1")
    assert summary == "1 failed, 1 xfailed, 2 errors", output
    for reason in ("no pdftoppm", "no Chromium", "PostgreSQL not reachable"):
        assert f"{reason}; HACKEFORS_REQUIRE_ALL=1 requires every test to run" in output
