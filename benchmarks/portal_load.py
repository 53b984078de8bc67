"""Benchmark: the morning rush on the portal, with wrk: a coordinator's to-do page and one write
(adding an employee) at 1, 10 and 50 concurrent clients, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/portal_load.py [--db sqlite,postgres] [--clients 1,10,50]
                                               [--seconds 20] [--workers N] [--smoke]

For each store: imports the 26-company example (examples/hackefors.yaml) into a fresh store (a
temporary SQLite file, or a new database on HACKEFORS_TEST_POSTGRES_URL's server), invites KMV's
coordinator, starts `hackefors portal` (as of 1999-02-15, `--workers`, default one per core) on a
free port, signs in through the link and hands the session's cookies to wrk (Debian's `wrk`), which
asks for the to-do page, then posts new employees, for `--seconds` at each number of clients. Each
line: requests/s, p50/p95/p99, answers that were not 2xx (or, for the write, not its 303), 5xx
apart, and the load average, beside the targets: the page at 50 clients at least 150 requests/s
with p95 at most 300 ms and no non-2xx; writes at 50 clients at least 50/s with no 5xx.
`--smoke` runs each for 2 s at 1 and 5 clients on SQLite: it checks the benchmark runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import against, banner, closing, load_average  # noqa: E402
from deployments.server import free_port  # noqa: E402

HACKEFORS = Path(sys.executable).parent / "hackefors"
NETWORK, COMPANY, AS_OF = "hackefors", "KMV", "1999-02-15"
WRK = Path(__file__).parent / "wrk"
PAGE_RPS, PAGE_P95_MS, WRITES_PER_S = 150.0, 300.0, 50.0
POSTGRES = os.environ.get("HACKEFORS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_database() -> tuple[str, Any]:
    """A new, empty database on the test server: its URL and a function that drops it."""
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"hk_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return admin.url.set(database=name).render_as_string(hide_password=False), drop


class Portal:
    """`hackefors portal` on a fresh store with the example, and a coordinator signed in."""

    def __init__(self, store: str, workers: int | None, company: str = COMPANY) -> None:
        self.todo = f"/networks/{NETWORK}/companies/{company}"
        self.folder = Path(tempfile.mkdtemp(prefix="hackefors-bench-load-"))
        self.port = free_port()  # an ephemeral port: fixed ranges clash with other checkouts' tests
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "HACKEFORS_DATA_DIR": str(self.folder / "data"),
                    "HACKEFORS_OUTPUT_DIR": str(self.folder / "out"), "HACKEFORS_PUBLIC_URL": self.url,
                    "HACKEFORS_PORTAL_AS_OF": AS_OF, "PREFECT_HOME": str(self.folder / "prefect")}
        for inherited in ("HACKEFORS_DATABASE_URL", "PREFECT_API_URL", "HACKEFORS_SMTP_HOST"):
            self.env.pop(inherited, None)
        self.drop = None
        if store == "postgres":
            self.env["HACKEFORS_DATABASE_URL"], self.drop = postgres_database()
        self.run("import", "examples/hackefors.yaml", "--as-of", AS_OF)
        link = self.run("invite", "coordinator@bench.example", "--role", "coordinator", "--network",
                        NETWORK, "--company", company).split()[-1]
        command = [str(HACKEFORS), "portal", "--port", str(self.port)]
        if workers:
            command += ["--workers", str(workers)]
        log = (self.folder / "portal.log").open("wb")
        self.server = subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True, stdout=log,
                                       stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.url, timeout=60, follow_redirects=True)
        self.wait_until_up()
        page = self.client.get(link.removeprefix(self.url))
        signed_in = self.client.post(link.removeprefix(self.url), data={"csrf": self.csrf(page.text)})
        assert signed_in.url.path == self.todo, f"not signed in: {signed_in.status_code} {signed_in.text[-600:]}"  # noqa: E501
        assert self.server.poll() is None, f"the portal stopped; see {self.folder / 'portal.log'}"

    def run(self, *command: str) -> str:
        return subprocess.run([str(HACKEFORS), *command], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.server.poll() is None:
            try:
                if self.client.get("/sign-in").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        raise SystemExit(f"the portal did not start; see {self.folder / 'portal.log'}")

    @staticmethod
    def csrf(html: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found, "no CSRF field on the page"
        return found.group(1)

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())

    def write_body(self) -> str:
        return "csrf=" + self.csrf(self.client.get(self.todo + "/employees").text)

    def stop(self) -> None:
        self.client.close()
        os.killpg(self.server.pid, signal.SIGTERM)
        try:
            self.server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
        log = (self.folder / "portal.log").read_text(errors="replace")
        if "Traceback" in log:
            print(f"  the portal's log holds a traceback: {self.folder / 'portal.log'}")
        if self.drop:
            self.drop()


def wrk(url: str, clients: int, seconds: int, cookie: str, script: str,
        env: dict[str, str]) -> dict[str, Any]:
    threads = min(2, clients)
    done = subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s",
                           "-H", f"Cookie: {cookie}", "-s", str(WRK / script), url],
                          capture_output=True, text=True, env=env, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("{"))
    return dict(json.loads(line))


def measure(portal: Portal, clients: list[int], seconds: int) -> None:
    env = {**os.environ, "WRK_REPORT": str(WRK / "report.lua")}
    for label, script, path, good in (("to-do page", "report.lua", portal.todo, "ok"),
                                      ("add an employee", "write.lua", portal.todo + "/employees/add",
                                       "redirects")):
        if script == "write.lua":
            env["BODY_PREFIX"] = portal.write_body()
        for n in clients:
            r = wrk(portal.url + path, n, seconds, portal.cookie_header(), script, env)
            rps = r["requests"] / r["seconds"]
            bad = r["requests"] - r[good] + r["socket_errors"]
            figures = (f"{rps:7.1f} requests/s, p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, "
                       f"p99 {r['p99_ms']:.0f} ms, {bad} not {'2xx' if good == 'ok' else '303'} "
                       f"({r['server_errors']} 5xx); {load_average()}")
            print(f"  {label:16} {n:3} clients: {figures}", flush=True)
            if n == max(clients) and label == "to-do page":
                print(f"    targets at {n} clients: {against(rps, PAGE_RPS, 'requests/s', at_most=False)}; "
                      f"p95 {against(r['p95_ms'], PAGE_P95_MS, 'ms')}; non-2xx {bad} (target 0)")
            elif n == max(clients):
                print(f"    targets at {n} clients: {against(rps, WRITES_PER_S, 'writes/s', at_most=False)}; "
                      f"5xx {r['server_errors']} (target 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--smoke", action="store_true", help="2 s at 1 and 5 clients on SQLite")
    args = parser.parse_args()
    if args.smoke:
        args.db, args.clients, args.seconds = "sqlite", "1,5", 2
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    banner("the portal under load (wrk)" + (" (smoke)" if args.smoke else ""))
    for store in args.db.split(","):
        portal = Portal(store, args.workers)
        try:
            print(f"{store}: {NETWORK} (26 companies), signed in as {COMPANY}'s coordinator, "
                  f"{args.seconds} s per line, portal workers: {args.workers or 'default'}", flush=True)
            measure(portal, [int(n) for n in args.clients.split(",")], args.seconds)
        finally:
            portal.stop()
    closing()


if __name__ == "__main__":
    main()
