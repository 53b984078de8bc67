"""Evidence a company records itself (through the portal, a spreadsheet or the command line): who
records it and through what, the forms' inputs, and the rules about them. Pure: no I/O."""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.network import Email, Hours, Id, Line, Name, Text
from models.policy import MANAGEMENT_REVIEW_INPUTS, TRAINING_TOPICS

EVIDENCE_RECORDED = "evidence.recorded"  # the event: hackefors.evidence.recorded


class Source(StrEnum):
    """The way a change came in; every history entry names it beside the person."""

    PORTAL = "portal"
    FILE = "file"  # a network file, `hackefors import`
    CLI = "cli"


class Role(StrEnum):
    OPERATOR = "operator"
    CENTRAL_COORDINATOR = "central-coordinator"
    COORDINATOR = "coordinator"
    AUDITOR = "auditor"


class Actor(BaseModel):
    """Who records something, in which role, and through what."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: Email | None = None
    name: Name | None = None
    role: Role
    source: Source
    network: Id | None = None  # the network of a central coordinator, coordinator or auditor
    company: Id | None = None  # a coordinator's company

    @property
    def who(self) -> str:
        """The person, as the history shows them."""
        return self.email or self.name or self.role.value


def only_known(values: tuple[str, ...], known: tuple[str, ...], what: str) -> tuple[str, ...]:
    """`values` once each, in order; an unknown one is refused, naming the known ones."""
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; known: {list(known)}")
    return tuple(dict.fromkeys(values))


class Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NewEmployee(Input):
    id: Id
    name: Name
    hired_on: dt.date


class Leaving(Input):
    employee: Id
    left_on: dt.date


class TrainingRecord(Input):
    """A training session of one company: the attendees are employee ids of that company."""

    date: dt.date
    hours: Hours
    topics: tuple[str, ...] = ()
    trainer: Name | None = None
    attendees: tuple[Id, ...] = Field(min_length=1)

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        return only_known(topics, TRAINING_TOPICS, "training topic(s)")

    @field_validator("attendees")
    @classmethod
    def _once_each(cls, attendees: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(attendees)))


class ActionClosure(Input):
    action: Id
    closed_on: dt.date
    note: Text = Field(min_length=1)
    evidence: tuple[str, ...] = ()  # sha256 of evidence files of the company


class ActionVerification(Input):
    action: Id
    verified_on: dt.date


class ReviewRecord(Input):
    """A management review (ISO 14001 9.3)."""

    date: dt.date
    inputs: tuple[str, ...]
    decisions: tuple[Name, ...] = ()
    signed_by: Name
    signed_on: dt.date | None = None  # the review's date when unset

    @field_validator("inputs")
    @classmethod
    def _known_inputs(cls, inputs: tuple[str, ...]) -> tuple[str, ...]:
        return only_known(inputs, MANAGEMENT_REVIEW_INPUTS, "9.3 input(s)")


class LegalEvaluation(Input):
    requirement: Id
    evaluated_on: dt.date
    compliant: bool
    note: Line | None = None


# --- who may do what --------------------------------------------------------------------------


def may_record(actor: Actor, network_id: str, company_id: str) -> bool:
    """Whether `actor` may record evidence of a company: the operator anywhere, a central
    coordinator in their network, a coordinator for their own company; auditors record none."""
    if actor.role is Role.OPERATOR:
        return True
    if actor.network != network_id:
        return False
    if actor.role is Role.CENTRAL_COORDINATOR:
        return True
    return actor.role is Role.COORDINATOR and actor.company == company_id


def may_verify(actor: Actor, network_id: str) -> bool:
    """Verification of effectiveness is independent of the company: the operator and the network's
    auditors verify; no coordinator does, so a company never verifies its own action."""
    if actor.role is Role.OPERATOR:
        return True
    return actor.role is Role.AUDITOR and actor.network == network_id


# --- evidence files ---------------------------------------------------------------------------

MEDIA_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def sniff_media_type(content: bytes) -> str | None:
    """The type of an evidence file from its first bytes (its name is not trusted): PDF, PNG or
    JPEG; None for anything else."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def training_session_id(company_id: str, record: TrainingRecord) -> str:
    """A session's id from what it is: the same session recorded again (a form sent twice, a
    spreadsheet imported twice) has the same id, so it is recorded once."""
    what = "|".join([company_id, record.date.isoformat(), str(record.hours.normalize()),
                     ",".join(sorted(record.topics)), record.trainer or ""])
    return f"s-{hashlib.sha256(what.encode()).hexdigest()[:16]}"


def review_id(record: ReviewRecord) -> str:
    return f"review-{record.date.isoformat()}"


class EvidenceFile(BaseModel):
    """A stored evidence file of a company, as listed (its bytes are apart, named by sha256)."""

    model_config = ConfigDict(frozen=True)

    network_id: str
    company_id: str
    sha256: str
    media_type: str
    size: int
    filename: str
    stored_at: dt.datetime
    actor: str
    source: str
