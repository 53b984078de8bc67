"""Benchmark: every gate for a portfolio at the seed's scale, with the rules alone and through Prefect.

    .venv/bin/python benchmarks/portfolio.py [--networks 24] [--companies 450] [--employees 20000]
                                             [--scale 10] [--skip-flows] [--smoke]

It reports (1) the rules alone, without Prefect: wall time and peak memory; (2) certify_network
for every network against an already running Prefect server (started here with
`prefect server start` on a free loopback port): wall time, flow runs and task runs; (3) a bare
skeleton of the same flows, subflows and tasks doing nothing, in the same run and server; (4)
check-portfolio over the same networks, same server, same run, and its time against (2); and (5)
check-portfolio alone over a portfolio `--scale` times larger (same size per network), in a process
of its own so that its peak memory is its own, next to the same measurement at the first scale,
and beside it the floor of that work in the same process: loading the networks and evaluating the
six certification gates, without Prefect and without writing. `--smoke` runs it all at a tiny size
(`make bench-smoke`, part of `make test`): the figures mean nothing, but a broken benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import against, banner, closing  # noqa: E402
from examples.generate import ASPECTS, build_network  # noqa: E402

AS_OF = date(1999, 2, 15)
# check-portfolio over the x10 portfolio (240 networks at the seed's scale), and against its floor.
TARGET_SCALED_SECONDS = 10.0
TARGET_FLOOR_RATIO = 1.5
SECTORS = list(ASPECTS)


def portfolio(networks: int, companies: int, employees: int, seed: int = 7) -> list[dict[str, Any]]:
    return list(portfolio_data(networks, companies, employees, seed))


def portfolio_data(networks: int, companies: int, employees: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Networks as network-file data, one at a time: ~10 training records per employee, 3 internal
    audits per company in the last year, and a few blockers so that both outcomes are exercised."""
    rng = random.Random(seed)
    per_company, extra = divmod(employees, companies)
    index = 0
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
        yield data


def import_portfolio(data: Iterable[Any]) -> int:
    """Import each network (a Network or its data) into the configured store, one transaction each."""
    from models.network import Network
    from services.networks import import_network
    from services.unit_of_work import SqlAlchemyUnitOfWork

    count = 0
    for item in data:
        import_network(SqlAlchemyUnitOfWork(), Network.model_validate(item), actor="benchmark")
        count += 1
    return count


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux a child started by fork
    and exec inherits its parent's ru_maxrss as a floor, and the parent here holds a portfolio."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--networks", type=int, default=24)
    parser.add_argument("--companies", type=int, default=450)
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--skip-flows", action="store_true", help="only the rules")
    parser.add_argument("--scale", type=int, default=10,
                        help="check-portfolio alone over this many times the networks (0: skip)")
    # The two steps of the scaled measurement, each run by this script in a process of its own.
    parser.add_argument("--import-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check-portfolio", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="a tiny portfolio: checks the benchmark runs")
    args = parser.parse_args()
    if args.smoke:
        args.networks, args.companies, args.employees, args.scale = 1, 3, 15, 2
    if args.import_into:
        t0 = time.perf_counter()
        count = import_portfolio(portfolio_data(args.networks, args.companies, args.employees))
        print(json.dumps({"networks": count, "seconds": time.perf_counter() - t0}))
        return
    if args.check_portfolio:
        print(json.dumps(measure_portfolio(args.check_portfolio)))
        return

    from models.gates import CERTIFICATION_GATES, evaluate_gate
    from models.network import Network

    banner("portfolio: gates, certify-network and check-portfolio" + (" (smoke)" if args.smoke else ""))
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
          f"({passed} passed; for reference, no target); peak traced memory of the evaluation "
          f"{peak / 2**20:.0f} MiB; "
          f"process peak RSS so far {rss:.0f} MiB (portfolio models included)")
    if args.skip_flows:
        return

    work = Path(tempfile.mkdtemp(prefix="hackefors-bench-"))
    os.environ.update(HACKEFORS_DATA_DIR=str(work / "data"), HACKEFORS_OUTPUT_DIR=str(work / "out"),
                      PREFECT_HOME=str(work / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      DO_NOT_TRACK="1")
    t0 = time.perf_counter()
    import_portfolio(networks)
    print(f"store: imported the portfolio into SQLite in {time.perf_counter() - t0:.1f} s (for reference)")

    from deployments.server import start_server, stop

    server, url = start_server(work / "prefect")
    os.environ["PREFECT_API_URL"] = url
    try:
        per_network = run_flows([n.id for n in networks])
        whole = run_portfolio([n.id for n in networks])
        print(f"ratio check-portfolio / per-network certify-network: {whole / per_network:.3f} "
              f"(1/{per_network / whole:.0f}; target <= 1/8 = 0.125)")
        if args.scale:
            scaled(work, args, len(networks))
    finally:
        stop(server)
    closing()


def run_portfolio(network_ids: list[str]) -> float:
    """check-portfolio over every network, after a warm-up run over one; its wall time."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.check_portfolio import check_portfolio

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        check_portfolio(as_of=AS_OF, networks=network_ids[:1], shard="warm-up")
        start = time.perf_counter()
        state = check_portfolio(as_of=AS_OF, return_state=True)
        wall = time.perf_counter() - start
    checked = state.result()
    print(f"check-portfolio:   {wall:.1f} s for {len(checked.rows)} networks in one flow run "
          f"({checked.summary()}); state {state.type.value}")
    return wall


def measure_portfolio(networks: int) -> dict[str, Any]:
    """check-portfolio over the first `networks` of the configured store, in this process, after a
    warm-up over one: wall time and memory; then the same rows without Prefect and without writing
    (the rules and the SQL alone)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.check_portfolio import check_portfolio
    from services.portfolio import portfolio_networks, view_portfolio
    from services.unit_of_work import SqlAlchemyUnitOfWork

    ids = portfolio_networks(SqlAlchemyUnitOfWork())[:networks]
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        check_portfolio(as_of=AS_OF, networks=ids[:1], shard="warm-up")
        baseline = peak_rss_mib()
        start, cpu = time.perf_counter(), time.process_time()
        state = check_portfolio(as_of=AS_OF, networks=ids, return_state=True)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = peak_rss_mib()
    checked = state.result()
    start = time.perf_counter()
    view_portfolio(SqlAlchemyUnitOfWork(), AS_OF, ids)
    alone = time.perf_counter() - start
    return {"networks": len(checked.rows), "seconds": wall, "cpu": cpu, "state": state.type.value,
            "alone": alone, "floor": load_and_gates(ids), "summary": checked.summary(),
            "baseline_mib": baseline, "peak_mib": peak}


def load_and_gates(network_ids: list[str]) -> float:
    """The floor of a portfolio check: load the networks from the store in the check's batches and
    evaluate the six certification gates of each, nothing else (no Prefect, no writes); seconds."""
    from models.gates import CERTIFICATION_GATES, evaluate_gate, policy_for
    from services.portfolio import batches
    from services.unit_of_work import SqlAlchemyUnitOfWork

    uow = SqlAlchemyUnitOfWork()
    start = time.perf_counter()
    for batch in batches(network_ids):
        with uow:
            networks = uow.networks.load_many(batch)
        for network in networks:
            policy = policy_for(network)
            for stage in CERTIFICATION_GATES:
                evaluate_gate(stage, network, AS_OF, policy)
    return time.perf_counter() - start


def child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run this script with `args` in a process of its own; the JSON it prints last."""
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def scaled(work: Path, args: argparse.Namespace, networks: int) -> None:
    """check-portfolio alone over a portfolio `args.scale` times larger, each run in a process of its
    own against the same server: wall time and peak memory over the first `networks` of it, then over
    all of it."""
    sizes = [f"--networks={args.networks * args.scale}", f"--companies={args.companies * args.scale}",
             f"--employees={args.employees * args.scale}"]
    big = work / f"x{args.scale}"
    env = {**os.environ, "HACKEFORS_DATA_DIR": str(big / "data"), "HACKEFORS_OUTPUT_DIR": str(big / "out")}
    imported = child([*sizes, "--import-into", str(big)], env)
    print(f"x{args.scale} portfolio: generated and imported {imported['networks']} networks in "
          f"{imported['seconds']:.0f} s")
    # The first scale's number of networks out of the same store, then all of them: the same data per
    # network, the same database, only the number of networks changes.
    runs = [("x1", child([f"--check-portfolio={networks}"], env)),
            (f"x{args.scale}", child([f"--check-portfolio={networks * args.scale}"], env))]
    for label, r in runs:
        print(f"check-portfolio alone, {label}: {r['seconds']:.1f} s for {r['networks']} networks "
              f"({r['seconds'] / r['networks'] * 1000:.0f} ms a network; CPU time of the flow's process "
              f"{r['cpu']:.1f} s, {r['cpu'] / r['networks'] * 1000:.0f} ms a network; the rules and SQL "
              f"alone {r['alone']:.1f} s); peak RSS {r['peak_mib']:.0f} MiB (after a warm-up run over one "
              f"network {r['baseline_mib']:.0f} MiB); {r['summary']}")
        print(f"  floor of the same networks in the same process, loading them and evaluating the six "
              f"gates: {r['floor']:.1f} s; check-portfolio / floor "
              f"{against(r['seconds'] / r['floor'], TARGET_FLOOR_RATIO, 'x')}")
    (_, small), (_, large) = runs
    print(f"check-portfolio over all {large['networks']} networks: "
          f"{against(large['seconds'], TARGET_SCALED_SECONDS)}"
          + ("" if large["networks"] >= 240 else " (the target is for 240 networks at the seed's scale)"))
    print(f"growth x{args.scale}: wall time x{large['seconds'] / small['seconds']:.1f}, CPU time "
          f"x{large['cpu'] / small['cpu']:.1f} (target: linear, about x{args.scale}), peak RSS "
          f"{against(large['peak_mib'], 1024, 'MiB')}; wall time also measures the other users of the "
          "machine")


def run_flows(network_ids: list[str]) -> float:
    from prefect import flow, task
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.certify_network import STAGES, certify_network
    from tasks.inputs import SignOff

    approved = SignOff(decision="approve", decided_by="benchmark")

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
    return wall["flows"]


if __name__ == "__main__":
    main()
