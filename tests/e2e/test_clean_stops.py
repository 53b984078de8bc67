"""Clean stops and links that lead where the portal is: `hackefors serve`, `hackefors portal` and
`make ui` stop within 10 s of a SIGTERM (to the process, or to its process group, as systemd and
`docker stop` send it) and take the servers they started with them; the portal's links follow the
port it serves unless HACKEFORS_PUBLIC_URL says otherwise, and it warns when that differs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from deployments.server import free_port
from hackefors import PROJECT_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HACKEFORS = PROJECT_ROOT / ".venv" / "bin" / "hackefors"
PORTS = range(5150, 5200)  # this work's ports
STOPPED_WITHIN = 10.0


def port() -> int:
    try:
        return free_port(PORTS)
    except RuntimeError as exc:
        pytest.skip(str(exc))


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, the ones in sessions of their own included."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "HACKEFORS_DATA_DIR": str(tmp_path / "data"),
        "HACKEFORS_OUTPUT_DIR": str(tmp_path / "out"),
        "PREFECT_HOME": str(tmp_path / ".prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    for inherited in (
        "HACKEFORS_PUBLIC_URL",
        "PREFECT_API_URL",
        "HACKEFORS_SMTP_HOST",
        "HACKEFORS_DATABASE_URL",
        "HACKEFORS_PORTAL_AS_OF",
    ):
        env.pop(inherited, None)
    subprocess.run(
        [str(HACKEFORS), "import", "examples/small.yaml", "--as-of", "2025-03-03"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def started(
    command: list[str], env: dict[str, str], log: Path, ready: str, timeout: float = 240
) -> subprocess.Popen[bytes]:
    """`command` in a session of its own (so that its process group is its own), once `ready` shows in
    its output."""
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while ready not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{command} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    return process


def stop_and_time(process: subprocess.Popen[bytes], group: bool) -> tuple[float, set[int]]:
    """SIGTERM to the process (or its group); how long until it and everything below it were gone,
    and what was still there after STOPPED_WITHIN seconds."""
    below = descendants(process.pid)
    assert below, "nothing was started below the process"
    start = time.monotonic()
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    everything = below | {process.pid}
    while time.monotonic() - start < STOPPED_WITHIN + 20:
        process.poll()
        if not any(alive(pid) for pid in everything):
            break
        time.sleep(0.1)
    took = time.monotonic() - start
    left = {pid for pid in everything if alive(pid)}
    for pid in left:  # leave nothing behind on this shared machine
        os.kill(pid, signal.SIGKILL)
    return took, left


def sign_in_link(url: str, env: dict[str, str], outbox: Path) -> str:
    subprocess.run(
        [str(HACKEFORS), "invite", "op@consult.example", "--role", "operator"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with httpx.Client(base_url=url, timeout=30) as client:
        deadline = time.monotonic() + 60
        while True:  # the portal says its address a moment before it listens
            try:
                page = client.get("/sign-in")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"nothing answers at {url}"
                time.sleep(0.3)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert client.post("/sign-in", data={"csrf": csrf, "email": "op@consult.example"}).status_code == 200
    deadline = time.monotonic() + 30
    while not list(outbox.glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.2)
    [eml] = outbox.glob("*.eml")
    return re.search(rb"https?://[^/\s]+/sign-in/", eml.read_bytes()).group(0).decode()  # type: ignore[union-attr]


def portal_started(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    portal_port = port()
    command = [str(HACKEFORS), "portal", "--port", str(portal_port)]
    return started(command, env, tmp_path / "portal.log", "Portal: http://"), portal_port


def assert_links_lead_to(served: str, env: dict[str, str], tmp_path: Path) -> None:
    assert sign_in_link(served, env, tmp_path / "out" / "outbox" / "(portal)") == f"{served}/sign-in/"


@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
def test_the_portal_links_to_its_own_port_and_stops_on_sigterm(
    environment: dict[str, str], tmp_path: Path, group: bool
) -> None:
    portal, portal_port = portal_started(environment, tmp_path)
    served = f"http://127.0.0.1:{portal_port}"
    try:
        assert_links_lead_to(served, environment, tmp_path)
        invited = subprocess.run(
            [str(HACKEFORS), "invite", "c@consult.example", "--role", "operator"],
            cwd=PROJECT_ROOT,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
        assert f"{served}/sign-in/" in invited.stdout  # another shell's command links there too
    finally:
        took, left = stop_and_time(portal, group)
    assert not left and took < STOPPED_WITHIN, (took, left)


def test_the_portal_warns_loudly_when_the_public_url_is_another_address(
    environment: dict[str, str], tmp_path: Path
) -> None:
    env = {**environment, "HACKEFORS_PUBLIC_URL": "http://127.0.0.1:8080"}
    portal, portal_port = portal_started(env, tmp_path)
    took, left = stop_and_time(portal, group=False)
    said = (tmp_path / "portal.log").read_text()
    assert (
        f"WARNING: HACKEFORS_PUBLIC_URL is http://127.0.0.1:8080, but this portal serves "
        f"http://127.0.0.1:{portal_port}"
    ) in said
    assert not left and took < STOPPED_WITHIN


@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
def test_serve_stops_on_sigterm_with_its_prefect_server(
    environment: dict[str, str], tmp_path: Path, group: bool
) -> None:
    serve = started(
        [str(HACKEFORS), "serve", "--port", str(port())], environment, tmp_path / "serve.log", "Serving "
    )
    took, left = stop_and_time(serve, group)
    assert not left, f"left running: {left}"
    assert took < STOPPED_WITHIN, took
    assert "Stopped." in (tmp_path / "serve.log").read_text()


@pytest.mark.parametrize("group", [False, True], ids=["make", "group"])
def test_make_ui_links_to_its_portal_port_and_stops_on_sigterm(
    environment: dict[str, str], tmp_path: Path, group: bool
) -> None:
    ui_port = port()
    portal_port = free_port(range(ui_port + 1, PORTS.stop))
    make = started(
        ["make", "--no-print-directory", "ui", f"UI_PORT={ui_port}", f"PORTAL_PORT={portal_port}"],
        environment,
        tmp_path / "ui.log",
        "Serving ",
    )
    try:
        assert_links_lead_to(f"http://127.0.0.1:{portal_port}", environment, tmp_path)
    finally:
        took, left = stop_and_time(make, group)
    assert not left, f"left running: {left}: {(tmp_path / 'ui.log').read_text()[-1500:]}"
    assert took < STOPPED_WITHIN, took
