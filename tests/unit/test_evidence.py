"""The portal's evidence services against the in-memory unit of work: validation, who may do what,
history with person and source, the event after the commit, nothing written when refused."""

from __future__ import annotations

import io
import logging
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from models.errors import NotAllowed, RefusedChange, UnknownRecord
from models.evidence import (
    ActionClosure,
    ActionVerification,
    Actor,
    Leaving,
    LegalEvaluation,
    NewEmployee,
    ReviewRecord,
    Role,
    Source,
    TrainingRecord,
    sniff_media_type,
)
from models.links import Page
from models.spreadsheets import Kind, Sheet, check_attendance, parse_date
from services import evidence, networks, spreadsheets
from tests.conftest import HACKEFORS_AS_OF, SMALL_AS_OF, build, example_data
from tests.fakes import FakeUnitOfWork

NETWORK = "ostgota-small"
TODAY = SMALL_AS_OF
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


def stored(name: str = "small") -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    networks.import_network(uow, build(example_data(name)), actor="test")
    uow.published.clear()
    uow.history.entries.clear()
    uow.commits = 0
    return uow


def coordinator(company: str = "NSM", network: str = NETWORK) -> Actor:
    return Actor(
        email=f"coordinator@{company.lower()}.example.se",
        role=Role.COORDINATOR,
        source=Source.PORTAL,
        network=network,
        company=company,
    )


AUDITOR = Actor(email="lead@cb.example.se", role=Role.AUDITOR, source=Source.PORTAL, network=NETWORK)
OPERATOR = Actor(name="Altea AB", role=Role.OPERATOR, source=Source.CLI)


def company(uow: FakeUnitOfWork, company_id: str = "NSM"):  # type: ignore[no-untyped-def]
    return uow.networks.stored[NETWORK].company(company_id)


def unchanged(uow: FakeUnitOfWork) -> None:
    assert uow.commits == 0 and uow.published == [] and uow.history.entries == []


def test_adding_an_employee_records_person_and_source_and_announces_it_after_the_commit() -> None:
    uow = stored()
    done = evidence.add_employee(
        uow,
        NETWORK,
        "NSM",
        NewEmployee(id="NSM-E15", name="Ny Anställd", hired_on=date(2025, 2, 1)),
        coordinator(),
        today=TODAY,
    )
    assert done.ids == ("NSM-E15",) and done.changed
    assert company(uow).employees[-1].name == "Ny Anställd"
    assert uow.commits == 1
    (entry,) = uow.history.entries
    assert (entry.actor, entry.source) == ("coordinator@nsm.example.se", "portal")
    (event,) = uow.published
    assert event.name == "evidence.recorded" and event.network_id == NETWORK
    assert event.payload["company_id"] == "NSM" and event.payload["source"] == "portal"
    assert event.payload["actor"] == "coordinator@nsm.example.se" and event.labels == {
        "hackefors.company": "NSM"
    }
    # The day the write was evaluated on: the readiness run it triggers evaluates that day too.
    assert event.payload["as_of"] == TODAY.isoformat()


def test_every_evidence_event_names_the_day_it_was_recorded_on() -> None:
    uow = stored()
    evidence.store_evidence_file(
        uow, NETWORK, "NSM", "a.png", PNG, coordinator(), max_bytes=10_000, today=TODAY
    )
    roster = b"employee_id,name,hired_on\nNSM-E15,Ny Person,2025-02-01\n"
    spreadsheets.commit_import(uow, NETWORK, "NSM", "roster", "r.csv", roster, coordinator(), today=TODAY)
    networks.import_network(
        uow, build(example_data("small")).model_copy(update={"name": "Renamed"}), "op", as_of=TODAY
    )
    assert [e.payload["as_of"] for e in uow.published] == [TODAY.isoformat()] * 3


def test_an_employee_id_taken_in_the_network_in_any_case_is_refused_and_nothing_is_written() -> None:
    uow = stored()
    with pytest.raises(RefusedChange, match="'skt-e01' is taken by 'SKT-E01' of company 'SKT'"):
        evidence.add_employee(
            uow,
            NETWORK,
            "NSM",
            NewEmployee(id="skt-e01", name="X", hired_on=date(2025, 1, 1)),
            coordinator(),
            today=TODAY,
        )
    unchanged(uow)


def test_a_coordinator_records_only_for_their_own_company_and_an_auditor_records_nothing() -> None:
    uow = stored()
    employee = NewEmployee(id="SKT-E99", name="X", hired_on=date(2025, 1, 1))
    with pytest.raises(NotAllowed):
        evidence.add_employee(uow, NETWORK, "SKT", employee, coordinator("NSM"), today=TODAY)
    with pytest.raises(NotAllowed):
        evidence.add_employee(uow, NETWORK, "SKT", employee, AUDITOR, today=TODAY)
    with pytest.raises(NotAllowed):
        evidence.add_employee(uow, NETWORK, "SKT", employee, coordinator("SKT", network="other"), today=TODAY)
    unchanged(uow)


@pytest.mark.parametrize("field", ["hired_on"])
def test_dates_after_today_are_refused(field: str) -> None:
    uow = stored()
    with pytest.raises(RefusedChange, match=f"{field} 2025-03-04 is after today"):
        evidence.add_employee(
            uow,
            NETWORK,
            "NSM",
            NewEmployee(id="N1", name="X", hired_on=date(2025, 3, 4)),
            coordinator(),
            today=TODAY,
        )
    unchanged(uow)


def test_an_impossible_date_and_an_html_name_are_caught_by_the_input_models() -> None:
    with pytest.raises(ValidationError):
        NewEmployee.model_validate({"id": "N1", "name": "X", "hired_on": "2025-02-30"})
    with pytest.raises(ValidationError, match="control characters"):
        NewEmployee.model_validate({"id": "N1", "name": "X\r\nBcc: a@b.c", "hired_on": "2025-02-01"})
    # Markup is text: it is stored as written and escaped wherever it is shown.
    assert NewEmployee(id="N1", name="<script>x</script>", hired_on=date(2025, 2, 1)).name.startswith(
        "<script>"
    )


def test_leaving_is_recorded_once_and_not_before_hiring() -> None:
    uow = stored()
    evidence.record_leaving(
        uow,
        NETWORK,
        "NSM",
        Leaving(employee="NSM-E02", left_on=date(2025, 2, 28)),
        coordinator(),
        today=TODAY,
    )
    assert next(e for e in company(uow).employees if e.id == "NSM-E02").left_on == date(2025, 2, 28)
    with pytest.raises(RefusedChange, match="already left on 2025-02-28"):
        evidence.record_leaving(
            uow,
            NETWORK,
            "NSM",
            Leaving(employee="NSM-E02", left_on=date(2025, 3, 1)),
            coordinator(),
            today=TODAY,
        )
    with pytest.raises(ValidationError, match="before hired_on"):
        evidence.record_leaving(
            uow,
            NETWORK,
            "NSM",
            Leaving(employee="NSM-E14", left_on=date(2024, 1, 1)),
            coordinator(),
            today=TODAY,
        )
    with pytest.raises(UnknownRecord, match="no employee 'SKT-E01' in company 'NSM'"):
        evidence.record_leaving(
            uow,
            NETWORK,
            "NSM",
            Leaving(employee="SKT-E01", left_on=date(2025, 1, 1)),
            coordinator(),
            today=TODAY,
        )


def test_training_counts_for_its_attendees_and_recording_it_again_adds_nothing_but_new_attendees() -> None:
    uow = stored()
    record = TrainingRecord(
        date=date(2025, 2, 20), hours=Decimal("7.5"), topics=("waste_management",), attendees=("NSM-E14",)
    )
    first = evidence.record_training(uow, NETWORK, "NSM", record, coordinator(), today=TODAY)
    again = evidence.record_training(uow, NETWORK, "NSM", record, coordinator(), today=TODAY)
    assert first.ids == again.ids and not again.changed and len(uow.published) == 1
    more = record.model_copy(update={"attendees": ("NSM-E13",)})
    evidence.record_training(uow, NETWORK, "NSM", more, coordinator(), today=TODAY)
    (session,) = [s for s in uow.networks.stored[NETWORK].training_sessions if s.id == first.ids[0]]
    assert session.attendees == ("NSM-E13", "NSM-E14") and session.hours == Decimal("7.5")


def test_training_of_another_companys_employee_or_before_hiring_is_refused() -> None:
    uow = stored()
    with pytest.raises(UnknownRecord, match="no employee 'SKT-E01' in company 'NSM'"):
        evidence.record_training(
            uow,
            NETWORK,
            "NSM",
            TrainingRecord(date=date(2025, 2, 20), hours=Decimal(8), attendees=("NSM-E01", "SKT-E01")),
            coordinator(),
            today=TODAY,
        )
    with pytest.raises(RefusedChange, match="'NSM-E14' was not employed on 2025-01-10"):
        evidence.record_training(
            uow,
            NETWORK,
            "NSM",
            TrainingRecord(date=date(2025, 1, 10), hours=Decimal(8), attendees=("NSM-E14",)),
            coordinator(),
            today=TODAY,
        )
    with pytest.raises(ValidationError, match="unknown training topic"):
        TrainingRecord(date=date(2025, 1, 10), hours=Decimal(8), topics=("golf",), attendees=("NSM-E14",))
    unchanged(uow)


def open_action(uow: FakeUnitOfWork) -> str:
    """An action of NSM's, reopened so that it can be closed (the example closed them all)."""
    network = uow.networks.stored[NETWORK]
    nsm = network.company("NSM")
    action = nsm.internal_audits[-1].findings[0].actions[0]
    reopened = action.model_copy(update={"closed_on": None, "verified_effective_on": None})
    uow.networks.stored[NETWORK] = evidence.with_action(network, nsm, action.id, lambda _: reopened)
    return action.id


def the_action(uow: FakeUnitOfWork, action_id: str):  # type: ignore[no-untyped-def]
    network = uow.networks.stored[NETWORK]
    return next(a for a in evidence.company_actions(network, network.company("NSM")) if a.id == action_id)


def test_an_action_is_closed_with_a_note_and_stored_evidence_then_verified_by_an_auditor_only() -> None:
    uow = stored()
    action_id = open_action(uow)
    with pytest.raises(UnknownRecord, match="store it first"):
        evidence.close_action(
            uow,
            NETWORK,
            "NSM",
            ActionClosure(action=action_id, closed_on=date(2025, 2, 1), note="done", evidence=("ab" * 32,)),
            coordinator(),
            today=TODAY,
        )
    proof = evidence.store_evidence_file(
        uow, NETWORK, "NSM", "proof.pdf", PDF, coordinator(), max_bytes=10_000
    )
    evidence.close_action(
        uow,
        NETWORK,
        "NSM",
        ActionClosure(
            action=action_id,
            closed_on=date(2025, 2, 1),
            note="Monthly filing in place",
            evidence=(proof.sha256,),
        ),
        coordinator(),
        today=TODAY,
    )
    closed = the_action(uow, action_id)
    assert (closed.closed_on, closed.note, closed.evidence) == (
        date(2025, 2, 1),
        "Monthly filing in place",
        (proof.sha256,),
    )
    verification = ActionVerification(action=action_id, verified_on=date(2025, 2, 20))
    with pytest.raises(NotAllowed, match="never the company itself"):
        evidence.verify_action(uow, NETWORK, "NSM", verification, coordinator(), today=TODAY)
    with pytest.raises(NotAllowed):  # another company's coordinator does not verify either
        evidence.verify_action(uow, NETWORK, "NSM", verification, coordinator("SKT"), today=TODAY)
    evidence.verify_action(uow, NETWORK, "NSM", verification, AUDITOR, today=TODAY)
    assert the_action(uow, action_id).verified_effective_on == date(2025, 2, 20)
    assert uow.history.entries[-1].actor == "lead@cb.example.se"


def test_an_action_is_verified_only_once_closed_and_not_before_its_closing() -> None:
    uow = stored()
    action_id = open_action(uow)
    with pytest.raises(RefusedChange, match="is not closed"):
        evidence.verify_action(
            uow,
            NETWORK,
            "NSM",
            ActionVerification(action=action_id, verified_on=TODAY),
            OPERATOR,
            today=TODAY,
        )
    evidence.close_action(
        uow,
        NETWORK,
        "NSM",
        ActionClosure(action=action_id, closed_on=date(2025, 2, 1), note="done"),
        coordinator(),
        today=TODAY,
    )
    with pytest.raises(RefusedChange, match="before the action was closed"):
        evidence.verify_action(
            uow,
            NETWORK,
            "NSM",
            ActionVerification(action=action_id, verified_on=date(2025, 1, 1)),
            OPERATOR,
            today=TODAY,
        )
    with pytest.raises(RefusedChange, match="was closed on 2025-02-01"):
        evidence.close_action(
            uow,
            NETWORK,
            "NSM",
            ActionClosure(action=action_id, closed_on=date(2025, 2, 2), note="again"),
            coordinator(),
            today=TODAY,
        )
    with pytest.raises(UnknownRecord):  # SKT's action is not NSM's
        evidence.close_action(
            uow,
            NETWORK,
            "NSM",
            ActionClosure(action="SKT-IA2-F1-A1", closed_on=TODAY, note="x"),
            coordinator(),
            today=TODAY,
        )


def test_a_management_review_is_recorded_signed_and_once_a_day() -> None:
    uow = stored()
    review = ReviewRecord(
        date=date(2025, 2, 27),
        inputs=("previous_actions", "objectives_achieved"),
        decisions=("Raise the waste target",),
        signed_by="Håkan Gustafsson, VD",
    )
    done = evidence.record_management_review(uow, NETWORK, "NSM", review, coordinator(), today=TODAY)
    held = company(uow).management_reviews[-1]
    assert (
        done.ids == (held.id,) and held.signed_on == date(2025, 2, 27) and held.signed_by.startswith("Håkan")
    )
    with pytest.raises(RefusedChange, match="already has a management review on 2025-02-27"):
        evidence.record_management_review(uow, NETWORK, "NSM", review, coordinator(), today=TODAY)
    with pytest.raises(ValidationError, match="unknown 9.3 input"):
        ReviewRecord(date=TODAY, inputs=("coffee",), signed_by="X")


def test_a_compliant_evaluation_resolves_a_non_compliance() -> None:
    uow = stored()
    evidence.record_legal_evaluation(
        uow,
        NETWORK,
        "NSM",
        LegalEvaluation(requirement="L1", evaluated_on=date(2025, 1, 10), compliant=False),
        coordinator(),
        today=TODAY,
    )
    breached = company(uow).legal_register[0]
    assert (breached.compliant, breached.resolved_on) == (False, None)
    evidence.record_legal_evaluation(
        uow,
        NETWORK,
        "NSM",
        LegalEvaluation(requirement="L1", evaluated_on=date(2025, 2, 10), compliant=True),
        coordinator(),
        today=TODAY,
    )
    fixed = company(uow).legal_register[0]
    assert (fixed.compliant, fixed.evaluated_on, fixed.resolved_on) == (
        True,
        date(2025, 2, 10),
        date(2025, 2, 10),
    )
    with pytest.raises(RefusedChange, match="evaluated later"):
        evidence.record_legal_evaluation(
            uow,
            NETWORK,
            "NSM",
            LegalEvaluation(requirement="L1", evaluated_on=date(2025, 1, 1), compliant=True),
            coordinator(),
            today=TODAY,
        )
    with pytest.raises(UnknownRecord):
        evidence.record_legal_evaluation(
            uow,
            NETWORK,
            "NSM",
            LegalEvaluation(requirement="L99", evaluated_on=TODAY, compliant=True),
            coordinator(),
            today=TODAY,
        )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"<html><script>alert(1)</script>", None),
        (b"GIF89a", None),
        (b"", None),
        (b"PK\x03\x04", None),
    ],
)
def test_the_type_of_an_evidence_file_is_read_from_its_content(content: bytes, expected: str | None) -> None:
    assert sniff_media_type(content) == expected


def test_evidence_files_are_stored_by_content_once_and_served_only_to_their_company() -> None:
    uow = stored()
    record = evidence.store_evidence_file(
        uow, NETWORK, "NSM", "C:\\Users\\x\\Foto <1>.png", PNG, coordinator(), max_bytes=10_000
    )
    assert record.media_type == "image/png" and record.filename == "Foto <1>.png" and record.size == len(PNG)
    again = evidence.store_evidence_file(
        uow, NETWORK, "NSM", "other.png", PNG, coordinator(), max_bytes=10_000
    )
    assert again == record and len(uow.published) == 1 and uow.commits == 1
    assert evidence.open_evidence_file(uow, NETWORK, "NSM", record.sha256) == (record, PNG)
    with pytest.raises(UnknownRecord):
        evidence.open_evidence_file(uow, NETWORK, "SKT", record.sha256)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.pdf", b"<html>not a pdf</html>", "'report.pdf' is not a PDF, PNG or JPEG"),
        ("big.pdf", b"%PDF-" + b"0" * 2_000, "more than the limit of 0.001 MB"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_a_file_of_another_type_too_large_or_empty_is_refused(
    name: str, content: bytes, message: str
) -> None:
    uow = stored()
    with pytest.raises(RefusedChange, match=message):
        evidence.store_evidence_file(uow, NETWORK, "NSM", name, content, coordinator(), max_bytes=1_000)
    unchanged(uow)
    assert uow.blobs.stored == {}


# --- spreadsheets ------------------------------------------------------------------------------


def test_dates_in_spreadsheets_are_days_written_yyyy_mm_dd() -> None:
    assert parse_date("2025-02-28") == date(2025, 2, 28)
    with pytest.raises(ValueError, match="'2025-02-30' is an impossible date"):
        parse_date("2025-02-30")
    with pytest.raises(ValueError, match="not a date of the form YYYY-MM-DD"):
        parse_date("28/02/2025")


def attendance(
    *rows: tuple[object, ...], header: tuple[str, ...] = ("employee_id", "date", "hours", "topics")
) -> Sheet:
    return Sheet(header=header, rows=tuple((i + 2, r) for i, r in enumerate(rows)))


def test_an_attendance_sheet_lists_every_problem_by_row_and_column() -> None:
    nsm = build(example_data("small")).company("NSM")
    checked = check_attendance(
        attendance(
            ("NSM-E01", "2025-02-01", "8", "waste_management"),
            ("NSM-E99", "2025-02-30", "0", "golf"),
            ("NSM-E01", "2025-02-01", "8", "waste_management"),
            ("NSM-E14", "2025-01-02", "8", ""),
        ),
        nsm,
        TODAY,
    )
    assert [(p.row, p.column) for p in checked.problems] == [
        (3, "employee_id"),
        (3, "date"),
        (3, "hours"),
        (3, "topics"),
        (4, "employee_id"),
        (5, "date"),
    ]
    assert "unknown employee 'NSM-E99'" in checked.problems[0].message
    assert "the same training of NSM-E01 as row 2" in checked.problems[4].message
    assert "was not employed on 2025-01-02" in checked.problems[5].message
    assert checked.training == ()


def test_a_sheet_without_a_required_column_is_refused_at_its_header() -> None:
    nsm = build(example_data("small")).company("NSM")
    checked = check_attendance(
        attendance(("NSM-E01", "2025-02-01"), header=("employee_id", "date", "minutes")), nsm, TODAY
    )
    assert [(p.row, p.column, p.message.split(";")[0]) for p in checked.problems] == [
        (1, "minutes", "unknown column"),
        (1, "hours", "missing column (required)"),
    ]


def test_an_import_with_one_bad_row_writes_nothing_and_a_good_one_writes_all() -> None:
    uow = stored()
    bad = b"employee_id,date,hours,topics\nNSM-E14,2025-02-20,8,waste_management\nGHOST,2025-02-20,8,\n"
    preview = spreadsheets.preview_import(uow, NETWORK, "NSM", "attendance", "a.csv", bad, today=TODAY)
    assert not preview.ready and [str(p) for p in preview.problems] == [
        "row 3, employee_id: unknown employee 'GHOST': not in the roster of company 'NSM'"
    ]
    with pytest.raises(spreadsheets.SpreadsheetRefused, match="1 problem"):
        spreadsheets.commit_import(
            uow, NETWORK, "NSM", "attendance", "a.csv", bad, coordinator(), today=TODAY
        )
    unchanged(uow)
    good = bad.split(b"GHOST")[0]
    preview = spreadsheets.preview_import(uow, NETWORK, "NSM", "attendance", "a.csv", good, today=TODAY)
    assert preview.ready and (preview.sessions, preview.attendances) == (1, 1)
    spreadsheets.commit_import(uow, NETWORK, "NSM", "attendance", "a.csv", good, coordinator(), today=TODAY)
    assert uow.commits == 1 and uow.published[0].payload["kind"] == "attendance-import"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 not really a zip", "not a readable XLSX workbook: BadZipFile"),
        (b"\xff\xfe\x00h\x00i", "not CSV text in UTF-8"),
        (b"", "the file is empty"),
    ],
)
def test_a_malformed_file_is_one_clear_problem(content: bytes, message: str) -> None:
    preview = spreadsheets.preview_import(stored(), NETWORK, "NSM", "roster", "r.xlsx", content, today=TODAY)
    (problem,) = preview.problems
    assert problem.row == 0 and message in problem.message


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_templates_hold_the_published_columns_and_read_back(kind: Kind, fmt: str) -> None:
    from openpyxl import load_workbook

    from adapters.spreadsheets import read_sheet

    content = spreadsheets.spreadsheet_template(kind, fmt)
    columns = tuple(c.name for c in spreadsheets.template_columns(kind))
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(content))
        assert book.sheetnames == ["data", "columns"]
        assert [row[0].value for row in book["columns"].iter_rows(min_row=2)] == list(columns)
    sheet = read_sheet(f"t.{fmt}", content)
    assert sheet.header == columns and list(sheet.rows) == []


def test_a_roster_adds_new_employees_updates_known_ones_and_refuses_another_companys_id() -> None:
    uow = stored()
    roster = (
        b"employee_id,name,hired_on,left_on\nNSM-E15,Ny Person,2025-02-01,\n"
        b"NSM-E02,Lars Holm,2009-06-23,2025-02-28\n"
    )
    preview = spreadsheets.preview_import(uow, NETWORK, "NSM", "roster", "r.csv", roster, today=TODAY)
    assert (preview.new_employees, preview.changed_employees) == (1, 1)
    spreadsheets.commit_import(uow, NETWORK, "NSM", "roster", "r.csv", roster, coordinator(), today=TODAY)
    staff = {e.id: e for e in company(uow).employees}
    assert staff["NSM-E15"].name == "Ny Person" and staff["NSM-E02"].left_on == date(2025, 2, 28)
    clash = spreadsheets.preview_import(
        uow,
        NETWORK,
        "NSM",
        "roster",
        "r.csv",
        b"employee_id,name,hired_on\nSKT-E01,X,2020-01-01\n",
        today=TODAY,
    )
    assert [str(p) for p in clash.problems] == [
        "row 2, employee_id: 'SKT-E01' is an employee of company 'SKT'"
    ]


# --- what a company sees -----------------------------------------------------------------------


def test_the_todo_list_of_a_blocked_company_links_each_item_to_the_page_that_resolves_it() -> None:
    uow = stored("blocked")
    network = uow.networks.stored["hackefors-blocked"]
    todo = evidence.company_todo(uow, network.id, "LBY", HACKEFORS_AS_OF)
    training = [i for i in todo.items if i.page is Page.TRAINING]
    assert training and training[0].path == "/networks/hackefors-blocked/companies/LBY/training"
    assert all(i.owner for i in todo.items) and not todo.ready
    gate = next(g for g in todo.gates if g.stage.value == "training")
    assert not gate.passed and gate.unmet
    assert {s.employee for s in todo.employees} == {
        e.id for e in network.company("LBY").employees if e.left_on is None or e.left_on > HACKEFORS_AS_OF
    }


def test_publishing_outside_a_run_without_a_prefect_api_logs_and_keeps_the_write(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from models.events import DomainEvent
    from tasks import events

    event = DomainEvent(name="evidence.recorded", network_id=NETWORK)
    with (
        temporary_settings(restore_defaults={PREFECT_API_URL}),
        caplog.at_level(logging.INFO, logger="tasks.events"),
    ):
        events.publish_anywhere(event)
    assert "not sent to Prefect: no PREFECT_API_URL" in caplog.text

    def broken(*args: object) -> None:
        raise ConnectionError("refused")

    monkeypatch.setattr(events, "_emit", broken)
    with (
        temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}),
        caplog.at_level(logging.WARNING, logger="tasks.events"),
    ):
        events.publish_anywhere(event)  # no exception: the write is committed already
    assert "could not be sent to Prefect" in caplog.text
