"""The `hackefors` command line."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Carry a network of SMEs through joint ISO 14001 certification.")
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

EXIT_INTERNAL_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_BLOCKED = 3
EXIT_STORE_UNAVAILABLE = 5
MAX_PROBLEMS_SHOWN = 500  # a hostile file can hold a million; the first ones say what is wrong

NetworkOpt = Annotated[str | None, typer.Option("--network", "-n",
                                                help="Network id; optional when the store holds one.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Evaluate as of this date (YYYY-MM-DD); "
                                                            "default today.")]


class BadInput(Exception):
    """Input the user must fix: reported without a traceback, exit code 2."""


def parse_as_of(value: str | None) -> date:
    from models.dates import EARLIEST_DATE, LATEST_DATE

    if value is None:
        return date.today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--as-of {value!r} is not a date of the form YYYY-MM-DD") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise BadInput(f"--as-of {value}: choose a date from {EARLIEST_DATE} to {LATEST_DATE}")
    return day


def store():  # type: ignore[no-untyped-def]
    """A unit of work on the configured store: what every command hands its service."""
    from services.unit_of_work import SqlAlchemyUnitOfWork

    return SqlAlchemyUnitOfWork()


def resolve_network(network: str | None) -> str:
    """The network meant: the one named, or the only one in the store."""
    from services.networks import resolve_network as resolve

    return resolve(store(), network)


def _print_problems(problems) -> None:  # type: ignore[no-untyped-def]
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        errors.print(str(problem), markup=False, highlight=False)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        errors.print(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more", markup=False)


def _counted(problems) -> str:  # type: ignore[no-untyped-def]
    kinds: dict[str, int] = {}
    for p in problems:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items())


def _read(file: Path, as_of: date):  # type: ignore[no-untyped-def]
    from adapters.networkfile import NetworkFileError, read_network

    try:
        return read_network(file, as_of)
    except NetworkFileError as exc:
        _print_problems(exc.problems)
        errors.print(f"{len(exc.problems)} problem(s) in {file} ({_counted(exc.problems)}); nothing was "
                     "written.", style="bold red", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def validate(file: Annotated[Path, typer.Argument(help="Network file (.yaml, .yml or .json).")],
             as_of: Annotated[str | None, typer.Option(
                 "--as-of", help="Check dates against this day (YYYY-MM-DD; default today) and preview "
                                 "the certification gates on it.")] = None) -> None:
    """Check a network file and report every problem at once, labelled by kind; writes nothing."""
    from adapters.networkfile import FILE, GATE, REFERENCE, STRUCTURE, examine_file

    day = parse_as_of(as_of)
    found = examine_file(file, day, preview_gates_on=day if as_of is not None else None)
    _print_problems(found.problems)
    bad = found.of_kind(FILE, STRUCTURE, REFERENCE)
    blockers = found.of_kind(GATE)
    if as_of is not None and not found.gates_previewed:
        errors.print("The gates were not previewed: they need a file whose structure is valid.", markup=False)
    if bad:
        errors.print(f"{len(bad)} problem(s) in {file} ({_counted(bad)})"
                     + (f" and {len(blockers)} gate blocker(s) as of {day}" if blockers else "")
                     + "; nothing was written.", style="bold red", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    assert found.network is not None
    console.print(f"{file}: valid network {found.network.id!r} with {len(found.network.companies)} "
                  "companies.", markup=False, highlight=False)
    if blockers:
        errors.print(f"{len(blockers)} gate blocker(s) as of {day}: not ready for certification.",
                     style="bold red", markup=False)
        raise typer.Exit(EXIT_BLOCKED)
    if found.gates_previewed:
        console.print(f"Every certification gate passes as of {day}.")


@app.command()
def init(name: Annotated[str, typer.Argument(help="The new network's id (letters, digits, - _ .).")],
         output: Annotated[Path | None, typer.Option(
             "--output", "-o", help="File to write; default NAME.yaml here.")] = None,
         force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
         ) -> None:
    """Write a commented starter network of three companies to adapt; it certifies as it stands."""
    import re

    from adapters.networkfile import STARTER_READY_ON, starter_network

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise BadInput(f"{name!r} cannot be a network id: use letters, digits, '-', '_' and '.', starting "
                       "with a letter or digit, at most 64 characters")
    path = output or Path(f"{name}.yaml")
    if path.exists() and not force:
        raise BadInput(f"{path} exists; choose another --output, or --force to overwrite it")
    path.write_text(starter_network(name, str(path)), encoding="utf-8")
    console.print(f"Wrote {path}: network {name!r}, 3 companies, ready for certification as of "
                  f"{STARTER_READY_ON}.", markup=False, highlight=False)
    console.print(f"Next: hackefors validate {path} --as-of {STARTER_READY_ON}, then edit it into your own "
                  "network (see the comments in it and docs/network-file.md).", markup=False, highlight=False)


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="Network file (.yaml, .yml or .json).")],
            as_of: AsOfOpt = None,
            replace: Annotated[bool, typer.Option(
                "--replace", help="Let the file win over what was recorded in the portal: values it "
                                  "contradicts are overwritten, records it leaves out are deleted.")] = False,
            ) -> None:
    """Validate a network file, then write the whole network in one transaction, merged with what was
    recorded in the portal."""
    from services.networks import import_network
    from tasks.events import recording_unit_of_work

    day = parse_as_of(as_of)
    network = _read(file, day)
    summary = import_network(recording_unit_of_work(), network, actor=getpass.getuser(), source="file",
                             replace=replace, as_of=day)
    kept = ""
    if summary.kept:
        kept = ("; kept " + ", ".join(f"{n} {table}" for table, n in summary.kept.items())
                + " recorded in the portal that the file does not hold (--replace deletes them)")
    if not summary.changed:
        console.print(f"Network {network.id!r} is already up to date; nothing changed{kept}.", markup=False)
        return
    parts = [f"{verb} " + ", ".join(f"{n} {table}" for table, n in counts.items())
             for verb, counts in (("inserted", summary.inserted), ("updated", summary.updated),
                                  ("deleted", summary.deleted)) if counts]
    console.print(f"Imported network {network.id!r}: " + "; ".join(parts) + kept + ".", markup=False)


@app.command()
def export(network: NetworkOpt = None,
           fmt: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
           output: Annotated[Path | None, typer.Option("--output", "-o",
                                                        help="File to write; default stdout.")] = None,
           ) -> None:
    """Write a network from the store back out as a network file."""
    from adapters.networkfile import dump_network
    from adapters.private_files import write_private
    from services.networks import load_network

    if fmt not in ("yaml", "json"):
        raise BadInput(f"--format {fmt!r}: choose yaml or json")
    loaded = load_network(store(), resolve_network(network))
    text = dump_network(loaded, fmt)
    if output is None:
        sys.stdout.write(text)
    else:  # people's names and addresses: owner-only
        write_private(output, text.encode("utf-8"))
        console.print(f"Wrote {output}")


@app.command()
def schema(output: Annotated[Path | None, typer.Option("--output", "-o")] = None) -> None:
    """Print the JSON Schema of network files (generated from the models)."""
    from adapters.networkfile import network_schema

    text = json.dumps(network_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}")


@app.command()
def networks() -> None:
    """List the networks in the store."""
    from services.networks import list_networks

    ids = list_networks(store())
    for network_id in ids:
        console.print(network_id)
    if not ids:
        console.print("The store holds no network yet: run `hackefors import FILE`.")


@app.command()
def status(network: NetworkOpt = None, as_of: AsOfOpt = None) -> None:
    """Show a network, its companies and each company's readiness figures."""
    from models.training import format_hours
    from services.networks import network_status

    day = parse_as_of(as_of)
    found = network_status(store(), resolve_network(network), day)
    loaded, policy, held, rows = found.network, found.policy, found.certificate, found.companies
    console.print(f"[bold]{escape(loaded.name)}[/] ({loaded.id}), operator {escape(loaded.operator)}, "
                  f"as of {day}")
    console.print(f"Certificate: {held.number} valid until {held.valid_until}"
                  if held else "Certificate: none in force")
    table = Table("company", "name", "employees", f"training ≥{format_hours(policy.training_hours)} h",
                  "internal audits (12 mo)", "open NCs", "verdict")
    for r in rows:
        short = r.audits_last_12_months < policy.internal_audits_per_year
        table.add_row(r.company, escape(r.name), str(r.employees), f"{r.training_coverage:.0%}",
                      f"[red]{r.audits_last_12_months}[/]" if short else str(r.audits_last_12_months),
                      f"[red]{r.open_findings}[/]" if r.open_findings else "0",
                      _verdict(found.unmet(r.company)))
    table.add_row("", "[bold]the network itself[/]", "", "", "", "", _verdict(found.unmet(None)))
    console.print(table)
    unmet = sum(not c.passed for g in found.gates for c in g.checks)
    blocked = [g.stage.value for g in found.gates if not g.passed]
    console.print("[bold green]Ready[/]: every certification gate passes on this day." if not unmet else
                  f"[bold red]Not ready[/]: {unmet} unmet requirement(s) in {len(blocked)} of "
                  f"{len(found.gates)} gates ({', '.join(blocked)}); `hackefors report gap --as-of {day}` "
                  "lists each with its owner and due date.", highlight=False)


def _verdict(unmet) -> str:  # type: ignore[no-untyped-def]
    """A company's (or the network's) verdict: ready, or what blocks it."""
    if not unmet:
        return "[green]ready[/]"
    return f"[red]blocked[/]: {escape(', '.join(dict.fromkeys(c.requirement for c in unmet)))}"


GROUP_STYLE = {"act now": "bold red", "on track": "yellow", "certified": "green"}


@app.command()
def portfolio(as_of: AsOfOpt = None,
              fmt: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table") -> None:
    """Show every network in the store: gates, blockers, earliest deadline and owner, certificate, next
    audit; what needs action first (the check-portfolio flow's view, recording nothing)."""
    from adapters.spreadsheets import write_csv
    from models.portfolio import COLUMNS, portfolio_cells
    from services.portfolio import view_portfolio

    if fmt not in ("table", "json", "csv"):
        raise BadInput(f"--format {fmt!r}: choose table, json or csv")
    day = parse_as_of(as_of)
    checked = view_portfolio(store(), day)
    if fmt == "json":
        sys.stdout.write(checked.model_dump_json(indent=2) + "\n")
        return
    rows = [portfolio_cells(r, day) for r in checked.rows]
    if fmt == "csv":  # names come from network files: a cell never runs as a formula
        sys.stdout.write(write_csv([COLUMNS, *([r[c] for c in COLUMNS] for r in rows)], "\n").decode("utf-8"))
        return
    table = Table(title=f"Portfolio as of {day}")
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for cells in rows:
        style = GROUP_STYLE[cells["status"]]
        table.add_row(*(f"[{style}]{v}[/]" if k == "status" else v for k, v in cells.items()))
    console.print(table)
    console.print(checked.summary())


@contextlib.contextmanager
def flow_session() -> Iterator[None]:
    """Where a command's flow runs go: the configured Prefect API, else a temporary server of our
    own that ends with the command, also when it is killed (Prefect's own would be left running).
    Heartbeats are off: each would cost ~1 s per (sub)flow on exit."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_HOME,
        temporary_settings,
    )

    from deployments.server import temporary_server

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        if PREFECT_API_URL.value():
            yield
            return
        home = PREFECT_HOME.value()
        console.print(f"Starting a temporary Prefect server (its log: {home / 'server.log'})…",
                      markup=False, highlight=False)
        with temporary_server(home):
            yield


@app.command()
def run(network: NetworkOpt = None, as_of: AsOfOpt = None,
        decided_by: Annotated[str | None, typer.Option(
            "--decided-by", help="Who signs off the decision in this unattended run; default: your login "
                                 "name.")] = None,
        report: Annotated[bool, typer.Option(
            "--report/--no-report", help="Write the gap analysis (HTML and PDF) during the run.")] = True,
        verbose: Annotated[bool, typer.Option(
            "--verbose", "-v", help="Show Prefect's log on the screen instead of the stages' progress "
                                    "(it goes to out/logs/ otherwise).")] = False,
        allow_future: Annotated[bool, typer.Option(
            "--allow-future", help="Let --as-of be a day still to come (what the gates would say).")] = False,
        ) -> None:
    """Run the certification lifecycle (certify_network); exit 0 certified, 3 blocked, 2 bad input, 1
    internal error."""
    from adapters.reporting import report_stem, reports_folder
    from adapters.settings import get_settings
    from flows.certify_network import certify_network
    from hackefors.progress import stage_progress
    from services.gates import results_of_run, unmet_in_run
    from tasks.inputs import Decision, SignOff

    day = parse_as_of(as_of)
    if day > date.today() and not allow_future:
        raise BadInput(f"--as-of {day} is after today: a run records what has happened; --allow-future "
                       "looks ahead")
    network_id = resolve_network(network)
    log = None if verbose else get_settings().output_dir / "logs" / f"run-{network_id}-{day}.log"
    console.print(f"Certifying {network_id!r} as of {day} (Prefect flow certify-network)…")
    with flow_session(), stage_progress(console, log):
        # Unattended: the sign-off is given here; in the UI the run pauses for it instead.
        who = decided_by or f"{getpass.getuser()} (unattended hackefors run)"
        sign_off = SignOff(decision=Decision.APPROVE, decided_by=who,
                           comment="signed off on the command line")
        state = certify_network(network=network_id, as_of=day, sign_off=sign_off, report=report,
                                allow_future=allow_future, return_state=True)
    run_id = str(state.state_details.flow_run_id)
    if log is not None:
        console.print(f"Prefect's log: {log} (--verbose shows it here)", markup=False, highlight=False)
    gates = results_of_run(store(), network_id, run_id, include_decision=True)
    print_gate_table(gates)
    if report:
        stem = reports_folder(network_id) / report_stem("gap", network_id, None, day)
        console.print(f"Gap analysis: {stem}.html (and .pdf)", markup=False, highlight=False)
    if state.is_completed():
        certificate = state.result()
        again = "" if certificate.newly_issued else " (already issued for this cycle; not reissued)"
        console.print(f"[bold green]Certified[/]: certificate {certificate.number}{again}, valid until "
                      f"{certificate.valid_until}")
        console.print(f"PDF:  {certificate.pdf_path}\nHTML: {certificate.html_path}\n"
                      f"JSON: {certificate.json_path} (signed; `hackefors certificate verify` checks it)")
        return
    blockers = unmet_in_run(gates)
    if blockers is None:  # nothing unmet, yet no certificate: a fault, not a domain outcome
        errors.print(f"internal error: the run {run_id} ended {state.name} without an unmet requirement; "
                     "no certificate was issued. Prefect's message:", style="bold red", markup=False)
        errors.print(state.message or "(none)", markup=False, highlight=False)
        raise typer.Exit(EXIT_INTERNAL_ERROR)
    console.print(f"[bold red]Not certified[/]: {len(blockers)} unmet requirement(s)")
    print_blockers(blockers, company_names(network_id))
    raise typer.Exit(EXIT_BLOCKED)


def company_names(network_id: str) -> dict[str, str]:
    from services.networks import load_network

    return {c.id: c.name for c in load_network(store(), network_id, parts=()).companies}


def print_blockers(blockers, names: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Each unmet requirement once, under its company's name (the network's own first)."""
    by_company: dict[str | None, list] = {}  # type: ignore[type-arg]
    for c in blockers:
        by_company.setdefault(c.company, []).append(c)
    for company in sorted(by_company, key=lambda c: (c is not None, names.get(c or "", c or ""))):
        who = f"{names.get(company, company)} ({company})" if company else "The network"
        console.print(f"[bold]{escape(who)}[/] ({len(by_company[company])})")
        for c in by_company[company]:
            console.print(f"  - {c.requirement} ({c.clause}): {c.detail}", markup=False, highlight=False)


SHORT = {"formation": "form", "training": "train", "planning": "plan", "internal_audits": "int.audit",
         "management_review": "mgmt rev", "external_audit": "ext.audit", "decision": "decide"}


@app.command()
def remind(network: NetworkOpt = None, as_of: AsOfOpt = None,
           dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; "
                                                                  "queue and send nothing.")] = False,
           verbose: Annotated[bool, typer.Option(
               "--verbose", "-v", help="Show Prefect's log on the screen (it goes to out/logs/ otherwise).")
           ] = False,
           ) -> None:
    """Send coordinators their reminders (flow send-reminders); each reminder goes out once."""
    from adapters.settings import get_settings
    from flows.send_reminders import send_reminders
    from hackefors.progress import prefect_log_to

    day = parse_as_of(as_of)
    if network is not None:
        network = resolve_network(network)
    log = get_settings().output_dir / "logs" / f"remind-{day}.log"
    with flow_session(), contextlib.nullcontext() if verbose else prefect_log_to(log):
        state = send_reminders(as_of=day, network=network, dry_run=dry_run, return_state=True)
    if not verbose:
        console.print(f"Prefect's log: {log} (--verbose shows it here)", markup=False, highlight=False)
    if dry_run:
        for result in state.result():
            _print_dry_run(result)
        return
    if not state.is_completed():
        errors.print(state.message or "reminders failed", markup=False)
        raise typer.Exit(1)
    delivery = state.result()
    settings = get_settings()
    if settings.smtp_host:
        console.print(f"Sent {delivery.sent} email(s) through {settings.smtp_host}:{settings.smtp_port}.")
    else:
        folders = sorted({str(Path(where).parent) for where in delivery.written}) or \
            [str(settings.output_dir / "outbox")]
        console.print(f"No SMTP server configured (HACKEFORS_SMTP_HOST): wrote {len(delivery.written)} "
                      f"email(s) as .eml files to {', '.join(folders)}", markup=False, highlight=False)
    if delivery.deferred:
        console.print(f"{delivery.deferred} email(s) refused for now or cut off: queued again, tried after "
                      "a back-off (`hackefors outbox list` shows when).")
    _print_unbuildable(delivery.unbuildable)
    if delivery.undeliverable:
        errors.print(f"{len(delivery.undeliverable)} email(s) refused for good by the server; see "
                     "`hackefors outbox list`, then `outbox retry` or `outbox drop`:", markup=False)
        for line in delivery.undeliverable:
            errors.print(f"  {line}", markup=False, highlight=False)


def _print_dry_run(result) -> None:  # type: ignore[no-untyped-def]
    """What `remind --dry-run` found for one network: each email with its items, and whom it skips."""
    console.print(f"[bold]{escape(result.network_id)}[/]: {len(result.messages)} email(s) would be sent"
                  f" ({result.skipped_recently_sent} item(s) already reminded this period)")
    for m in result.messages:
        console.print(f"  to {m.recipient}: {m.subject}", markup=False, highlight=False)
        for said in m.said:
            console.print(f"    - {said}", markup=False, highlight=False)
    for why in result.skipped:
        console.print(f"  skipped: {why}", markup=False, highlight=False)
    _print_unbuildable(result.unbuildable)


def _print_unbuildable(lines: list[str]) -> None:
    if lines:
        errors.print(f"{len(lines)} email(s) cannot be built and were not queued; fix the network file:",
                     markup=False)
        for line in lines:
            errors.print(f"  {line}", markup=False, highlight=False)


@app.command()
def serve(port: Annotated[int, typer.Option(help="Port of the Prefect server and UI.")] = 4200,
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1") -> None:
    """Start the Prefect server and UI, then register and serve the deployments; Ctrl-C or SIGTERM stops
    all, the server included."""

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from adapters.settings import get_settings
    from deployments.serve import build_deployments, sign_off_automation
    from deployments.server import portfolio_page, start_server, stop

    # Ctrl-C stops everything, even when this process was started with SIGINT ignored (as programs
    # started in the background by a non-interactive shell are); so does SIGTERM (systemd, docker
    # stop, make ui), at any moment: Prefect's runner takes it over once it serves, to the same end.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    home = Path(os.environ.get("PREFECT_HOME", Path.cwd() / ".prefect"))
    where = os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL", "SQLite under PREFECT_HOME")
    console.print(f"Starting the Prefect server on {host}:{port} (database: "
                  f"{where.split('@')[-1] if '@' in where else where})…")
    try:
        # The server ends with this process however it ends, kill -9 included; its own session keeps
        # Ctrl-C and a signal to our process group from reaching it before the runner has stopped.
        server, api = start_server(home, host, port, with_us=True)
    except RuntimeError as exc:
        raise BadInput(str(exc)) from None
    try:
        with temporary_settings(updates={PREFECT_API_URL: api}):
            deployments = build_deployments()
            sign_off_automation(deployments)
            ui = f"http://{host}:{port}"
            console.print(f"[bold]Prefect UI: {ui}[/]  (API {api})")
            page, published = portfolio_page(ui)
            if published:
                console.print(f"[bold]Portfolio: {page}[/]  (artifact `portfolio`, published {published})")
            else:
                console.print(f"Portfolio: {page} (no check-portfolio run has published the artifact "
                              "`portfolio` yet; it runs daily at 05:45, or run check-portfolio/daily now; "
                              f"then {ui}/artifacts/key/portfolio)")
            console.print(f"Serving {len(deployments)} deployments: "
                          + ", ".join(sorted(d.name for d in deployments)))
            operator = get_settings().operator_email
            whom = operator or "the operator (set HACKEFORS_OPERATOR_EMAIL; none is set)"
            console.print(f"Automation: emails {whom} when a certification run waits for its sign-off.")
            console.print(f"Links in reminders and on certificates: {get_settings().public_url} "
                          "(HACKEFORS_PUBLIC_URL, else the address the portal last served)", markup=False)
            console.print("Ctrl-C (or SIGTERM) stops the deployments and the server.")
            from prefect import serve as prefect_serve

            prefect_serve(*deployments)
    except KeyboardInterrupt:
        pass
    finally:
        # Let Prefect's log and event workers flush while the server still listens.
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM does not cut the stop short
        for worker in (APILogWorker, EventsWorker):  # within the 10 s a service manager waits
            with contextlib.suppress(Exception):
                worker.drain_all(timeout=2)
        stop(server, grace=4)
        console.print("Stopped.")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: the `finally` blocks run, and the servers started are stopped."""
    raise KeyboardInterrupt


@app.command()
def portal(port: Annotated[int, typer.Option(help="Port of the portal.")] = 8080,
           host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
           workers: Annotated[int | None, typer.Option(
               min=1, help="Worker processes (default: one per core, at most 4).")] = None) -> None:
    """Serve the coordinators' portal (sign-in links, each company's pages); Ctrl-C or SIGTERM stops it."""
    import uvicorn

    from adapters.settings import get_settings, record_portal_address, reset_settings
    from portal.app import create_app

    signal.signal(signal.SIGINT, signal.default_int_handler)
    served = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
    if not os.environ.get("HACKEFORS_PUBLIC_URL"):  # links lead here, in this process and its workers
        os.environ["HACKEFORS_PUBLIC_URL"] = served
        reset_settings()
    settings = get_settings()
    # ...and in the commands of other shells without HACKEFORS_PUBLIC_URL (`hackefors invite`, the
    # certification runs of `hackefors serve`): they read it from the data folder.
    record_portal_address(settings.data_dir, settings.public_url)
    console.print(f"[bold]Portal: {served}[/]  (links in emails and on certificates use "
                  f"{settings.public_url}, HACKEFORS_PUBLIC_URL)", highlight=False)
    if origin(settings.public_url) != origin(served):
        errors.print(f"WARNING: HACKEFORS_PUBLIC_URL is {settings.public_url}, but this portal serves "
                     f"{served}: every sign-in link, reminder link and certificate URL leads to "
                     f"{settings.public_url}. Right only behind a proxy that forwards that address here; "
                     "otherwise unset HACKEFORS_PUBLIC_URL (links then follow --port) or correct it.",
                     style="bold red", markup=False, highlight=False)
    if not settings.smtp_host:
        from services.accounts import PORTAL

        console.print("No SMTP server configured: sign-in emails are written to "
                      f"{settings.output_dir / 'outbox' / PORTAL}", markup=False)
    workers = workers or default_workers()
    # X-Forwarded-For is the portal's to judge (HACKEFORS_PORTAL_TRUSTED_PROXIES), not uvicorn's; on
    # SIGTERM open connections get a few seconds, then the portal stops.
    options: dict[str, Any] = dict(host=host, port=port, log_level="warning", proxy_headers=False,
                                   timeout_graceful_shutdown=3)
    with contextlib.suppress(KeyboardInterrupt):
        if workers == 1:
            uvicorn.run(create_app(settings), **options)
        else:  # each worker process builds its own app from the same environment
            uvicorn.run("portal.app:create_app", factory=True, workers=workers, **options)


def origin(url: str) -> str:
    """scheme://host:port of a URL, the port written out, for comparing addresses."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme, 0)
    host = (parts.hostname or "").lower()
    return f"{parts.scheme}://{'127.0.0.1' if host == 'localhost' else host}:{parts.port or default}"


def default_workers() -> int:
    """One portal worker per core, at most 4: the pages are CPU-bound, the store is shared."""
    return max(1, min(4, os.cpu_count() or 1))


RoleOpt = Annotated[str, typer.Option("--role",
                                      help="operator, central-coordinator, coordinator or auditor.")]


@app.command()
def invite(email: Annotated[str, typer.Argument(help="The person's email address.")], role: RoleOpt,
           network: Annotated[str | None, typer.Option("--network", "-n", help="Their network (every role "
                                                       "but operator).")] = None,
           company: Annotated[str | None, typer.Option("--company", "-c", help="Their company "
                                                       "(coordinator).")] = None) -> None:
    """Create (or change) a portal account and print a sign-in link for it (valid 15 minutes, once)."""
    from adapters.settings import get_settings
    from models.accounts import Role
    from services.accounts import invite as invite_person

    try:
        chosen = Role(role)
    except ValueError:
        raise BadInput(f"--role {role!r}: choose one of {', '.join(r.value for r in Role)}") from None
    account, link = invite_person(store(), email, chosen, network, company, actor=getpass.getuser(),
                                  base_url=get_settings().public_url)
    console.print(f"Account {account.describe()}.", markup=False, highlight=False)
    console.print(f"Sign-in link (once, within 15 minutes): {link}", markup=False, highlight=False)


@app.command()
def revoke(email: Annotated[str, typer.Argument(help="The person's email address.")]) -> None:
    """Remove a portal account: its sessions end at once and its sign-in links stop working."""
    from services.accounts import revoke as revoke_person

    account = revoke_person(store(), email, actor=getpass.getuser())
    console.print(f"Removed {account.describe()}; their sessions have ended.", markup=False, highlight=False)


def print_gate_table(gates) -> None:  # type: ignore[no-untyped-def]
    """Gates as columns, companies (and the network) as rows: ✓ or the number of unmet checks."""
    order: list[str] = []
    for g in gates:
        for c in g.checks:
            who = c.company or "(network)"
            if who not in order:
                order.append(who)
    table = Table("company", *(SHORT.get(g.stage.value, g.stage.value) for g in gates), title="Gates")
    for who in order:
        cells = []
        for g in gates:
            mine = [c for c in g.checks if (c.company or "(network)") == who]
            unmet = sum(not c.passed for c in mine)
            cells.append("" if not mine else "[green]✓[/]" if not unmet else f"[red]✗ {unmet}[/]")
        table.add_row(who, *cells)
    table.add_row("[bold]gate[/]", *("[green]pass[/]" if g.passed else "[red]FAIL[/]" for g in gates))
    console.print(table)


@app.command()
def history(network: NetworkOpt = None,
            limit: Annotated[int, typer.Option(help="How many of the newest entries.")] = 20) -> None:
    """Show the newest entries of the store's append-only history."""
    from services.history import newest_history

    table = Table("at", "person", "source", "entity", "id", "action")
    for r in newest_history(store(), resolve_network(network), limit):
        table.add_row(r.at.isoformat(timespec="seconds"), escape(r.actor), r.source or "-", r.entity,
                      escape(r.entity_id), r.action)
    console.print(table)


@app.command()
def plan(network: NetworkOpt = None, as_of: AsOfOpt = None) -> None:
    """Print the cycle's audit programme: dates, each audit's sample and its auditor-days."""
    from services.planning import plan_audits

    day = parse_as_of(as_of)
    loaded, programme = plan_audits(store(), resolve_network(network), day, actor="cli:plan")
    cert = f"certificate {programme.certificate}, valid until {programme.valid_until}" \
        if programme.certificate else "no certificate yet"
    console.print(f"[bold]Audit programme of {escape(loaded.name)}[/] as of {day}", highlight=False)
    console.print(f"cycle from {programme.cycle_start} · {cert} · {len(programme.members)} member companies "
                  "(the central function is visited at every audit)", highlight=False)
    names = {c.id: c.name for c in loaded.companies}
    table = Table("audit", "due by", "status", "companies visited", "IAF MD 1 minimum",
                  "auditor-days (on site)", title="External audits of the cycle", title_justify="left")
    for a in programme.audits:
        status = a.status if a.status != "done" else f"done ({a.audit_id})" + (
            f", held late on {a.held_on}" if a.late_for else "")
        visits = len(a.visited) if a.status == "done" else a.sample.size
        table.add_row(AUDIT_NAMES[a.kind.value], str(a.due_by), f"[red]{status}[/]" if a.status == "overdue"
                      else status, f"{visits} + central function", str(a.sample.minimum),
                      f"{a.time.total_days:g} ({a.time.on_site_days:g})")
    console.print(table)
    for a in programme.audits:
        if a.status == "done":
            continue
        console.print(f"\n[bold]{AUDIT_NAMES[a.kind.value]} due by {a.due_by}[/]: "
                      + _sample_words(a.sample), highlight=False)
        sample = Table("company", "name", "chosen", "why")
        for site in a.sample.sites:
            how = {"random": f"at random (seed {a.sample.seed})", "risk": "by risk and coverage",
                   "all": "every company"}.get(site.how, site.how)
            why = "; ".join(site.reasons) or ("" if site.how == "random" else "to reach the planned size")
            sample.add_row(site.company, escape(names.get(site.company, "")), how, escape(why))
        console.print(sample)
    for lapse in programme.lapses:
        console.print(f"[red]Surveillance due by {lapse.due} {_lapse_words(lapse)}[/]")
    console.print("\nEvery member is visited within the cycle." if not programme.unvisited else
                  f"\n[red]Not visited within the cycle[/]: {', '.join(programme.unvisited)}")
    if programme.spread_checks:
        spread = Table("nonconformity", "clause", "found at", "checked at", "also found at", "still to check",
                       title="Nonconformities to check at the other companies (IAF MD 1)",
                       title_justify="left")
        for c in programme.spread_checks:
            spread.add_row(c.finding, c.clause, c.raised_at, f"{len(c.checked)} companies",
                           ", ".join(c.also_found) or "none",
                           f"{len(c.pending)}: {', '.join(c.pending)}" if c.pending else "none")
        console.print(spread)


AUDIT_NAMES = {"stage1": "Stage 1", "stage2": "Stage 2", "surveillance": "Surveillance",
               "recertification": "Recertification"}


def _sample_words(sample) -> str:  # type: ignore[no-untyped-def]
    """Why an audit visits as many companies as it does."""
    if not sample.eligible:
        return (f"[red]every company ({sample.size})[/]: sampling does not apply, "
                f"{', '.join(sample.ineligible)} have no signed group agreement")
    said = f"{sample.size} companies; the IAF MD 1 minimum is {sample.minimum_reason}"
    if not sample.raised_because:
        return said + "."
    return said + "; raised by the " + "; the ".join(sample.raised_because) + "."


def _lapse_words(lapse) -> str:  # type: ignore[no-untyped-def]
    """What a late or missed surveillance did to the certificate, for `plan`."""
    held = f"held late on {lapse.held_on} ({lapse.audit})" if lapse.audit else "not held"
    counts = f"{held}: the certificate counts as suspended"
    if lapse.withdrawn_on:
        return f"{counts} from {lapse.due}, withdrawn on {lapse.withdrawn_on}"
    if lapse.reinstated_on:
        return f"{counts} from {lapse.due} until {lapse.reinstated_on}"
    return f"{counts} since {lapse.due}"


@app.command()
def report(kind: Annotated[str, typer.Argument(
               help="gap (default), improvement, statement (EMAS-style) or maturity.")] = "gap",
           network: NetworkOpt = None,
           company: Annotated[str | None, typer.Option(
               "--company", "-c", help="One member company's report instead of the network's.")] = None,
           as_of: AsOfOpt = None,
           formats: Annotated[list[str] | None, typer.Option(
               "--format", "-f", help="html (default) or pdf; give it twice for both.")] = None,
           output: Annotated[Path | None, typer.Option(
               "--output", "-o", help="Folder to write to; default out/reports/<network>.")] = None) -> None:
    """Write a report of a network (or one company) as HTML or PDF and print where it is."""
    from adapters.reporting import FORMATS, REPORT_KINDS
    from services.reports import make_report

    if kind not in REPORT_KINDS:
        raise BadInput(f"unknown report {kind!r}; choose one of {', '.join(REPORT_KINDS)}")
    formats = formats or ["html"]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise BadInput(f"unknown format {', '.join(map(repr, unknown))}; choose {' or '.join(FORMATS)}")
    if output is not None and output.exists() and not output.is_dir():
        raise BadInput(f"--output {output} is a file, not a folder")
    day = parse_as_of(as_of)
    written, paths = make_report(store(), kind, resolve_network(network), day, company, formats, output)
    errors.print(written.summary, markup=False, highlight=False)
    for path in paths:
        console.print(str(path), markup=False, highlight=False)


certificate_app = typer.Typer(no_args_is_help=True, help="Show, verify and manage certificates.")
app.add_typer(certificate_app, name="certificate")
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why; kept in the history.")]


@certificate_app.command("show")
def certificate_show(number: str, as_of: AsOfOpt = None) -> None:
    """Show a certificate: its data, companies, status and history of status changes."""
    from services.certificates import show_certificate

    day = parse_as_of(as_of)
    shown = show_certificate(store(), number, day)
    row = shown.record
    console.print(f"[bold]{row.number}[/] · network {row.network_id} · cycle {row.cycle}")
    console.print(f"issued {row.issued_on}, valid until {row.valid_until}; status on {day}: "
                  f"[bold]{shown.status.value}[/]" + (f"; replaces {row.replaces}" if row.replaces else ""))
    console.print(f"scope: {row.scope}", markup=False)
    console.print(f"companies ({len(row.companies)}): {', '.join(row.companies)}")
    for e in shown.events:
        implied = " (from the audit records)" if e.derived else ""
        console.print(f"  {e.on} {e.status.value}: {e.reason}{implied}", markup=False)
    console.print(f"signed with key {row.key_id}" if row.signature else "not signed")


@certificate_app.command("verify")
def certificate_verify(target: Annotated[str, typer.Argument(help="A certificate's .json file or number.")],
                       as_of: AsOfOpt = None,
                       keys: Annotated[str | None, typer.Option(
                           "--keys", help="The issuer's published key set: a file or an http(s) URL. "
                           "Default: this store's keys, else the set kept by an earlier export or --keys.")]
                       = None) -> None:
    """Verify a certificate's signature with the published public keys, and its status; exit 0 valid,
    3 not valid, 4 altered, forged or signed by an unknown key."""
    from adapters.signing import cache_key_set, read_key_set
    from services.certificates import verify_document, verify_number

    day = parse_as_of(as_of)
    key_set = read_key_set(keys) if keys else None
    path = Path(target)
    if path.suffix == ".json" or path.exists():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f"{path}: no such file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: not a certificate file ({exc})") from None
        try:
            result = verify_document(store(), document, day, key_set, keys)
        except ValueError as exc:
            raise BadInput(f"{path}: {exc}") from None
    else:
        result = verify_number(store(), target, day)
    if result.problem:
        errors.print(f"INVALID {result.number}: {result.problem}", style="bold red", markup=False)
        raise typer.Exit(4)
    assert result.status is not None
    if key_set is not None:
        cache_key_set(key_set)  # it verified a certificate: keep it for verifications without --keys
    colour = "green" if result.valid else "red"
    retired = f" (a key retired on {result.key_retired:%Y-%m-%d}: it signs nothing new)" \
        if result.key_retired else ""
    source = escape(result.keys_from or "")
    console.print(f"[{colour}]{result.status.value.upper()}[/] {escape(result.number)}: signature verified "
                  f"with key {result.key_id}{retired} from {source}; status on {day}: "
                  f"{result.status.value}; valid until {result.valid_until}", highlight=False)
    if not result.in_register:
        console.print("This store does not hold the certificate's register: the status follows from its "
                      "dates alone. A suspension or withdrawal shows on the issuer's verification page.",
                      markup=False)
    if not result.valid:
        raise typer.Exit(EXIT_BLOCKED)


keys_app = typer.Typer(no_args_is_help=True, help="Publish and rotate the keys that sign certificates.")
app.add_typer(keys_app, name="keys")


@keys_app.command("export")
def keys_export(output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the key set here; default: print it.")] = None) -> None:
    """Write the published key set (key id -> Ed25519 public key, with dates): all a verifier needs."""
    from adapters.private_files import write_private
    from adapters.signing import cache_key_set, key_set_text
    from services.keys import published_keys

    key_set = published_keys(store())
    kept = cache_key_set(key_set)
    if output is None:
        sys.stdout.write(key_set_text(key_set))
        return
    write_private(output, key_set_text(key_set).encode("utf-8"))
    console.print(f"Wrote the key set ({len(key_set.keys)} key(s), signing with {key_set.signing_key_id}) "
                  f"to {output}; kept a copy at {kept}.", markup=False, highlight=False)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; the old one signs nothing more, and what it signed keeps verifying."""
    from services.keys import rotate_key

    rotation = rotate_key(store(), f"cli:keys rotate ({getpass.getuser()})")
    console.print(f"New signing key {rotation.new}" + (f"; key {rotation.retired} signs no more" if
                  rotation.retired else "") + ". Back up the new key and publish the key set again "
                  "(`hackefors keys export`).", markup=False, highlight=False)


def _change(number: str, status: str, as_of: str | None, reason: str) -> None:
    from models.certification import CertificateStatus
    from services.certificates import change_status

    change_status(store(), number, CertificateStatus(status), parse_as_of(as_of), reason,
                  f"cli:certificate {status}")
    console.print(f"Certificate {number} is now {status}.")


@certificate_app.command("suspend")
def certificate_suspend(number: str, reason: ReasonOpt, as_of: AsOfOpt = None) -> None:
    """Suspend a certificate: it is not valid until reinstated (at most 6 months)."""
    _change(number, "suspended", as_of, reason)


@certificate_app.command("reinstate")
def certificate_reinstate(number: str, reason: ReasonOpt, as_of: AsOfOpt = None) -> None:
    """Reinstate a suspended certificate."""
    _change(number, "valid", as_of, reason)


@certificate_app.command("withdraw")
def certificate_withdraw(number: str, reason: ReasonOpt, as_of: AsOfOpt = None) -> None:
    """Withdraw a certificate for good."""
    _change(number, "withdrawn", as_of, reason)


@certificate_app.command("reduce")
def certificate_reduce(number: str,
                       remove: Annotated[list[str], typer.Option("--remove", help="Company id to drop.")],
                       reason: ReasonOpt, as_of: AsOfOpt = None) -> None:
    """Reissue a certificate without some companies (reduced scope); the old one is superseded."""
    from services.certificates import reduce_scope
    from tasks.certificates import certificates_folder

    issued = reduce_scope(store(), number, remove, parse_as_of(as_of), reason, "cli:certificate reduce",
                          certificates_folder())
    console.print(f"Reissued {number} as {issued.number} without {', '.join(remove)}.")
    console.print(f"PDF:  {issued.pdf_path}\nJSON: {issued.json_path}")


outbox_app = typer.Typer(no_args_is_help=True, help="See, retry and drop queued emails.")
app.add_typer(outbox_app, name="outbox")
IdsArg = Annotated[list[int] | None, typer.Argument(help="Message ids, as `hackefors outbox list` shows.")]


@outbox_app.command("list")
def outbox_list(network: NetworkOpt = None,
                everything: Annotated[bool, typer.Option(
                    "--all", help="Also the messages already sent, written or dropped.")] = False) -> None:
    """List the emails not delivered yet: queued, being sent, waiting for a retry or undeliverable."""
    from services.outbox import list_outbox

    entries = list_outbox(store(), network, everything)
    for e in entries:
        status = e.status
        if e.status == "sending" and e.claimed_until is not None:
            status = f"sending (claimed by {e.claimed_by} until {e.claimed_until:%Y-%m-%d %H:%M:%S} UTC)"
        elif e.status == "queued" and e.next_attempt_at is not None:
            status = f"queued, retry from {e.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
        console.print(f"{e.id}  {status}  {e.network_id}  to {e.recipient}: {e.subject}", markup=False,
                      highlight=False)
        if e.attempts or e.last_error:
            console.print(f"    {e.attempts} attempt(s)" + (f"; {e.last_error}" if e.last_error else ""),
                          markup=False, highlight=False)
    if not entries:
        console.print("The outbox is empty." if everything else "Nothing waiting in the outbox.")


@outbox_app.command("retry")
def outbox_retry(ids: IdsArg = None, network: NetworkOpt = None,
                 every: Annotated[bool, typer.Option(
                     "--all", help="Every undeliverable message and every one waiting for a retry.")] = False,
                 ) -> None:
    """Queue emails again, to be sent by the next `hackefors remind`, without waiting for a back-off."""
    from services.outbox import retry_messages

    if bool(ids) == every:
        raise BadInput("name the messages to retry, or give --all")
    retried = retry_messages(store(), ids or [], actor="cli:outbox retry", network_id=network)
    console.print(f"Queued {len(retried)} email(s) again; the next `hackefors remind` sends them.")


@outbox_app.command("drop")
def outbox_drop(ids: Annotated[list[int], typer.Argument(help="Message ids, as `outbox list` shows.")],
                reason: ReasonOpt) -> None:
    """Give up on emails not delivered yet: they are never sent (kept, with the reason, in the history)."""
    from services.outbox import drop_messages

    dropped = drop_messages(store(), ids, reason, actor="cli:outbox drop")
    console.print(f"Dropped {len(dropped)} email(s): "
                  + ", ".join(f"{e.id} to {e.recipient}" for e in dropped), markup=False)


def main() -> None:
    from adapters.settings import SettingsError, check_settings
    from models.errors import ServiceError
    from services.unit_of_work import unavailable_store

    try:
        check_settings()  # at start-up: a wrong setting is one line, not a traceback mid-run
        # Without standalone mode click returns, rather than raises, the code of typer.Exit.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except (BadInput, SettingsError) as exc:
        errors.print(f"error: {exc}", style="red", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except ServiceError as exc:  # an unknown network or certificate, a change the rules refuse
        errors.print(f"error: {exc}", style="red", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        errors.print("aborted")
        sys.exit(130)
    except Exception as exc:
        # Usage errors (a missing argument, an unknown option) show themselves and carry their exit
        # code; typer vendors click, so they are known by that, not by class.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        if os.environ.get("HACKEFORS_DEBUG"):
            raise
        lost = unavailable_store(exc)
        if lost is not None:  # an outage, not a fault of the program: one paragraph, no traceback
            errors.print(f"error: {lost}. Whatever this command was doing when the store went away was "
                         "not kept (a certification run's gate results included). Check that the database "
                         "is up and HACKEFORS_DATABASE_URL names it, then run the command again.",
                         style="red", markup=False, highlight=False)
            sys.exit(EXIT_STORE_UNAVAILABLE)
        # A fault of the program, not of the input: say so plainly, never as a domain outcome.
        errors.print(f"internal error ({type(exc).__name__}): {exc}", style="red", markup=False,
                     highlight=False)
        errors.print("This is a fault in hackefors, not in your input; HACKEFORS_DEBUG=1 shows the "
                     "traceback.", markup=False)
        sys.exit(EXIT_INTERNAL_ERROR)
