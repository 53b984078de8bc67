"""The auditors record an external audit in the portal: checked against the IAF MD 1 minimum sample
and the plan, findings graded with their clause, in the auditor's name; nothing partial."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.portal.conftest import NETWORK, ROLE_PERSON, csrf_of

PAGE = f"/networks/{NETWORK}/external-audits"


def form(csrf: str, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf": csrf, "id": "EXT-SV1", "kind": "surveillance", "start": "2025-03-01", "end": "2025-03-02",
        "lead_auditor": "Gösta Wennberg", "auditors": "Gösta Wennberg, Siv Holmgren",
        "companies_visited": ["NSM", "SKT"], "central_function_visited": "yes",
        "finding_id_1": "EXT-SV1-F1", "grade_1": "major", "clause_1": "8.1", "company_1": "SKT",
        "description_1": "Spill kit missing at the refuelling point"}
    data.update(changes)
    return data


def audits() -> dict[str, object]:
    with SqlAlchemyUnitOfWork() as uow:
        return {a.id: a for a in uow.networks.load(NETWORK, parts={"external_audits"}).external_audits}


def test_the_auditor_records_an_audit_with_a_graded_finding(client: TestClient,
                                                            sign_in: Callable[[str], TestClient]) -> None:
    sign_in("auditor")
    page = client.get(PAGE)
    assert page.status_code == 200 and "Record an external audit" in page.text
    answer = client.post(PAGE, data=form(csrf_of(page.text)))
    assert answer.status_code == 200, answer.text
    assert "Recorded external audit EXT-SV1" in answer.text
    assert "ceil(0.6 × √3) = 2 for a surveillance audit of 3 member companies" in answer.text
    audit = audits()["EXT-SV1"]
    assert audit.certification_body == "Nordisk Certifiering AB"  # the network's body, not typed in
    assert audit.companies_visited == ("NSM", "SKT") and audit.auditors == ("Gösta Wennberg", "Siv Holmgren")
    (finding,) = audit.findings
    assert (finding.grade.value, finding.clause, finding.company) == ("major", "8.1", "SKT")
    with SqlAlchemyUnitOfWork() as uow:
        entries = [e for e in uow.history.newest(NETWORK, 50) if e.entity_id.startswith("EXT-SV1")]
    assert entries and all(e.actor == f"portal:{ROLE_PERSON['auditor']} (auditor)" and e.source == "portal"
                           for e in entries)
    shown = client.get(PAGE).text
    assert "EXT-SV1-F1" in shown and "Spill kit missing" in shown


def test_a_sample_below_the_minimum_and_other_mistakes_record_nothing(
        client: TestClient, sign_in: Callable[[str], TestClient]) -> None:
    sign_in("auditor")
    csrf = csrf_of(client.get(PAGE).text)
    before = audits()
    cases = {
        "IAF MD 1 requires at least ceil(0.6 × √3) = 2": form(csrf, companies_visited=["NSM"],
                                                               company_1="NSM"),
        "the central function is audited at every audit": form(csrf, central_function_visited=""),
        "clause '99.9' does not exist in ISO 14001:2015": form(csrf, clause_1="99.9"),
        "is after today (2025-03-03)": form(csrf, end="2025-04-01"),
        "external audit 'EXT-S2' is already recorded": form(csrf, id="EXT-S2"),
        "a company the audit did not visit": form(csrf, company_1="VTR"),
        "finding id 'NSM-IA2-F1' is already used": form(csrf, finding_id_1="NSM-IA2-F1"),
        "kind: Input should be": form(csrf, kind="stage3"),
    }
    for message, data in cases.items():
        answer = client.post(PAGE, data=data)
        assert answer.status_code == 400, (message, answer.status_code)
        assert message in answer.text.replace("&#39;", "'"), message
        assert "Nothing was recorded" in answer.text
    assert audits() == before


def test_only_the_networks_auditor_records_an_audit(client: TestClient,
                                                    sign_in: Callable[[str], TestClient]) -> None:
    for role in ("operator", "central", "coordinator", "other-network"):
        sign_in(role)
        page = client.get(PAGE)
        csrf = csrf_of(page.text) if page.status_code == 200 else csrf_of(client.get("/sign-in").text)
        assert client.post(PAGE, data=form(csrf)).status_code == 404, role
    assert "EXT-SV1" not in audits()


def test_a_finding_at_a_company_leads_the_auditor_to_its_actions_to_verify(
        client: TestClient, sign_in: Callable[[str], TestClient]) -> None:
    sign_in("auditor")
    actions = f"/networks/{NETWORK}/companies/SKT/actions"
    assert f'href="{actions}"' in client.get(PAGE).text  # EXT-S2-F1 was raised at SKT
    page = client.get(actions)
    assert page.status_code == 200 and "EXT-S2-F1-A1" in page.text
