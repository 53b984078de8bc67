"""Reading a Prefect server's log for errors: what fails every test that starts a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployments.server import server_log_problems

# Shortened from a real server.log: Prefect 3.8.8's scheduler on SQLAlchemy 2.1.
RECORD = ("19:01:50.989 | ERROR   | docket.dependencies - "
          "↩ [   143ms] schedule_deployments(){schedule_deployments}")
EXCEPTION = ("sqlalchemy.exc.InvalidRequestError: Can't evaluate bulk DML statement; "
             "please supply a bulk_dml decorated function")
BROKEN_SCHEDULER = "\n".join([
    "Check out the dashboard at http://127.0.0.1:49165",
    "",
    RECORD,
    "Traceback (most recent call last):",
    '  File "prefect/server/services/scheduler.py", line 273, in schedule_deployments',
    "    inserted_runs = await models.deployments._insert_scheduled_flow_runs(",
    '  File "sqlalchemy/ext/hybrid.py", line 1851, in prop',
    "    raise exc.InvalidRequestError(",
    EXCEPTION,
    "19:01:51.200 | INFO    | prefect.server - still serving",
])


def test_a_failing_service_is_one_problem_with_its_exception(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(BROKEN_SCHEDULER)
    assert server_log_problems(log) == [f"{RECORD} ... {EXCEPTION}"]


def test_a_traceback_without_an_error_record_and_a_critical_record_are_problems(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("10:00:00.000 | WARNING | prefect.server - retrying\n"
                   "Traceback (most recent call last):\n"
                   '  File "x.py", line 1, in f\n'
                   "ValueError: boom\n"
                   "10:00:01.000 | CRITICAL | uvicorn.error - gave up\n")
    assert server_log_problems(log) == ["Traceback (most recent call last): ... ValueError: boom",
                                        "10:00:01.000 | CRITICAL | uvicorn.error - gave up"]


def test_a_clean_or_missing_log_has_no_problems(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    assert server_log_problems(log) == []
    log.write_text("Check out the dashboard at http://127.0.0.1:4200\n"
                   "10:00:00.000 | WARNING | prefect.server - slow query\n"
                   "10:00:01.000 | INFO    | prefect.server - Scheduled 9 runs.\n")
    assert server_log_problems(log) == []


def test_a_request_prefect_answered_as_transient_is_not_a_problem_but_others_are(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "21:09:28.075 | ERROR   | prefect.server.api.workers - Worker channel setup failed due to a "
        "transient server error: work_pool=hackefors\n"
        "21:09:29.000 | ERROR   | prefect.server.services.scheduler - schedule_deployments failed\n")
    assert server_log_problems(log) == [
        "21:09:29.000 | ERROR   | prefect.server.services.scheduler - schedule_deployments failed"]


def test_a_state_change_retried_on_a_locked_sqlite_database_is_not_a_problem(tmp_path: Path) -> None:
    # Prefect answers 503 for it and the client retries; any other validation error still counts.
    record = ("21:43:05.120 | ERROR   | prefect.server.orchestration.rules - "
              "Encountered error during state validation")
    log = tmp_path / "server.log"
    log.write_text("\n".join([
        record,
        "Traceback (most recent call last):",
        '  File "aiosqlite/core.py", line 105, in run',
        "sqlite3.OperationalError: database is locked",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked",
        "[SQL: INSERT INTO flow_run_state (flow_run_id, type) VALUES (:flow_run_id, :type)]",
        "[parameters: {'flow_run_id': 'f6d28fd9-413c-4893-bdda-29f0215e3ad8', 'type': 'RUNNING'}]",
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)",
        record,
        "Traceback (most recent call last):",
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: flow_run_state",
        "[SQL: SELECT 1]",
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)",
    ]) + "\n")
    assert server_log_problems(log) == [
        f"{record} ... sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: "
        "flow_run_state"]


def test_prefects_home_and_database_are_private_also_when_made_0644_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import stat

    from deployments.server import private_home

    monkeypatch.delenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", raising=False)
    home = tmp_path / "prefect"
    private_home(home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "prefect.db").stat().st_mode) == 0o600
    os.chmod(home / "prefect.db", 0o644)
    (home / "prefect.db-wal").write_bytes(b"")
    os.chmod(home / "prefect.db-wal", 0o644)
    private_home(home)
    modes = {stat.S_IMODE((home / name).stat().st_mode) for name in ("prefect.db", "prefect.db-wal")}
    assert modes == {0o600}
