"""Benchmark: every gate for a portfolio at the seed's scale, with the rules alone and through Prefect.

    .venv/bin/python benchmarks/portfolio.py [--networks 24] [--companies 450] [--employees 20000]

It reports (1) the rules alone, without Prefect: wall time and peak memory; (2) certify_network
for every network against an already running Prefect server (started here with
`prefect server start` on a free loopback port): wall time, flow runs and task runs; and (3) a bare
skeleton of the same flows, subflows and tasks doing nothing, in the same run and server.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from examples.generate import ASPECTS, build_network  # noqa: E402

AS_OF = date(1999, 2, 15)
SECTORS = list(ASPECTS)


def portfolio(networks: int, companies: int, employees: int, seed: int = 7) -> list[dict[str, Any]]:
    """Networks as network-file data: ~10 training records per employee, 3 internal audits per
    company in the last year, and a few blockers so that both outcomes are exercised."""
    rng = random.Random(seed)
    per_company, extra = divmod(employees, companies)
    out, index = [], 0
    for n in range(networks):
        count = companies // networks + (1 if n < companies % networks else 0)
        rows = []
        for i in range(count):
            personnel = per_company + (1 if index < extra else 0)
            index += 1
            rows.append((f"N{n:02d}C{i:02d}", f"Företag {n:02d}-{i:02d} AB", rng.choice(SECTORS),
                         personnel, rng.choice(["high", "medium", "low"])))
        data = build_network(f"net-{n:02d}", f"Miljönätverk {n:02d}", rows, date(1995, 5, 1),
                             date(1997, 2, 1), AS_OF, seed + n)
        refreshers = []
        for s in data["training_sessions"]:  # a refresher round doubles the training records
            refreshers.append({**s, "id": f"R{s['id']}", "date": s["date"] + timedelta(days=200),
                               "hours": 2.0})
        data["training_sessions"] += refreshers
        for c in data["companies"]:
            while len(c["internal_audits"]) < 3:
                k = len(c["internal_audits"]) + 1
                c["internal_audits"].append({"id": f"{c['id']}-IA{k}", "auditor": "Altea",
                                             "date": AS_OF - timedelta(days=30 + 100 * k),
                                             "findings": []})
        if n % 4 == 3:  # every fourth network is blocked: an open major at its first company
            data["companies"][0]["internal_audits"][0]["findings"].append(
                {"id": f"BLOCK-{n}", "grade": "major", "clause": "8.2", "description": "Open major"})
        out.append(data)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--networks", type=int, default=24)
    parser.add_argument("--companies", type=int, default=450)
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--skip-flows", action="store_true", help="only the rules")
    args = parser.parse_args()

    from models.gates import CERTIFICATION_GATES, evaluate_gate
    from models.network import Network

    t0 = time.perf_counter()
    data = portfolio(args.networks, args.companies, args.employees)
    networks = [Network.model_validate(d) for d in data]
    built = time.perf_counter() - t0
    n_emp = sum(len(c.employees) for n in networks for c in n.companies)
    n_rec = sum(len(s.attendees) for n in networks for s in n.training_sessions)
    n_audits = sum(len(c.internal_audits) for n in networks for c in n.companies)
    n_companies = sum(len(n.companies) for n in networks)
    print(f"portfolio: {len(networks)} networks, {n_companies} companies, {n_emp} employees, "
          f"{n_rec} training records, {n_audits} internal audits (built in {built:.1f} s)")

    def rules() -> int:
        return sum(evaluate_gate(stage, n, AS_OF).passed for n in networks for stage in CERTIFICATION_GATES)

    t0 = time.perf_counter()
    passed = rules()
    rules_s = time.perf_counter() - t0
    tracemalloc.start()
    rules()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rules alone: {rules_s:.2f} s for {len(networks) * len(CERTIFICATION_GATES)} gates "
          f"({passed} passed); peak traced memory of the evaluation {peak / 2**20:.0f} MiB; "
          f"process peak RSS so far {rss:.0f} MiB (portfolio models included)")
    if args.skip_flows:
        return

    work = Path(tempfile.mkdtemp(prefix="hackefors-bench-"))
    os.environ.update(HACKEFORS_DATA_DIR=str(work / "data"), HACKEFORS_OUTPUT_DIR=str(work / "out"),
                      PREFECT_HOME=str(work / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      DO_NOT_TRACK="1")
    from tasks.db import transaction
    from tasks.store import save_network

    t0 = time.perf_counter()
    with transaction() as session:
        for network in networks:
            save_network(session, network, actor="benchmark")
    print(f"store: imported the portfolio into SQLite in {time.perf_counter() - t0:.1f} s")

    from deployments.server import start_server, stop

    server, url = start_server(work / "prefect")
    os.environ["PREFECT_API_URL"] = url
    try:
        run_flows([n.id for n in networks])
    finally:
        stop(server)


def run_flows(network_ids: list[str]) -> None:
    from prefect import flow, task
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.certify_network import STAGES, certify_network
    from flows.inputs import SignOff

    approved = SignOff(approve=True, decided_by="benchmark")

    # The skeleton: the same shape and names (parent, six stage subflows with an evaluate and a
    # record task each, the decision subflow with three tasks, a publishing task in the parent),
    # doing nothing. Distinct inputs per call, as ours have, so Prefect's input cache never hits.
    @task(task_run_name="{step}-{stage}-{network}")
    def nothing(network: str, stage: str, step: str) -> None:
        return None

    def stage_flow(name: str, steps: tuple[str, ...]):  # type: ignore[no-untyped-def]
        def body(network: str, as_of: date, run_id: str) -> None:
            for step in steps:
                nothing(network, name, step)
        # A subflow call leaves a wrapper task run named after the function: mark it as skeleton.
        body.__name__ = body.__qualname__ = f"skeleton_{name.replace('-', '_')}"
        return flow(name=f"skeleton-{name}", flow_run_name=f"skeleton-{name}-{{network}}")(body)

    skeleton_stages = [stage_flow(s.name, ("evaluate", "record")) for s in STAGES]
    skeleton_decision = stage_flow("decide-certification", ("decide", "record", "issue"))

    @flow(name="skeleton-certify", flow_run_name="skeleton-certify-{network}")
    def skeleton(network: str, as_of: date) -> None:
        for stage in skeleton_stages:
            stage(network=network, as_of=as_of, run_id="x", return_state=True)
        skeleton_decision(network=network, as_of=as_of, run_id="x", return_state=True)
        nothing(network, "certify", "publish")

    def count(kind: str, name_like: str) -> int:
        # Task runs reach the API through events, so counts lag: poll until they settle.
        body = {"task_runs": {"name": {"like_": name_like}}} if kind == "task_runs" else \
            {"flows": {"name": {"like_": name_like}}}
        last = -1
        with get_client(sync_client=True) as client:
            while True:
                value = int(client._client.post(f"/{kind}/count", json=body).json())
                if value == last:
                    return value
                last = value
                time.sleep(2)

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        skeleton(network="warm-up", as_of=AS_OF)  # first-use costs (flow registration) out of the way
        certify_network(network=network_ids[0], as_of=AS_OF, sign_off=approved, report=False,
                        return_state=True)
        # Skeleton task runs are named after the skeleton's flows or contain "-skeleton-";
        # every subflow call also leaves a wrapper task run named after the subflow.
        keys = (("flow_runs", "skeleton"), ("task_runs", "skeleton"), ("flow_runs", ""),
                ("task_runs", ""))
        before = {k: count(*k) for k in keys}
        # Interleaved network by network, in alternating order: the server's background work
        # after a run (events, logs, artifacts) slows whichever run comes next, so each variant
        # comes next equally often.
        wall = {"flows": 0.0, "skeleton": 0.0}
        done = {"flows": 0, "skeleton": 0}
        variants = [("skeleton", skeleton), ("flows", certify_network)]
        for i, network_id in enumerate(network_ids):
            for label, body in variants if i % 2 == 0 else variants[::-1]:
                # The gap report (PDF rendering) is not part of what the benchmark compares.
                extra = {"sign_off": approved, "report": False} if label == "flows" else {}
                start = time.perf_counter()
                name = f"skeleton-{network_id}" if label == "skeleton" else network_id
                state = body(network=name, as_of=AS_OF, return_state=True, **extra)
                wall[label] += time.perf_counter() - start
                done[label] += state.is_completed()
        after = {k: count(*k) for k in before}
    skel_flows = after[("flow_runs", "skeleton")] - before[("flow_runs", "skeleton")]
    skel_tasks = after[("task_runs", "skeleton")] - before[("task_runs", "skeleton")]
    all_flows = after[("flow_runs", "")] - before[("flow_runs", "")]
    all_tasks = after[("task_runs", "")] - before[("task_runs", "")]
    n = len(network_ids)
    print(f"through the flows: {wall['flows']:.1f} s for {n} networks ({done['flows']} certified), "
          f"{all_flows - skel_flows} flow runs, {all_tasks - skel_tasks} task runs (one per subflow call "
          "among them)")
    print(f"bare skeleton:     {wall['skeleton']:.1f} s for {n} networks, {skel_flows} flow runs, "
          f"{skel_tasks} task runs")
    print(f"ratio flows / skeleton: {wall['flows'] / wall['skeleton']:.2f} (target <= 1.5); "
          "heartbeats off in both, as `hackefors run` does")


if __name__ == "__main__":
    main()
