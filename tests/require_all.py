"""HACKEFORS_REQUIRE_ALL=1 (CI): no test is skipped for want of something on the machine."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With HACKEFORS_REQUIRE_ALL=1 a skipped test (a browser, pdftoppm, a PostgreSQL server or a free
    port missing) fails instead, with the reason it gave."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("HACKEFORS_REQUIRE_ALL") == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"{reason.removeprefix('Skipped: ')}; "
                           "HACKEFORS_REQUIRE_ALL=1 requires every test to run")
