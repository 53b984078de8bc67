"""Prefect events for automations: gates passed or failed, certificates issued or changed."""

from __future__ import annotations

from typing import Any

from prefect.context import FlowRunContext, TaskRunContext
from prefect.events import emit_event


def emit(event: str, network_id: str, payload: dict[str, Any], **labels: str) -> None:
    """Emit `hackefors.<event>` about a network, from inside a flow or task run only (the CLI's
    own changes are in the store's history; emitting there would start a server just for that)."""
    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return
    emit_event(event=f"hackefors.{event}",
               resource={"prefect.resource.id": f"hackefors.network.{network_id}",
                         "prefect.resource.name": network_id, **labels},
               payload=payload)
