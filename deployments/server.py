"""A local Prefect server for operators: started, waited for, and stopped with its children."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# A record in Prefect's log format: "19:01:50.989 | ERROR   | docket.dependencies - ...".
LOG_RECORD = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \| (?P<level>[A-Z]+) *\| ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_environment(home: Path, host: str, port: int) -> dict[str, str]:
    """The server's environment: this project's Prefect home, no telemetry, the UI pointed at this
    API. PREFECT_SERVER_DATABASE_CONNECTION_URL, when set, puts the server on PostgreSQL."""
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
           "PREFECT_UI_API_URL": f"http://{host}:{port}/api"}
    env.pop("PREFECT_API_URL", None)
    return env


def start_server(home: Path, host: str = "127.0.0.1", port: int | None = None,
                 timeout: float = 180) -> tuple[subprocess.Popen[bytes], str]:
    """Start `prefect server start` and wait until /api/health answers; the process and API URL."""
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "server.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
        env=server_environment(home, host, port), stdout=log, stderr=subprocess.STDOUT,
        # Its own session: Ctrl-C reaches only us, and we stop the server after the runner.
        start_new_session=True)
    url = f"http://{host}:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode}; "
                               f"see {home / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    stop(process)
    raise RuntimeError(f"the Prefect server did not answer within {timeout:.0f} s; "
                       f"see {home / 'server.log'}")


def portfolio_page(ui: str, key: str = "portfolio") -> tuple[str, str | None]:
    """Where the UI shows the portfolio: the page of the artifact `key` (its newest version) and when
    that was published, found through the API of the current settings; the artifacts page and None
    while no check-portfolio run has published it."""
    from prefect.artifacts import Artifact

    found = Artifact.get(key)
    if found is None:
        return f"{ui}/artifacts", None
    return f"{ui}/artifacts/key/{key}", f"{found.updated:%Y-%m-%d %H:%M} UTC" if found.updated else "?"


def stop(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    """Stop a child process politely, then firmly."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(grace)


TRANSIENT_API_ERROR = "failed due to a transient server error"
# Prefect logs a state change that met a locked SQLite database, then answers 503 and the client
# retries it (prefect.server.api.server.is_client_retryable_exception): not a failure either.
RETRIED_STATE_VALIDATION = "Encountered error during state validation"
SQLITE_LOCKED = re.compile(r"OperationalError\b.* database is locked$")


def server_log_problems(log: Path) -> list[str]:
    """Every error the server logged, its background services' (scheduler, late runs, event
    persister...) included: each ERROR or CRITICAL record and each traceback, as its first line
    and, for a traceback, the exception it ended in. Empty when the log is clean or missing."""
    if not log.exists():
        return []
    problems: list[list[str]] = []  # each problem's lines: the first, then the unindented ones
    reading = False  # inside an error record or a traceback
    for line in log.read_text(errors="replace").splitlines():
        record = LOG_RECORD.match(line)
        if record:
            # An API request the server answered "retry" to on a busy database: the client retries,
            # and Prefect itself says so. Every other error counts.
            retried = TRANSIENT_API_ERROR in line
            reading = record["level"] in ("ERROR", "CRITICAL") and not retried
            if reading:
                problems.append([line])
        elif line.startswith("Traceback (most recent call last):") and not reading:
            reading = True  # printed without a record, or under a lower level
            problems.append([line])
        elif reading and line and not line[0].isspace():
            problems[-1].append(line)  # the exception; a traceback's frames are indented
    return [lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}" for lines in problems
            if not (RETRIED_STATE_VALIDATION in lines[0] and SQLITE_LOCKED.search(lines[-1]))]
