"""What every stage flow does: evaluate its gate, record it, and fail loudly when it is blocked."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, runtime
from prefect.states import Failed, State
from pydantic import BaseModel

from models.catalogue import Stage
from models.results import GateResult
from services.unit_of_work import unavailable_store
from tasks.gates import check_run_parameters, evaluate_gate, record_gate, void_run


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


def refused_run(network_ids: list[str], as_of: date, allow_future: bool = False) -> State | None:
    """Before the first stage: a Failed state in one line when a parameter is wrong (a network the
    store does not hold, named beside those it does; a day still to come without `allow_future`),
    so that nothing runs and nothing is published; else None."""
    problem = check_run_parameters(network_ids, as_of, date.today(), allow_future)
    if problem is None:
        return None
    get_run_logger().error(problem)
    return Failed(message=problem)


def stopped_by_the_store(network: str, run_id: str, stage: State) -> State | None:
    """When a stage failed because the store could not be reached, the run stops there: a Failed
    state saying so in one paragraph, its gate results discarded if the store answers again within
    the task's retries (no reader takes them anyway: each run reads only its own). Else None."""
    lost = unavailable_store(stage.result(raise_on_failure=False)) if stage.is_failed() else None
    if lost is None:
        return None
    voided = void_run(network, run_id, str(lost), return_state=True)
    kept = "discarded" if voided.is_completed() else "void (not discarded: the store still does not answer)"
    return Failed(message=f"stopped: {lost}. The gates after it were not run; the gate results this run "
                          f"stored are {kept}. Run it again when the store is back.")
