"""Every route, every role: what each person may open and record, checked on the server for the
object in the URL; another company's ids answer 404 and nothing is written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.portal.conftest import NETWORK, ROLE_PERSON, csrf_of

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ACTION = "NSM-IA2-F1-A1"  # open, at NSM
ROLES = [*ROLE_PERSON, "anonymous"]
READERS = {"operator", "central", "coordinator"}
WRITERS = READERS
VERIFIERS = {"operator", "auditor"}

# Every route of the portal: who may use it. A route missing here fails the test below, so a new
# route cannot be added without saying who may use it.
# kind: public, company-read, company-write, verify, network (operator, central), networks (operator),
# audits (operator, central, auditor), recommend (the network's auditor: recommendation, new audit)
ROUTES: dict[tuple[str, str], tuple[str, str | None]] = {
    ("GET", "/"): ("public", None),
    ("GET", "/sign-in"): ("public", None),
    ("POST", "/sign-in"): ("public", None),
    ("GET", "/sign-in/{token}"): ("public", None),
    ("POST", "/sign-in/{token}"): ("public", None),
    ("POST", "/sign-out"): ("public", None),
    ("GET", "/verify/{number}"): ("public", None),
    ("GET", "/networks/{network}/external-audits"): ("audits", None),
    ("POST", "/networks/{network}/external-audits"): ("recommend", None),
    ("POST", "/networks/{network}/external-audits/{audit}/recommendation"): ("recommend", None),
    ("GET", "/.well-known/hackefors-keys.json"): ("public", None),
    ("GET", "/certificates/status.json"): ("public", None),
    ("GET", "/networks"): ("networks", None),
    ("GET", "/networks/{network}"): ("network", None),
    ("GET", "/networks/{network}/companies/{company}"): ("company-read", "todo"),
    ("GET", "/networks/{network}/companies/{company}/employees"): ("company-read", "employees"),
    ("POST", "/networks/{network}/companies/{company}/employees/add"): ("company-write", "employees"),
    ("POST", "/networks/{network}/companies/{company}/employees/leaving"): ("company-write", "employees"),
    ("GET", "/networks/{network}/companies/{company}/training"): ("company-read", "training"),
    ("GET", "/networks/{network}/companies/{company}/import"): ("company-read", "import"),
    ("GET", "/networks/{network}/companies/{company}/import/template.{fmt}"): ("company-read", "import"),
    ("POST", "/networks/{network}/companies/{company}/import"): ("company-write", "import"),
    ("POST", "/networks/{network}/companies/{company}/import/commit"): ("company-write", "import"),
    ("POST", "/networks/{network}/companies/{company}/training"): ("company-write", "training"),
    ("GET", "/networks/{network}/companies/{company}/actions"): ("company-read", "actions"),
    ("POST", "/networks/{network}/companies/{company}/actions/{action}/close"): ("company-write", "actions"),
    ("POST", "/networks/{network}/companies/{company}/actions/{action}/verify"): ("verify", "actions"),
    ("GET", "/networks/{network}/companies/{company}/review"): ("company-read", "review"),
    ("POST", "/networks/{network}/companies/{company}/review"): ("company-write", "review"),
    ("GET", "/networks/{network}/companies/{company}/legal"): ("company-read", "legal"),
    ("POST", "/networks/{network}/companies/{company}/legal/{requirement}"): ("company-write", "legal"),
    ("GET", "/networks/{network}/companies/{company}/evidence"): ("company-read", "evidence"),
    ("POST", "/networks/{network}/companies/{company}/evidence"): ("company-write", "evidence"),
    ("GET", "/networks/{network}/companies/{company}/evidence/{sha256}"): ("company-read", "evidence"),
}


def api_routes(routes: list[Any] | None = None) -> Iterator[APIRoute]:
    if routes is None:
        from portal.app import create_app

        routes = create_app().routes
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI keeps included routers apart
        if included is not None:
            yield from api_routes(included.routes)


def app_routes() -> set[tuple[str, str]]:
    return {(method, route.path) for route in api_routes() for method in route.methods}


def test_every_route_of_the_portal_is_in_the_matrix(portal_store: Path) -> None:
    assert app_routes() == set(ROUTES)


def test_every_route_but_the_public_ones_checks_the_role_through_a_dependency(portal_store: Path) -> None:
    """The role is checked by a dependency of portal/security.py (its rules in models/accounts.py),
    never inline in a route: every signed-in route depends on one of them."""
    from fastapi.dependencies.models import Dependant

    from portal import security

    def calls(dependant: Dependant) -> Iterator[Any]:
        for sub in dependant.dependencies:
            yield sub.call
            yield from calls(sub)

    generic = {security.current_account, security.optional_account, security.check_csrf}

    def checks_role(route: APIRoute) -> bool:
        return any(getattr(call, "__module__", None) == security.__name__ and call not in generic
                   for call in calls(route.dependant))

    unchecked = sorted(f"{method} {route.path}" for route in api_routes() for method in route.methods
                       if ROUTES[(method, route.path)][0] != "public" and not checks_role(route))
    assert not unchecked, f"routes without a role dependency: {unchecked}"


def expected(kind: str, page: str | None, role: str, method: str) -> int:
    """The status a role gets from a route with an empty form (allowed writes: 400, nothing written)."""
    if role == "anonymous":
        return 303 if method == "GET" else 401
    allowed = {"company-read": READERS | ({"auditor"} if page == "actions" else set()),
               "company-write": WRITERS, "verify": VERIFIERS, "network": {"operator", "central"},
               "networks": {"operator"}, "audits": {"operator", "central", "auditor"},
               "recommend": {"auditor"}}[kind]
    if role not in allowed:
        return 404
    return 200 if method == "GET" else 400


def stored_file(client: TestClient, sign_in: Callable[[str], TestClient], company: str = "NSM") -> str:
    import hashlib

    sign_in("operator")
    path = f"/networks/{NETWORK}/companies/{company}/evidence"
    page = client.get(path)
    response = client.post(path, data={"csrf": csrf_of(page.text)},
                           files={"file": ("permit.pdf", PDF, "application/pdf")}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return hashlib.sha256(PDF).hexdigest()


COMPANY_ROUTES = [(m, p) for (m, p), (kind, _) in ROUTES.items() if kind not in ("public",)]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_its_role_allows_on_every_route(client: TestClient,
                                                            sign_in: Callable[[str], TestClient],
                                                            role: str) -> None:
    sha = stored_file(client, sign_in)
    client.cookies.clear()
    if role != "anonymous":
        sign_in(role)
    token = csrf_of(client.get("/sign-in").text)
    seen = {}
    for method, template in COMPANY_ROUTES:
        kind, page = ROUTES[(method, template)]
        url = template.format(network=NETWORK, company="NSM", action=ACTION, requirement="L1", sha256=sha,
                              fmt="xlsx", audit="EXT-S2")
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            response = client.post(url, data={"csrf": token}, follow_redirects=False)
        seen[f"{method} {template}"] = (response.status_code, expected(kind, page, role, method))
    wrong = {route: got for route, got in seen.items() if got[0] != got[1]}
    assert not wrong, f"{role}: (got, expected) {wrong}"


def test_an_unknown_network_or_company_looks_the_same_as_a_forbidden_one(
        client: TestClient, sign_in: Callable[[str], TestClient]) -> None:
    sign_in("coordinator")
    forbidden = client.get(f"/networks/{NETWORK}/companies/SKT")
    unknown = client.get(f"/networks/{NETWORK}/companies/NOPE")
    elsewhere = client.get("/networks/no-such-network/companies/NSM")
    assert forbidden.status_code == unknown.status_code == elsewhere.status_code == 404
    assert forbidden.text == unknown.text == elsewhere.text
    sign_in("operator")
    assert client.get(f"/networks/{NETWORK}/companies/NOPE").status_code == 404
    assert "NOPE" not in forbidden.text and "SKT" not in forbidden.text


def test_another_companys_objects_through_ones_own_company_are_not_found_and_untouched(
        client: TestClient, sign_in: Callable[[str], TestClient]) -> None:
    sha = stored_file(client, sign_in, "NSM")
    sign_in("other-company")  # SKT's coordinator
    own = f"/networks/{NETWORK}/companies/SKT"
    token = csrf_of(client.get(own).text)
    assert client.get(f"{own}/evidence/{sha}").status_code == 404
    close = client.post(f"{own}/actions/{ACTION}/close",
                        data={"csrf": token, "closed_on": "2025-03-01", "note": "done"})
    assert close.status_code == 404
    training = client.post(f"{own}/training", data={"csrf": token, "date": "2025-03-01", "hours": "30",
                                                    "attendees": ["NSM-E01"]})
    assert training.status_code == 404
    leaving = client.post(f"{own}/employees/leaving", data={"csrf": token, "employee": "NSM-E01",
                                                            "left_on": "2025-03-01"})
    assert leaving.status_code == 404
    sign_in("coordinator")
    actions = client.get(f"/networks/{NETWORK}/companies/NSM/actions").text
    assert "Close</button>" in actions  # still open
    employees = client.get(f"/networks/{NETWORK}/companies/NSM/employees").text
    assert "2025-03-01" not in employees


def test_the_verify_form_shows_only_to_those_who_may_verify(client: TestClient,
                                                            sign_in: Callable[[str], TestClient]) -> None:
    sign_in("coordinator")
    path = f"/networks/{NETWORK}/companies/NSM/actions"
    token = csrf_of(client.get(path).text)
    closed = client.post(f"{path}/{ACTION}/close", data={"csrf": token, "closed_on": "2025-02-01",
                                                         "note": "Transport papers filed monthly"},
                         follow_redirects=False)
    assert closed.status_code == 303
    assert "Verify</button>" not in client.get(path).text
    refused = client.post(f"{path}/{ACTION}/verify", data={"csrf": token, "verified_on": "2025-03-01"})
    assert refused.status_code == 404
    sign_in("auditor")
    page = client.get(path)
    assert "Verify</button>" in page.text and "Close</button>" not in page.text
    verified = client.post(f"{path}/{ACTION}/verify", data={"csrf": csrf_of(page.text),
                                                            "verified_on": "2025-03-01"})
    assert verified.status_code == 200 and "verified 2025-03-01" in verified.text


@pytest.mark.parametrize(("role", "home"), [
    ("operator", "/networks"), ("central", f"/networks/{NETWORK}"),
    ("coordinator", f"/networks/{NETWORK}/companies/NSM"),
    ("auditor", f"/networks/{NETWORK}/external-audits")])
def test_each_role_lands_on_its_own_page(client: TestClient, role: str, home: str) -> None:
    from tests.portal.conftest import follow_link, new_link

    response = follow_link(client, new_link(ROLE_PERSON[role]))
    assert response.headers["location"] == home  # type: ignore[attr-defined]
    assert client.get(home).status_code == 200


def test_the_central_coordinator_sees_each_company_of_the_network_with_its_gaps(
        client: TestClient, sign_in: Callable[[str], TestClient]) -> None:
    sign_in("central")
    page = client.get(f"/networks/{NETWORK}").text
    for company in ("NSM", "SKT", "VTR"):
        assert f'href="/networks/{NETWORK}/companies/{company}"' in page
    assert "Malin Gustafsson" in page and "Unmet" in page
