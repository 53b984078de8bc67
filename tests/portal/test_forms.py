"""A coordinator records evidence through the portal's forms: what is recorded shows at once and
changes the to-do list; bad input gets a clear message and writes nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from tests.portal.conftest import NETWORK, csrf_of

NSM = f"/networks/{NETWORK}/companies/NSM"
ALL_TOPICS = ["environmental_basics", "ems_and_iso14001", "waste_management", "industry_impact",
              "legal_requirements"]


@pytest.fixture
def coordinator(client: TestClient, sign_in: Callable[[str], TestClient]) -> TestClient:
    return sign_in("coordinator")


def token(client: TestClient, path: str = NSM) -> str:
    return csrf_of(client.get(path).text)


def add_employee(client: TestClient, id: str, name: str, hired_on: str) -> object:
    return client.post(f"{NSM}/employees/add", data={"csrf": token(client), "id": id, "name": name,
                                                     "hired_on": hired_on}, follow_redirects=False)


def todo_subjects(client: TestClient) -> str:
    return client.get(NSM).text


def test_a_new_employee_shows_up_short_of_training_until_a_session_is_recorded(
        coordinator: TestClient) -> None:
    assert "Ingrid Berg" not in todo_subjects(coordinator)
    added = add_employee(coordinator, "NSM-E99", "Ingrid Berg", "2020-01-15")
    assert added.status_code == 303  # type: ignore[attr-defined]
    page = coordinator.get(added.headers["location"])  # type: ignore[attr-defined]
    assert "Added Ingrid Berg." in page.text and "NSM-E99" in page.text
    todo = todo_subjects(coordinator)
    assert "Ingrid Berg: 0 of 30 hours" in todo
    recorded = coordinator.post(f"{NSM}/training", data={
        "csrf": token(coordinator), "date": "2025-02-20", "hours": "30", "trainer": "Miljöutbildarna AB",
        "topics": ALL_TOPICS, "attendees": ["NSM-E99"]}, follow_redirects=False)
    assert recorded.status_code == 303, recorded.text
    assert "Ingrid Berg: 0 of" not in todo_subjects(coordinator)
    employees = coordinator.get(f"{NSM}/employees").text
    assert re.search(r"NSM-E99</td>(?:(?!</tr>).)*<td>30</td>", employees, re.S), employees


@pytest.mark.parametrize(("hired_on", "message"), [
    ("2025-02-30", "hired_on: Input should be a valid date"),
    ("30/01/2025", "hired_on: Input should be a valid date"),
    ("2031-01-01", "hired_on 2031-01-01 is after today"),
])
def test_an_impossible_date_is_refused_with_its_field_and_nothing_is_written(
        coordinator: TestClient, hired_on: str, message: str) -> None:
    refused = add_employee(coordinator, "NSM-E98", "Per Olsson", hired_on)
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "Nothing was saved" in refused.text and message in refused.text  # type: ignore[attr-defined]
    assert "NSM-E98" not in coordinator.get(f"{NSM}/employees").text


def test_html_in_a_name_is_shown_as_text(coordinator: TestClient) -> None:
    name = '<script>alert("x")</script> Åsa'
    assert add_employee(coordinator, "NSM-E97", name, "2024-01-01").status_code == 303  # type: ignore[attr-defined]
    page = coordinator.get(f"{NSM}/employees").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Åsa" in page


def test_a_forged_csrf_token_writes_nothing(coordinator: TestClient) -> None:
    refused = coordinator.post(f"{NSM}/employees/add", data={"csrf": "f" * 64, "id": "NSM-E96",
                                                             "name": "Forged", "hired_on": "2024-01-01"})
    assert refused.status_code == 403
    valid = token(coordinator)
    coordinator.cookies.delete("hackefors_csrf")  # the token without the cookie it was made for
    assert coordinator.post(f"{NSM}/employees/add", data={"csrf": valid, "id": "NSM-E96", "name": "Forged",
                                                          "hired_on": "2024-01-01"}).status_code == 403
    assert "NSM-E96" not in coordinator.get(f"{NSM}/employees").text


def test_an_unknown_attendee_is_not_found_and_nothing_is_written(coordinator: TestClient) -> None:
    response = coordinator.post(f"{NSM}/training", data={
        "csrf": token(coordinator), "date": "2025-02-20", "hours": "4", "attendees": ["NSM-E01", "SKT-E01"]})
    assert response.status_code == 404 and "no employee &#39;SKT-E01&#39;" in response.text


def test_leaving_review_and_legal_evaluation_are_recorded(coordinator: TestClient) -> None:
    left = coordinator.post(f"{NSM}/employees/leaving", data={"csrf": token(coordinator),
                                                              "employee": "NSM-E02", "left_on": "2025-01-31"})
    assert left.status_code == 200 and "2025-01-31" in left.text
    review = coordinator.post(f"{NSM}/review", data={
        "csrf": token(coordinator), "date": "2025-03-01", "signed_by": "Lena Lindberg, VD",
        "inputs": ["previous_actions", "environmental_performance"],
        "decisions": "Cut diesel use by 10 %\nNew waste contractor"})
    assert review.status_code == 200, review.text
    assert "2025-03-01" in review.text and "Cut diesel use by 10 %; New waste contractor" in review.text
    legal = coordinator.post(f"{NSM}/legal/L2", data={
        "csrf": token(coordinator), "evaluated_on": "2025-03-02", "compliant": "false",
        "note": "SDS missing"})
    assert legal.status_code == 200 and "2025-03-02" in legal.text


def test_an_unknown_review_input_is_refused(coordinator: TestClient) -> None:
    refused = coordinator.post(f"{NSM}/review", data={"csrf": token(coordinator), "date": "2025-03-01",
                                                      "signed_by": "X", "inputs": ["weather"]})
    assert refused.status_code == 400 and "unknown 9.3 input" in refused.text


# --- evidence files ------------------------------------------------------------------------------


def upload(client: TestClient, name: str, content: bytes, media: str = "application/pdf") -> object:
    return client.post(f"{NSM}/evidence", data={"csrf": token(client, f"{NSM}/evidence")},
                       files={"file": (name, content, media)})


def test_a_file_that_is_not_a_pdf_or_image_is_refused_whatever_its_name(coordinator: TestClient) -> None:
    refused = upload(coordinator, "permit.pdf", b"MZ\x90\x00 this is a program")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "is not a PDF, PNG or JPEG file" in refused.text  # type: ignore[attr-defined]
    assert "No file yet." in coordinator.get(f"{NSM}/evidence").text


def test_a_30_mb_upload_is_refused_unread(coordinator: TestClient, portal_store: Path) -> None:
    big = b"%PDF-1.4\n" + b"0" * 30_000_000
    refused = upload(coordinator, "big.pdf", big)
    assert refused.status_code == 413 and "nothing was saved" in refused.text  # type: ignore[attr-defined]
    assert not list((portal_store / "data").rglob("*.pdf"))


def test_a_file_over_the_evidence_limit_is_refused_with_a_message(coordinator: TestClient,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.settings import reset_settings
    from portal.app import create_app

    monkeypatch.setenv("HACKEFORS_MAX_EVIDENCE_MB", "1")
    reset_settings()
    with TestClient(create_app(), base_url="http://portal.test", cookies=coordinator.cookies) as client:
        refused = upload(client, "scan.pdf", b"%PDF-1.4\n" + b"0" * 2_000_000)
    assert refused.status_code == 400 and "more than the limit of 1 MB" in refused.text  # type: ignore[attr-defined]


def test_a_stored_png_is_served_with_its_type_to_those_who_see_the_company(
        client: TestClient, sign_in: Callable[[str], TestClient]) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    sign_in("coordinator")
    stored = upload(client, "../../etc/passwd.png", png, "text/plain")
    assert stored.status_code == 200, stored.text  # type: ignore[attr-defined]
    import hashlib

    sha = hashlib.sha256(png).hexdigest()
    served = client.get(f"{NSM}/evidence/{sha}")
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"
    assert "passwd.png" in served.headers["content-disposition"]
    sign_in("central")
    assert client.get(f"{NSM}/evidence/{sha}").status_code == 200
    sign_in("other-company")
    assert client.get(f"{NSM}/evidence/{sha}").status_code == 404
    assert client.get(f"/networks/{NETWORK}/companies/SKT/evidence/{sha}").status_code == 404


# --- spreadsheet import --------------------------------------------------------------------------


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ATTENDANCE = ["employee_id", "date", "hours", "topics", "trainer"]


def preview(client: TestClient, kind: str, name: str, content: bytes) -> object:
    return client.post(f"{NSM}/import", data={"csrf": token(client, f"{NSM}/import"), "kind": kind},
                       files={"file": (name, content, "application/octet-stream")})


def commit_token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_an_attendance_xlsx_is_previewed_then_imported_and_the_todo_shrinks(coordinator: TestClient) -> None:
    add_employee(coordinator, "NSM-E99", "Ingrid Berg", "2020-01-15")
    add_employee(coordinator, "NSM-E98", "Per Olsson", "2020-01-15")
    before = todo_subjects(coordinator)
    assert "Ingrid Berg: 0 of" in before and "Per Olsson: 0 of" in before
    sheet = xlsx([ATTENDANCE, ["NSM-E99", "2025-02-20", 30, "; ".join(ALL_TOPICS), "Miljöutbildarna AB"]])
    shown = preview(coordinator, "attendance", "attendance.xlsx", sheet)
    assert shown.status_code == 200, shown.text  # type: ignore[attr-defined]
    assert "Ready to import: 1 training session(s), 1 attendance(s)" in shown.text  # type: ignore[attr-defined]
    assert "Ingrid Berg: 0 of" in todo_subjects(coordinator)  # nothing recorded by the preview
    done = coordinator.post(f"{NSM}/import/commit", data={"csrf": token(coordinator),
                                                          "token": commit_token(shown.text)})  # type: ignore[attr-defined]
    assert done.status_code == 200 and "Imported attendance.xlsx." in done.text
    assert "Ingrid Berg: 0 of" not in done.text and "Per Olsson: 0 of" in done.text
    again = coordinator.post(f"{NSM}/import/commit", data={"csrf": token(coordinator),
                                                           "token": commit_token(shown.text)})  # type: ignore[attr-defined]
    assert again.status_code == 400 and "no longer kept" in again.text


def test_every_problem_of_a_spreadsheet_is_listed_by_row_and_column_and_nothing_is_imported(
        coordinator: TestClient) -> None:
    csv = (b"employee_id,date,hours,topics,trainer\n"
           b"NSM-E01,2025-02-30,4,waste_management,\n"
           b"NOBODY,2025-02-20,4,waste_management,\n"
           b"NSM-E03,2025-02-20,-1,gardening,\n")
    shown = preview(coordinator, "attendance", "attendance.csv", csv)
    assert shown.status_code == 400  # type: ignore[attr-defined]
    text = shown.text  # type: ignore[attr-defined]
    assert "<td>2</td><td>date</td>" in text and "<td>3</td><td>employee_id</td>" in text
    assert "<td>4</td><td>hours</td>" in text and "<td>4</td><td>topics</td>" in text
    assert 'name="token"' not in text


def test_a_malformed_xlsx_is_refused_with_a_message(coordinator: TestClient) -> None:
    broken = xlsx([ATTENDANCE])[:200]  # a zip cut short
    shown = preview(coordinator, "attendance", "attendance.xlsx", broken)
    assert shown.status_code == 400  # type: ignore[attr-defined]
    assert "<td>file</td>" in shown.text  # type: ignore[attr-defined]


def test_a_preview_cannot_be_committed_by_someone_else(client: TestClient,
                                                       sign_in: Callable[[str], TestClient]) -> None:
    sign_in("coordinator")
    roster = b"employee_id,name,hired_on,left_on\nNSM-E90,Ny Person,2024-05-01,\n"
    shown = preview(client, "roster", "roster.csv", roster)
    kept = commit_token(shown.text)  # type: ignore[attr-defined]
    sign_in("central")
    refused = client.post(f"{NSM}/import/commit", data={"csrf": token(client), "token": kept})
    assert refused.status_code == 400
    assert "NSM-E90" not in client.get(f"{NSM}/employees").text


def test_the_templates_download_with_the_published_columns(coordinator: TestClient) -> None:
    csv = coordinator.get(f"{NSM}/import/template.csv?kind=attendance")
    assert csv.status_code == 200 and csv.text.splitlines()[0] == ",".join(ATTENDANCE)
    book = coordinator.get(f"{NSM}/import/template.xlsx?kind=roster")
    assert book.status_code == 200 and book.content.startswith(b"PK")
    assert coordinator.get(f"{NSM}/import/template.xlsx?kind=payroll").status_code == 404


def test_a_notice_in_a_link_made_elsewhere_is_not_shown(coordinator: TestClient) -> None:
    page = coordinator.get(f"{NSM}/employees?done=Your+account+is+closed:+email+evil@example.com")
    assert page.status_code == 200 and "account is closed" not in page.text
