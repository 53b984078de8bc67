"""Certification runs paused in Prefect for the auditors: found by their network and resumed with
the auditors' typed input (tasks/inputs.py `AuditorInput`), through Prefect's API, as the Resume
form of the UI would."""

from __future__ import annotations

from models.network import Recommendation

AUDITORS_PAUSE_KEY = "auditors"  # flows/audit_network.py pauses with this key


def api_configured() -> bool:
    """Whether a Prefect API is configured; without one there is no run to resume (and asking would
    start a temporary server of our own)."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def resume_waiting_for_auditors(network_id: str, recommendation: Recommendation, lead_auditor: str,
                                note: str) -> list[str]:
    """Resume every run of `audit-network` for `network_id` paused for the auditors' input; their ids."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    from tasks.inputs import AuditorInput

    if not api_configured():
        return []
    answer = AuditorInput(recommendation=recommendation, lead_auditor=lead_auditor, note=note)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(any_=[f"audit-network-{network_id}"]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))))
    resumed = []
    for run in runs:
        pause_key = run.state.state_details.pause_key if run.state else None
        if pause_key != AUDITORS_PAUSE_KEY or run.parameters.get("network") != network_id:
            continue
        resume_flow_run(run.id, run_input=answer.model_dump(mode="json"))
        resumed.append(str(run.id))
    return resumed
