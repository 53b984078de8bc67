"""Shared fixtures: a project-local Prefect home, fresh stores, example networks as data."""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import shutil
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
from sqlalchemy.orm import Session  # noqa: E402

from adapters.networkfile import parse_text  # noqa: E402
from hackefors import EXAMPLES_DIR  # noqa: E402
from models.network import Network  # noqa: E402

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
    """Point the store and the output folder at `folder` (data/ and out/), with fresh caches; the
    store starts as a copy of the session's migrated template."""
    from adapters.db import reset_engines
    from adapters.settings import reset_settings

    (folder / "data").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template(), folder / "data" / "hackefors.sqlite3")
    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(folder / "data"))
    monkeypatch.setenv("HACKEFORS_OUTPUT_DIR", str(folder / "out"))
    monkeypatch.delenv("HACKEFORS_DATABASE_URL", raising=False)
    reset_settings()
    reset_engines()


def save(network: Network, engine: Engine | None = None, actor: str = "test") -> None:
    """Import `network` into the configured store (or `engine`) through the service layer."""
    from services.networks import import_network
    from services.unit_of_work import SqlAlchemyUnitOfWork

    import_network(SqlAlchemyUnitOfWork(engine), network, actor)


def _sqlite_engine(path: Path) -> Engine:
    from sqlalchemy import event

    from adapters.db import _sqlite_pragmas

    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@functools.cache
def sqlite_template() -> Path:
    """A SQLite store migrated once per test session; each store test starts from a copy."""
    from adapters.db import upgrade

    path = Path(tempfile.mkdtemp(prefix="hackefors-template-")) / "store.sqlite3"
    engine = _sqlite_engine(path)
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    shutil.copyfile(sqlite_template(), tmp_path / "store.sqlite3")
    engine = _sqlite_engine(tmp_path / "store.sqlite3")
    yield engine
    engine.dispose()


def postgres_admin_or_skip() -> Engine:
    """An engine on the test PostgreSQL server that may create databases; skips when none answers."""
    try:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    return admin


@contextlib.contextmanager
def postgres_database(template: str | None = None) -> Iterator[Engine]:
    """An engine on a new PostgreSQL database (a copy of `template`, or empty), dropped afterwards;
    skips when no PostgreSQL answers."""
    admin = postgres_admin_or_skip()
    name = f"hk_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")))
    engine = create_engine(admin.url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per session: the template each test's database copies."""
    from adapters.db import upgrade

    with postgres_database() as engine:
        upgrade(engine)
        engine.dispose()  # a template must have no connections when it is copied
        yield str(engine.url.database)


@pytest.fixture
def postgres_engine(postgres_template: str) -> Iterator[Engine]:
    """An engine on a fresh copy of the migrated template database."""
    with postgres_database(postgres_template) as engine:
        yield engine


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each store test runs on SQLite and, where reachable, on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")


@contextlib.contextmanager
def inspect_store(engine: Engine | None = None) -> Iterator[Session]:
    """A session on the configured store (or `engine`) for a test to look at what was written."""
    from adapters.db import get_engine

    with Session(engine or get_engine()) as session:
        yield session
