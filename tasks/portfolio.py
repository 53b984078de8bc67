"""Portfolio tasks: check networks a batch at a time, then publish the operator's view of all of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import task_run

from models.portfolio import COLUMNS, GROUP_ORDER, Portfolio, PortfolioRow, portfolio, portfolio_cells
from services import portfolio as service
from tasks.events import unit_of_work
from tasks.gates import artifact_key
from tasks.retrying import IO_TASK


@task(name="portfolio-networks", **IO_TASK)
def networks_to_check(networks: list[str] | None) -> list[str]:
    """The networks to check: all in the store, or the shard given."""
    return service.portfolio_networks(unit_of_work(), networks)


def _batch_name() -> str:
    """check-networks-FIRST-to-LAST: which networks a batch holds, in the UI."""
    ids: list[str] = task_run.parameters["network_ids"]
    if len(ids) > 1:
        return f"check-networks-{ids[0]}-to-{ids[-1]}"
    return f"check-networks-{ids[0]}" if ids else "check-networks"


@task(name="check-networks", task_run_name=_batch_name, **IO_TASK)
def check_networks(network_ids: list[str], as_of: date, run_id: str) -> list[PortfolioRow]:
    """Evaluate every gate of a batch of networks and store their results in one transaction."""
    return service.check_networks(unit_of_work(), network_ids, as_of, run_id)


def portfolio_keys(shard: str | None) -> tuple[str, str]:
    """The keys of the table and markdown artifacts: `portfolio`, or `portfolio-<shard>`."""
    table = artifact_key("portfolio", shard) if shard else "portfolio"
    return table, f"{table}-by-group"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def portfolio_markdown(checked: Portfolio, run_id: str) -> str:
    """The portfolio grouped as act now, on track and certified, one table per group."""
    lines = [f"# Portfolio as of {checked.as_of}", "", checked.summary() + f". Gate results stored under run "
             f"`{run_id}`."]
    for group in GROUP_ORDER:
        rows = checked.in_group(group)
        lines += ["", f"## {group.value.capitalize()} ({len(rows)})", ""]
        if not rows:
            lines.append("none")
            continue
        columns = [c for c in COLUMNS if c != "status"] + (["why"] if group is GROUP_ORDER[0] else [])
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            cells: dict[str, Any] = {**portfolio_cells(row, checked.as_of), "why": "; ".join(row.reasons)}
            lines.append("| " + " | ".join(_cell(str(cells[c])) for c in columns) + " |")
    return "\n".join(lines)


@task(name="publish-portfolio", **IO_TASK)
def publish_portfolio(rows: Sequence[PortfolioRow], as_of: date, run_id: str, shard: str | None) -> Portfolio:
    """Publish the portfolio as a table (what needs action first) and grouped in markdown, and announce it."""
    checked = portfolio(as_of, rows)
    table_key, markdown_key = portfolio_keys(shard)
    description = "Portfolio" + (f" {shard}" if shard else "") + f": {checked.summary()}"
    create_table_artifact(key=table_key, table=[portfolio_cells(r, as_of) for r in checked.rows],
                          description=description)
    create_markdown_artifact(key=markdown_key, markdown=portfolio_markdown(checked, run_id),
                             description=description)
    service.announce_check(unit_of_work(), checked, run_id, shard)
    return checked
