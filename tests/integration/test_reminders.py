"""Reminders against a real SMTP server: recipients, content, exactly once, nothing lost."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.db import reset_engines
from adapters.mail import (
    Envelope,
    HeaderInjection,
    Letterhead,
    LoginRefused,
    Mailer,
    ServerUnavailable,
    compose_reminder,
)
from adapters.settings import SettingsError, check_settings, get_settings, reset_settings
from models.tables import OutboxRow
from services import reminders
from services.reminders import DeliveryResult, QueueResult
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import HACKEFORS_AS_OF, build, example_data, inspect_store, save, use_store
from tests.smtp import Inbox, SmtpServer, free_port, parts, self_signed_certificate

REVIEW_SEASON = date(2025, 12, 20)  # the small network's management reviews fall due within 30 days


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("HACKEFORS_MAIL_FROM", "altea@hackefors.example.se")
    monkeypatch.setenv("HACKEFORS_OPERATOR_EMAIL", "konsult@altea.example.se")
    monkeypatch.setenv("HACKEFORS_PUBLIC_URL", "https://portal.example.se/")
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
                                    letterhead=Letterhead.from_settings(get_settings()))


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
    # The Hackefors network is Swedish: every word, the subject naming the company.
    assert mail["Subject"] == "Lindbergs Bygg & Montage AB: 1 punkt att åtgärda"
    assert "Lindbergs Bygg &amp; Montage AB" in body["text/html"]
    assert "Lindbergs Bygg & Montage AB" in body["text/plain"] and "&amp;" not in body["text/plain"]
    for text in (body["text/plain"], body["text/html"]):
        assert "Göran Lindqvist: 26 av 30 timmar, 4 timmar kvar; ämnen som återstår: avfallshantering" in text
        assert "waste_management" not in text
        assert f"https://portal.example.se/networks/hackefors-blocked/companies/{'LBY'}/training" in text

    [mlt] = inbox.to(data_coordinator("MLT")["email"])
    text = parts(mlt)["text/plain"]
    assert "Korrigerande åtgärd MLT-IA1-F9-A1" in text
    assert "Senast: 1998-12-29 (48 dagar försenad)" in text  # an overdue item gives its date
    assert "Att göra: Genomför åtgärden och registrera den som avslutad, med underlag." in text
    [ekt] = inbox.to(data_coordinator("EKT")["email"])
    assert "Intern revision ska göras" in parts(ekt)["text/plain"]

    central = data_coordinator("KMV")  # KMV's coordinator is the first committee member
    digests = [m for m in inbox.to(central["email"]) if "sammanställning" in str(m["Subject"])]
    assert len(digests) == 0  # the blocked network has no central coordinator: no digest
    assert "the network has no central coordinator" in " ".join(queued.skipped)
    assert all(e[0] == "altea@hackefors.example.se" for e in inbox.envelopes)
    # Replies reach the operator, since the network has no central coordinator to answer them.
    assert {str(m["Reply-To"]) for m in inbox.messages} == {"konsult@altea.example.se"}
    assert {(m["From"].addresses[0].display_name, m["From"].addresses[0].addr_spec) for m in inbox.messages} \
        == {("Altea AB för Hackefors Miljögrupp (blocked variant)", "altea@hackefors.example.se")}


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
    assert ("! Söderköpings Trafik AB: Corrective action SKT-OLD-A (by 2025-11-01, overdue by 49 days)"
            in text)
    # Counts first: the company with the escalated item heads the table.
    table = text[text.index("At a glance"):text.index("Escalated:")].splitlines()
    counts = [tuple(int(n) for n in row.split()[-3:]) for row in table[2:-2]]
    assert "  Söderköpings Trafik AB                  3           3           3" in table
    assert counts == sorted(counts, key=lambda c: (-c[2], -c[1], -c[0])) and len(counts) == 3
    assert table[-2].split() == ["All", "companies", *(str(sum(c[i] for c in counts)) for i in range(3))]
    [vtr] = inbox.to(data_coordinator("VTR", "small")["email"])  # its review is due 2026-01-11
    assert vtr["Subject"] == "Valdemarsviks Tryck AB: 3 items to act on"
    assert vtr["Reply-To"] == central["email"]  # the central coordinator answers the coordinators
    [calendar] = [p for p in vtr.walk() if p.get_content_type() == "text/calendar"]
    assert calendar.get_content_charset() == "utf-8"
    ics = calendar.get_content()
    assert "BEGIN:VEVENT" in ics and "SUMMARY:Management review\\, Valdemarsviks Tryck AB" in ics
    assert "DTSTART;VALUE=DATE:20260111" in ics and "DTEND;VALUE=DATE:20260112" in ics
    assert "UID:ostgota-small-review-VTR-after-2025-01-11@hackefors" in ics
    assert "Management review due" in parts(vtr)["text/plain"]


def test_every_calendar_part_is_utf8_and_no_text_part_is_html_escaped(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both networks, in a season with reviews, an external audit visit and names with '&' and
    'ö': what a coordinator's mail program decodes."""
    data = example_data("blocked")
    data["external_audits"] = [{
        "id": "ST2-VISIT", "kind": "stage2", "start": "1999-03-10", "end": "1999-03-12",
        "certification_body": "Norrköpings Certifiering & Revision AB", "lead_auditor": "Örjan Åberg",
        "companies_visited": ["LBY", "KMV"]}]
    save(build(data))
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        plan_reminders("hackefors-blocked", HACKEFORS_AS_OF, queue=True)
        plan_reminders("ostgota-small", REVIEW_SEASON, queue=True)
        deliver_queued()
    calendars = [p for m in inbox.messages for p in m.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendars) >= 3  # two audit visits and the small network's review
    for part in calendars:
        assert part.get_content_charset() == "utf-8"
        assert part.get_param("method") == "PUBLISH"
    texts = [p.get_content() for m in inbox.messages for p in m.walk()
             if p.get_content_type() == "text/plain"]
    assert len(texts) == len(inbox.messages)
    assert not [t for t in texts if "&amp;" in t or "&lt;" in t or "&#" in t]
    [lby] = inbox.to(data_coordinator("LBY")["email"])
    [visit] = [p.get_content() for p in lby.walk() if p.get_content_type() == "text/calendar"]
    assert "SUMMARY:Steg 2-revision (Norrköpings Certifiering & Revision AB) besöker Lindbergs Bygg & Mont" \
        in visit.replace("\r\n ", "")
    assert "UID:hackefors-blocked-ST2-VISIT-LBY@hackefors" in visit


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
    first = Path(result.written[0])  # one folder per network
    assert first.parent == store / "out" / "outbox" / "ostgota-small"
    assert first.read_bytes().startswith(b"Subject:")


def test_html_in_a_company_name_is_escaped() -> None:
    from models.reminders import Kind, ReminderItem, text

    item = ReminderItem(key="k", kind=Kind.CORRECTIVE_ACTION, company="X",
                        title=text("corrective_action", action="<i>A1</i>"), action=text("training_action"),
                        lines=(text("management_review_last", date="<script>alert(1)</script>"),))
    message = compose_reminder(envelope("en"), "X", "<b>Bygg</b> & Co", [item], REVIEW_SEASON)
    html = parts(message)["text/html"]
    assert "&lt;b&gt;Bygg&lt;/b&gt; &amp; Co" in html and "<b>Bygg</b>" not in html
    assert "&lt;script&gt;" in html and "<script>" not in html and "&lt;i&gt;A1" in html
    assert "<b>Bygg</b> & Co" in parts(message)["text/plain"]  # plain text is not HTML


def envelope(lang: str, name: str = "Anna", address: str = "anna@x.example.se") -> Envelope:
    return Envelope(network_id="n", network="Nät", operator="Altea", recipient_name=name,
                    recipient_email=address, lang=lang, letterhead=Letterhead(mail_from="a@x.example.se"))


@pytest.mark.parametrize("name,address", [("Anna\r\nBcc: evil@example.com", "anna@x.example.se"),
                                          ("Anna", "anna@x.example.se\nBcc: evil@example.com")])
def test_a_header_injection_attempt_is_refused(name: str, address: str) -> None:
    with pytest.raises(HeaderInjection, match="line break"):
        compose_reminder(envelope("en", name, address), "c", "Co", [], REVIEW_SEASON)


def test_a_header_injection_through_a_network_file_is_refused_on_import() -> None:
    from pydantic import ValidationError

    data = example_data("small")
    data["companies"][0]["coordinator"]["name"] = "Malin\r\nBcc: evil@example.com"
    with pytest.raises(ValidationError, match="single line"):
        build(data)
