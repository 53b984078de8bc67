"""The `hackefors` command line."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Carry a network of SMEs through joint ISO 14001 certification.")
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_BLOCKED = 3

NetworkOpt = Annotated[str | None, typer.Option("--network", "-n",
                                                help="Network id; optional when the store holds one.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Evaluate as of this date (YYYY-MM-DD); "
                                                            "default today.")]


class BadInput(Exception):
    """Input the user must fix: reported without a traceback, exit code 2."""


def parse_as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--as-of {value!r} is not a date of the form YYYY-MM-DD") from None


def resolve_network(session, network: str | None) -> str:  # type: ignore[no-untyped-def]
    from tasks.store import NetworkNotFound, network_ids

    known = network_ids(session)
    if network is None:
        if len(known) == 1:
            return known[0]
        if not known:
            raise BadInput("the store holds no network yet: run `hackefors import FILE` first")
        raise BadInput(f"the store holds {len(known)} networks; choose one with --network: "
                       f"{', '.join(known)}")
    if network not in known:
        raise BadInput(str(NetworkNotFound(network, known)))
    return network


def _read(file: Path, as_of: date):  # type: ignore[no-untyped-def]
    from tasks.networkfile import NetworkFileError, read_network

    try:
        return read_network(file, as_of)
    except NetworkFileError as exc:
        for problem in exc.problems:
            errors.print(str(problem), markup=False, highlight=False)
        errors.print(f"{len(exc.problems)} problem(s) in {file}; nothing was written.",
                     style="bold red")
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def validate(file: Annotated[Path, typer.Argument(help="Network file (.yaml, .yml or .json).")],
             as_of: AsOfOpt = None) -> None:
    """Check a network file and report every problem at once; writes nothing."""
    network = _read(file, parse_as_of(as_of))
    console.print(f"{file}: valid network {network.id!r} with {len(network.companies)} companies.")


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="Network file (.yaml, .yml or .json).")],
            as_of: AsOfOpt = None) -> None:
    """Validate a network file, then write the whole network in one transaction."""
    from tasks.db import transaction
    from tasks.store import save_network

    network = _read(file, parse_as_of(as_of))
    with transaction() as session:
        summary = save_network(session, network, actor=f"cli:import {file}")
    if not summary.changed:
        console.print(f"Network {network.id!r} is already up to date; nothing changed.")
        return
    parts = [f"{verb} " + ", ".join(f"{n} {table}" for table, n in counts.items())
             for verb, counts in (("inserted", summary.inserted), ("updated", summary.updated),
                                  ("deleted", summary.deleted)) if counts]
    console.print(f"Imported network {network.id!r}: " + "; ".join(parts) + ".")


@app.command()
def export(network: NetworkOpt = None,
           fmt: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
           output: Annotated[Path | None, typer.Option("--output", "-o",
                                                        help="File to write; default stdout.")] = None,
           ) -> None:
    """Write a network from the store back out as a network file."""
    from tasks.db import transaction
    from tasks.networkfile import dump_network
    from tasks.store import load_network

    if fmt not in ("yaml", "json"):
        raise BadInput(f"--format {fmt!r}: choose yaml or json")
    with transaction() as session:
        loaded = load_network(session, resolve_network(session, network))
    text = dump_network(loaded, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}")


@app.command()
def schema(output: Annotated[Path | None, typer.Option("--output", "-o")] = None) -> None:
    """Print the JSON Schema of network files (generated from the models)."""
    from tasks.networkfile import network_schema

    text = json.dumps(network_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}")


@app.command()
def networks() -> None:
    """List the networks in the store."""
    from tasks.db import transaction
    from tasks.store import network_ids

    with transaction() as session:
        ids = network_ids(session)
    for network_id in ids:
        console.print(network_id)
    if not ids:
        console.print("The store holds no network yet: run `hackefors import FILE`.")


@app.command()
def status(network: NetworkOpt = None, as_of: AsOfOpt = None) -> None:
    """Show a network, its companies and each company's readiness figures."""
    from models.gates import policy_for, readiness
    from tasks.db import transaction
    from tasks.store import load_network

    day = parse_as_of(as_of)
    with transaction() as session:
        loaded = load_network(session, resolve_network(session, network),
                              parts={"training", "internal_audits", "certificates"})
    policy = policy_for(loaded)
    rows = readiness(loaded, day, policy)
    console.print(f"[bold]{loaded.name}[/] ({loaded.id}), operator {loaded.operator}, as of {day}")
    certs = [c for c in loaded.certificates if c.status == "valid" and c.valid_until >= day]
    console.print(f"Certificate: {certs[-1].number} valid until {certs[-1].valid_until}"
                  if certs else "Certificate: none in force")
    table = Table("company", "name", "employees", f"training ≥{policy.training_hours:g} h",
                  "internal audits (12 mo)", "open NCs")
    for r in rows:
        short = r.audits_last_12_months < policy.internal_audits_per_year
        table.add_row(r.company, r.name, str(r.employees), f"{r.training_coverage:.0%}",
                      f"[red]{r.audits_last_12_months}[/]" if short else str(r.audits_last_12_months),
                      f"[red]{r.open_findings}[/]" if r.open_findings else "0")
    console.print(table)


def heartbeats_off():  # type: ignore[no-untyped-def]
    """Interactive runs skip Prefect's flow heartbeats: each would cost ~1 s per (sub)flow on exit."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


@app.command()
def run(network: NetworkOpt = None, as_of: AsOfOpt = None) -> None:
    """Run the certification lifecycle (certify_network); exit 0 certified, 3 blocked, 2 bad input."""
    from flows.certify_network import certify_network
    from tasks.db import transaction
    from tasks.gates import load_gate_results

    day = parse_as_of(as_of)
    with transaction() as session:
        network_id = resolve_network(session, network)
    console.print(f"Certifying {network_id!r} as of {day} (Prefect flow certify-network)…")
    with heartbeats_off():
        state = certify_network(network=network_id, as_of=day, return_state=True)
    run_id = str(state.state_details.flow_run_id)
    gates = load_gate_results(network_id, run_id, include_decision=True)
    print_gate_table(gates)
    if state.is_completed():
        certificate = state.result()
        again = "" if certificate.newly_issued else " (already issued for this cycle; not reissued)"
        console.print(f"[bold green]Certified[/]: certificate {certificate.number}{again}, valid until "
                      f"{certificate.valid_until}")
        console.print(f"PDF:  {certificate.pdf_path}\nHTML: {certificate.html_path}")
        return
    blockers = [c for g in gates for c in g.blockers if g.stage.value != "decision"]
    console.print(f"[bold red]Not certified[/]: {len(blockers)} unmet requirement(s)")
    for c in blockers:
        console.print(f"  - {c.line()}", markup=False, highlight=False)
    if not gates:
        console.print(state.message or "the run failed before any gate was evaluated", markup=False)
    raise typer.Exit(EXIT_BLOCKED)


SHORT = {"formation": "form", "training": "train", "planning": "plan", "internal_audits": "int.audit",
         "management_review": "mgmt rev", "external_audit": "ext.audit", "decision": "decide"}


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
    from sqlalchemy import select

    from models.tables import HistoryRow
    from tasks.db import transaction

    with transaction() as session:
        network_id = resolve_network(session, network)
        rows = session.scalars(select(HistoryRow).where(HistoryRow.network_id == network_id)
                               .order_by(HistoryRow.id.desc()).limit(limit)).all()
        table = Table("at", "actor", "entity", "id", "action")
        for r in rows:
            table.add_row(r.at.isoformat(timespec="seconds"), r.actor, r.entity, r.entity_id, r.action)
    console.print(table)


def main() -> None:
    from tasks.store import NetworkNotFound

    try:
        # Without standalone mode click returns, rather than raises, the code of typer.Exit.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except BadInput as exc:
        errors.print(f"error: {exc}", style="red", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except NetworkNotFound as exc:
        errors.print(f"error: {exc}", style="red", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        errors.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click's usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
