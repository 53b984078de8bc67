"""The evidence services on SQLite and PostgreSQL, and the merge rules between network files and
what was recorded in the portal: kept, updated, conflicts (nothing written), --replace, and
export -> edit -> import round trips."""

from __future__ import annotations

import stat
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, func, select

from adapters.evidence_files import BlobStore
from adapters.networkfile import dump_network, parse_text
from models import tables as t
from models.errors import ImportConflicts
from models.evidence import ActionClosure, Actor, NewEmployee, Role, Source, TrainingRecord
from models.network import Network
from services import evidence, spreadsheets
from services.history import newest_history
from services.networks import import_network, load_network
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import SMALL_AS_OF, build, example_data, inspect_store
from tests.integration.test_cli import run

NETWORK = "ostgota-small"
COORDINATOR = Actor(
    email="malin.gustafsson@nsm.example.se",
    role=Role.COORDINATOR,
    source=Source.PORTAL,
    network=NETWORK,
    company="NSM",
)


@pytest.fixture
def uow(engine: Engine, tmp_path: Path) -> SqlAlchemyUnitOfWork:
    work = SqlAlchemyUnitOfWork(engine, blobs=BlobStore(tmp_path / "evidence"))
    import_network(work, build(example_data("small")), actor="consultant")
    return work


def rows(engine: Engine, table: type[t.Base]) -> int:
    with inspect_store(engine) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def portal_records(uow: SqlAlchemyUnitOfWork) -> str:
    """A new employee, their training and an action closed, all through the portal."""
    evidence.add_employee(
        uow,
        NETWORK,
        "NSM",
        NewEmployee(id="NSM-E15", name="Ny Anställd", hired_on=date(2025, 1, 20)),
        COORDINATOR,
        today=SMALL_AS_OF,
    )
    done = evidence.record_training(
        uow,
        NETWORK,
        "NSM",
        TrainingRecord(
            date=date(2025, 2, 20),
            hours=Decimal(30),
            topics=("environmental_basics", "waste_management"),
            attendees=("NSM-E15",),
        ),
        COORDINATOR,
        today=SMALL_AS_OF,
    )
    return done.ids[0]


def test_every_write_lands_with_its_history_and_what_it_recorded(
    uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    session_id = portal_records(uow)
    stored = load_network(uow, NETWORK)
    assert stored.company("NSM").employees[-1].id == "NSM-E15"
    assert next(s for s in stored.training_sessions if s.id == session_id).attendees == ("NSM-E15",)
    with inspect_store(engine) as s:
        history = s.execute(
            select(t.HistoryRow.actor, t.HistoryRow.source, t.HistoryRow.entity).where(
                t.HistoryRow.source == "portal"
            )
        ).all()
        recorded = s.execute(
            select(t.RecordedFieldRow.entity, t.RecordedFieldRow.entity_key, t.RecordedFieldRow.field)
        ).all()
    assert sorted(h.entity for h in history) == ["employees", "training_attendance", "training_sessions"]
    assert {h.actor for h in history} == {COORDINATOR.email}
    assert ("employees", "NSM-E15", "*") in recorded and ("training_sessions", session_id, "*") in recorded


def test_reimporting_the_old_file_keeps_what_the_portal_recorded(
    uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    session_id = portal_records(uow)
    before = rows(engine, t.AttendanceRow)
    summary = import_network(uow, build(example_data("small")), actor="consultant")
    assert not summary.changed
    assert summary.kept == {"employees": 1, "training_sessions": 1, "training_attendance": 1}
    stored = load_network(uow, NETWORK)
    assert "NSM-E15" in {e.id for e in stored.company("NSM").employees}
    assert session_id in {s.id for s in stored.training_sessions}
    assert rows(engine, t.AttendanceRow) == before


def test_a_file_updates_what_it_owns_beside_the_portals_records(uow: SqlAlchemyUnitOfWork) -> None:
    portal_records(uow)
    data = example_data("small")
    data["companies"][0]["employees"][1]["name"] = "Lars Holm-Berg"
    summary = import_network(uow, build(data), actor="consultant")
    assert summary.updated == {"employees": 1} and summary.deleted == {}
    names = {e.id: e.name for e in load_network(uow, NETWORK).company("NSM").employees}
    assert names["NSM-E02"] == "Lars Holm-Berg" and names["NSM-E15"] == "Ny Anställd"


def closed_in_portal(uow: SqlAlchemyUnitOfWork) -> tuple[str, dict]:
    """An action the file has open, closed in the portal; the file's data."""
    data = example_data("small")
    action = data["companies"][0]["internal_audits"][-1]["findings"][0]["actions"][0]
    action.pop("closed_on"), action.pop("verified_effective_on")
    import_network(uow, build(data), actor="consultant")
    evidence.close_action(
        uow,
        NETWORK,
        "NSM",
        ActionClosure(action=action["id"], closed_on=date(2025, 2, 1), note="Filed monthly since January"),
        COORDINATOR,
        today=SMALL_AS_OF,
    )
    return action["id"], data


def test_a_field_the_file_leaves_empty_keeps_the_portals_value(uow: SqlAlchemyUnitOfWork) -> None:
    action_id, data = closed_in_portal(uow)
    summary = import_network(uow, build(data), actor="consultant")  # the file still has it open
    assert not summary.changed
    network = load_network(uow, NETWORK)
    action = next(a for a in evidence.company_actions(network, network.company("NSM")) if a.id == action_id)
    assert (action.closed_on, action.note) == (date(2025, 2, 1), "Filed monthly since January")


def test_a_file_that_contradicts_the_portal_is_refused_whole_listing_each_conflict(
    uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    action_id, data = closed_in_portal(uow)
    data["companies"][0]["internal_audits"][-1]["findings"][0]["actions"][0]["closed_on"] = "2025-01-15"
    data["companies"][0]["employees"][1]["name"] = "Lars Holm-Berg"  # fine on its own, but not written
    data["companies"][1]["id"] = "SKT2"  # drops SKT: nothing of it was recorded in the portal
    with pytest.raises(ImportConflicts) as refused:
        import_network(uow, build(data), actor="consultant")
    assert refused.value.conflicts == [
        f"corrective_actions {action_id}: closed_on: the file has '2025-01-15', "
        "the portal recorded '2025-02-01'"
    ]
    assert "nothing was written" in str(refused.value) and "--replace" in str(refused.value)
    names = {e.id: e.name for e in load_network(uow, NETWORK).company("NSM").employees}
    assert names["NSM-E02"] == "Lars Holm"


def test_a_file_that_drops_a_company_holding_portal_records_is_a_conflict(uow: SqlAlchemyUnitOfWork) -> None:
    portal_records(uow)
    evidence.store_evidence_file(
        uow, NETWORK, "NSM", "proof.pdf", b"%PDF-1.4 proof", COORDINATOR, max_bytes=1000
    )
    data = example_data("small")
    data["companies"][0]["id"] = "NSM-NEW"
    for session in data["training_sessions"]:
        session["attendees"] = [a for a in session["attendees"] if not a.startswith("NSM")]
    data["steering_committee"] = [c for c in data["steering_committee"]]
    with pytest.raises(ImportConflicts) as refused:
        import_network(uow, build(data), actor="consultant")
    text = "\n".join(refused.value.conflicts)
    assert "employees NSM-E15: recorded in the portal, but the file leaves out its companies NSM" in text
    assert "companies NSM: the file leaves it out, but it holds 1 evidence file(s)" in text
    assert "NSM" in {c.id for c in load_network(uow, NETWORK).companies}


def test_replace_lets_the_file_win_and_forgets_the_portals_records(
    uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    portal_records(uow)
    action_id, data = closed_in_portal(uow)
    data["companies"][0]["internal_audits"][-1]["findings"][0]["actions"][0]["closed_on"] = "2025-01-15"
    summary = import_network(uow, build(data), actor="consultant", replace=True)
    assert summary.deleted == {"employees": 1, "training_sessions": 1, "training_attendance": 1}
    network = load_network(uow, NETWORK)
    action = next(a for a in evidence.company_actions(network, network.company("NSM")) if a.id == action_id)
    assert (action.closed_on, action.note) == (date(2025, 1, 15), None)
    assert rows(engine, t.RecordedFieldRow) == 0
    assert not import_network(uow, build(data), actor="consultant").changed


def exported(uow: SqlAlchemyUnitOfWork) -> dict:
    text = dump_network(load_network(uow, NETWORK))
    return parse_text(text, "export.yaml")[0]


def test_export_then_import_round_trips_what_the_portal_recorded(uow: SqlAlchemyUnitOfWork) -> None:
    portal_records(uow)
    closed_in_portal(uow)
    proof = evidence.store_evidence_file(uow, NETWORK, "NSM", "proof.pdf", b"%PDF-1.4 proof", COORDINATOR,
                                         max_bytes=1000)
    data = exported(uow)
    assert [f["sha256"] for f in data["companies"][0]["evidence_files"]] == [proof.sha256]
    assert data["companies"][0]["evidence_files"][0]["stored_by"] == COORDINATOR.email
    assert not import_network(uow, Network.model_validate(data), actor="consultant").changed
    # An edit of the exported file lands; an edit of a value the portal recorded is a conflict.
    data["companies"][0]["employees"][0]["name"] = "Malin Gustafsson-Ek"
    assert import_network(uow, Network.model_validate(data), actor="consultant").updated == {"employees": 1}
    data["companies"][0]["employees"][-1]["name"] = "Another Name"
    with pytest.raises(ImportConflicts, match="employees NSM-E15: name"):
        import_network(uow, Network.model_validate(data), actor="consultant")


def test_an_attendance_spreadsheet_is_written_all_at_once_and_once(
    uow: SqlAlchemyUnitOfWork, engine: Engine
) -> None:
    staff = [e.id for e in load_network(uow, NETWORK).company("NSM").employees if e.id != "NSM-E14"]
    lines = ["employee_id,date,hours,topics,trainer"]
    lines += [f"{e},2025-0{m}-10,4,waste_management,Miljöutbildarna AB" for e in staff for m in (1, 2)]
    content = "\n".join(lines).encode()
    before = rows(engine, t.AttendanceRow)
    done = spreadsheets.commit_import(
        uow, NETWORK, "NSM", "attendance", "a.csv", content, COORDINATOR, today=SMALL_AS_OF
    )
    assert rows(engine, t.AttendanceRow) == before + 2 * len(staff) and len(done.ids) == 2
    again = spreadsheets.commit_import(
        uow, NETWORK, "NSM", "attendance", "a.csv", content, COORDINATOR, today=SMALL_AS_OF
    )
    assert again.changes == 0 and rows(engine, t.AttendanceRow) == before + 2 * len(staff)
    bad = content + b"\nNSM-E14,2025-01-10,4,,\n"  # hired on 2025-01-18
    with pytest.raises(spreadsheets.SpreadsheetRefused, match=f"row {len(lines) + 1}, date"):
        spreadsheets.commit_import(
            uow,
            NETWORK,
            "NSM",
            "attendance",
            "b.csv",
            bad.replace(b"-10,", b"-11,"),
            COORDINATOR,
            today=SMALL_AS_OF,
        )
    assert rows(engine, t.AttendanceRow) == before + 2 * len(staff)


def test_evidence_files_are_private_and_named_by_their_sha256(
    uow: SqlAlchemyUnitOfWork, tmp_path: Path
) -> None:
    record = evidence.store_evidence_file(
        uow, NETWORK, "NSM", "proof.pdf", b"%PDF-1.4 proof", COORDINATOR, max_bytes=1000
    )
    path = tmp_path / "evidence" / record.sha256[:2] / record.sha256
    assert path.read_bytes() == b"%PDF-1.4 proof"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert evidence.evidence_files(uow, NETWORK, "NSM") == [record]
    assert evidence.evidence_files(uow, NETWORK, "SKT") == []


# --- the command line ---------------------------------------------------------------------------


def test_the_cli_reports_conflicts_exits_2_and_replace_lets_the_file_win(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tasks.events import recording_unit_of_work

    data = example_data("small")
    action = data["companies"][0]["internal_audits"][-1]["findings"][0]["actions"][0]
    action.pop("closed_on"), action.pop("verified_effective_on")
    file = tmp_path / "network.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert run("import", str(file)) == 0
    evidence.close_action(
        recording_unit_of_work(),
        NETWORK,
        "NSM",
        ActionClosure(action=action["id"], closed_on=date(2025, 2, 1), note="done"),
        COORDINATOR,
        today=SMALL_AS_OF,
    )
    capsys.readouterr()
    assert run("import", str(file)) == 0
    assert "already up to date" in capsys.readouterr().out
    action["closed_on"] = date(2025, 1, 15)
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert run("import", str(file)) == 2
    err = capsys.readouterr().err
    assert (
        "1 conflict(s)" in err
        and "closed_on: the file has '2025-01-15', the portal recorded '2025-02-01'" in err
    )
    assert run("import", str(file), "--replace") == 0
    capsys.readouterr()
    newest = newest_history(SqlAlchemyUnitOfWork(), NETWORK, 1)[0]
    assert (newest.entity, newest.source, newest.detail) == (
        "corrective_actions", "file", {"closed_on": ["2025-02-01", "2025-01-15"], "note": ["done", None]})
    assert run("history", "--limit", "1") == 0
    out = capsys.readouterr().out
    assert "person" in out and "source" in out and newest.actor in out and "│ file" in out


def test_migration_0007_goes_down_and_up_again_and_the_history_stays_append_only(engine: Engine) -> None:
    from alembic import command
    from sqlalchemy import inspect
    from sqlalchemy.exc import DBAPIError

    from adapters.db import alembic_config, upgrade

    command.downgrade(alembic_config(engine), "0006")
    assert "recorded_fields" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert {"evidence_files", "recorded_fields"} <= set(inspect(engine).get_table_names())
    assert "source" in {c["name"] for c in inspect(engine).get_columns("history")}
    import_network(SqlAlchemyUnitOfWork(engine), build(example_data("small")), actor="consultant")
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(t.HistoryRow.__table__.delete())
