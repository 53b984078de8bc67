"""A local Prefect server for operators: started, waited for, and stopped with its children."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from adapters.private_files import make_private, open_private_log, private_folder

# A record in Prefect's log format: "19:01:50.989 | ERROR   | docket.dependencies - ...".
LOG_RECORD = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \| (?P<level>[A-Z]+) *\| ")


def free_port(ports: range | None = None) -> int:
    """A port nothing listens on: any the system gives, or the first free one of `ports`
    (RuntimeError when none is)."""
    for port in ports if ports is not None else [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}" if ports else "no free port")


def server_environment(home: Path, host: str, port: int) -> dict[str, str]:
    """The server's environment: this project's Prefect home, no telemetry, the UI pointed at this
    API. PREFECT_SERVER_DATABASE_CONNECTION_URL, when set, puts the server on PostgreSQL."""
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
           "PREFECT_UI_API_URL": f"http://{host}:{port}/api"}
    env.pop("PREFECT_API_URL", None)
    return env


def private_home(home: Path) -> None:
    """Prefect's home holds its database, and that holds run parameters, logs and artifacts with
    people's names: the folder 0700 and the SQLite database 0600 (its -wal and -shm files take the
    database's mode), made so before the server first opens it, and tightened if an earlier
    version created them 0644. A server on PostgreSQL keeps no database here."""
    if os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL"):
        private_folder(home, tighten=True)
        return
    make_private(home / "prefect.db", own_folder=True)
    for part in (home / "prefect.db-wal", home / "prefect.db-shm"):  # left 0644 by an earlier version
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.chmod(part, 0o600)


def _die_with_parent() -> None:
    """Run in the child before it starts: Linux sends it SIGTERM when the process that started it
    ends in any way, `kill -9` included (prctl PR_SET_PDEATHSIG), so no server is left orphaned."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def start_server(home: Path, host: str = "127.0.0.1", port: int | None = None, timeout: float = 180,
                 ui: bool = True, with_us: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    """Start `prefect server start` and wait until /api/health answers; the process and API URL.
    `with_us`: the server ends when this process does, however it ends."""
    port = port or free_port()
    private_home(home)
    log = open_private_log(home / "server.log")
    env = server_environment(home, host, port)
    if not ui:
        env["PREFECT_UI_ENABLED"] = "false"
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
        # Its own session: Ctrl-C reaches only us, and we stop the server after the runner.
        start_new_session=True, preexec_fn=_die_with_parent if with_us else None)
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


@contextlib.contextmanager
def temporary_server(home: Path, timeout: float = 180) -> Iterator[str]:
    """A Prefect server (no UI) for one command, when no API is configured: its API URL is this
    process's Prefect API until the block ends, and the server ends with the block, or with this
    process if that is killed. Prefect's own temporary server would outlive a `kill -9`."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    process, api = start_server(home, timeout=timeout, ui=False, with_us=True)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api}):
            try:
                yield api
            finally:
                send_what_is_queued()
    finally:
        stop(process)


def send_what_is_queued() -> None:
    """Let Prefect's background workers deliver the logs and events still queued while the server
    is up; stopped first, they would retry against a closed port and report it."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(RuntimeError):  # no log was ever sent: no worker
        APILogWorker.instance().drain()
    EventsWorker.drain_all()


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
    return [lines[0] if len(lines) == 1 else f"{lines[0]} ... {_exception(lines[1:])}" for lines in problems
            if not (RETRIED_STATE_VALIDATION in lines[0] and SQLITE_LOCKED.search(_exception(lines[1:])))]


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: ")


def _exception(lines: list[str]) -> str:
    """The exception a traceback ended in: its last `name: message` line, not the lines SQLAlchemy
    prints after it ([SQL: ...], [parameters: ...], (Background on this error ...))."""
    return next((line for line in reversed(lines) if EXCEPTION_LINE.match(line)), lines[-1])
