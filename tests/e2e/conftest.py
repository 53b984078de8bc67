"""One Prefect API for the whole session, and a fresh store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from adapters.db import reset_engines
from adapters.settings import reset_settings
from tests.conftest import build, example_data, save, use_store


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    # Heartbeats cost ~1 s per flow run on exit; tests do not need crash detection.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), \
            prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def store(prefect_api: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A fresh SQLite store and output folder, holding the three example networks."""
    use_store(monkeypatch, tmp_path)
    for name in ("small", "blocked"):
        save(build(example_data(name)))
    yield tmp_path
    reset_engines()
    reset_settings()


def events_seen(wanted: set[tuple[str, str]], timeout: float = 30) -> set[tuple[str, str]]:
    """(event, resource id) pairs of the newest hackefors events, polled until `wanted` shows up
    (the server persists events a moment after they are emitted)."""
    import time

    from prefect.client.orchestration import get_client

    seen: set[tuple[str, str]] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not wanted <= seen:
        with get_client(sync_client=True) as client:
            reply = client._client.post("/events/filter", json={
                "filter": {"event": {"prefix": ["hackefors."]},
                           "any_resource": {"id_prefix": ["hackefors.network."]}}, "limit": 50})
        seen = {(e["event"], e["resource"]["prefect.resource.id"]) for e in reply.json()["events"]}
        time.sleep(1)
    return seen
