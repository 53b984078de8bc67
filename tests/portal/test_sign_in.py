"""Passwordless sign-in: the email through the mail path, one-time links that expire, the same
answer for unknown addresses, the rate limit, sessions that end when the role is removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.accounts import PORTAL, invite, redeem_link, revoke
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.portal.conftest import BASE_URL, NETWORK, PEOPLE, csrf_of, follow_link, link_in, new_link, read_eml

COORDINATOR = "malin@nsm.example.se"
TODO = f"/networks/{NETWORK}/companies/NSM"


def ask_for_link(client: TestClient, address: str) -> str:
    page = client.get("/sign-in")
    response = client.post("/sign-in", data={"csrf": csrf_of(page.text), "email": address})
    assert response.status_code == 200
    assert client.app.state.sign_in_mail.drain()  # type: ignore[attr-defined]  # the email's own worker
    return response.text


def emails(store: Path) -> list[Path]:
    return sorted((store / "out" / "outbox" / PORTAL).glob("*.eml"))  # sign-in mail: no network


def test_the_link_arrives_as_an_eml_through_the_outbox_and_signs_in_once(client: TestClient,
                                                                         portal_store: Path) -> None:
    ask_for_link(client, "  Malin@NSM.example.se ")
    [eml] = emails(portal_store)
    message = read_eml(eml)
    assert message["To"] == COORDINATOR and "sign-in" in message["Subject"]
    link = link_in(message)
    assert link.startswith(f"{BASE_URL}/sign-in/")
    assert client.get(TODO, follow_redirects=False).status_code == 303  # not signed in yet
    response = follow_link(client, link)
    assert response.status_code == 303 and response.headers["location"] == TODO
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie
    assert client.get(TODO).status_code == 200
    client.cookies.clear()
    again = follow_link(client, link)
    assert again.status_code == 400 and "expired or was already used" in again.text


def test_the_store_keeps_only_hashes_of_links_and_sessions(client: TestClient, portal_store: Path) -> None:
    from tests.conftest import inspect_store

    ask_for_link(client, COORDINATOR)
    link = link_in(read_eml(emails(portal_store)[0]))
    token = link.rsplit("/", 1)[1]
    follow_link(client, link)
    raw = (portal_store / "data" / "hackefors.sqlite3").read_bytes()
    assert token.encode() not in raw
    with inspect_store() as session:
        from sqlalchemy import text

        bodies = session.execute(text("SELECT message FROM outbox WHERE network_id = '(portal)'")).scalars()
        assert all(b == b"" for b in bodies)  # the delivered copy is emptied


def test_an_unknown_address_gets_the_same_answer_and_no_email(client: TestClient, portal_store: Path) -> None:
    known = ask_for_link(client, COORDINATOR)
    unknown = ask_for_link(client, "nobody@nowhere.example")
    assert known.replace(COORDINATOR, "X") == unknown.replace("nobody@nowhere.example", "X")
    assert len(emails(portal_store)) == 1


def test_an_expired_link_does_not_sign_in(portal_store: Path) -> None:
    role, network, company = PEOPLE[COORDINATOR]
    made = datetime.now(UTC) - timedelta(minutes=16)
    link = invite(SqlAlchemyUnitOfWork(), COORDINATOR, role, network, company, "test", BASE_URL, now=made)[1]
    token = link.rsplit("/", 1)[1]
    assert redeem_link(SqlAlchemyUnitOfWork(), token, timedelta(hours=1)) is None
    fresh = new_link(COORDINATOR).rsplit("/", 1)[1]
    assert redeem_link(SqlAlchemyUnitOfWork(), fresh, timedelta(hours=1)) is not None


def test_a_forged_csrf_token_is_refused_and_signs_nobody_in(client: TestClient) -> None:
    link = new_link(COORDINATOR)
    path = link.removeprefix(BASE_URL)
    client.get(path)
    assert client.post(path, data={"csrf": "0" * 64}, follow_redirects=False).status_code == 403
    assert client.post(path, data={}, follow_redirects=False).status_code == 403
    assert follow_link(client, link).status_code == 303  # the link was not used up


def test_sign_in_requests_are_rate_limited_per_address_and_per_client(client: TestClient,
                                                                      portal_store: Path) -> None:
    # The invitation made a link a moment ago: two more go out, the third request sends nothing.
    for _ in range(2):
        ask_for_link(client, COORDINATOR)
    assert len(emails(portal_store)) == 2
    ask_for_link(client, COORDINATOR)  # a fourth link within 15 minutes: same answer, no email
    assert len(emails(portal_store)) == 2
    ask_for_link(client, "nobody@nowhere.example")
    ask_for_link(client, "nobody@nowhere.example")  # the fifth request this minute
    page = client.get("/sign-in")
    refused = client.post("/sign-in", data={"csrf": csrf_of(page.text), "email": COORDINATOR})
    assert refused.status_code == 429


def test_revoking_an_account_ends_its_sessions_at_once(client: TestClient) -> None:
    assert follow_link(client, new_link(COORDINATOR)).status_code == 303
    assert client.get(TODO).status_code == 200
    revoke(SqlAlchemyUnitOfWork(), COORDINATOR, "test")
    assert client.get(TODO, follow_redirects=False).status_code == 303  # back to the sign-in page


def test_signing_out_ends_the_session(client: TestClient) -> None:
    follow_link(client, new_link(COORDINATOR))
    page = client.get(TODO)
    cookie = client.cookies.get("hackefors_session")
    out = client.post("/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.set("hackefors_session", cookie)  # a copy of the cookie kept elsewhere
    assert client.get(TODO, follow_redirects=False).status_code == 303


def test_a_tampered_session_cookie_is_no_session(client: TestClient) -> None:
    follow_link(client, new_link(COORDINATOR))
    cookie = client.cookies.get("hackefors_session")
    client.cookies.set("hackefors_session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert client.get(TODO, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("secure", [True])
def test_cookies_are_secure_when_the_setting_says_so(portal_store: Path, monkeypatch: pytest.MonkeyPatch,
                                                     secure: bool) -> None:
    from adapters.settings import reset_settings
    from portal.app import create_app

    monkeypatch.setenv("HACKEFORS_PORTAL_SECURE_COOKIES", "true")
    reset_settings()
    with TestClient(create_app(), base_url=BASE_URL.replace("http:", "https:")) as client:
        response = follow_link(client, new_link(COORDINATOR))
        assert "Secure" in response.headers["set-cookie"]


def test_a_reminders_link_leads_to_its_page_after_signing_in(client: TestClient) -> None:
    training = f"/networks/{NETWORK}/companies/NSM/training"
    assert client.get(training, follow_redirects=False).headers["location"] == "/sign-in"
    response = follow_link(client, new_link(COORDINATOR))
    assert response.headers["location"] == training  # type: ignore[attr-defined]
    client.cookies.clear()
    client.cookies.set("hackefors_next", "//evil.example/phish")
    assert follow_link(client, new_link(COORDINATOR)).headers["location"] == TODO  # type: ignore[attr-defined]


def test_with_smtp_configured_the_link_is_sent_through_the_server(portal_store: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.settings import reset_settings
    from portal.app import create_app
    from tests.smtp import Inbox, SmtpServer

    inbox = Inbox()
    with SmtpServer(inbox) as server:
        monkeypatch.setenv("HACKEFORS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("HACKEFORS_SMTP_PORT", str(server.port))
        monkeypatch.setenv("HACKEFORS_SMTP_SECURITY", "none")
        reset_settings()
        with TestClient(create_app(), base_url=BASE_URL) as client:
            ask_for_link(client, COORDINATOR)
            [message] = inbox.to(COORDINATOR)
            assert not emails(portal_store)  # sent, not written
            assert follow_link(client, link_in(message)).status_code == 303
