"""Defence in depth around the forms and the answers: the 413 page like any other, no page kept in a
cache, forms from other sites refused by their headers, CSRF tokens bound to the session, the
client's address from X-Forwarded-For only through a trusted proxy, and sign-in emails sent by
their own worker, never on the request's time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.portal.conftest import BASE_URL, NETWORK, csrf_of, follow_link, new_link

COORDINATOR = "malin@nsm.example.se"
EMPLOYEES = f"/networks/{NETWORK}/companies/NSM/employees"
SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy")


def add_employee(client: TestClient, csrf: str, **headers: str) -> int:
    data = {"csrf": csrf, "id": "NSM-E77", "name": "Ny Person", "hired_on": "2025-02-01"}
    return client.post(EMPLOYEES + "/add", data=data, headers=headers, follow_redirects=False).status_code


@pytest.fixture
def small_limit(portal_store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from adapters.settings import reset_settings
    from portal.app import create_app

    monkeypatch.setenv("HACKEFORS_PORTAL_MAX_UPLOAD_MB", "1")
    reset_settings()
    with TestClient(create_app(), base_url=BASE_URL) as client:
        yield client


def test_an_upload_over_the_limit_gets_413_with_every_security_header_chunked_or_not(
    small_limit: TestClient,
) -> None:
    follow_link(small_limit, new_link(COORDINATOR))
    path = f"/networks/{NETWORK}/companies/NSM/import"
    csrf = csrf_of(small_limit.get(path).text)

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is met while the body streams
        yield b'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n' + csrf.encode() + b"\r\n"
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        for _ in range(3):
            yield b"x" * 500_000

    multipart = {"Content-Type": "multipart/form-data; boundary=b"}
    for response in (
        small_limit.post(
            path, data={"csrf": csrf, "kind": "roster"}, files={"file": ("a.csv", b"x" * 1_500_000)}
        ),
        small_limit.post(path, content=chunked(), headers=multipart),
    ):
        assert response.status_code == 413, response.text[:300]
        assert "larger than the limit of 1 MB" in response.text
        assert all(name in response.headers for name in SECURITY_HEADERS), response.headers
        assert response.headers["cache-control"] == "no-store"


def test_signed_in_pages_and_sign_in_links_are_never_kept_in_a_cache(
    sign_in: Callable[[str], TestClient],
) -> None:
    link = new_link(COORDINATOR)
    client = sign_in("coordinator")
    for path in (f"/networks/{NETWORK}/companies/NSM", EMPLOYEES, link.removeprefix(BASE_URL), "/sign-in"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store", path
    assert "no-store" not in client.get("/static/portal.css").headers.get("cache-control", "")


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": BASE_URL, "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_form_sent_from_another_site_is_refused_though_its_token_is_right(
    sign_in: Callable[[str], TestClient], headers: dict[str, str]
) -> None:
    client = sign_in("coordinator")
    csrf = csrf_of(client.get(EMPLOYEES).text)
    assert add_employee(client, csrf, **headers) == 403
    assert "NSM-E77" not in client.get(EMPLOYEES).text


def test_a_form_from_the_portal_itself_passes_with_its_browser_headers(
    sign_in: Callable[[str], TestClient],
) -> None:
    client = sign_in("coordinator")
    csrf = csrf_of(client.get(EMPLOYEES).text)
    assert add_employee(client, csrf, Origin=BASE_URL, **{"Sec-Fetch-Site": "same-origin"}) == 303


def test_a_csrf_token_is_good_for_one_session_only(client: TestClient) -> None:
    follow_link(client, new_link(COORDINATOR))
    earlier = csrf_of(client.get(EMPLOYEES).text)
    cookie = client.cookies.get("hackefors_csrf")
    client.cookies.delete("hackefors_session")
    follow_link(client, new_link(COORDINATOR))  # a new session, the same CSRF cookie
    assert client.cookies.get("hackefors_csrf") == cookie
    assert add_employee(client, earlier) == 403  # the first session's token
    client.cookies.delete("hackefors_session")
    anonymous = csrf_of(client.get("/sign-in").text)
    follow_link(client, new_link(COORDINATOR))
    assert add_employee(client, anonymous) == 403  # a token from before signing in
    assert add_employee(client, csrf_of(client.get(EMPLOYEES).text)) == 303


def ask(client: TestClient, forwarded_for: str) -> int:
    page = client.get("/sign-in")
    return client.post(
        "/sign-in",
        data={"csrf": csrf_of(page.text), "email": "nobody@nowhere.example"},
        headers={"X-Forwarded-For": forwarded_for},
    ).status_code


def test_x_forwarded_for_counts_for_nothing_unless_the_proxy_is_trusted(
    portal_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.settings import reset_settings
    from portal.app import create_app

    with TestClient(create_app(), base_url=BASE_URL, client=("127.0.0.1", 4000)) as client:
        codes = [ask(client, f"10.0.0.{i}") for i in range(6)]
    assert codes == [200] * 5 + [429]  # one client, whatever it claims to forward for
    monkeypatch.setenv("HACKEFORS_PORTAL_TRUSTED_PROXIES", "127.0.0.1, ::1")
    reset_settings()
    with TestClient(create_app(), base_url=BASE_URL, client=("127.0.0.1", 4000)) as client:
        codes = [ask(client, f"192.0.2.7, 10.0.0.{i}") for i in range(6)]
        assert codes == [200] * 6  # six clients behind the proxy
        assert [ask(client, "10.0.0.1") for _ in range(5)][-1] == 429  # 10.0.0.1 had one already


def test_an_invalid_trusted_proxy_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.settings import SettingsError, check_settings, reset_settings

    monkeypatch.setenv("HACKEFORS_PORTAL_TRUSTED_PROXIES", "10.0.0.1, my-proxy")
    reset_settings()
    with pytest.raises(
        SettingsError, match="HACKEFORS_PORTAL_TRUSTED_PROXIES: 'my-proxy' is not an IP address"
    ):
        check_settings()
    reset_settings()


def test_the_sign_in_email_is_sent_by_its_own_worker_after_the_answer(
    portal_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.mail import Mailer
    from adapters.settings import get_settings
    from portal.app import create_app
    from services.accounts import PORTAL

    release, delivering = threading.Event(), threading.Event()

    class SlowMailer(Mailer):
        def deliver(self, message_id: int, raw: bytes, recipient: str, network_id: str) -> str:
            delivering.set()
            release.wait(30)
            return super().deliver(message_id, raw, recipient, network_id)

    outbox = portal_store / "out" / "outbox"
    with TestClient(
        create_app(mailer=lambda: SlowMailer(get_settings(), outbox)), base_url=BASE_URL
    ) as client:
        page = client.get("/sign-in")
        answer = client.post("/sign-in", data={"csrf": csrf_of(page.text), "email": COORDINATOR})
        assert answer.status_code == 200 and "Check your email" in answer.text
        assert delivering.wait(30)  # the worker is delivering, and the answer came before it finished
        assert not list((outbox / PORTAL).glob("*.eml"))
        release.set()
        assert client.app.state.sign_in_mail.drain()  # type: ignore[attr-defined]
        assert len(list((outbox / PORTAL).glob("*.eml"))) == 1
