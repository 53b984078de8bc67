"""Benchmark: the coordinator's "What we must do" page for the 26-company Hackefors network.

    .venv/bin/python benchmarks/portal_todo.py [--requests 50] [--company KMV]

Imports examples/hackefors.yaml into a fresh SQLite store (a temporary folder), invites the
company's coordinator, starts `hackefors portal` on a free port of 8100-8119 as of 1999-02-15,
signs in with the link and asks for the to-do page `--requests` times, one after another, over
HTTP. Reports the median, 90th percentile, fastest and slowest answer; the target is a median under
200 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import against, banner, closing  # noqa: E402
from deployments.server import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HACKEFORS = Path(sys.executable).parent / "hackefors"
NETWORK = "hackefors"
AS_OF = "1999-02-15"
TARGET_MS = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--company", default="KMV")
    parser.add_argument("--smoke", action="store_true", help="three requests: checks the benchmark runs")
    args = parser.parse_args()
    if args.smoke:
        args.requests = 3
    banner("the to-do page over HTTP" + (" (smoke)" if args.smoke else ""))
    folder = Path(tempfile.mkdtemp(prefix="hackefors-bench-portal-"))
    port = free_port(range(8100, 8120))
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HACKEFORS_DATA_DIR": str(folder / "data"),
           "HACKEFORS_OUTPUT_DIR": str(folder / "out"), "HACKEFORS_PUBLIC_URL": url,
           "HACKEFORS_PORTAL_AS_OF": AS_OF, "PREFECT_HOME": str(folder / "prefect")}
    for inherited in ("HACKEFORS_DATABASE_URL", "PREFECT_API_URL", "HACKEFORS_SMTP_HOST"):
        env.pop(inherited, None)

    def run(*command: str) -> str:
        return subprocess.run([str(HACKEFORS), *command], cwd=ROOT, env=env, check=True, capture_output=True,
                              text=True).stdout

    run("import", "examples/hackefors.yaml", "--as-of", AS_OF)
    link = run("invite", "coordinator@bench.example", "--role", "coordinator", "--network", NETWORK,
               "--company", args.company).split()[-1]
    server = subprocess.Popen([str(HACKEFORS), "portal", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=(folder / "portal.log").open("wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        with httpx.Client(base_url=url, timeout=60, follow_redirects=True) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/sign-in").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"the portal did not start; see {folder / 'portal.log'}")
                time.sleep(0.3)
            page = client.get(link.removeprefix(url))
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            signed_in = client.post(link.removeprefix(url), data={"csrf": csrf})
            todo = f"/networks/{NETWORK}/companies/{args.company}"
            # Signed in: the link leads to the company's page (in the network's language), not back
            # to the sign-in form.
            assert signed_in.status_code == 200 and signed_in.url.path == todo, signed_in.text[:500]
            timings = []
            for _ in range(args.requests):
                start = time.perf_counter()
                response = client.get(todo)
                timings.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200 and response.url.path == todo, response.url
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    ordered = sorted(timings)
    median = statistics.median(ordered)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    print(f"to-do page of {args.company} in network {NETWORK} (26 companies), {args.requests} sequential "
          "requests over HTTP, SQLite:")
    print(f"  median {against(median, TARGET_MS, 'ms')}, 90th percentile {p90:.0f} ms, fastest "
          f"{ordered[0]:.0f} ms, slowest {ordered[-1]:.0f} ms")
    closing()


if __name__ == "__main__":
    main()
