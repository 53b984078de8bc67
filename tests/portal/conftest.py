"""Portal fixtures: a store holding the small example network and a second network, people of every
role with accounts, and a TestClient signed in as any of them."""

from __future__ import annotations

import email
import functools
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.accounts import Role
from tests.conftest import build, example_data, save, use_store

NETWORK = "ostgota-small"
OTHER_NETWORK = "other-small"
AS_OF = "2025-03-03"
BASE_URL = "http://portal.test"

# Who has an account: email -> (role, network, company).
PEOPLE: dict[str, tuple[Role, str | None, str | None]] = {
    "operator@consult.example": (Role.OPERATOR, None, None),
    "central@nsm.example.se": (Role.CENTRAL_COORDINATOR, NETWORK, None),
    "malin@nsm.example.se": (Role.COORDINATOR, NETWORK, "NSM"),
    "hakan@skt.example.se": (Role.COORDINATOR, NETWORK, "SKT"),
    "auditor@cb.example": (Role.AUDITOR, NETWORK, None),
    "elsewhere@other.example": (Role.COORDINATOR, OTHER_NETWORK, "NSM"),
}
ROLE_PERSON = {"operator": "operator@consult.example", "central": "central@nsm.example.se",
               "coordinator": "malin@nsm.example.se", "other-company": "hakan@skt.example.se",
               "auditor": "auditor@cb.example", "other-network": "elsewhere@other.example"}


@functools.cache
def prepared_store() -> Path:
    """A migrated SQLite store with both networks imported, made once per session."""
    from adapters.db import get_engine, reset_engines
    from adapters.settings import reset_settings
    from services.unit_of_work import SqlAlchemyUnitOfWork

    folder = Path(tempfile.mkdtemp(prefix="hackefors-portal-"))
    with pytest.MonkeyPatch.context() as mp:
        use_store(mp, folder)
        small = example_data("small")
        # One open corrective action at NSM, for the close and verify forms.
        finding = small["companies"][0]["internal_audits"][1]["findings"][0]
        assert finding["id"] == "NSM-IA2-F1"
        finding["closed_on"] = None
        finding["actions"][0].update(closed_on=None, verified_effective_on=None)
        save(build(small))
        other = example_data("small")
        other["id"], other["name"] = OTHER_NETWORK, "Another network"
        save(build(other))
        from services.accounts import invite

        for person, (role, network, company) in PEOPLE.items():
            invite(SqlAlchemyUnitOfWork(), person, role, network, company, "test", BASE_URL)
        get_engine().dispose()
        reset_engines()
        reset_settings()
    return folder / "data" / "hackefors.sqlite3"


@pytest.fixture
def portal_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The prepared store, copied for this test; the portal's settings point at it."""
    from adapters.db import reset_engines
    from adapters.settings import reset_settings

    use_store(monkeypatch, tmp_path)
    shutil.copyfile(prepared_store(), tmp_path / "data" / "hackefors.sqlite3")
    monkeypatch.setenv("HACKEFORS_PUBLIC_URL", BASE_URL)
    monkeypatch.setenv("HACKEFORS_PORTAL_AS_OF", AS_OF)
    monkeypatch.setenv("HACKEFORS_PORTAL_SECRET_KEY", "a key for tests only")
    reset_settings()
    yield tmp_path
    reset_settings()
    reset_engines()


@pytest.fixture
def client(portal_store: Path) -> Iterator[TestClient]:
    from portal.app import create_app

    with TestClient(create_app(), base_url=BASE_URL) as test_client:
        yield test_client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def follow_link(client: TestClient, link: str) -> object:
    """Open a sign-in link and press its button, as a person does; the final response."""
    path = link.removeprefix(BASE_URL)
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf": csrf_of(page.text)}, follow_redirects=False)


def new_link(person: str) -> str:
    from services.accounts import invite
    from services.unit_of_work import SqlAlchemyUnitOfWork

    role, network, company = PEOPLE[person]
    return invite(SqlAlchemyUnitOfWork(), person, role, network, company, "test", BASE_URL)[1]


@pytest.fixture
def sign_in(client: TestClient) -> Callable[[str], TestClient]:
    """`sign_in(role)`: the client, signed in as the person of that role (see ROLE_PERSON)."""

    def as_role(role: str) -> TestClient:
        client.cookies.clear()
        response = follow_link(client, new_link(ROLE_PERSON[role]))
        assert response.status_code == 303, response.text  # type: ignore[attr-defined]
        return client

    return as_role


def read_eml(path: Path) -> Message:
    return email.message_from_bytes(path.read_bytes())


def link_in(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
            found = re.search(r"https?://\S+/sign-in/[\w-]+", text)
            assert found, text
            return found.group(0)
    raise AssertionError("no plain-text part")
