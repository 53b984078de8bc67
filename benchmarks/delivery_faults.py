"""Fault battery of reminder delivery: messages expected, delivered and duplicated per fault case.

    .venv/bin/python benchmarks/delivery_faults.py [--processes 3] [--no-postgres]

Each case imports the two Hackefors networks (41 reminders as of 1999-02-15) into a fresh store,
starts a fault-injecting SMTP server (tests/smtp.py, aiosmtpd on loopback) and runs `hackefors
remind` as separate processes at once, all against one Prefect server started here. "delivered"
counts distinct messages the server kept, "duplicated" the extra copies. The crash case kills the
only sender (SIGKILL) right after the server kept its 10th message, before the answer reaches it,
waits for its lease (2 s here) and runs `hackefors remind` again. PostgreSQL cases use
HACKEFORS_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="hackefors-bench-prefect-"))

from tests.conftest import HACKEFORS_AS_OF, POSTGRES_URL, build, example_data  # noqa: E402
from tests.smtp import Inbox, SmtpServer  # noqa: E402

HACKEFORS = Path(sys.executable).parent / "hackefors"
NETWORKS = ("hackefors-blocked", "hackefors")


@contextmanager
def store(kind: str, folder: Path) -> Iterator[tuple[dict[str, str], list[str]]]:
    """A fresh store holding the Hackefors networks: the processes' environment and the recipients."""
    from sqlalchemy import create_engine, text

    from adapters.db import get_engine
    from adapters.mail import Letterhead
    from services.networks import import_network
    from services.reminders import plan_reminders
    from services.unit_of_work import SqlAlchemyUnitOfWork

    env = {**os.environ, "HACKEFORS_DATA_DIR": str(folder / "data"),
           "HACKEFORS_OUTPUT_DIR": str(folder / "out"), "HACKEFORS_MAIL_FROM": "altea@hackefors.example.se"}
    admin, name = None, f"hk_bench_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    if kind == "postgres":
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        env["HACKEFORS_DATABASE_URL"] = admin.url.set(database=name).render_as_string(hide_password=False)
        url = env["HACKEFORS_DATABASE_URL"]
    else:
        url = f"sqlite:///{folder / 'data' / 'hackefors.sqlite3'}"
        (folder / "data").mkdir(parents=True)
    engine = get_engine(url)
    for example in ("blocked", "hackefors"):
        import_network(SqlAlchemyUnitOfWork(engine), build(example_data(example)), "bench")
    recipients = [re.sub(r".*<|>$", "", m.recipient) for n in NETWORKS for m in plan_reminders(
        SqlAlchemyUnitOfWork(engine), n, HACKEFORS_AS_OF, queue=False,
        letterhead=Letterhead(mail_from="x@y.se")).messages]
    engine.dispose()
    try:
        yield env, recipients
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()


def remind(env: dict[str, str], port: int, **settings: str) -> subprocess.Popen[str]:
    env = {**env, "HACKEFORS_SMTP_HOST": "127.0.0.1", "HACKEFORS_SMTP_PORT": str(port),
           "HACKEFORS_SMTP_SECURITY": "none", **{f"HACKEFORS_{k.upper()}": v for k, v in settings.items()}}
    return subprocess.Popen([str(HACKEFORS), "remind", "--as-of", HACKEFORS_AS_OF.isoformat()], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_at_once(env: dict[str, str], inbox: Inbox, processes: int) -> list[int]:
    """Start the senders together; each one's "Sent N"."""
    with SmtpServer(inbox) as server:
        started = [remind(env, server.port) for _ in range(processes)]
        outputs = [p.communicate(timeout=600) for p in started]
    for process, (_, err) in zip(started, outputs, strict=True):
        if process.returncode != 0:
            raise SystemExit(f"hackefors remind exited {process.returncode}: {err}")
    return [int(n) for out, _ in outputs for n in re.findall(r"Sent (\d+) email", out)]


def crash_and_rerun(env: dict[str, str], inbox: Inbox) -> list[int]:
    victim: list[subprocess.Popen[str]] = []
    inbox.after_storing = lambda n: n == 10 and os.kill(victim[0].pid, signal.SIGKILL)
    with SmtpServer(inbox) as server:
        victim.append(remind(env, server.port, outbox_lease_seconds="2"))
        victim[0].communicate(timeout=600)
        time.sleep(2)
        again = remind(env, server.port, outbox_lease_seconds="2")
        out, _ = again.communicate(timeout=600)
    return [int(n) for n in re.findall(r"Sent (\d+) email", out)]


CASES: dict[str, Callable[[list[str]], Inbox]] = {
    "accept": lambda _: Inbox(),
    "delay 0.3 s per message": lambda _: Inbox(delay=0.3),
    "451 to the first 5 messages": lambda _: Inbox(fail_first=5),
    "550 for one address": lambda r: Inbox(reject={next(a for a in r if r.count(a) == 1): "550 5.1.1 no"}),
    "connection cut mid-DATA, 3 times": lambda _: Inbox(drop_first=3),
    "kept, then connection cut, 2 times": lambda _: Inbox(store_then_drop=2),
    "sender killed after the server kept a message": lambda _: Inbox(delay=0.02),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    from deployments.server import start_server, stop

    home = Path(tempfile.mkdtemp(prefix="hackefors-bench-server-"))
    server, api = start_server(home)
    os.environ["PREFECT_API_URL"] = api
    print('| store | fault | senders | expected | delivered | duplicated | undeliverable | sum of "Sent N" |')
    print("|---|---|---|---|---|---|---|---|")
    try:
        for kind in ("sqlite",) + (() if args.no_postgres else ("postgres",)):
            for case, make in CASES.items():
                with tempfile.TemporaryDirectory() as folder, store(kind, Path(folder)) as (env, recipients):
                    inbox = make(recipients)
                    crash = case.startswith("sender killed")
                    sent = crash_and_rerun(env, inbox) if crash else run_at_once(env, inbox, args.processes)
                    copies = inbox.copies()
                    senders = "1, then 1" if crash else args.processes
                    print(f"| {kind} | {case} | {senders} | {len(recipients)} | {len(copies)} "
                          f"| {sum(copies.values()) - len(copies)} | {len(inbox.rejected)} | {sum(sent)} |",
                          flush=True)
    finally:
        stop(server)


if __name__ == "__main__":
    main()
