"""The store on SQLite and PostgreSQL: migrations, round trips, idempotent imports, history."""

from __future__ import annotations

import contextlib
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from adapters.db import get_engine, reset_engines, table_names, upgrade
from adapters.networkfile import dump_network, parse_text, validate_data
from adapters.settings import reset_settings
from models.errors import NetworkNotFound
from models.network import Network
from models.tables import HistoryRow, NetworkRow, TrainingSessionRow
from services.networks import import_network, load_network
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import EXAMPLES, build, example_data, inspect_store, postgres_database, save

EXPECTED_TABLES = {
    "networks", "companies", "employees", "training_sessions", "training_attendance", "aspects",
    "legal_requirements", "objectives", "internal_audits", "external_audits", "findings",
    "corrective_actions", "management_reviews", "certificates", "gate_results", "history",
}


def history_count(engine: Engine) -> int:
    with inspect_store(engine) as s:
        return s.scalar(select(func.count()).select_from(HistoryRow)) or 0


def test_migrations_upgrade_an_empty_sqlite_database(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert table_names(engine) == set()
    upgrade(engine)
    assert table_names(engine) >= EXPECTED_TABLES
    upgrade(engine)  # a second upgrade is a no-op
    assert table_names(engine) >= EXPECTED_TABLES


def test_migrations_upgrade_an_empty_postgresql_database() -> None:
    with postgres_database() as engine:
        assert table_names(engine) == set()
        upgrade(engine)
        assert table_names(engine) >= EXPECTED_TABLES
        upgrade(engine)  # a second upgrade is a no-op
        assert table_names(engine) >= EXPECTED_TABLES


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_network_loaded_without_the_input_checks_equals_the_same_data_fully_validated(
        engine: Engine, name: str) -> None:
    save(build(example_data(name)), engine)
    stored = load_network(SqlAlchemyUnitOfWork(engine), build(example_data(name)).id)
    assert stored == Network.model_validate(stored.model_dump())


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_import_export_import_gives_an_equal_network(engine: Engine, name: str) -> None:
    original = build(example_data(name))
    save(original, engine)
    stored = load_network(SqlAlchemyUnitOfWork(engine), original.id)
    assert stored == original
    exported = dump_network(stored)
    data, lines = parse_text(exported, "exported.yaml")
    again = validate_data(data, "exported.yaml", lines, EXAMPLES[name])
    assert again == original
    assert not import_network(SqlAlchemyUnitOfWork(engine), again, actor="test").changed


def test_importing_the_same_network_again_changes_nothing(engine: Engine) -> None:
    network = build(example_data("small"))
    first = import_network(SqlAlchemyUnitOfWork(engine), network, actor="first")
    before = history_count(engine)
    second = import_network(SqlAlchemyUnitOfWork(engine), network, actor="second")
    assert first.inserted["employees"] == 29
    assert not second.changed and second.changes == []
    assert history_count(engine) == before


def test_an_updated_file_updates_the_network_and_records_each_change(engine: Engine) -> None:
    data = example_data("small")
    save(build(data), engine, actor="v1")
    data["companies"][0]["name"] = "Norrköpings Svets & Montage i Ljunga AB"
    removed = data["companies"][2]["employees"].pop()
    for session in data["training_sessions"]:
        session["attendees"] = [a for a in session["attendees"] if a != removed["id"]]
    data["companies"][1]["employees"].append({"id": "SKT-E99", "name": "Ny Anställd",
                                               "hired_on": "2025-01-07"})
    summary = import_network(SqlAlchemyUnitOfWork(engine), build(data), actor="v2")
    assert summary.updated == {"companies": 1}  # attendance is a set: no shifted rows
    assert summary.inserted == {"employees": 1}
    assert summary.deleted["employees"] == 1
    stored = load_network(SqlAlchemyUnitOfWork(engine), "ostgota-small")
    with inspect_store(engine) as s:
        events = s.scalars(select(HistoryRow).where(HistoryRow.actor == "v2")).all()
    assert stored == build(data)
    assert len(events) == len(summary.changes)  # every change of the import is in the history
    by_action = {(e.entity, e.action): e for e in events}
    assert by_action[("companies", "update")].detail == {
        "name": ["Norrköpings Svets & Montage AB", "Norrköpings Svets & Montage i Ljunga AB"]}
    assert by_action[("employees", "delete")].detail["name"] == removed["name"]
    assert ("employees", "insert") in by_action


def test_history_is_append_only(engine: Engine) -> None:
    save(build(example_data("small")), engine)
    for statement in ("UPDATE history SET actor = 'someone else'", "DELETE FROM history"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert history_count(engine) > 0


def test_loading_an_unknown_network_names_the_known_ones(engine: Engine) -> None:
    save(build(example_data("small")), engine)
    with pytest.raises(NetworkNotFound, match="known networks: ostgota-small"):
        load_network(SqlAlchemyUnitOfWork(engine), "nope")


def test_a_partial_load_reads_only_the_parts_asked_for(sqlite_engine: Engine) -> None:
    save(build(example_data("small")), sqlite_engine)
    partial = load_network(SqlAlchemyUnitOfWork(sqlite_engine), "ostgota-small", parts={"reviews"})
    assert all(c.management_reviews for c in partial.companies)
    assert not any(c.employees or c.internal_audits for c in partial.companies)
    assert partial.training_sessions == ()


def test_renaming_a_finding_keeps_its_corrective_action(engine: Engine) -> None:
    """Found by hypothesis: the action must move to the renamed finding, not vanish in a cascade."""
    data = example_data("small")
    save(build(data), engine, actor="v1")
    audit = data["companies"][0]["internal_audits"][1]
    old_id = audit["findings"][0]["id"]
    audit["findings"][0]["id"] = "RENAMED-F1"
    summary = import_network(SqlAlchemyUnitOfWork(engine), build(data), actor="v2")
    assert summary.inserted == {"findings": 1} and summary.deleted == {"findings": 1}
    assert summary.updated == {"corrective_actions": 1}
    stored = load_network(SqlAlchemyUnitOfWork(engine), "ostgota-small")
    assert stored == build(data)
    assert old_id != "RENAMED-F1"


def test_hours_are_stored_and_read_back_exactly(engine: Engine) -> None:
    data = example_data("small")
    data["training_sessions"][0]["hours"] = 0.1
    data["training_sessions"][1]["hours"] = 1.3333
    network = build(data)
    save(network, engine)
    stored = load_network(SqlAlchemyUnitOfWork(engine), network.id, parts={"training"})
    assert [s.hours for s in stored.training_sessions[:2]] == [Decimal("0.1"), Decimal("1.3333")]
    assert not import_network(SqlAlchemyUnitOfWork(engine), network, actor="again").changed


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_migration_0005_converts_float_hours_and_day_intervals(database: str, tmp_path) -> None:
    with contextlib.ExitStack() as stack:
        if database == "sqlite":
            engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
        else:
            engine = stack.enter_context(postgres_database())
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO networks (id, name, operator, scope, language, steering_committee,"
                " support_group, collective_objectives, policy_overrides)"
                " VALUES ('old', 'Old', 'Altea', 's', 'en', '[]', '[]', '[]', :overrides)"),
                {"overrides": '{"management_review_interval_days": 365, "legal_evaluation_interval_days":'
                              ' 180, "training_hours": 40}'})
            conn.execute(text("INSERT INTO training_sessions (network_id, id, position, date, hours, topics)"
                              " VALUES ('old', 'S1', 0, '2024-01-10', :h, '[]')"), {"h": 6.6 + 3.3 + 1.7})
        upgrade(engine)
        with inspect_store(engine) as s:
            assert s.scalar(select(TrainingSessionRow.hours)) == Decimal("11.6")
            assert s.scalar(select(NetworkRow.policy_overrides)) == {
                "management_review_interval_months": 12, "legal_evaluation_interval_months": 6,
                "training_hours": 40}
        engine.dispose()


def test_networks_load_together_as_they_load_one_by_one(engine: Engine) -> None:
    originals = [build(example_data(name)) for name in sorted(EXAMPLES)]
    for network in originals:
        save(network, engine)
    wanted = [n.id for n in reversed(originals)]
    with SqlAlchemyUnitOfWork(engine) as uow:
        together = uow.networks.load_many(wanted)
        assert together == [uow.networks.load(i) for i in wanted] == list(reversed(originals))
        assert [n.id for n in uow.networks.load_many(wanted, parts={"reviews"})] == wanted
        with pytest.raises(NetworkNotFound, match="nowhere"):
            uow.networks.load_many([wanted[0], "nowhere"])


def test_gate_results_of_many_networks_replace_an_earlier_attempt_of_the_run(engine: Engine) -> None:
    from datetime import UTC, datetime

    from models.gates import CERTIFICATION_GATES, evaluate_gate, policy_for
    from models.tables import GateResultRow

    networks = [build(example_data(name)) for name in ("hackefors", "blocked")]
    for network in networks:
        save(network, engine)
    as_of = EXAMPLES["hackefors"]
    results = [evaluate_gate(s, n, as_of, policy_for(n)) for n in networks for s in CERTIFICATION_GATES]
    for _ in range(2):  # a retried task
        with SqlAlchemyUnitOfWork(engine) as uow:
            uow.gate_results.replace_many(results, "run-1", datetime.now(UTC))
            uow.commit()
    with SqlAlchemyUnitOfWork(engine) as uow:
        stored = [r.model_copy(update={"network_name": "", "companies": {}}) for r in results[6:]]
        assert uow.gate_results.for_run("hackefors-blocked", "run-1") == stored  # names are not stored
    with inspect_store(engine) as s:
        assert s.scalar(select(func.count()).select_from(GateResultRow)) == 12
def test_the_data_folder_is_private_and_the_sqlite_store_readable_by_its_owner_only(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(data))
    monkeypatch.delenv("HACKEFORS_DATABASE_URL", raising=False)
    reset_settings()
    reset_engines()
    old_umask = os.umask(0o022)  # the usual umask, which made the store 0644
    try:
        save(build(example_data("small")))  # creates the folder and the store, and writes
        store = data / "hackefors.sqlite3"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        files = [store, *(store.with_name(store.name + suffix) for suffix in ("-wal", "-shm"))]
        assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files if f.exists()} == \
            {f.name: 0o600 for f in files if f.exists()} and store.exists()
        reset_engines()
        os.chmod(store, 0o644)  # made by an earlier version
        os.chmod(data, 0o755)
        get_engine()
        assert stat.S_IMODE(store.stat().st_mode) == 0o600 and stat.S_IMODE(data.stat().st_mode) == 0o700
    finally:
        os.umask(old_umask)
        reset_engines()
        reset_settings()
