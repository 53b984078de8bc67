"""What every stage flow does: evaluate its gate, record it, and fail loudly when it is blocked."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, runtime
from prefect.states import Failed, State
from pydantic import BaseModel

from models.catalogue import Stage
from models.results import GateResult
from tasks.gates import evaluate_gate, record_gate


class GateOutcome(BaseModel):
    network_id: str
    stage: Stage
    passed: bool
    checks: int
    unmet: int


def this_run_id(run_id: str | None) -> str:
    """The run the gate results belong to: the parent's when given, else this flow run."""
    return run_id or str(runtime.flow_run.id)


def settle_gate(result: GateResult, run_id: str) -> State | None:
    """Record a gate's result; a Failed state naming every unmet requirement if it is blocked."""
    record_gate(result, run_id)
    if result.passed:
        return None
    get_run_logger().warning(result.message())  # the state's message shows escaped; the log, as written
    return Failed(message=result.message())


def run_gate(stage: Stage, network: str, as_of: date | None, run_id: str | None) -> GateOutcome | State:
    result = evaluate_gate(network, stage, as_of or date.today())
    blocked = settle_gate(result, this_run_id(run_id))
    return blocked or GateOutcome(network_id=network, stage=stage, passed=True,
                                  checks=len(result.checks), unmet=0)
