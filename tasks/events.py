"""Prefect events for automations: gates passed or failed, certificates issued or changed, evidence
recorded."""

from __future__ import annotations

import logging
from typing import Any

from prefect.context import FlowRunContext, TaskRunContext
from prefect.events import emit_event
from prefect.settings import PREFECT_API_URL

from models.events import DomainEvent
from services.unit_of_work import SqlAlchemyUnitOfWork

PORTFOLIO_RESOURCE = "hackefors.portfolio"
logger = logging.getLogger(__name__)


def network_resource(network_id: str) -> str:
    return f"hackefors.network.{network_id}"


def _emit(event: str, network_id: str | None, payload: dict[str, Any], subject: str,
          labels: dict[str, str]) -> None:
    if network_id is None:
        resource = {"prefect.resource.id": PORTFOLIO_RESOURCE,
                    "prefect.resource.name": subject or "portfolio"}
    else:
        resource = {"prefect.resource.id": network_resource(network_id),
                    "prefect.resource.name": subject or network_id}
    emit_event(event=f"hackefors.{event}", resource={**resource, **labels}, payload=payload)


def in_a_run() -> bool:
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def emit(event: str, network_id: str | None, payload: dict[str, Any], subject: str = "",
         **labels: str) -> None:
    """Emit `hackefors.<event>` about a network (None: about the portfolio), from inside a flow or task
    run only (the CLI's own changes are in the store's history; emitting there would start a server
    just for that). `subject` names what it is about in words, for the event's card in the UI."""
    if in_a_run():
        _emit(event, network_id, payload, subject, labels)


def publish(event: DomainEvent) -> None:
    """Publish a service's event to Prefect."""
    emit(event.name, event.network_id, event.payload, event.subject, **event.labels)


def publish_anywhere(event: DomainEvent) -> None:
    """Publish a service's event from a run, or from the portal or the command line to the Prefect
    API that PREFECT_API_URL names; with none configured it is logged and left out (never by starting
    a temporary server). It is published after the commit, so a failure here is logged and the write
    stands."""
    try:
        if not in_a_run() and not PREFECT_API_URL.value():
            logger.info("hackefors.%s about %s not sent to Prefect: no PREFECT_API_URL", event.name,
                        event.network_id)
            return
        _emit(event.name, event.network_id, event.payload, event.subject, dict(event.labels))
    except Exception:  # the change is committed: an event that cannot go out must not undo it
        logger.warning("hackefors.%s about %s could not be sent to Prefect", event.name, event.network_id,
                       exc_info=True)


def unit_of_work() -> SqlAlchemyUnitOfWork:
    """The unit of work a task hands its service: the configured store, events to Prefect."""
    return SqlAlchemyUnitOfWork(publish=publish)


def recording_unit_of_work() -> SqlAlchemyUnitOfWork:
    """The unit of work of the portal and of the command line's writes: events to the configured
    Prefect API (`publish_anywhere`)."""
    return SqlAlchemyUnitOfWork(publish=publish_anywhere)
