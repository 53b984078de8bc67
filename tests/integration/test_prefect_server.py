"""Operating through a real Prefect server: deployments served, a run triggered and signed off
through the API, the certificate issued. On SQLite, and on PostgreSQL where one is reachable.
Every server's log is checked for errors (the `prefect_home` fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from deployments.server import start_server, stop
from hackefors import PROJECT_ROOT
from tests.conftest import POSTGRES_URL, build, example_data, save

pytestmark = pytest.mark.e2e


def prefect_database(kind: str) -> Iterator[str | None]:
    """None for the server's default SQLite; else the URL of a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield None
        return
    try:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    name = f"hk_prefect_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = admin.url.set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def wait_for(what: str, probe: Any, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One API call; a 503 is the server's "retry" (a busy database), as Prefect's client treats it."""
    for _ in range(30):
        reply = client.request(method, path, **kwargs)
        if reply.status_code != 503:
            return reply
        time.sleep(1)
    return reply


def certify_through_the_api(client: httpx.Client, log: Path) -> str:
    """Trigger certify-network/on-demand, resume its sign-off form, wait for the end; the run id."""
    def deployment() -> Any:
        reply = call(client, "GET", "/deployments/name/certify-network/on-demand")
        return reply.json() if reply.status_code == 200 else None

    found = wait_for("the deployment to register", deployment)
    created = call(client, "POST", f"/deployments/{found['id']}/create_flow_run",
                   # An approval given in advance as a parameter is ignored: the run still waits for a person.
                   json={"parameters": {"network": "ostgota-small", "as_of": "2025-03-03", "sign_off": {
                       "decision": "approve", "decided_by": "Nobody in advance"}}})
    assert created.status_code == 201, created.text
    run_id = str(created.json()["id"])

    def state() -> str:
        return str(call(client, "GET", f"/flow_runs/{run_id}").json()["state"]["type"])

    def paused() -> bool:
        now = state()
        assert now not in ("FAILED", "CRASHED"), log.read_text()[-3000:]
        return now == "PAUSED"

    wait_for("the run to pause for the sign-off", paused)
    # The automation `serve` created runs notify_operator, which emails the operator (.eml here).
    outbox = log.parent / "out" / "outbox"

    def operator_emailed() -> bool:
        emails = [p.read_bytes().replace(b"=\r\n", b"") for p in outbox.rglob("*.eml")]
        return any(b"operator@altea.example" in e and run_id.encode() in e for e in emails)

    wait_for("the operator's email about the waiting sign-off", operator_emailed, timeout=120)
    resumed = call(client, "POST", f"/flow_runs/{run_id}/resume", json={"run_input": {
        "decision": "approve", "decided_by": "Integration test, Altea", "comment": "binders seen"}})
    assert resumed.status_code == 201 and resumed.json()["status"] == "ACCEPT", resumed.text
    final = wait_for("the run to finish",
                     lambda: (now := state()) in ("COMPLETED", "FAILED", "CRASHED") and now)
    assert final == "COMPLETED", log.read_text()[-3000:]
    message = call(client, "GET", f"/flow_runs/{run_id}").json()["state"]["message"]
    assert "approved by Integration test, Altea" in message, message
    logs = call(client, "POST", "/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}},
                                                      "limit": 200}).json()
    assert any("ignored in a deployment run" in entry["message"] for entry in logs), logs
    return run_id


def a_blocked_run_ends_failed_with_its_reasons_and_no_traceback(client: httpx.Client) -> None:
    """The blocked example, run from the deployment as an operator would: five gates fail, so nobody
    is asked anything; the run ends Failed naming what blocks, and no log line is a traceback."""
    found = call(client, "GET", "/deployments/name/certify-network/on-demand").json()
    created = call(client, "POST", f"/deployments/{found['id']}/create_flow_run", json={"parameters": {
        "network": "hackefors-blocked", "as_of": "1999-02-15", "report": False}})
    run_id = str(created.json()["id"])
    final = wait_for("the blocked run to end", lambda: (state := call(
        client, "GET", f"/flow_runs/{run_id}").json()["state"])["type"] in ("COMPLETED", "FAILED", "CRASHED")
        and state)
    assert final["type"] == "FAILED" and final["message"].startswith("not certified:"), final
    assert "Östgöta Åkeri AB (OAK): group-agreement" in final["message"]
    logs = call(client, "POST", "/logs/filter", json={"limit": 200, "sort": "TIMESTAMP_DESC"}).json()
    tracebacks = [e["message"] for e in logs if "Traceback" in e["message"]]
    assert logs and not tracebacks, "\n\n".join(tracebacks)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_served_certification_is_triggered_and_signed_off_through_the_api(
        database: str, prefect_home: Path, tmp_path: Path) -> None:
    store = tmp_path / "data"
    env_store = {"HACKEFORS_DATA_DIR": str(store), "HACKEFORS_OUTPUT_DIR": str(tmp_path / "out"),
                 "HACKEFORS_OPERATOR_EMAIL": "operator@altea.example"}
    from adapters.db import get_engine

    engine = get_engine(f"sqlite:///{store / 'hackefors.sqlite3'}")
    save(build(example_data("small")), engine)
    save(build(example_data("blocked")), engine)

    for db_url in prefect_database(database):
        old = os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL")
        if db_url:
            os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = db_url
        try:
            server, api = start_server(prefect_home)
        finally:
            os.environ.pop("PREFECT_SERVER_DATABASE_CONNECTION_URL", None)
            if old is not None:
                os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = old
        env = {**os.environ, **env_store, "PREFECT_API_URL": api,
               "PREFECT_HOME": str(prefect_home), "PREFECT_RUNNER_POLL_FREQUENCY": "2",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        runner = subprocess.Popen([sys.executable, "-m", "deployments.serve"], cwd=PROJECT_ROOT,
                                  env=env, stdout=(tmp_path / "serve.log").open("wb"),
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            with httpx.Client(base_url=api, timeout=30) as api_client:
                run_id = certify_through_the_api(api_client, tmp_path / "serve.log")
                a_blocked_run_ends_failed_with_its_reasons_and_no_traceback(api_client)
        finally:
            stop(runner)
            stop(server)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT number, run_id FROM certificates")).all()
        assert rows == [("HKF-OSTGOTA-SMALL-2025-01", run_id)]
    engine.dispose()


def test_a_process_worker_runs_a_deployment_from_prefect_yaml(prefect_home: Path, tmp_path: Path) -> None:
    from adapters.db import get_engine

    store = tmp_path / "data"
    engine = get_engine(f"sqlite:///{store / 'hackefors.sqlite3'}")
    save(build(example_data("small")), engine)
    server, api = start_server(prefect_home)
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(prefect_home),
           "HACKEFORS_HOME": str(PROJECT_ROOT), "HACKEFORS_DATA_DIR": str(store),
           "HACKEFORS_OUTPUT_DIR": str(tmp_path / "out"), "PREFECT_WORKER_QUERY_SECONDS": "2",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    worker = None
    try:
        with httpx.Client(base_url=api, timeout=30) as client:
            pool = call(client, "POST", "/work_pools/", json={"name": "hackefors", "type": "process"})
            assert pool.status_code == 201, pool.text
            deployed = subprocess.run(
                [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all",
                 "--prefect-file", "deployments/prefect.yaml"],
                cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr[-2000:]
            worker = subprocess.Popen(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", "hackefors"],
                cwd=tmp_path, env=env, stdout=(tmp_path / "worker.log").open("wb"),
                stderr=subprocess.STDOUT, start_new_session=True)
            found = call(client, "GET", "/deployments/name/check-certificates/daily").json()
            created = call(client, "POST", f"/deployments/{found['id']}/create_flow_run",
                           json={"parameters": {"as_of": "2025-06-01"}})
            run_id = created.json()["id"]

            def finished() -> str | None:
                now = str(call(client, "GET", f"/flow_runs/{run_id}").json()["state"]["type"])
                return now if now in ("COMPLETED", "FAILED", "CRASHED") else None
            final = wait_for("the worker to run the deployment", finished)
            assert final == "COMPLETED", (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        if worker:
            stop(worker)
        stop(server)
        engine.dispose()


def server_children(pid: int) -> list[int]:
    """The child processes of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="reads /proc; the parent-death signal is Linux's")
def test_a_killed_run_takes_its_temporary_prefect_server_with_it(prefect_home: Path, tmp_path: Path) -> None:
    import signal
    import time

    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "HACKEFORS_DATA_DIR": str(tmp_path / "data"),
           "HACKEFORS_OUTPUT_DIR": str(tmp_path / "out"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    hackefors = [str(Path(sys.executable).parent / "hackefors")]  # the console script
    subprocess.run([*hackefors, "import", str(PROJECT_ROOT / "examples" / "small.yaml")], env=env,
                   check=True, capture_output=True, timeout=120)
    run = subprocess.Popen([*hackefors, "run", "--network", "ostgota-small", "--as-of", "2025-03-03"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        server = wait_for("the temporary server to start", lambda: server_children(run.pid) or None, 120)[0]
        assert "prefect" in Path(f"/proc/{server}/cmdline").read_text()
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        deadline = time.monotonic() + 30
        while alive(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(server), "the temporary Prefect server outlived the killed `hackefors run`"
    finally:
        if run.poll() is None:
            run.kill()
