"""Benchmark: the coordinator's "What we must do" page for the 26-company Hackefors network.

    .venv/bin/python benchmarks/portal_todo.py [--requests 50] [--company KMV]

Imports examples/hackefors.yaml into a fresh SQLite store (a temporary folder), invites the
company's coordinator, starts `hackefors portal` (one worker) on a free port as of 1999-02-15,
signs in with the link and asks for the to-do page `--requests` times, one after another, over
HTTP. Reports the median, 90th percentile, fastest and slowest answer; the target is a median under
200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import against, banner, closing  # noqa: E402
from benchmarks.portal_load import Portal  # noqa: E402

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
    portal = Portal("sqlite", workers=1, company=args.company)  # signed in as the company's coordinator
    try:
        timings = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = portal.client.get(portal.todo)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200 and response.url.path == portal.todo, response.url
    finally:
        portal.stop()
    ordered = sorted(timings)
    median = statistics.median(ordered)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    print(f"to-do page of {args.company} in network hackefors (26 companies), {args.requests} sequential "
          "requests over HTTP, SQLite:")
    print(f"  median {against(median, TARGET_MS, 'ms')}, 90th percentile {p90:.0f} ms, fastest "
          f"{ordered[0]:.0f} ms, slowest {ordered[-1]:.0f} ms")
    closing()


if __name__ == "__main__":
    main()
