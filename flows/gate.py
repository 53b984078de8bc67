"""What every stage flow does: evaluate its gate, record it, and fail loudly when it is blocked."""

from __future__ import annotations

from datetime import date

from prefect import runtime
from prefect.states import Failed, State
from pydantic import BaseModel

from models.catalogue import Stage
from tasks.gates import evaluate_gate_task, record_gate


class GateOutcome(BaseModel):
    network_id: str
    stage: Stage
    passed: bool
    checks: int
    unmet: int


def this_run_id(run_id: str | None) -> str:
    """The run the gate results belong to: the parent's when given, else this flow run."""
    return run_id or str(runtime.flow_run.id)


def run_gate(stage: Stage, network: str, as_of: date | None, run_id: str | None) -> GateOutcome | State:
    as_of = as_of or date.today()
    run_id = this_run_id(run_id)
    result = evaluate_gate_task(network, stage, as_of)
    record_gate(result, run_id)
    if not result.passed:
        return Failed(message=result.message())
    return GateOutcome(network_id=network, stage=stage, passed=True, checks=len(result.checks), unmet=0)
