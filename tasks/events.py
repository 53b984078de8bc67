"""Prefect events for automations: gates passed or failed, certificates issued or changed."""

from __future__ import annotations

from typing import Any

from prefect.context import FlowRunContext, TaskRunContext
from prefect.events import emit_event

from models.events import DomainEvent
from services.unit_of_work import SqlAlchemyUnitOfWork

PORTFOLIO_RESOURCE = "hackefors.portfolio"


def emit(event: str, network_id: str | None, payload: dict[str, Any], subject: str = "",
         **labels: str) -> None:
    """Emit `hackefors.<event>` about a network (None: about the portfolio), from inside a flow or task
    run only (the CLI's own changes are in the store's history; emitting there would start a server
    just for that). `subject` names what it is about in words, for the event's card in the UI."""
    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return
    if network_id is None:
        resource = {"prefect.resource.id": PORTFOLIO_RESOURCE,
                    "prefect.resource.name": subject or "portfolio"}
    else:
        resource = {"prefect.resource.id": f"hackefors.network.{network_id}",
                    "prefect.resource.name": subject or network_id}
    emit_event(event=f"hackefors.{event}", resource={**resource, **labels}, payload=payload)


def publish(event: DomainEvent) -> None:
    """Publish a service's event to Prefect."""
    emit(event.name, event.network_id, event.payload, event.subject, **event.labels)


def unit_of_work() -> SqlAlchemyUnitOfWork:
    """The unit of work a task hands its service: the configured store, events to Prefect."""
    return SqlAlchemyUnitOfWork(publish=publish)
