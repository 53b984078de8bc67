"""Use cases of the coordinators' portal: a company records its own evidence (employees, training,
corrective actions, management reviews, legal evaluations, evidence files) and reads what it must do.

Every write takes the network, the company, one validated input and the actor; it checks the input
with the same pydantic models as network files and the company's own records, writes in one
transaction (only the tables it changes) with a history entry naming the person and the source,
remembers which fields it recorded (so a re-imported network file keeps them, see `merge_rules` in
the README) and announces `hackefors.evidence.recorded` for the network after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict

from adapters.repositories.networks import SyncSummary
from adapters.settings import get_settings
from models.dates import EARLIEST_DATE
from models.errors import NotAllowed, RefusedChange, UnknownCompany, UnknownRecord
from models.events import DomainEvent, HistoryEntry
from models.evidence import (
    EVIDENCE_RECORDED,
    MEDIA_TYPES,
    ActionClosure,
    ActionVerification,
    Actor,
    EvidenceFile,
    Leaving,
    LegalEvaluation,
    NewEmployee,
    ReviewRecord,
    TrainingRecord,
    may_record,
    may_verify,
    review_id,
    sha256_of,
    sniff_media_type,
    training_session_id,
)
from models.network import (
    Company,
    CorrectiveAction,
    Employee,
    LegalRequirement,
    ManagementReview,
    Network,
    TrainingSession,
)
from models.todo import CompanyTodo
from models.training import employed_on
from services.readiness import network_todos
from services.unit_of_work import AbstractUnitOfWork, retry_when_busy


class Recorded(BaseModel):
    """What a write recorded: its kind, the ids it wrote and how many rows changed (0: it was
    already recorded so)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    network_id: str
    company_id: str
    ids: tuple[str, ...]
    changes: int

    @property
    def changed(self) -> bool:
        return self.changes > 0


def find_company(network: Network, company_id: str) -> Company:
    for company in network.companies:
        if company.id == company_id:
            return company
    raise UnknownCompany(company_id, network.id, [c.id for c in network.companies])


def with_company(network: Network, company: Company) -> Network:
    return network.model_copy(update={"companies": tuple(company if c.id == company.id else c
                                                         for c in network.companies)})


def max_upload_bytes(max_bytes: int | None = None) -> int:
    """The largest upload (evidence file or spreadsheet): `max_bytes`, or HACKEFORS_MAX_EVIDENCE_MB."""
    return max_bytes if max_bytes is not None else int(get_settings().max_evidence_mb * 1_000_000)


def too_large(size: int, max_bytes: int) -> str:
    return (f"the file has {size / 1e6:.1f} MB, more than the limit of {max_bytes / 1e6:g} MB "
            "(HACKEFORS_MAX_EVIDENCE_MB)")


def check_date(field: str, value: date, today: date) -> None:
    if value < EARLIEST_DATE:
        raise RefusedChange(f"{field} {value} is before {EARLIEST_DATE}")
    if value > today:
        raise RefusedChange(f"{field} {value} is after today ({today}): record what has happened")


def today_or_clock(today: date | None) -> date:
    return today or datetime.now(UTC).date()


def may_record_or_refuse(actor: Actor, network_id: str, company_id: str) -> None:
    if not may_record(actor, network_id, company_id):
        raise NotAllowed(f"{actor.who} ({actor.role.value}) may not record evidence of company "
                         f"{company_id!r} of network {network_id!r}")


def write(uow: AbstractUnitOfWork, network_id: str, company_id: str, actor: Actor, kind: str,
          parts: Iterable[str], tables: Iterable[str],
          change: Callable[[Network, Company], tuple[Network, tuple[str, ...]]], as_of: date) -> Recorded:
    """Load the parts of the network a write needs, apply `change` (which validates and returns
    the changed network and the ids it wrote), save the tables it touches with their history and
    announce the change, evaluated `as_of`, after the commit; one transaction, and the network is
    locked for it. A store too busy for it (a lock held past its timeout, a lost serialization
    race) runs it again."""
    return retry_when_busy(
        lambda: _write_once(uow, network_id, company_id, actor, kind, parts, tables, change, as_of))


def _write_once(uow: AbstractUnitOfWork, network_id: str, company_id: str, actor: Actor, kind: str,
                parts: Iterable[str], tables: Iterable[str],
                change: Callable[[Network, Company], tuple[Network, tuple[str, ...]]],
                as_of: date) -> Recorded:
    with uow:
        uow.networks.lock(network_id)
        network = uow.networks.load(network_id, parts)
        company = find_company(network, company_id)
        changed, ids = change(network, company)
        summary = uow.networks.save(changed, actor.who, datetime.now(UTC), source=actor.source.value,
                                    tables=tables)
        announce(uow, network, company, actor, kind, ids, summary, as_of)
        uow.commit()
    return Recorded(kind=kind, network_id=network_id, company_id=company_id, ids=ids,
                    changes=len(summary.changes))


def announce(uow: AbstractUnitOfWork, network: Network, company: Company, actor: Actor, kind: str,
             ids: tuple[str, ...], summary: SyncSummary, as_of: date) -> None:
    """Record the summary's changes in the history and, when anything changed, the event. The event
    carries the day the write was evaluated on (`as_of`: the portal's day), so that the readiness
    check it triggers evaluates the network on that day too."""
    uow.history.add(summary.changes)
    if summary.changed:
        uow.collect(DomainEvent(
            name=EVIDENCE_RECORDED, network_id=network.id, subject=f"{network.name}: {company.name}",
            labels={"hackefors.company": company.id},
            payload={"network_id": network.id, "company_id": company.id, "kind": kind, "ids": list(ids),
                     "actor": actor.who, "source": actor.source.value, "changes": len(summary.changes),
                     "as_of": as_of.isoformat()}))


# --- employees --------------------------------------------------------------------------------


def add_employee(uow: AbstractUnitOfWork, network_id: str, company_id: str, employee: NewEmployee,
                 actor: Actor, today: date | None = None) -> Recorded:
    """Add an employee to the company; the id must be new in the network."""
    may_record_or_refuse(actor, network_id, company_id)
    check_date("hired_on", employee.hired_on, today_or_clock(today))

    def change(network: Network, company: Company) -> tuple[Network, tuple[str, ...]]:
        taken = {e.id.casefold(): (c.id, e.id) for c in network.companies for e in c.employees}
        if employee.id.casefold() in taken:
            owner, stored = taken[employee.id.casefold()]
            raise RefusedChange(f"employee id {employee.id!r} is taken by {stored!r} of company {owner!r}; "
                                "ids are unique in the network without regard to case")
        added = Employee(id=employee.id, name=employee.name, hired_on=employee.hired_on)
        return with_company(network, company.model_copy(update={"employees": (*company.employees, added)})), \
            (employee.id,)

    return write(uow, network_id, company_id, actor, "employee", {"employees"}, ["employees"], change,
                 today_or_clock(today))


def find_employee(company: Company, employee_id: str) -> Employee:
    for employee in company.employees:
        if employee.id == employee_id:
            return employee
    raise UnknownRecord(f"no employee {employee_id!r} in company {company.id!r}")


def record_leaving(uow: AbstractUnitOfWork, network_id: str, company_id: str, leaving: Leaving,
                   actor: Actor, today: date | None = None) -> Recorded:
    """Record that an employee left the company on a day (they no longer count for training)."""
    may_record_or_refuse(actor, network_id, company_id)

    def change(network: Network, company: Company) -> tuple[Network, tuple[str, ...]]:
        employee = find_employee(company, leaving.employee)
        if employee.left_on is not None and employee.left_on != leaving.left_on:
            raise RefusedChange(f"employee {employee.id!r} already left on {employee.left_on}")
        left = Employee.model_validate({**employee.model_dump(), "left_on": leaving.left_on})
        staff = tuple(left if e.id == employee.id else e for e in company.employees)
        return with_company(network, company.model_copy(update={"employees": staff})), (employee.id,)

    # The date may lie ahead: a notice of leaving is known before the last day.
    if leaving.left_on < EARLIEST_DATE:
        raise RefusedChange(f"left_on {leaving.left_on} is before {EARLIEST_DATE}")
    return write(uow, network_id, company_id, actor, "leaving", {"employees"}, ["employees"], change,
                 today_or_clock(today))


# --- training ---------------------------------------------------------------------------------


def training_sessions_with(network: Network, company: Company,
                           records: Iterable[TrainingRecord]) -> tuple[Network, tuple[str, ...]]:
    """The network with `records` added as training sessions of `company`: a session recorded
    before (same day, hours, topics and trainer) gains the new attendees. Every attendee must be an
    employee of the company, hired by the session's day and not gone."""
    staff = {e.id: e for e in company.employees}
    sessions = {s.id: s for s in network.training_sessions}
    order = [s.id for s in network.training_sessions]
    ids = []
    for record in records:
        for attendee in record.attendees:
            employee = staff.get(attendee)
            if employee is None:
                raise UnknownRecord(f"no employee {attendee!r} in company {company.id!r}")
            if not employed_on(employee, record.date):
                raise RefusedChange(f"employee {attendee!r} was not employed on {record.date} (hired "
                                    f"{employee.hired_on}" + (f", left {employee.left_on}" if employee.left_on
                                                                 else "") + ")")
        session_id = training_session_id(company.id, record)
        before = sessions.get(session_id)
        attendees = set(record.attendees) | set(before.attendees if before else ())
        sessions[session_id] = TrainingSession(id=session_id, date=record.date, hours=record.hours,
                                               topics=record.topics, trainer=record.trainer,
                                               attendees=tuple(attendees))
        if before is None:
            order.append(session_id)
        ids.append(session_id)
    return network.model_copy(update={"training_sessions": tuple(sessions[i] for i in order)}), \
        tuple(dict.fromkeys(ids))


def record_training(uow: AbstractUnitOfWork, network_id: str, company_id: str, training: TrainingRecord,
                    actor: Actor, today: date | None = None) -> Recorded:
    """Record a training session of the company: date, hours, topics, trainer and attendees."""
    may_record_or_refuse(actor, network_id, company_id)
    check_date("date", training.date, today_or_clock(today))
    return write(uow, network_id, company_id, actor, "training", {"training"},
                 ["training_sessions", "training_attendance"],
                 lambda network, company: training_sessions_with(network, company, [training]),
                 today_or_clock(today))


# --- corrective actions -----------------------------------------------------------------------


ACTION_PARTS = frozenset({"internal_audits", "external_audits"})


def company_actions(network: Network, company: Company) -> list[CorrectiveAction]:
    """The corrective actions of a company's findings: its internal audits' and the external
    audits' findings raised at it."""
    found = [a for audit in company.internal_audits for f in audit.findings for a in f.actions]
    found += [a for audit in network.external_audits for f in audit.findings if f.company == company.id
              for a in f.actions]
    return found


def with_action(network: Network, company: Company, action_id: str,
                change: Callable[[CorrectiveAction], CorrectiveAction]) -> Network:
    """The network with one of the company's actions changed; UnknownRecord when it has none so."""
    if action_id not in {a.id for a in company_actions(network, company)}:
        raise UnknownRecord(f"no corrective action {action_id!r} of company {company.id!r}")

    def actions(owned: bool, finding_actions: tuple[CorrectiveAction, ...]) -> tuple[CorrectiveAction, ...]:
        return tuple(change(a) if owned and a.id == action_id else a for a in finding_actions)

    internal = tuple(audit.model_copy(update={"findings": tuple(
        f.model_copy(update={"actions": actions(True, f.actions)}) for f in audit.findings)})
        for audit in company.internal_audits)
    external = tuple(audit.model_copy(update={"findings": tuple(
        f.model_copy(update={"actions": actions(f.company == company.id, f.actions)})
        for f in audit.findings)}) for audit in network.external_audits)
    network = with_company(network, company.model_copy(update={"internal_audits": internal}))
    return network.model_copy(update={"external_audits": external})


def close_action(uow: AbstractUnitOfWork, network_id: str, company_id: str, closure: ActionClosure,
                 actor: Actor, today: date | None = None) -> Recorded:
    """Close one of the company's corrective actions with a note and, optionally, evidence files the
    company stored before."""
    may_record_or_refuse(actor, network_id, company_id)
    check_date("closed_on", closure.closed_on, today_or_clock(today))
    with uow:
        missing = [sha for sha in closure.evidence if uow.evidence.get(network_id, company_id, sha) is None]
    if missing:
        raise UnknownRecord(f"no evidence file {missing[0]!r} of company {company_id!r}: store it first")

    def close(action: CorrectiveAction) -> CorrectiveAction:
        if action.closed_on is not None:
            raise RefusedChange(f"corrective action {action.id!r} was closed on {action.closed_on}")
        return CorrectiveAction.model_validate({**action.model_dump(), "closed_on": closure.closed_on,
                                                "note": closure.note, "evidence": closure.evidence})

    return write(uow, network_id, company_id, actor, "action-closed", ACTION_PARTS, ["corrective_actions"],
                 lambda network, company: (with_action(network, company, closure.action, close),
                                           (closure.action,)), today_or_clock(today))


def verify_action(uow: AbstractUnitOfWork, network_id: str, company_id: str, verification: ActionVerification,
                  actor: Actor, today: date | None = None) -> Recorded:
    """Record that a closed corrective action was effective. Only the operator and the network's
    auditors verify: never a coordinator, so no company verifies its own action."""
    if not may_verify(actor, network_id):
        raise NotAllowed(f"{actor.who} ({actor.role.value}) may not verify corrective actions: the operator "
                         "and the network's auditors verify, never the company itself")
    check_date("verified_on", verification.verified_on, today_or_clock(today))

    def verify(action: CorrectiveAction) -> CorrectiveAction:
        if action.closed_on is None:
            raise RefusedChange(f"corrective action {action.id!r} is not closed: it cannot be verified")
        if action.verified_effective_on is not None:
            raise RefusedChange(f"corrective action {action.id!r} was verified on "
                                f"{action.verified_effective_on}")
        if verification.verified_on < action.closed_on:
            raise RefusedChange(f"verified_on {verification.verified_on} is before the action was closed "
                                f"({action.closed_on})")
        return CorrectiveAction.model_validate({**action.model_dump(),
                                                "verified_effective_on": verification.verified_on})

    return write(uow, network_id, company_id, actor, "action-verified", ACTION_PARTS, ["corrective_actions"],
                 lambda network, company: (with_action(network, company, verification.action, verify),
                                           (verification.action,)), today_or_clock(today))


# --- management review and legal register -----------------------------------------------------


def record_management_review(uow: AbstractUnitOfWork, network_id: str, company_id: str, review: ReviewRecord,
                             actor: Actor, today: date | None = None) -> Recorded:
    """Record a management review: its date, the 9.3 inputs covered, the decisions, who signed."""
    may_record_or_refuse(actor, network_id, company_id)
    day = today_or_clock(today)
    check_date("date", review.date, day)
    signed_on = review.signed_on or review.date
    check_date("signed_on", signed_on, day)
    if signed_on < review.date:
        raise RefusedChange(f"signed_on {signed_on} is before the review ({review.date})")

    def change(network: Network, company: Company) -> tuple[Network, tuple[str, ...]]:
        rid = review_id(review)
        if any(r.id == rid or r.date == review.date for r in company.management_reviews):
            raise RefusedChange(f"company {company.id!r} already has a management review on {review.date}")
        held = ManagementReview(id=rid, date=review.date, inputs=review.inputs, decisions=review.decisions,
                                signed_by=review.signed_by, signed_on=signed_on)
        reviews = (*company.management_reviews, held)
        return with_company(network, company.model_copy(update={"management_reviews": reviews})), (rid,)

    return write(uow, network_id, company_id, actor, "management-review", {"reviews"}, ["management_reviews"],
                 change, today_or_clock(today))


def record_legal_evaluation(uow: AbstractUnitOfWork, network_id: str, company_id: str,
                            evaluation: LegalEvaluation, actor: Actor, today: date | None = None) -> Recorded:
    """Record an evaluation of compliance of one obligation of the company's legal register. A
    compliant evaluation after a non-compliance resolves it on that day."""
    may_record_or_refuse(actor, network_id, company_id)
    check_date("evaluated_on", evaluation.evaluated_on, today_or_clock(today))

    def change(network: Network, company: Company) -> tuple[Network, tuple[str, ...]]:
        found = next((r for r in company.legal_register if r.id == evaluation.requirement), None)
        if found is None:
            raise UnknownRecord(f"no obligation {evaluation.requirement!r} in the legal register of company "
                                f"{company.id!r}")
        if found.evaluated_on and evaluation.evaluated_on < found.evaluated_on:
            raise RefusedChange(f"obligation {found.id!r} was evaluated later, on {found.evaluated_on}")
        was_breached = found.compliant is False and found.resolved_on is None
        resolved = evaluation.evaluated_on if evaluation.compliant and was_breached else (
            found.resolved_on if evaluation.compliant else None)
        updated = LegalRequirement.model_validate({
            **found.model_dump(), "evaluated_on": evaluation.evaluated_on, "compliant": evaluation.compliant,
            "resolved_on": resolved})
        register = tuple(updated if r.id == found.id else r for r in company.legal_register)
        return with_company(network, company.model_copy(update={"legal_register": register})), (found.id,)

    return write(uow, network_id, company_id, actor, "legal-evaluation", {"registers"},
                 ["legal_requirements"], change, today_or_clock(today))


# --- evidence files ---------------------------------------------------------------------------


def store_evidence_file(uow: AbstractUnitOfWork, network_id: str, company_id: str, filename: str,
                        content: bytes, actor: Actor, max_bytes: int | None = None,
                        today: date | None = None) -> EvidenceFile:
    """Store a PDF, PNG or JPEG file as the company's evidence, named by its sha256; the type is read
    from the content, never from the name. The same content stored again is the same file."""
    may_record_or_refuse(actor, network_id, company_id)
    max_bytes = max_upload_bytes(max_bytes)
    if len(content) > max_bytes:
        raise RefusedChange(too_large(len(content), max_bytes))
    if not content:
        raise RefusedChange("the file is empty")
    media_type = sniff_media_type(content)
    if media_type is None:
        raise RefusedChange(f"{_shown_name(filename)} is not a PDF, PNG or JPEG file (read from its content)")
    sha = sha256_of(content)
    at = datetime.now(UTC)
    record = EvidenceFile(network_id=network_id, company_id=company_id, sha256=sha, media_type=media_type,
                          size=len(content), filename=_stored_name(filename, sha, media_type), stored_at=at,
                          actor=actor.who, source=actor.source.value)
    with uow:
        network = uow.networks.load(network_id, parts=())
        company = find_company(network, company_id)
        stored = uow.evidence.get(network_id, company_id, sha)
        if stored is not None:
            return stored
        uow.blobs.put(sha, content)  # before the commit: a file without its record is never served
        if not uow.evidence.add(record):  # stored by another request meanwhile
            return uow.evidence.get(network_id, company_id, sha) or record
        summary = SyncSummary(inserted={"evidence_files": 1}, changes=[_file_entry(record, at)])
        announce(uow, network, company, actor, "evidence-file", (sha,), summary, today_or_clock(today))
        uow.commit()
    return record


def _file_entry(record: EvidenceFile, at: datetime) -> HistoryEntry:
    return HistoryEntry(at=at, actor=record.actor, network_id=record.network_id, entity="evidence_files",
                        entity_id=f"{record.company_id}/{record.sha256}", action="insert",
                        detail={"filename": record.filename, "media_type": record.media_type,
                                "size": record.size}, source=record.source)


def _shown_name(filename: str) -> str:
    return repr(filename[:60])


def _stored_name(filename: str, sha: str, media_type: str) -> str:
    """The name kept for display: the last part of what the browser sent, printable, at most 200
    characters; the file's own type as its extension."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip() or sha[:12]
    stem = base.rsplit(".", 1)[0][:190] or sha[:12]
    return f"{stem}.{MEDIA_TYPES[media_type]}"


def open_evidence_file(uow: AbstractUnitOfWork, network_id: str, company_id: str,
                       sha256: str) -> tuple[EvidenceFile, bytes]:
    """An evidence file of the company and its bytes; UnknownRecord when the company holds none so
    (another company's file is not found either)."""
    with uow:
        record = uow.evidence.get(network_id, company_id, sha256)
    content = uow.blobs.get(sha256) if record is not None else None
    if record is None or content is None:
        raise UnknownRecord(f"no evidence file {sha256!r} of company {company_id!r}")
    return record, content


def evidence_files(uow: AbstractUnitOfWork, network_id: str, company_id: str) -> list[EvidenceFile]:
    with uow:
        return uow.evidence.for_company(network_id, company_id)


# --- what a company sees ----------------------------------------------------------------------


def company_todo(uow: AbstractUnitOfWork, network_id: str, company_id: str, as_of: date,
                 lang: str = "en") -> CompanyTodo:
    """The company's open items as of `as_of` (the reminders' rules and the gap analysis: what, who,
    by when, which page), its status in each certification gate, and its employees' training,
    computed fresh from the network (the portal reads the kept list: services/readiness.py)."""
    with uow:
        network = uow.networks.load(network_id)
    company = find_company(network, company_id)
    return network_todos(network, as_of, lang)[company.id]


def company_records(uow: AbstractUnitOfWork, network_id: str, company_id: str) -> Company:
    """The company as stored, with everything it records (employees, registers, audits, reviews,
    evidence files)."""
    with uow:
        network = uow.networks.load(network_id, {"employees", "registers", "internal_audits", "reviews",
                                                 "evidence"})
    return find_company(network, company_id)


def company_corrective_actions(uow: AbstractUnitOfWork, network_id: str,
                               company_id: str) -> list[CorrectiveAction]:
    """The company's corrective actions: its internal findings' and the external ones raised at it."""
    with uow:
        network = uow.networks.load(network_id, ACTION_PARTS)
    return company_actions(network, find_company(network, company_id))
