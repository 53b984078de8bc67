"""What happened, as a value: the service layer collects these and publishes them after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DomainEvent(BaseModel):
    """`hackefors.<name>` about one network (or, without one, the portfolio of networks), with its
    payload and extra resource labels."""

    model_config = ConfigDict(frozen=True)

    name: str
    network_id: str | None
    payload: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    subject: str = ""  # what the event is about, in words: an event card shows it


class HistoryEntry(BaseModel):
    """One line of the store's append-only history: who changed what, when."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    network_id: str | None
    entity: str
    entity_id: str
    action: str  # insert, update or delete
    detail: dict[str, Any] | None = None
    source: str | None = None  # portal, file or cli (models.evidence.Source); unset before 0007
