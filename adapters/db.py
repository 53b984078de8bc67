"""The store's engine and migrations, and which of its errors are worth a retry."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, InterfaceError, OperationalError

from adapters.private_files import make_private
from adapters.settings import MIGRATIONS_DIR, get_settings

# A locked database or a dropped connection recovers; a broken constraint does not.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, DisconnectionError)


_creating = threading.Lock()


class StoreUnavailable(Exception):
    """The store cannot be reached, or went away during the work: said in one paragraph, naming
    the store (its password masked) and the database's own reason."""

    def __init__(self, url: str, reason: str) -> None:
        self.store = masked(url)
        self.reason = reason
        super().__init__(f"the store {self.store} cannot be reached: {reason}")


def masked(url: str) -> str:
    """A database URL fit to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable HACKEFORS_DATABASE_URL)"


# PostgreSQL's "serialization failure" and "deadlock detected": the transaction lost a race and may
# simply run again.
RETRY_SQLSTATES = {"40001", "40P01"}


def busy_store(error: BaseException) -> bool:
    """Whether `error` is a store too busy for this transaction right now (SQLite's lock held past
    its timeout, a PostgreSQL serialization failure or deadlock): running it again may succeed."""
    if not isinstance(error, OperationalError):
        return False
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) in RETRY_SQLSTATES:
        return True
    text = str(original or error).lower()
    return "database is locked" in text or "database is busy" in text


def unavailable_store(error: BaseException | None) -> StoreUnavailable | None:
    """The store's unavailability behind `error` (itself, its cause or its context), else None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, StoreUnavailable):
            return error
        if isinstance(error, (OperationalError, DisconnectionError, InterfaceError)):
            lines = str(getattr(error, "orig", None) or error).strip().splitlines() or ["no reason given"]
            return StoreUnavailable(get_settings().effective_database_url, lines[0].strip())
        error = error.__cause__ or error.__context__
    return None


def with_driver(url: str) -> str:
    """`postgresql://` names no driver, and SQLAlchemy would then want psycopg2, which is not
    installed: the store uses psycopg (version 3)."""
    scheme = "postgresql://"
    return "postgresql+psycopg://" + url.removeprefix(scheme) if url.startswith(scheme) else url


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the configured store), migrated to the newest schema."""
    url = with_driver(url or get_settings().effective_database_url)
    with _creating:  # threads that start at once share one engine and migrate once
        return _engine(url)


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    settings = get_settings()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        # The store holds people's names and email addresses.
        make_private(path, own_folder=path.parent.resolve() == settings.data_dir.resolve())
        # Opened read-write, never created: a store file that vanishes mid-run is an error to
        # report, not an empty new store to write into.
        engine = create_engine(f"sqlite:///file:{path}?mode=rw&uri=true",
                               connect_args={"timeout": settings.sqlite_timeout})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    upgrade(engine)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the store's schema to `revision` with the Alembic migrations."""
    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def reset_engines() -> None:
    """Forget cached engines (tests point the store elsewhere between cases)."""
    _engine.cache_clear()
