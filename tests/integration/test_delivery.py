"""Delivery against a fault-injecting SMTP server, on SQLite and PostgreSQL: each message once, a
refused one alone, claims that concurrent senders never share, a queue race that is no crash."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select

from adapters.db import reset_engines
from adapters.mail import Letterhead, Mailer
from adapters.settings import get_settings, reset_settings
from models.tables import OutboxRow
from services import reminders
from services.reminders import DeliveryResult
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import (
    HACKEFORS_AS_OF,
    build,
    example_data,
    inspect_store,
    postgres_database,
    save,
    sqlite_template,
    use_store,
)
from tests.smtp import Inbox, SmtpServer

# Fault-injecting SMTP servers and several senders per case: seconds each, so not in `make test-fast`.
pytestmark = pytest.mark.slow

# The two Hackefors networks queue 41 messages as of this date: 20 (blocked) and 21.
NETWORKS = ("hackefors-blocked", "hackefors")
FAST = dict(first_retry=timedelta(milliseconds=20))


def queue_the_hackefors_networks(engine: Engine) -> int:
    """Import the two Hackefors networks into `engine` and queue their reminders; how many."""
    for name in ("blocked", "hackefors"):
        save(build(example_data(name)), engine)
    return sum(len(reminders.plan_reminders(SqlAlchemyUnitOfWork(engine), n, HACKEFORS_AS_OF, queue=True,
                                            letterhead=Letterhead(mail_from="altea@hackefors.example.se")).messages)
               for n in NETWORKS)


@pytest.fixture(scope="session")
def queued_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A SQLite store with the reminders queued, made once; each test copies it."""
    path = tmp_path_factory.mktemp("queued") / "store.sqlite3"
    shutil.copyfile(sqlite_template(), path)
    engine = create_engine(f"sqlite:///{path}")
    count = queue_the_hackefors_networks(engine)
    engine.dispose()
    return path, count


@pytest.fixture(scope="session")
def queued_postgres(postgres_template: str) -> Iterator[tuple[str, int]]:
    """A PostgreSQL database with the reminders queued, made once; each test's database copies it."""
    with postgres_database(postgres_template) as engine:
        count = queue_the_hackefors_networks(engine)
        engine.dispose()
        yield str(engine.url.database), count


@pytest.fixture(params=["sqlite", "postgres"])
def queued(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    """The configured store (SQLite, then PostgreSQL) holds the Hackefors networks' reminders, queued;
    how many."""
    use_store(monkeypatch, tmp_path)
    if request.param == "sqlite":
        path, count = request.getfixturevalue("queued_sqlite")
        shutil.copyfile(path, tmp_path / "data" / "hackefors.sqlite3")
        yield count
    else:
        template, count = request.getfixturevalue("queued_postgres")
        with postgres_database(template) as engine:
            monkeypatch.setenv("HACKEFORS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
            reset_settings()
            reset_engines()
            yield count
            reset_engines()
    reset_engines()
    reset_settings()


def use_smtp(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("HACKEFORS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HACKEFORS_SMTP_PORT", str(port))
    monkeypatch.setenv("HACKEFORS_SMTP_SECURITY", "none")
    reset_settings()


def deliver(owner: str | None = None) -> DeliveryResult:
    settings = get_settings()
    return reminders.deliver_queued(SqlAlchemyUnitOfWork(), Mailer(settings, settings.output_dir / "outbox"),
                                    owner=owner, **FAST)


def statuses() -> dict[str, int]:
    with inspect_store() as session:
        found: dict[str, int] = {}
        for status in session.scalars(select(OutboxRow.status)):
            found[status] = found.get(status, 0) + 1
        return found


def lone_recipient() -> str:
    """A recipient of exactly one queued message (some coordinators serve both networks)."""
    with inspect_store() as session:
        recipients = list(session.scalars(select(OutboxRow.recipient).order_by(OutboxRow.id)))
    return next(r for r in recipients if recipients.count(r) == 1)


def test_one_refused_recipient_leaves_every_other_message_delivered_in_the_same_run(
        queued: int, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = lone_recipient()
    inbox = Inbox(reject={refused: f"550 5.1.1 <{refused}>: mailbox unavailable"})
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        first = deliver()
        again = deliver()
    assert queued == 41 and first.sent == len(inbox.messages) == 40
    assert max(inbox.copies().values()) == 1
    assert first.undeliverable == [f"{refused}: 550 5.1.1 <{refused}>: mailbox unavailable"]
    assert statuses() == {"sent": 40, "undeliverable": 1}
    assert again.sent == 0 and inbox.rejected == [refused]  # refused for good: never tried again


def test_refusals_for_now_and_cut_connections_are_retried_and_each_message_arrives_once(
        queued: int, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox(fail_first=3, drop_first=2, delay=0.01)
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        result = deliver()
    assert (inbox.refused, inbox.dropped) == (3, 2)
    assert result.sent == len(inbox.messages) == queued and result.deferred == 0
    assert set(inbox.copies().values()) == {1}
    assert statuses() == {"sent": queued}


def test_a_message_kept_by_the_server_whose_answer_is_lost_arrives_twice_at_most(
        queued: int, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox(store_then_drop=1)
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        result = deliver()
    copies = inbox.copies()
    assert len(copies) == result.sent == queued
    assert sorted(copies.values())[-2:] == [1, 2]  # the one whose 250 never came was sent again


def test_four_senders_at_once_deliver_each_message_exactly_once(
        queued: int, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = Inbox(delay=0.05)
    results: list[DeliveryResult] = []
    with SmtpServer(inbox) as server:
        use_smtp(monkeypatch, server.port)
        senders = [threading.Thread(target=lambda i=i: results.append(deliver(owner=f"sender-{i}")))
                   for i in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    assert set(inbox.copies().values()) == {1} and len(inbox.messages) == queued
    assert len(results) == 4 and sum(r.sent for r in results) == queued
    assert sorted(r.sent for r in results) != [0, 0, 0, queued]  # they shared the work


def test_a_claim_is_exclusive_until_its_lease_expires(queued: int) -> None:
    now = datetime.now(UTC)
    uow = SqlAlchemyUnitOfWork()
    with uow:
        first = uow.outbox.claim_next("a", now, now + timedelta(minutes=5))
        uow.commit()
    claimed: list[int] = []
    for owner in ("b", "c"):
        with uow:
            while (message := uow.outbox.claim_next(owner, now, now + timedelta(minutes=5))) is not None:
                claimed.append(message.id)
            uow.commit()
    assert first is not None and first.id not in claimed and len(claimed) == queued - 1
    later = now + timedelta(minutes=6)
    with uow:
        again = uow.outbox.claim_next("d", later, later + timedelta(minutes=5))
    assert again is not None and again.attempts == 2  # every expired lease is claimable: the oldest first


def test_a_message_another_run_is_queueing_counts_as_already_queued_never_a_crash(queued: int) -> None:
    # One run holds its queueing transaction open; another queues the same message meanwhile: it
    # waits for the first to commit and finds the message there (PostgreSQL raised a raw
    # IntegrityError on uq_outbox_idempotency_key here).
    def queue_again() -> None:
        uow = SqlAlchemyUnitOfWork()
        with uow:
            outcome.append(uow.outbox.add(KEY, "hackefors", "a@x.se", "s", b"m", DAY, datetime.now(UTC), []))
            uow.commit()

    outcome: list[int | None] = []
    first = SqlAlchemyUnitOfWork()
    with first:
        assert first.outbox.add(KEY, "hackefors", "a@x.se", "s", b"m", DAY, datetime.now(UTC), []) is not None
        other = threading.Thread(target=queue_again)
        other.start()
        other.join(1)
        assert other.is_alive()  # waiting for the first run's transaction
        first.commit()
    other.join(30)
    assert outcome == [None]
    assert statuses() == {"queued": queued + 1}


KEY, DAY = "race/key", date(1999, 2, 16)


def test_the_outbox_command_shows_retries_and_drops_a_stuck_message(
        queued: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.integration.test_cli import run

    refused = lone_recipient()
    with SmtpServer(Inbox(reject={refused: "550 5.1.1 [no such] mailbox"})) as server:
        use_smtp(monkeypatch, server.port)
        deliver()
    capsys.readouterr()
    assert run("outbox", "list") == 0
    out = capsys.readouterr().out
    assert refused in out and "undeliverable" in out and "550 5.1.1 [no such] mailbox" in out
    [stuck] = [e for e in out.splitlines() if refused in e]
    stuck_id = stuck.split()[0]
    assert f"{stuck_id}  undeliverable  " in stuck
    assert run("outbox", "retry", stuck_id) == 0
    assert "Queued 1 email(s) again" in capsys.readouterr().out
    assert statuses() == {"sent": queued - 1, "queued": 1}
    assert run("outbox", "drop", stuck_id, "--reason", "left the company") == 0
    assert f"Dropped 1 email(s): {stuck_id} to {refused}" in capsys.readouterr().out
    assert run("outbox", "list") == 0 and "Nothing waiting" in capsys.readouterr().out
    assert run("outbox", "list", "--all") == 0 and "dropped" in capsys.readouterr().out
    assert run("outbox", "drop", "9999", "--reason", "x") == 2
    assert "no message 9999 in the outbox" in capsys.readouterr().err
    assert run("outbox", "retry") == 2  # neither ids nor --all
