"""Each run's gate results.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from adapters.repositories.common import chunked
from models import tables as t
from models.results import GateResult


class GateResultRepository:
    """Each run's gate results."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def replace(self, result: GateResult, run_id: str, at: datetime) -> None:
        """Store a gate's result under `run_id`, replacing an earlier attempt of the same run."""
        self.replace_many([result], run_id, at)

    def replace_many(self, results: list[GateResult], run_id: str, at: datetime) -> None:
        """Store gate results of any networks under `run_id`, replacing earlier attempts of the same run
        (one DELETE and one INSERT per 500 results)."""
        row = t.GateResultRow
        for chunk in chunked(results):
            keys = [(r.network_id, r.stage.value) for r in chunk]
            self.session.execute(delete(row).where(row.run_id == run_id,
                                                   tuple_(row.network_id, row.stage).in_(keys)))
            self.session.execute(insert(row), [dict(
                run_id=run_id, network_id=r.network_id, stage=r.stage.value, as_of=r.as_of, passed=r.passed,
                evaluated_at=at, checks=[c.model_dump(mode="json") for c in r.checks]) for r in chunk])

    def discard_run(self, network_id: str, run_id: str) -> int:
        """Delete every result of one run; how many there were."""
        row = t.GateResultRow
        gone = self.session.execute(delete(row).where(row.run_id == run_id, row.network_id == network_id))
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    def for_run(self, network_id: str, run_id: str, stages: Iterable[str] | None = None) -> list[GateResult]:
        """The results stored for one run (only `stages`, when given), in the order evaluated."""
        row = t.GateResultRow
        query = select(row).where(row.run_id == run_id, row.network_id == network_id)
        if stages is not None:
            query = query.where(row.stage.in_(list(stages)))
        return [GateResult(network_id=r.network_id, stage=r.stage, as_of=r.as_of, checks=tuple(r.checks))
                for r in self.session.scalars(query.order_by(row.id))]


