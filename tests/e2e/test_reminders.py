"""The send-reminders flow against a real SMTP server that fails at first."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.send_reminders import send_reminders
from tasks.settings import reset_settings
from tests.smtp import Inbox, SmtpServer, free_port

pytestmark = pytest.mark.e2e
AS_OF = date(2025, 12, 20)


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("HACKEFORS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HACKEFORS_SMTP_PORT", str(port))
    monkeypatch.setenv("HACKEFORS_SMTP_SECURITY", "none")
    reset_settings()


def test_a_server_failing_its_first_attempts_gets_every_reminder_exactly_once(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox(fail_first=2)
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        state = send_reminders(as_of=AS_OF, network="ostgota-small", return_state=True)
        assert state.is_completed(), state.message
        delivered = state.result()
        again = send_reminders(as_of=AS_OF, network="ostgota-small")
    assert inbox.refused == 2
    assert delivered.sent == len(inbox.messages) > 0
    subjects = [(str(m["To"]), str(m["Subject"])) for m in inbox.messages]
    assert len(subjects) == len(set(subjects))
    assert again.sent == 0


def test_a_server_down_for_a_whole_run_gets_everything_on_the_next_run(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    use_smtp(monkeypatch, port)
    down = send_reminders(as_of=AS_OF, network="ostgota-small", return_state=True)
    assert down.is_failed() and "stay queued" in (down.message or "")
    inbox = Inbox()
    with SmtpServer(inbox, port=port):
        later = send_reminders(as_of=date(2025, 12, 21), network="ostgota-small")
    assert later.sent == len(inbox.messages) > 0
