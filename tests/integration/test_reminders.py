"""Reminders against a real SMTP server: recipients, content, exactly once, nothing lost."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models.tables import OutboxRow
from services import reminders
from services.reminders import DeliveryResult, QueueResult
from services.unit_of_work import SqlAlchemyUnitOfWork
from tasks.db import reset_engines
from tasks.mail import HeaderInjection, LoginRefused, Mailer, ServerUnavailable, compose_reminder
from tasks.settings import SettingsError, check_settings, get_settings, reset_settings
from tests.conftest import HACKEFORS_AS_OF, build, example_data, inspect_store, save, use_store
from tests.smtp import Inbox, SmtpServer, free_port, parts, self_signed_certificate

REVIEW_SEASON = date(2025, 12, 20)  # the small network's management reviews fall due within 30 days


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("HACKEFORS_MAIL_FROM", "altea@hackefors.example.se")
    for name in ("HACKEFORS_SMTP_HOST", "HACKEFORS_SMTP_USER", "HACKEFORS_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    use_store(monkeypatch, tmp_path)
    for name in ("blocked", "small"):
        save(build(example_data(name)))
    yield tmp_path
    reset_engines()
    reset_settings()


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int, **extra: str) -> None:
    monkeypatch.setenv("HACKEFORS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HACKEFORS_SMTP_PORT", str(port))
    monkeypatch.setenv("HACKEFORS_SMTP_SECURITY", "none")
    for key, value in extra.items():
        monkeypatch.setenv(f"HACKEFORS_SMTP_{key.upper()}", value)
    reset_settings()


def plan_reminders(network_id: str, as_of: date, queue: bool) -> QueueResult:
    """Plan (and queue) a network's reminders on the configured store, as the queue task does."""
    return reminders.plan_reminders(SqlAlchemyUnitOfWork(), network_id, as_of, queue=queue,
                                    mail_from=get_settings().mail_from)


def deliver_queued() -> DeliveryResult:
    """Deliver what is queued with a mailer on the current settings, as the deliver task does."""
    settings = get_settings()
    return reminders.deliver_queued(SqlAlchemyUnitOfWork(), Mailer(settings, settings.output_dir / "outbox"))


def outbox() -> list[Any]:
    with inspect_store() as session:
        return list(session.execute(select(OutboxRow.recipient, OutboxRow.status, OutboxRow.attempts,
                                           OutboxRow.last_error).order_by(OutboxRow.id)).all())


def test_each_coordinator_gets_one_email_with_their_items_and_the_central_one_a_digest(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        queued = plan_reminders("hackefors-blocked", HACKEFORS_AS_OF, queue=True)
        delivered = deliver_queued()
    assert delivered.sent == len(queued.messages) == len(inbox.messages)
    recipients = [str(m["To"]) for m in inbox.messages]
    assert len(recipients) == len(set(recipients))  # one email per coordinator

    lby = data_coordinator("LBY")
    [mail] = inbox.to(lby["email"])
    body = parts(mail)
    assert mail["Subject"] == "Miljöledning: 1 punkt(er) att åtgärda"  # the Hackefors network is Swedish
    assert "Lindbergs Bygg &amp; Montage AB" in body["text/html"]
    for text in (body["text/plain"], body["text/html"]):
        assert "Göran Lindqvist: 26 h of 30 h, 4 h short; missing topics: waste_management" in text

    [mlt] = inbox.to(data_coordinator("MLT")["email"])
    assert "Corrective action MLT-IA1-F9-A1" in parts(mlt)["text/plain"]
    assert "försenad med 48 dag(ar)" in parts(mlt)["text/plain"]
    [ekt] = inbox.to(data_coordinator("EKT")["email"])
    assert "Internal audit due" in parts(ekt)["text/plain"]

    central = data_coordinator("KMV")  # KMV's coordinator is the first committee member
    digests = [m for m in inbox.to(central["email"]) if "sammanställning" in str(m["Subject"])]
    assert len(digests) == 0  # the blocked network has no central coordinator: no digest
    assert all(e[0] == "altea@hackefors.example.se" for e in inbox.envelopes)


def data_coordinator(company: str, network: str = "blocked") -> dict[str, Any]:
    return next(c for c in example_data(network)["companies"] if c["id"] == company)["coordinator"]


def test_the_digest_escalates_what_is_long_overdue_and_reviews_come_with_invitations(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = example_data("small")
    data["companies"][1]["internal_audits"][0]["findings"].append(
        {"id": "SKT-OLD", "grade": "minor", "clause": "7.5", "description": "Binder outdated",
         "actions": [{"id": "SKT-OLD-A", "description": "Update binder", "owner": "Per",
                      "due": "2025-11-01"}]})
    save(build(data))
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
        deliver_queued()
    central = data_coordinator("NSM", "small")
    [digest] = [m for m in inbox.to(central["email"]) if "digest" in str(m["Subject"])]
    text = parts(digest)["text/plain"]
    assert "Escalated: overdue for more than 14 days" in text
    assert "! Söderköpings Trafik AB: Corrective action SKT-OLD-A (overdue by 49 day(s))" in text
    [vtr] = inbox.to(data_coordinator("VTR", "small")["email"])  # its review is due 2026-01-11
    calendar = parts(vtr)["text/calendar"]
    assert "BEGIN:VEVENT" in calendar and "SUMMARY:Management review\\, Valdemarsviks Tryck AB" in calendar
    assert "DTSTART;VALUE=DATE:20260111" in calendar and "DTEND;VALUE=DATE:20260112" in calendar
    assert "Management review due" in parts(vtr)["text/plain"]


def test_a_rerun_sends_nothing_twice_and_the_cadence_holds_for_a_week(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        first = plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
        deliver_queued()
        again = plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
        deliver_queued()
        next_day = plan_reminders("ostgota-small", date(2025, 12, 21), queue=True)
        a_week_later = plan_reminders("ostgota-small", date(2025, 12, 27), queue=True)
        deliver_queued()
    assert first.messages and not again.messages and not next_day.messages
    assert again.skipped_recently_sent > 0
    assert a_week_later.messages  # after the cadence the still-open items are reminded again
    assert len(inbox.messages) == len(first.messages) + len(a_week_later.messages)


def test_a_server_down_for_a_whole_run_loses_nothing(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    use_smtp(monkeypatch, port)
    queued = plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
    with pytest.raises(ServerUnavailable, match="cannot connect to the SMTP server 127.0.0.1"):
        deliver_queued()
    rows = outbox()
    assert len(rows) == len(queued.messages) and all(r.status == "queued" for r in rows)
    assert rows[0].attempts == 1 and "ConnectionRefusedError" in rows[0].last_error
    inbox = Inbox()
    with SmtpServer(inbox, port=port):
        assert deliver_queued().sent == len(queued.messages)
    assert len(inbox.messages) == len(queued.messages)
    assert {r.status for r in outbox()} == {"sent"}


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A certificate for the test server, trusted by the client (SSL_CERT_FILE)."""
    pair = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(pair[0]))
    return pair


def test_the_password_is_never_stored_or_logged(store: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture,
                                                certificate: tuple[Path, Path]) -> None:
    # Our code and yagmail at DEBUG; the test server's own chatter stays out (it masks AUTH anyway).
    for name in ("yagmail", "tasks", "prefect", "root"):
        caplog.set_level(logging.DEBUG, logger=None if name == "root" else name)
    caplog.set_level(logging.WARNING, logger="mail.log")
    inbox = Inbox()
    with SmtpServer(inbox, password="right-horse-battery", certificate=certificate) as server:
        use_smtp(monkeypatch, server.port, user="altea", password="wrong-staple-s3cret", security="starttls")
        plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
        with pytest.raises(LoginRefused, match="refused the login of 'altea': 535 .*uthentication"):
            deliver_queued()  # at once, not after retries, and said as it is
        assert all("wrong-staple-s3cret" not in (r.last_error or "") for r in outbox())
        use_smtp(monkeypatch, server.port, user="altea", password="right-horse-battery", security="starttls")
        assert deliver_queued().sent > 0
    # over TLS only (smtplib offers a refused password once per mechanism)
    assert set(server.logins) == {"wrong-staple-s3cret", "right-horse-battery"}
    assert "wrong-staple-s3cret" not in caplog.text and "right-horse-battery" not in caplog.text
    with inspect_store() as session:
        blobs = b"".join(m for m in session.scalars(select(OutboxRow.message)))
    assert b"right-horse-battery" not in blobs


@pytest.mark.parametrize("security", ["STARTTLS", "StartTLS", " starttls "])
def test_starttls_in_any_case_starts_tls_or_sends_nothing(store: Path, monkeypatch: pytest.MonkeyPatch,
                                                          security: str) -> None:
    # A server without STARTTLS: the client must stop before the password goes out in clear text.
    with SmtpServer(Inbox(), password="right-horse-battery") as server:
        use_smtp(monkeypatch, server.port, user="altea", password="right-horse-battery", security=security)
        plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
        with pytest.raises(ServerUnavailable, match="STARTTLS extension not supported"):
            deliver_queued()
    assert server.logins == []


def test_a_server_certificate_that_cannot_be_verified_gets_no_password(
        store: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    untrusted = self_signed_certificate(tmp_path)  # not in SSL_CERT_FILE
    with SmtpServer(Inbox(), password="right-horse-battery", certificate=untrusted) as server:
        use_smtp(monkeypatch, server.port, user="altea", password="right-horse-battery", security="starttls")
        plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
        with pytest.raises(ServerUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            deliver_queued()
    assert server.logins == []


def test_a_login_without_tls_is_refused_unless_a_setting_allows_it(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer(Inbox(), password="right-horse-battery") as server:
        use_smtp(monkeypatch, server.port, user="altea", password="right-horse-battery")
        with pytest.raises(SettingsError, match="HACKEFORS_SMTP_ALLOW_PLAINTEXT_LOGIN"):
            check_settings()
        monkeypatch.setenv("HACKEFORS_SMTP_ALLOW_PLAINTEXT_LOGIN", "true")
        reset_settings()
        plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
        assert deliver_queued().sent > 0
    assert server.logins == ["right-horse-battery"]


def test_without_smtp_the_emails_are_written_as_eml_files(store: Path) -> None:
    queued = plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
    result = deliver_queued()
    assert len(result.written) == len(queued.messages) > 0
    first = Path(result.written[0])
    assert first.parent == store / "out" / "outbox" and first.read_bytes().startswith(b"Subject:")


def test_html_in_a_company_name_is_escaped() -> None:
    from models.reminders import Kind, ReminderItem

    item = ReminderItem(key="k", kind=Kind.TRAINING, company="X", subject="<i>Training</i>",
                        lines=("<script>alert(1)</script>",))
    message = compose_reminder("Nät", "Altea", "<b>Bygg</b> & Co", "Anna", "anna@x.example.se",
                               [item], "en", "altea@x.example.se", REVIEW_SEASON)
    html = parts(message)["text/html"]
    assert "&lt;b&gt;Bygg&lt;/b&gt; &amp; Co" in html and "<b>Bygg</b>" not in html
    assert "&lt;script&gt;" in html and "<script>" not in html and "&lt;i&gt;Training" in html


@pytest.mark.parametrize("name,address", [("Anna\r\nBcc: evil@example.com", "anna@x.example.se"),
                                          ("Anna", "anna@x.example.se\nBcc: evil@example.com")])
def test_a_header_injection_attempt_is_refused(name: str, address: str) -> None:
    with pytest.raises(HeaderInjection, match="line break"):
        compose_reminder("Nät", "Altea", "Co", name, address, [], "en", "a@x.example.se", REVIEW_SEASON)


def test_a_header_injection_through_a_network_file_is_refused_on_import() -> None:
    from pydantic import ValidationError

    data = example_data("small")
    data["companies"][0]["coordinator"]["name"] = "Malin\r\nBcc: evil@example.com"
    with pytest.raises(ValidationError, match="single line"):
        build(data)
