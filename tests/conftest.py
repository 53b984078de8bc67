"""Shared fixtures: a project-local Prefect home, fresh stores, example networks as data."""

from __future__ import annotations

import copy
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

# Before anything imports Prefect: no telemetry, nothing written to the user's home.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="hackefors-prefect-"))
os.environ.setdefault("PREFECT_HOME", str(_PREFECT_HOME))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"

from sqlalchemy import Engine, create_engine, text  # noqa: E402

from hackefors import EXAMPLES_DIR  # noqa: E402
from models.network import Network  # noqa: E402
from tasks.networkfile import parse_text  # noqa: E402

HACKEFORS_AS_OF = date(1999, 2, 15)
SMALL_AS_OF = date(2025, 3, 3)
EXAMPLES = {"hackefors": HACKEFORS_AS_OF, "blocked": HACKEFORS_AS_OF, "small": SMALL_AS_OF}
POSTGRES_URL = os.environ.get("HACKEFORS_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")

_raw_cache: dict[str, Any] = {}


def example_data(name: str) -> dict[str, Any]:
    """A deep copy of an example file's data, free to mutate."""
    if name not in _raw_cache:
        path = EXAMPLES_DIR / f"{name}.yaml"
        _raw_cache[name] = parse_text(path.read_text(encoding="utf-8"), str(path))[0]
    return copy.deepcopy(_raw_cache[name])


def build(data: dict[str, Any]) -> Network:
    """The network in `data`, structurally validated only (cross-references are the test's)."""
    return Network.model_validate(data)


@pytest.fixture
def small() -> Callable[..., Network]:
    """`small(mutate)`: the small example network after `mutate(data)` changed its data."""

    def make(mutate: Callable[[dict[str, Any]], object] | None = None) -> Network:
        data = example_data("small")
        if mutate:
            mutate(data)
        return build(data)

    return make


@pytest.fixture
def prefect_home(tmp_path: Path) -> Iterator[Path]:
    """The Prefect home of a server the test starts; the test fails when that server logged an error."""
    home = tmp_path / "prefect"
    yield home
    assert_server_log_clean(home)


def assert_server_log_clean(home: Path) -> None:
    """No error, no traceback in the log of the server under `home`, its background services' included."""
    from deployments.server import server_log_problems

    log = home / "server.log"
    problems = server_log_problems(log)
    assert not problems, f"the Prefect server logged {len(problems)} error(s) ({log}):\n" \
        + "\n".join(problems[:5])


def use_store(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Point the store and the output folder at `folder` (data/ and out/), with fresh caches."""
    from hackefors.settings import reset_settings
    from tasks.db import reset_engines

    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(folder / "data"))
    monkeypatch.setenv("HACKEFORS_OUTPUT_DIR", str(folder / "out"))
    monkeypatch.delenv("HACKEFORS_DATABASE_URL", raising=False)
    reset_settings()
    reset_engines()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    from tasks.db import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    from sqlalchemy import event

    from tasks.db import _sqlite_pragmas

    event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    yield engine
    engine.dispose()


def postgres_engine_or_skip() -> Iterator[Engine]:
    """An engine on a fresh schema of the test PostgreSQL; skips when none is reachable."""
    try:
        admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    schema = f"hk_test_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    from tasks.db import upgrade

    for engine in postgres_engine_or_skip():
        upgrade(engine)
        yield engine


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each store test runs on SQLite and, where reachable, on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")
