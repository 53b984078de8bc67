"""A store that goes away in the middle of a certification run: the run stops at once, says so in
one paragraph and keeps none of its gate results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from adapters.db import reset_engines
from adapters.settings import reset_settings
from flows import certify_network as certify_module
from flows.certify_network import certify_network
from flows.train_employees import train_employees
from models.catalogue import Stage
from models.tables import GateResultRow
from tasks.inputs import SignOff
from tests.conftest import POSTGRES_URL, SMALL_AS_OF, build, example_data, save

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
APPROVED = SignOff(decision="approve", decided_by="Test decision maker")


@pytest.fixture
def postgres_store(prefect_api: None, postgres_engine: Engine, monkeypatch: pytest.MonkeyPatch,
                   tmp_path: Path) -> Iterator[Engine]:
    """The small example in a PostgreSQL store of its own."""
    monkeypatch.setenv("HACKEFORS_DATABASE_URL", postgres_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HACKEFORS_OUTPUT_DIR", str(tmp_path / "out"))
    reset_settings()
    reset_engines()
    save(build(example_data("small")))
    yield postgres_engine
    reset_engines()
    reset_settings()


def shut(database: str, allow: bool) -> None:
    """Refuse (or allow again) every connection to `database` and end the ones it has."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS {str(allow).lower()}"))
        if not allow:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": database})
    admin.dispose()


def test_a_store_lost_mid_run_stops_the_run_in_one_paragraph_and_keeps_no_gate_result(
        postgres_store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    database = postgres_store.url.database
    assert database
    run_ids: list[str] = []

    def train_as_the_store_goes(**parameters: Any) -> Any:
        run_ids.append(parameters["run_id"])
        shut(database, allow=False)  # after formation's gate was stored
        return train_employees(**parameters)

    monkeypatch.setitem(certify_module.STAGE_FLOWS, Stage.TRAINING, train_as_the_store_goes)
    try:
        state = certify_network(network="ostgota-small", as_of=SMALL_AS_OF, sign_off=APPROVED,
                                report=False, return_state=True)
    finally:
        shut(database, allow=True)
    message = state.message or ""
    assert state.is_failed()
    assert message.startswith("stopped: the store postgresql+psycopg://") and f"/{database} cannot be " \
        "reached" in message
    assert "The gates after it were not run" in message and "Run it again when the store is back" in message
    assert "Traceback" not in message and "\n" not in message
    # Formation's result was stored before the store went; the void-run task could not delete it
    # while the store refused every connection, and says so. Later gates never ran.
    assert "void (not discarded" in message
    with postgres_store.connect() as conn:
        stages = set(conn.scalars(select(GateResultRow.stage).where(GateResultRow.run_id == run_ids[0])))
        assert stages == {Stage.FORMATION.value}
        assert conn.scalar(select(func.count()).select_from(GateResultRow)) == 1
