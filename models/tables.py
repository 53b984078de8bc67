"""SQLAlchemy 2.0 tables of the store. Alembic migrations (migrations/) create and upgrade them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


Base.metadata.naming_convention = NAMING  # type: ignore[assignment]

NETWORK_FK = "networks.id"


def network_key() -> Mapped[str]:
    return mapped_column(String(64), ForeignKey(NETWORK_FK, ondelete="CASCADE"), primary_key=True)


def company_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["network_id", "company_id"], ["companies.network_id", "companies.id"],
        ondelete="CASCADE", name=f"fk_{table}_company",
    )


class NetworkRow(Base):
    __tablename__ = "networks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    founded_on: Mapped[dt.date | None] = mapped_column(Date)
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ems_manual: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    steering_committee: Mapped[list[Any]] = mapped_column(JSON)
    central_coordinator: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    support_group: Mapped[list[Any]] = mapped_column(JSON)
    collective_objectives: Mapped[list[Any]] = mapped_column(JSON)
    policy_overrides: Mapped[dict[str, Any]] = mapped_column(JSON)
    certification_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CompanyRow(Base):
    __tablename__ = "companies"

    network_id: Mapped[str] = network_key()
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(32))
    personnel: Mapped[int] = mapped_column(Integer)
    complexity: Mapped[str] = mapped_column(String(16))
    joined_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    coordinator: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    group_agreement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    commitment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    environmental_manager: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    roles_defined_on: Mapped[dt.date | None] = mapped_column(Date)
    binder: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    integrated_with: Mapped[list[Any]] = mapped_column(JSON)
    organisation_number: Mapped[str | None] = mapped_column(String(32))
    site_address: Mapped[str | None] = mapped_column(String(200))


class EmployeeRow(Base):
    __tablename__ = "employees"
    __table_args__ = (company_fk("employees"),)

    network_id: Mapped[str] = network_key()
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    hired_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)


class TrainingSessionRow(Base):
    __tablename__ = "training_sessions"

    network_id: Mapped[str] = network_key()
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    # Exact: NUMERIC on PostgreSQL; on SQLite read back at this scale, which the 4 decimal places
    # and the 200 h bound of the model keep exact.
    hours: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    topics: Mapped[list[Any]] = mapped_column(JSON)
    trainer: Mapped[str | None] = mapped_column(String(200))


class AttendanceRow(Base):
    """One employee at one training session: the store's training record."""

    __tablename__ = "training_attendance"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "session_id"],
                             ["training_sessions.network_id", "training_sessions.id"],
                             ondelete="CASCADE", name="fk_training_attendance_session"),
        ForeignKeyConstraint(["network_id", "employee_id"], ["employees.network_id", "employees.id"],
                             ondelete="CASCADE", name="fk_training_attendance_employee"),
    )

    network_id: Mapped[str] = network_key()
    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class AspectRow(Base):
    __tablename__ = "aspects"
    __table_args__ = (company_fk("aspects"),)

    network_id: Mapped[str] = network_key()
    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200))
    direct: Mapped[bool] = mapped_column(Boolean)
    significance: Mapped[str | None] = mapped_column(String(16))


class LegalRequirementRow(Base):
    __tablename__ = "legal_requirements"
    __table_args__ = (company_fk("legal_requirements"),)

    network_id: Mapped[str] = network_key()
    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    obligation: Mapped[str] = mapped_column(String(200))
    evaluated_on: Mapped[dt.date | None] = mapped_column(Date)
    compliant: Mapped[bool | None] = mapped_column(Boolean)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)


class ObjectiveRow(Base):
    __tablename__ = "objectives"
    __table_args__ = (company_fk("objectives"),)

    network_id: Mapped[str] = network_key()
    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200))
    indicator: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(200))
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    target_year: Mapped[int | None] = mapped_column(Integer)
    measurements: Mapped[dict[str, Any]] = mapped_column(JSON)
    direction: Mapped[str] = mapped_column(String(16))
    aspect: Mapped[str | None] = mapped_column(String(64))
    previous_targets: Mapped[dict[str, Any]] = mapped_column(JSON)


class IndicatorRow(Base):
    """One EMAS core indicator of a company: annual totals by year."""

    __tablename__ = "indicators"
    __table_args__ = (company_fk("indicators"),)

    network_id: Mapped[str] = network_key()
    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)


class InternalAuditRow(Base):
    __tablename__ = "internal_audits"
    __table_args__ = (company_fk("internal_audits"),)

    network_id: Mapped[str] = network_key()
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    auditor: Mapped[str] = mapped_column(String(200))


class ExternalAuditRow(Base):
    __tablename__ = "external_audits"

    network_id: Mapped[str] = network_key()
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    certification_body: Mapped[str] = mapped_column(String(200))
    lead_auditor: Mapped[str] = mapped_column(String(200))
    auditors: Mapped[list[Any]] = mapped_column(JSON)
    companies_visited: Mapped[list[Any]] = mapped_column(JSON)
    central_function_visited: Mapped[bool] = mapped_column(Boolean)
    recommendation: Mapped[str] = mapped_column(String(16))


class FindingRow(Base):
    """A finding of an internal (company) or external (certification body) audit."""

    __tablename__ = "findings"

    network_id: Mapped[str] = network_key()
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    audit_id: Mapped[str] = mapped_column(String(64), index=True)
    external: Mapped[bool] = mapped_column(Boolean)
    company_id: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(32))
    clause: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    plan_accepted_on: Mapped[dt.date | None] = mapped_column(Date)


class CorrectiveActionRow(Base):
    __tablename__ = "corrective_actions"
    __table_args__ = (
        ForeignKeyConstraint(["network_id", "finding_id"], ["findings.network_id", "findings.id"],
                             ondelete="CASCADE", name="fk_corrective_actions_finding"),
    )

    network_id: Mapped[str] = network_key()
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    finding_id: Mapped[str] = mapped_column(String(64), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    due: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    verified_effective_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[Any] | None] = mapped_column(JSON)


class ManagementReviewRow(Base):
    __tablename__ = "management_reviews"
    __table_args__ = (company_fk("management_reviews"),)

    network_id: Mapped[str] = network_key()
    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    inputs: Mapped[list[Any]] = mapped_column(JSON)
    decisions: Mapped[list[Any]] = mapped_column(JSON)
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signed_on: Mapped[dt.date | None] = mapped_column(Date)


class CertificateRow(Base):
    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("network_id", "cycle", name="uq_certificates_network_cycle"),)

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(64), ForeignKey(NETWORK_FK, ondelete="CASCADE"))
    cycle: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(Text)
    companies: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    signature: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(64))
    replaces: Mapped[str | None] = mapped_column(String(64))


class SigningKeyRow(Base):
    """The public half of a key that signs (or signed) certificates; the private key is a file."""

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CertificateEventRow(Base):
    """A change of a certificate's status: suspended, reinstated, superseded, withdrawn."""

    __tablename__ = "certificate_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(64), ForeignKey("certificates.number", ondelete="CASCADE"),
                                        index=True)
    on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class GateResultRow(Base):
    """One gate's outcome for one network in one run; kept for every run (the gate history)."""

    __tablename__ = "gate_results"
    __table_args__ = (UniqueConstraint("run_id", "network_id", "stage", name="uq_gate_results_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64))
    network_id: Mapped[str] = mapped_column(String(64), ForeignKey(NETWORK_FK, ondelete="CASCADE"),
                                            index=True)
    stage: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[dt.date] = mapped_column(Date)
    passed: Mapped[bool] = mapped_column(Boolean)
    checks: Mapped[list[Any]] = mapped_column(JSON)
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class HistoryRow(Base):
    """Append-only record of every change to the store (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "history"
    # A network's newest entry (the kept readiness's mark) in one index lookup.
    __table_args__ = (Index("ix_history_network_id_id", "network_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    network_id: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(16))  # portal, file or cli; unset before 0007


class OutboxRow(Base):
    """An email waiting to be sent, or sent: one per message, keyed so a re-run adds nothing."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    network_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    message: Mapped[bytes] = mapped_column(LargeBinary)
    # queued, sending (claimed), sent, written (.eml), undeliverable (a permanent refusal), dropped
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    as_of: Mapped[dt.date] = mapped_column(Date)
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_to: Mapped[str | None] = mapped_column(String(500))
    # The lease: who claimed the message to send it, and until when no one else may.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # After a transient failure: not before this.
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ReminderLogRow(Base):
    """Which item was reminded to whom, when: each (coordinator, item, period) once."""

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("network_id", "recipient_id", "item_key", "period",
                                       name="uq_reminder_log_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network_id: Mapped[str] = mapped_column(String(64))
    recipient_id: Mapped[str] = mapped_column(String(64))
    item_key: Mapped[str] = mapped_column(String(200))
    period: Mapped[dt.date] = mapped_column(Date)
    as_of: Mapped[dt.date] = mapped_column(Date)
    overdue_days: Mapped[int] = mapped_column(Integer)
    outbox_id: Mapped[int] = mapped_column(Integer, ForeignKey("outbox.id", ondelete="CASCADE"))


class EvidenceFileRow(Base):
    """A file a company gave as evidence; its bytes are under the data folder, named by sha256."""

    __tablename__ = "evidence_files"
    __table_args__ = (company_fk("evidence_files"),)

    network_id: Mapped[str] = network_key()
    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))


class RecordedFieldRow(Base):
    """A field of a network's row that was recorded through the portal (not by a network file):
    a re-import keeps it unless the file holds another value for it (a conflict) or `--replace`."""

    __tablename__ = "recorded_fields"

    network_id: Mapped[str] = network_key()
    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AccountRow(Base):
    """A person who may sign in to the portal, with one role. The network and company are plain
    values, not keys: an account outlives a re-import that drops its company (it then sees nothing)."""

    __tablename__ = "accounts"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower case
    role: Mapped[str] = mapped_column(String(32))
    network_id: Mapped[str | None] = mapped_column(String(64))
    company_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SignInLinkRow(Base):
    """A one-time sign-in link: only the sha256 of its secret is kept."""

    __tablename__ = "sign_in_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), ForeignKey("accounts.email", ondelete="CASCADE"),
                                       index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PortalSessionRow(Base):
    """A signed-in browser: the cookie carries the secret, the store its sha256; removing the row
    (sign-out, a role revoked) ends the session."""

    __tablename__ = "portal_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), ForeignKey("accounts.email", ondelete="CASCADE"),
                                       index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class KeptReadinessRow(Base):
    """A company's to-do list and gates as last computed (services/readiness.py): valid for the day
    it was computed for and while the network's newest history entry is still `history_mark` (every
    write appends to the history, so any write makes it stale)."""

    __tablename__ = "kept_readiness"

    network_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    history_mark: Mapped[int] = mapped_column(Integer)
    todo: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RateEventRow(Base):
    """One counted request of a rate limit (sign-in requests, public verifications), kept in the
    store so that every portal process and machine counts the same requests."""

    __tablename__ = "rate_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    limit_name: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_rate_events_limit_key_at", "limit_name", "key", "at"),)
