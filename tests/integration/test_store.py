"""The store on SQLite and PostgreSQL: migrations, round trips, idempotent imports, history."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from models.tables import HistoryRow
from tasks.db import table_names, transaction, upgrade
from tasks.networkfile import dump_network, parse_text, validate_data
from tasks.store import NetworkNotFound, load_network, save_network
from tests.conftest import EXAMPLES, build, example_data, postgres_engine_or_skip

EXPECTED_TABLES = {
    "networks", "companies", "employees", "training_sessions", "training_attendance", "aspects",
    "legal_requirements", "objectives", "internal_audits", "external_audits", "findings",
    "corrective_actions", "management_reviews", "certificates", "gate_results", "history",
}


def history_count(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(HistoryRow)) or 0


def test_migrations_upgrade_an_empty_sqlite_database(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert table_names(engine) == set()
    upgrade(engine)
    assert table_names(engine) >= EXPECTED_TABLES
    upgrade(engine)  # a second upgrade is a no-op
    assert table_names(engine) >= EXPECTED_TABLES


def test_migrations_upgrade_an_empty_postgresql_database() -> None:
    for engine in postgres_engine_or_skip():
        assert table_names(engine) == set()
        upgrade(engine)
        assert table_names(engine) >= EXPECTED_TABLES


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_import_export_import_gives_an_equal_network(engine: Engine, name: str) -> None:
    original = build(example_data(name))
    with transaction(engine) as s:
        save_network(s, original, actor="test")
    with transaction(engine) as s:
        stored = load_network(s, original.id)
    assert stored == original
    exported = dump_network(stored)
    data, lines = parse_text(exported, "exported.yaml")
    again = validate_data(data, "exported.yaml", lines, EXAMPLES[name])
    assert again == original
    with transaction(engine) as s:
        assert not save_network(s, again, actor="test").changed


def test_importing_the_same_network_again_changes_nothing(engine: Engine) -> None:
    network = build(example_data("small"))
    with transaction(engine) as s:
        first = save_network(s, network, actor="first")
    before = history_count(engine)
    with transaction(engine) as s:
        second = save_network(s, network, actor="second")
    assert first.inserted["employees"] == 29
    assert not second.changed
    assert history_count(engine) == before


def test_an_updated_file_updates_the_network_and_records_each_change(engine: Engine) -> None:
    data = example_data("small")
    with transaction(engine) as s:
        save_network(s, build(data), actor="v1")
    data["companies"][0]["name"] = "Norrköpings Svets & Montage i Ljunga AB"
    removed = data["companies"][2]["employees"].pop()
    for session in data["training_sessions"]:
        session["attendees"] = [a for a in session["attendees"] if a != removed["id"]]
    data["companies"][1]["employees"].append({"id": "SKT-E99", "name": "Ny Anställd",
                                               "hired_on": "2025-01-07"})
    with transaction(engine) as s:
        summary = save_network(s, build(data), actor="v2")
    assert summary.updated == {"companies": 1}  # attendance is a set: no shifted rows
    assert summary.inserted == {"employees": 1}
    assert summary.deleted["employees"] == 1
    with transaction(engine) as s:
        stored = load_network(s, "ostgota-small")
        events = s.scalars(select(HistoryRow).where(HistoryRow.actor == "v2")).all()
    assert stored == build(data)
    by_action = {(e.entity, e.action): e for e in events}
    assert by_action[("companies", "update")].detail == {
        "name": ["Norrköpings Svets & Montage AB", "Norrköpings Svets & Montage i Ljunga AB"]}
    assert by_action[("employees", "delete")].detail["name"] == removed["name"]
    assert ("employees", "insert") in by_action


def test_history_is_append_only(engine: Engine) -> None:
    with transaction(engine) as s:
        save_network(s, build(example_data("small")), actor="test")
    for statement in ("UPDATE history SET actor = 'someone else'", "DELETE FROM history"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert history_count(engine) > 0


def test_loading_an_unknown_network_names_the_known_ones(engine: Engine) -> None:
    with transaction(engine) as s:
        save_network(s, build(example_data("small")), actor="test")
    with pytest.raises(NetworkNotFound, match="known networks: ostgota-small"), \
            transaction(engine) as s:
        load_network(s, "nope")


def test_a_partial_load_reads_only_the_parts_asked_for(sqlite_engine: Engine) -> None:
    with transaction(sqlite_engine) as s:
        save_network(s, build(example_data("small")), actor="test")
    with transaction(sqlite_engine) as s:
        partial = load_network(s, "ostgota-small", parts={"reviews"})
    assert all(c.management_reviews for c in partial.companies)
    assert not any(c.employees or c.internal_audits for c in partial.companies)
    assert partial.training_sessions == ()


def test_renaming_a_finding_keeps_its_corrective_action(engine: Engine) -> None:
    """Found by hypothesis: the action must move to the renamed finding, not vanish in a cascade."""
    data = example_data("small")
    with transaction(engine) as s:
        save_network(s, build(data), actor="v1")
    audit = data["companies"][0]["internal_audits"][1]
    old_id = audit["findings"][0]["id"]
    audit["findings"][0]["id"] = "RENAMED-F1"
    with transaction(engine) as s:
        summary = save_network(s, build(data), actor="v2")
    assert summary.inserted == {"findings": 1} and summary.deleted == {"findings": 1}
    assert summary.updated == {"corrective_actions": 1}
    with transaction(engine) as s:
        stored = load_network(s, "ostgota-small")
    assert stored == build(data)
    assert old_id != "RENAMED-F1"
