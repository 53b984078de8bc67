"""The store's engine and migrations, and which of its errors are worth a retry."""

from __future__ import annotations

import contextlib
import os
import threading
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DisconnectionError, OperationalError

from tasks.settings import MIGRATIONS_DIR, get_settings

# A locked database or a dropped connection recovers; a broken constraint does not.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, DisconnectionError)


_creating = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the configured store), migrated to the newest schema."""
    url = url or get_settings().effective_database_url
    with _creating:  # threads that start at once share one engine and migrate once
        return _engine(url)


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    settings = get_settings()
    if url.startswith("sqlite:///"):
        make_private(Path(url.removeprefix("sqlite:///")), settings.data_dir)
        engine = create_engine(url, connect_args={"timeout": settings.sqlite_timeout})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    upgrade(engine)
    return engine


def make_private(store: Path, data_dir: Path) -> None:
    """The SQLite store holds people's names and email addresses: its folder is made 0700 (when
    this creates it, or it is the data folder) and the file 0600, before SQLite first opens it.
    SQLite gives its -wal and -shm files the database file's mode."""
    folder = store.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)  # whatever the umask
    elif folder.resolve() == data_dir.resolve():
        with contextlib.suppress(PermissionError):  # a folder someone else owns stays theirs
            os.chmod(folder, 0o700)
    os.close(os.open(store, os.O_CREAT | os.O_RDWR, 0o600))  # an empty file is a new database
    with contextlib.suppress(PermissionError):  # a store created 0644 before this is tightened
        os.chmod(store, 0o600)


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
