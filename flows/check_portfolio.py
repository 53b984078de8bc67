"""The portfolio check: every network's gates at once, and the operator's view of all of them."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import State

from flows.gate import refused_run, this_run_id
from models.portfolio import Portfolio, PortfolioRow
from services.portfolio import BATCH_SIZE, batches
from tasks.portfolio import check_networks, networks_to_check, publish_portfolio


@flow(name="check-portfolio")
def check_portfolio(as_of: date | None = None, networks: list[str] | None = None, shard: str | None = None,
                    batch_size: int = BATCH_SIZE, allow_future: bool = False) -> Portfolio | State:
    """Evaluate every gate of every network (or of `networks`, one shard), store the results and
    publish the portfolio: who must act now, who is on track, who is certified."""
    as_of = as_of or date.today()
    if (refused := refused_run(networks or [], as_of, allow_future)) is not None:
        return refused
    run_id = this_run_id(None)
    rows: list[PortfolioRow] = []
    for batch in batches(networks_to_check(networks), batch_size):
        rows += check_networks(batch, as_of, run_id)
    return publish_portfolio(rows, as_of, run_id, shard)
