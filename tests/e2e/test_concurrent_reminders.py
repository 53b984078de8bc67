"""`hackefors remind` as separate processes at once, against a fault-injecting SMTP server, on SQLite
and PostgreSQL: each message arrives once, a refused recipient holds no one up, the counts add up,
and a sender killed mid-delivery costs at most one duplicate."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL
from sqlalchemy import Engine, func, select

from adapters.db import reset_engines
from adapters.mail import Letterhead
from adapters.settings import reset_settings
from models.tables import OutboxRow
from services import reminders
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import HACKEFORS_AS_OF, build, example_data, inspect_store, save, use_store
from tests.smtp import Inbox, SmtpServer

pytestmark = pytest.mark.e2e
HACKEFORS = Path(sys.executable).parent / "hackefors"
NETWORKS = ("hackefors-blocked", "hackefors")  # 41 reminders as of 1999-02-15: 20 and 21


@dataclass
class Store:
    """Where the processes find the store: their environment, and the expected message count."""

    env: dict[str, str]
    expected: int
    recipients: list[str]


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, prefect_api: None, monkeypatch: pytest.MonkeyPatch,
                 tmp_path: Path) -> Iterator[Store]:
    """The Hackefors networks, nothing queued yet, in a store on SQLite, then on PostgreSQL."""
    use_store(monkeypatch, tmp_path)
    env = {**os.environ, "HACKEFORS_DATA_DIR": str(tmp_path / "data"),
           "HACKEFORS_OUTPUT_DIR": str(tmp_path / "out"), "PREFECT_API_URL": str(PREFECT_API_URL.value()),
           "HACKEFORS_MAIL_FROM": "altea@hackefors.example.se"}
    env.pop("HACKEFORS_DATABASE_URL", None)
    if request.param == "postgres":
        engine: Engine = request.getfixturevalue("postgres_engine")
        url = engine.url.render_as_string(hide_password=False)
        env["HACKEFORS_DATABASE_URL"] = url
        monkeypatch.setenv("HACKEFORS_DATABASE_URL", url)
        reset_settings()
        reset_engines()
    for name in ("blocked", "hackefors"):
        save(build(example_data(name)))
    planned = [m.recipient for n in NETWORKS for m in reminders.plan_reminders(
        SqlAlchemyUnitOfWork(), n, HACKEFORS_AS_OF, queue=False,
        letterhead=Letterhead(mail_from="x@y.se")).messages]
    yield Store(env=env, expected=len(planned), recipients=[re.sub(r".*<|>$", "", r) for r in planned])
    reset_engines()
    reset_settings()


def remind(store: Store, port: int, **settings: str) -> subprocess.Popen[str]:
    """Start `hackefors remind` for the Hackefors date with the test server as SMTP server."""
    env = {**store.env, "HACKEFORS_SMTP_HOST": "127.0.0.1", "HACKEFORS_SMTP_PORT": str(port),
           "HACKEFORS_SMTP_SECURITY": "none", "HACKEFORS_SMTP_RETRY_DELAY": "0.05",
           **{f"HACKEFORS_{k.upper()}": v for k, v in settings.items()}}
    return subprocess.Popen([str(HACKEFORS), "remind", "--as-of", HACKEFORS_AS_OF.isoformat()], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def sent_counts(outputs: list[str]) -> list[int]:
    """The N of each process's "Sent N email(s)"."""
    return [int(m) for out in outputs for m in re.findall(r"Sent (\d+) email", out)]


def outbox_statuses() -> dict[str, int]:
    with inspect_store() as session:
        return dict(session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all())


def lone(recipients: list[str]) -> str:
    return next(r for r in recipients if recipients.count(r) == 1)


def test_three_remind_processes_at_once_deliver_each_message_exactly_once(shared_store: Store) -> None:
    refused = lone(shared_store.recipients)
    inbox = Inbox(delay=0.1, fail_first=3, drop_first=2, reject={refused: "550 5.1.1 mailbox unavailable"})
    with SmtpServer(inbox) as server:
        processes = [remind(shared_store, server.port) for _ in range(3)]
        results = [finish(p) for p in processes]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    copies = inbox.copies()
    assert len(copies) == shared_store.expected - 1 == 40 and set(copies.values()) == {1}
    assert inbox.rejected == [refused]
    assert sum(sent_counts([out for _, out, _ in results])) == 40  # each "Sent N" is right
    assert sum(refused in err for _, _, err in results) == 1  # the process that met it says so
    assert outbox_statuses() == {"sent": 40, "undeliverable": 1}


def test_a_sender_killed_after_the_server_kept_a_message_costs_at_most_one_duplicate(
        shared_store: Store) -> None:
    # The server kills the sender after keeping its 10th message and before answering: the worst
    # moment. Its claim expires after the lease (2 s here); the next run sends that message again.
    victim: list[subprocess.Popen[str]] = []
    inbox = Inbox(delay=0.02, after_storing=lambda n: n == 10 and os.kill(victim[0].pid, signal.SIGKILL))
    with SmtpServer(inbox) as server:
        victim.append(remind(shared_store, server.port, outbox_lease_seconds="2"))
        code, _, _ = finish(victim[0])
        assert code == -signal.SIGKILL and len(inbox.messages) == 10
        assert outbox_statuses() == {"queued": 31, "sending": 1, "sent": 9}
        time.sleep(2)
        code, out, err = finish(remind(shared_store, server.port, outbox_lease_seconds="2"))
    assert code == 0, err
    copies = inbox.copies()
    assert len(copies) == shared_store.expected
    assert sorted(copies.values())[-2:] == [1, 2]  # the 10th, whose acceptance was never recorded
    assert sent_counts([out]) == [32] and outbox_statuses() == {"sent": 41}
