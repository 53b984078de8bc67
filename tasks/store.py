"""The repositories: every SQL statement of the store, set-based, inside the caller's transaction.

Each repository works on the session of one unit of work and never commits. What goes in and comes
out are domain models (pydantic), never ORM rows.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table, and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import tables as t
from models.certification import CertificateEvent, CertificateRecord, CertificateStatus
from models.events import HistoryEntry
from models.network import (
    Certificate,
    Company,
    CorrectiveAction,
    ExternalAudit,
    ExternalFinding,
    Finding,
    InternalAudit,
    Network,
    TrainingSession,
)
from models.results import GateResult
from services.errors import ConcurrentChange, NetworkNotFound

# Parents before children: inserts run in this order, deletes in reverse.
SYNCED: tuple[type[t.Base], ...] = (
    t.NetworkRow, t.CompanyRow, t.EmployeeRow, t.TrainingSessionRow, t.AttendanceRow,
    t.AspectRow, t.LegalRequirementRow, t.ObjectiveRow, t.IndicatorRow, t.InternalAuditRow,
    t.ExternalAuditRow, t.FindingRow, t.CorrectiveActionRow, t.ManagementReviewRow,
)

# The tables each part of a partial load reads besides networks and companies.
PART_TABLES: dict[str, tuple[type[t.Base], ...]] = {
    "employees": (t.EmployeeRow,),
    "training": (t.EmployeeRow, t.TrainingSessionRow, t.AttendanceRow),
    "registers": (t.AspectRow, t.LegalRequirementRow, t.ObjectiveRow, t.IndicatorRow),
    "internal_audits": (t.InternalAuditRow, t.FindingRow, t.CorrectiveActionRow),
    "reviews": (t.ManagementReviewRow,),
    "external_audits": (t.ExternalAuditRow, t.FindingRow, t.CorrectiveActionRow),
    "certificates": (),
}
ALL_PARTS = frozenset(PART_TABLES)
CHUNK = 500


class SyncSummary(BaseModel):
    inserted: dict[str, int] = {}
    updated: dict[str, int] = {}
    deleted: dict[str, int] = {}
    changes: list[HistoryEntry] = []

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.deleted)


def _json(model: BaseModel | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(mode="json")


def _finding_row(network_id: str, finding: Finding, audit_id: str, company: str | None,
                 external: bool, position: int) -> dict[str, Any]:
    return dict(network_id=network_id, id=finding.id, audit_id=audit_id, external=external,
                company_id=company, position=position, grade=finding.grade.value,
                clause=finding.clause, description=finding.description,
                closed_on=finding.closed_on, plan_accepted_on=finding.plan_accepted_on)


def _action_rows(network_id: str, finding: Finding) -> list[dict[str, Any]]:
    return [dict(network_id=network_id, id=a.id, finding_id=finding.id, position=i,
                 description=a.description, owner=a.owner, due=a.due, closed_on=a.closed_on,
                 verified_effective_on=a.verified_effective_on)
            for i, a in enumerate(finding.actions)]


def network_rows(n: Network) -> dict[type[t.Base], list[dict[str, Any]]]:
    """The rows that represent `n`, per table (certificates excluded: the store issues them)."""
    rows: dict[type[t.Base], list[dict[str, Any]]] = {table: [] for table in SYNCED}
    nid = n.id
    rows[t.NetworkRow].append(dict(
        id=nid, name=n.name, operator=n.operator, scope=n.scope, language=n.language,
        founded_on=n.founded_on, policy=_json(n.policy), ems_manual=_json(n.ems_manual),
        steering_committee=list(n.steering_committee),
        central_coordinator=_json(n.central_coordinator),
        support_group=[p.model_dump(mode="json") for p in n.support_group],
        collective_objectives=[o.model_dump(mode="json") for o in n.collective_objectives],
        policy_overrides=dict(n.policy_overrides)))
    for ci, c in enumerate(n.companies):
        rows[t.CompanyRow].append(dict(
            network_id=nid, id=c.id, position=ci, name=c.name, sector=c.sector.value,
            personnel=c.personnel, complexity=c.complexity.value, joined_on=c.joined_on,
            left_on=c.left_on, coordinator=_json(c.coordinator),
            group_agreement=_json(c.group_agreement), commitment=_json(c.commitment),
            environmental_manager=_json(c.environmental_manager),
            roles_defined_on=c.roles_defined_on, binder=_json(c.binder), review=_json(c.review),
            integrated_with=list(c.integrated_with)))
        rows[t.EmployeeRow] += [dict(network_id=nid, id=e.id, company_id=c.id, position=i,
                                     name=e.name, hired_on=e.hired_on, left_on=e.left_on)
                                for i, e in enumerate(c.employees)]
        rows[t.AspectRow] += [dict(network_id=nid, company_id=c.id, id=a.id, position=i,
                                   description=a.description, direct=a.direct,
                                   significance=a.significance.value if a.significance else None)
                              for i, a in enumerate(c.aspects)]
        rows[t.LegalRequirementRow] += [
            dict(network_id=nid, company_id=c.id, id=r.id, position=i, obligation=r.obligation,
                 evaluated_on=r.evaluated_on, compliant=r.compliant, resolved_on=r.resolved_on)
            for i, r in enumerate(c.legal_register)]
        rows[t.ObjectiveRow] += [
            dict(network_id=nid, company_id=c.id, id=o.id, position=i, description=o.description,
                 indicator=o.indicator, unit=o.unit, baseline_year=o.baseline_year,
                 baseline=o.baseline, target=o.target, target_year=o.target_year,
                 measurements={str(y): v for y, v in o.measurements.items()},
                 direction=o.direction.value, aspect=o.aspect,
                 previous_targets={str(y): v for y, v in o.previous_targets.items()})
            for i, o in enumerate(c.objectives)]
        rows[t.IndicatorRow] += [
            dict(network_id=nid, company_id=c.id, kind=k.kind.value, position=i,
                 values={str(y): v for y, v in k.values.items()})
            for i, k in enumerate(c.indicators)]
        for ai, audit in enumerate(c.internal_audits):
            rows[t.InternalAuditRow].append(dict(network_id=nid, id=audit.id, company_id=c.id,
                                                 position=ai, date=audit.date, auditor=audit.auditor))
            for fi, f in enumerate(audit.findings):
                rows[t.FindingRow].append(_finding_row(nid, f, audit.id, c.id, False, fi))
                rows[t.CorrectiveActionRow] += _action_rows(nid, f)
        rows[t.ManagementReviewRow] += [
            dict(network_id=nid, company_id=c.id, id=r.id, position=i, date=r.date,
                 inputs=list(r.inputs), decisions=list(r.decisions), signed_by=r.signed_by,
                 signed_on=r.signed_on)
            for i, r in enumerate(c.management_reviews)]
    for si, s in enumerate(n.training_sessions):
        rows[t.TrainingSessionRow].append(dict(network_id=nid, id=s.id, position=si, date=s.date,
                                               hours=s.hours, topics=list(s.topics), trainer=s.trainer))
        rows[t.AttendanceRow] += [dict(network_id=nid, session_id=s.id, employee_id=e)
                                  for e in s.attendees]
    for ai, x in enumerate(n.external_audits):
        rows[t.ExternalAuditRow].append(dict(
            network_id=nid, id=x.id, position=ai, kind=x.kind.value, start=x.start, end=x.end,
            certification_body=x.certification_body, lead_auditor=x.lead_auditor,
            auditors=list(x.auditors), companies_visited=list(x.companies_visited),
            central_function_visited=x.central_function_visited,
            recommendation=x.recommendation.value))
        for fi, xf in enumerate(x.findings):
            rows[t.FindingRow].append(_finding_row(nid, xf, x.id, xf.company, True, fi))
            rows[t.CorrectiveActionRow] += _action_rows(nid, xf)
    return rows


def _pk(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _scope(table: Table, network_id: str) -> Any:
    column = table.c.network_id if "network_id" in table.c else table.c.id
    return column == network_id


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _strip(row: dict[str, Any], *extra: str) -> dict[str, Any]:
    drop = {"network_id", "position", *extra}
    return {k: v for k, v in row.items() if k not in drop}


class NetworkRepository:
    """Networks and everything recorded about them, but certificates and runs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ids(self) -> list[str]:
        return list(self.session.scalars(select(t.NetworkRow.id).order_by(t.NetworkRow.id)))

    def lock(self, network_id: str) -> None:
        """Hold the network for this transaction: another transaction that locks it waits until
        this one ends, and then reads what this one wrote. Must come first in the transaction.

        PostgreSQL: a transaction-level advisory lock on the network's id (it works for a network
        not stored yet too). SQLite: a write that changes nothing, which takes the database's write
        lock (waiting for it), so nothing is read before the lock is held.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            digest = hashlib.sha256(f"hackefors.network:{network_id}".encode()).digest()
            self.session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big",
                                                                                  signed=True))))
        else:
            self.session.execute(update(t.NetworkRow).where(t.NetworkRow.id == network_id)
                                 .values(name=t.NetworkRow.name))

    def save(self, network: Network, actor: str, at: datetime) -> SyncSummary:
        """Write `network`: insert what is new, update what changed, delete what is gone.

        Unchanged rows are not touched, so saving the same network twice changes nothing. The
        summary lists every change as a history entry under `actor`, for the caller to record.
        """
        wanted = network_rows(network)
        summary = SyncSummary()
        plans: list[tuple[type[t.Base], list[dict[str, Any]], list[dict[str, Any]], list[tuple]]] = []

        def entry(table: Table, key: tuple, action: str, detail: dict[str, Any] | None) -> HistoryEntry:
            return HistoryEntry(at=at, actor=actor, network_id=network.id, entity=table.name,
                                entity_id="/".join(str(k) for k in key[1:] or key), action=action,
                                detail=detail)

        for orm in SYNCED:
            table: Table = orm.__table__  # type: ignore[assignment]
            pk = _pk(table)
            existing = {tuple(r[c] for c in pk): dict(r) for r in self.session.execute(
                select(table).where(_scope(table, network.id))).mappings()}
            new, changed = [], []
            for row in wanted[orm]:
                key = tuple(row[c] for c in pk)
                old = existing.pop(key, None)
                if old is None:
                    new.append(row)
                    summary.changes.append(entry(table, key, "insert", None))
                    continue
                diff = {k: [_jsonable(old[k]), _jsonable(v)] for k, v in row.items() if old[k] != v}
                if diff:
                    changed.append(row)
                    summary.changes.append(entry(table, key, "update", diff))
            gone = list(existing)
            for key, old in existing.items():
                summary.changes.append(entry(table, key, "delete",
                                             {k: _jsonable(v) for k, v in old.items()}))
            plans.append((orm, new, changed, gone))
            for counter, items in ((summary.inserted, new), (summary.updated, changed),
                                   (summary.deleted, gone)):
                if items:
                    counter[table.name] = len(items)

        # Inserts and updates first, parents before children, then deletes, children first: a row
        # that moves to a new parent (a renamed finding's action) is repointed before the old
        # parent goes, so ON DELETE CASCADE only ever removes rows that are meant to go.
        for orm, new, changed, _ in plans:
            if new:
                self.session.execute(insert(orm), new)
            if changed:
                self.session.execute(update(orm), changed)
        for orm, _, _, gone in reversed(plans):
            table = orm.__table__  # type: ignore[assignment]
            columns = tuple_(*(table.c[c] for c in _pk(table)))
            for chunk in _chunks(gone):
                self.session.execute(delete(table).where(columns.in_(chunk)))
        return summary

    def _select(self, orm: type[t.Base], network_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The rows of `orm` of each of the networks, in their stored order."""
        table: Table = orm.__table__  # type: ignore[assignment]
        column = table.c.network_id if "network_id" in table.c else table.c.id
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for chunk in _chunks(network_ids):
            query = select(table).where(column.in_(chunk))
            if "position" in table.c:
                query = query.order_by(table.c.position)
            result = self.session.execute(query)
            keys = list(result.keys())
            owner = keys.index(column.name)
            for values in result.tuples():  # plain tuples: a third of the cost of row mappings
                grouped[values[owner]].append(dict(zip(keys, values, strict=True)))
        return grouped

    def load(self, network_id: str, parts: Iterable[str] = ALL_PARTS) -> Network:
        """The network as stored, with only the `parts` asked for (companies are always loaded).

        One SELECT per table, whatever the size of the network.
        """
        return self.load_many([network_id], parts)[0]

    def load_many(self, network_ids: Iterable[str], parts: Iterable[str] = ALL_PARTS) -> list[Network]:
        """The networks as stored, in the order asked, with only the `parts` asked for.

        One SELECT per table for all of them (per 500 networks), whatever their number and size.
        """
        parts = frozenset(parts)
        unknown = parts - ALL_PARTS
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)}; known: {sorted(ALL_PARTS)}")
        ids = list(dict.fromkeys(network_ids))
        heads = self._select(t.NetworkRow, ids)
        missing = [i for i in ids if i not in heads]
        if missing:
            raise NetworkNotFound(missing[0], self.ids())
        needed = {orm for part in parts for orm in PART_TABLES[part]}
        tables = {orm: self._select(orm, ids) for orm in SYNCED[1:] if orm is t.CompanyRow or orm in needed}
        certificates = (CertificateRepository(self.session).for_networks(ids) if "certificates" in parts
                        else {})
        return [self._assemble(heads[i][0], {orm: tables[orm].get(i, []) if orm in tables else []
                                             for orm in SYNCED[1:]}, certificates.get(i, []))
                for i in ids]

    @staticmethod
    def _assemble(head: dict[str, Any], data: dict[type[t.Base], list[dict[str, Any]]],
                  certificates: list[Certificate]) -> Network:
        """One network from its rows, table by table."""
        by_company: dict[type[t.Base], dict[str, list[dict[str, Any]]]] = {}
        for orm, rows in data.items():
            grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                if row.get("company_id") is not None:
                    grouped[row["company_id"]].append(row)
            by_company[orm] = grouped

        actions: dict[str, list[CorrectiveAction]] = defaultdict(list)
        for a in data[t.CorrectiveActionRow]:
            actions[a["finding_id"]].append(CorrectiveAction.model_validate(_strip(a, "finding_id")))
        internal: dict[str, list[Finding]] = defaultdict(list)
        external: dict[str, list[ExternalFinding]] = defaultdict(list)
        for f in data[t.FindingRow]:
            fields = _strip(f, "audit_id", "external", "company_id")
            fields["actions"] = actions[f["id"]]
            if f["external"]:
                external[f["audit_id"]].append(ExternalFinding(company=f["company_id"], **fields))
            else:
                internal[f["audit_id"]].append(Finding(**fields))

        companies = []
        for c in data[t.CompanyRow]:
            cid = c["id"]
            companies.append(Company.model_validate({
                **_strip(c),
                "employees": [_strip(e, "company_id") for e in by_company[t.EmployeeRow][cid]],
                "aspects": [_strip(a, "company_id") for a in by_company[t.AspectRow][cid]],
                "legal_register": [_strip(r, "company_id")
                                   for r in by_company[t.LegalRequirementRow][cid]],
                "objectives": [_strip(o, "company_id") for o in by_company[t.ObjectiveRow][cid]],
                "indicators": [_strip(k, "company_id") for k in by_company[t.IndicatorRow][cid]],
                "internal_audits": [InternalAudit(**_strip(a, "company_id"), findings=internal[a["id"]])
                                    for a in by_company[t.InternalAuditRow][cid]],
                "management_reviews": [_strip(r, "company_id")
                                       for r in by_company[t.ManagementReviewRow][cid]],
            }))
        attendees: dict[str, list[str]] = defaultdict(list)
        for a in data[t.AttendanceRow]:
            attendees[a["session_id"]].append(a["employee_id"])
        sessions = [TrainingSession(**_strip(s), attendees=attendees[s["id"]])
                    for s in data[t.TrainingSessionRow]]
        audits = [ExternalAudit(**_strip(x), findings=external[x["id"]])
                  for x in data[t.ExternalAuditRow]]
        return Network.model_validate({**head, "companies": companies, "training_sessions": sessions,
                                       "external_audits": audits, "certificates": certificates})

    def policy_overrides(self) -> dict[str, dict[str, Any]]:
        """Each network's policy overrides, in one query."""
        return {nid: dict(overrides or {}) for nid, overrides in self.session.execute(
            select(t.NetworkRow.id, t.NetworkRow.policy_overrides))}

    def set_recommendation(self, network_id: str, audit_id: str, recommendation: str) -> str | None:
        """Store an external audit's recommendation; the one it replaces (None: no such audit)."""
        row = self.session.get(t.ExternalAuditRow, (network_id, audit_id))
        if row is None:
            return None
        before = row.recommendation
        row.recommendation = recommendation
        self.session.flush()
        return before


class GateResultRepository:
    """Each run's gate results."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def replace(self, result: GateResult, run_id: str, at: datetime) -> None:
        """Store a gate's result under `run_id`, replacing an earlier attempt of the same run."""
        self.replace_many([result], run_id, at)

    def replace_many(self, results: list[GateResult], run_id: str, at: datetime) -> None:
        """Store gate results of any networks under `run_id`, replacing earlier attempts of the same run
        (one DELETE and one INSERT per 500 results)."""
        row = t.GateResultRow
        for chunk in _chunks(results):
            keys = [(r.network_id, r.stage.value) for r in chunk]
            self.session.execute(delete(row).where(row.run_id == run_id,
                                                   tuple_(row.network_id, row.stage).in_(keys)))
            self.session.execute(insert(row), [dict(
                run_id=run_id, network_id=r.network_id, stage=r.stage.value, as_of=r.as_of, passed=r.passed,
                evaluated_at=at, checks=[c.model_dump(mode="json") for c in r.checks]) for r in chunk])

    def discard_run(self, network_id: str, run_id: str) -> int:
        """Delete every result of one run; how many there were."""
        row = t.GateResultRow
        gone = self.session.execute(delete(row).where(row.run_id == run_id, row.network_id == network_id))
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]

    def for_run(self, network_id: str, run_id: str, stages: Iterable[str] | None = None) -> list[GateResult]:
        """The results stored for one run (only `stages`, when given), in the order evaluated."""
        row = t.GateResultRow
        query = select(row).where(row.run_id == run_id, row.network_id == network_id)
        if stages is not None:
            query = query.where(row.stage.in_(list(stages)))
        return [GateResult(network_id=r.network_id, stage=r.stage, as_of=r.as_of, checks=tuple(r.checks))
                for r in self.session.scalars(query.order_by(row.id))]


def _record(row: t.CertificateRow) -> CertificateRecord:
    return CertificateRecord(
        number=row.number, network_id=row.network_id, cycle=row.cycle, issued_on=row.issued_on,
        valid_until=row.valid_until, scope=row.scope, companies=tuple(row.companies),
        status=CertificateStatus(row.status), html=row.html, pdf=row.pdf, run_id=row.run_id,
        payload=row.payload, signature=row.signature, key_id=row.key_id, replaces=row.replaces)


class CertificateRepository:
    """The register of certificates and of their status changes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, number: str) -> CertificateRecord | None:
        row = self.session.get(t.CertificateRow, number)
        return None if row is None else _record(row)

    def for_cycle(self, network_id: str, cycle: str) -> CertificateRecord | None:
        row = self.session.scalar(select(t.CertificateRow).where(
            t.CertificateRow.network_id == network_id, t.CertificateRow.cycle == cycle))
        return None if row is None else _record(row)

    def key_ids(self) -> set[str]:
        """The ids of the keys that signed the certificates in the register."""
        return set(self.session.scalars(select(t.CertificateRow.key_id).distinct().where(
            t.CertificateRow.signature.is_not(None), t.CertificateRow.key_id.is_not(None))))

    def count_for_network(self, network_id: str) -> int:
        return self.session.scalar(select(func.count()).select_from(t.CertificateRow)
                                   .where(t.CertificateRow.network_id == network_id)) or 0

    def count_reissues(self, cycle: str) -> int:
        return self.session.scalar(select(func.count()).select_from(t.CertificateRow)
                                   .where(t.CertificateRow.cycle.like(f"{cycle}.r%"))) or 0

    def for_network(self, network_id: str) -> list[Certificate]:
        return self.for_networks([network_id]).get(network_id, [])

    def for_networks(self, network_ids: list[str]) -> dict[str, list[Certificate]]:
        """Each network's certificates, oldest first, without their documents."""
        row = t.CertificateRow
        found: dict[str, list[Certificate]] = defaultdict(list)
        for chunk in _chunks(network_ids):
            query = (select(row.network_id, row.number, row.issued_on, row.valid_until, row.scope,
                            row.companies, row.cycle, row.status)
                     .where(row.network_id.in_(chunk)).order_by(row.issued_on, row.number))
            for r in self.session.execute(query).mappings():
                found[r["network_id"]].append(Certificate.model_validate(_strip(dict(r))))
        return found

    def with_status(self, statuses: Iterable[CertificateStatus]) -> list[CertificateRecord]:
        """Every certificate whose current status is one of `statuses`, soonest to expire first."""
        rows = self.session.scalars(select(t.CertificateRow).where(
            t.CertificateRow.status.in_([s.value for s in statuses])).order_by(t.CertificateRow.valid_until))
        return [_record(r) for r in rows]

    def add(self, record: CertificateRecord, at: datetime) -> None:
        """Insert a new certificate; another process that issued the same one first wins."""
        try:
            self.session.execute(insert(t.CertificateRow), [dict(
                record.model_dump(exclude={"status"}), status=record.status.value,
                companies=list(record.companies), created_at=at)])
        except IntegrityError as exc:  # the transaction is spoilt: the unit of work rolls it back
            raise ConcurrentChange(f"certificate {record.number} or its cycle was issued by another "
                                   "run") from exc

    def events(self, numbers: list[str]) -> list[CertificateEvent]:
        rows = self.session.scalars(select(t.CertificateEventRow).where(
            t.CertificateEventRow.number.in_(numbers)).order_by(t.CertificateEventRow.id))
        return [CertificateEvent(number=r.number, on=r.on, status=CertificateStatus(r.status),
                                 reason=r.reason) for r in rows]

    def add_event(self, event: CertificateEvent, actor: str, at: datetime) -> None:
        """Record a status change: the event, and the certificate's current status."""
        self.session.execute(insert(t.CertificateEventRow), [dict(
            number=event.number, on=event.on, status=event.status.value, reason=event.reason, actor=actor,
            recorded_at=at)])
        self.session.execute(update(t.CertificateRow).where(t.CertificateRow.number == event.number)
                             .values(status=event.status.value))


class OutboxRow(BaseModel):
    """A message claimed for delivery."""

    id: int
    network_id: str
    recipient: str
    message: bytes
    attempts: int


class OutboxEntry(BaseModel):
    """A message of the outbox as an operator sees it."""

    id: int
    network_id: str
    recipient: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    queued_at: datetime
    next_attempt_at: datetime | None
    claimed_by: str | None
    claimed_until: datetime | None
    sent_at: datetime | None
    failed_at: datetime | None


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class OutboxRepository:
    """Messages to send, and the log of which reminder went to whom when.

    A message is `queued` until a sender claims it: the claim makes it `sending` under a lease (the
    sender's name and an expiry) in one atomic statement, so concurrent senders never take the same
    message; a lease that expires (its sender died) makes the message claimable again. It ends
    `sent` (or `written` as a file), `undeliverable` (refused for good) or `dropped` (by hand).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def _insert(self, table: type[t.Base]) -> Any:
        """An INSERT that skips rows whose unique key is taken (on SQLite and PostgreSQL)."""
        dialect = self.session.get_bind().dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        return module.insert(table).on_conflict_do_nothing()

    def reminded(self, network_id: str, since: date, until: date) -> set[tuple[str, str]]:
        """(recipient, item key) of every reminder logged between `since` and `until`."""
        log = t.ReminderLogRow
        return set(self.session.execute(
            select(log.recipient_id, log.item_key).where(log.network_id == network_id, log.as_of >= since,
                                                         log.as_of <= until)).tuples())

    def add(self, idempotency_key: str, network_id: str, recipient: str, subject: str, message: bytes,
            as_of: date, at: datetime, log: list[dict[str, Any]]) -> int | None:
        """Queue a message and log the reminder items it carries; its outbox id, or None when a
        message with this key is already queued (by an earlier or a concurrent run)."""
        outbox_id = self.session.execute(self._insert(t.OutboxRow).returning(t.OutboxRow.id), [dict(
            idempotency_key=idempotency_key, network_id=network_id, recipient=recipient, subject=subject,
            status="queued", attempts=0, message=message, as_of=as_of, queued_at=at)]).scalar()
        if outbox_id is None:
            return None
        if log:
            self.session.execute(self._insert(t.ReminderLogRow), [
                dict(entry, network_id=network_id, outbox_id=outbox_id) for entry in log])
        return int(outbox_id)

    def claim_next(self, owner: str, now: datetime, lease_until: datetime,
                   network_id: str | None = None) -> OutboxRow | None:
        """Claim the oldest message that is due (queued and not waiting for a retry, or abandoned
        by a sender whose lease expired) for `owner` until `lease_until`; None when none is due.

        On PostgreSQL the row is picked with FOR UPDATE SKIP LOCKED, so concurrent claims pass each
        other by; SQLite runs the pick and the update as one statement under its write lock. On
        SQLite this must be the transaction's first statement, so the lock is waited for.
        """
        o = t.OutboxRow
        due = or_(and_(o.status == "queued", or_(o.next_attempt_at.is_(None), o.next_attempt_at <= now)),
                  and_(o.status == "sending", o.claimed_until < now))
        pick = select(o.id).where(due).order_by(o.id).limit(1)
        if network_id is not None:
            pick = pick.where(o.network_id == network_id)
        claim = update(o).values(status="sending", claimed_by=owner, claimed_until=lease_until,
                                 attempts=o.attempts + 1)
        returned = (o.id, o.network_id, o.recipient, o.message, o.attempts)
        if self.session.get_bind().dialect.name == "postgresql":
            chosen = self.session.scalar(pick.with_for_update(skip_locked=True))
            if chosen is None:
                return None
            found = self.session.execute(claim.where(o.id == chosen).returning(*returned)).first()
        else:
            found = self.session.execute(claim.where(o.id == pick.scalar_subquery(), due)
                                         .returning(*returned)).first()
        if found is None:
            return None
        return OutboxRow(id=found.id, network_id=found.network_id, recipient=found.recipient,
                         message=found.message, attempts=found.attempts)

    def next_attempt(self, network_id: str | None = None) -> datetime | None:
        """When the soonest queued message waiting for a retry is due."""
        o = t.OutboxRow
        query = select(func.min(o.next_attempt_at)).where(o.status == "queued")
        if network_id is not None:
            query = query.where(o.network_id == network_id)
        return _utc(self.session.scalar(query))

    def mark_delivered(self, outbox_id: int, owner: str, status: str, where: str, at: datetime) -> None:
        """The server accepted the message (or it was written to `where`)."""
        self.session.execute(update(t.OutboxRow).where(t.OutboxRow.id == outbox_id).values(
            status=status, sent_at=at, delivered_to=where, last_error=None, claimed_by=owner,
            claimed_until=None, next_attempt_at=None))

    def mark_undeliverable(self, outbox_id: int, owner: str, reason: str, at: datetime) -> None:
        """The server refused the message for good; `reason` is its answer."""
        self.session.execute(update(t.OutboxRow).where(t.OutboxRow.id == outbox_id).values(
            status="undeliverable", last_error=reason, failed_at=at, claimed_by=owner, claimed_until=None,
            next_attempt_at=None))

    def release(self, outbox_id: int, owner: str, error: str, retry_at: datetime | None) -> None:
        """Give a claimed message back to the queue, to be tried again from `retry_at` (None: at
        once). A claim that passed to another sender (this one's lease expired) stays theirs."""
        o = t.OutboxRow
        self.session.execute(update(o).where(o.id == outbox_id, o.status == "sending", o.claimed_by == owner)
                             .values(status="queued", last_error=error, claimed_until=None,
                                     next_attempt_at=retry_at))

    def handled_by(self, owner: str) -> list[tuple[str, str, str | None, str | None]]:
        """(status, recipient, where delivered, last error) of every message `owner` handled last."""
        o = t.OutboxRow
        return [tuple(r) for r in self.session.execute(  # type: ignore[misc]
            select(o.status, o.recipient, o.delivered_to, o.last_error)
            .where(o.claimed_by == owner).order_by(o.id))]

    def entries(self, network_id: str | None = None, statuses: Iterable[str] | None = None,
                ids: Iterable[int] | None = None) -> list[OutboxEntry]:
        """The messages of a network (or all), only those with `statuses` or `ids` when given."""
        o = t.OutboxRow
        query = select(o.id, o.network_id, o.recipient, o.subject, o.status, o.attempts, o.last_error,
                       o.queued_at, o.next_attempt_at, o.claimed_by, o.claimed_until, o.sent_at,
                       o.failed_at).order_by(o.id)
        if network_id is not None:
            query = query.where(o.network_id == network_id)
        if statuses is not None:
            query = query.where(o.status.in_(list(statuses)))
        if ids is not None:
            query = query.where(o.id.in_(list(ids)))
        return [OutboxEntry.model_validate({
            **r, **{k: _utc(r[k]) for k in ("queued_at", "next_attempt_at", "claimed_until", "sent_at",
                                             "failed_at")}}) for r in self.session.execute(query).mappings()]

    def undeliverable_counts(self, network_ids: list[str]) -> dict[str, int]:
        """How many messages of each network the server refused for good (networks with none left out)."""
        o = t.OutboxRow
        query = (select(o.network_id, func.count()).where(o.status == "undeliverable",
                                                           o.network_id.in_(network_ids))
                 .group_by(o.network_id))
        return {network: int(n) for network, n in self.session.execute(query).all()}

    def requeue(self, ids: list[int]) -> None:
        """Queue messages again, to be tried at once."""
        self.session.execute(update(t.OutboxRow).where(t.OutboxRow.id.in_(ids)).values(
            status="queued", next_attempt_at=None, claimed_until=None))

    def drop(self, ids: list[int], reason: str, at: datetime) -> None:
        """Give up on messages: they are never sent."""
        self.session.execute(update(t.OutboxRow).where(t.OutboxRow.id.in_(ids)).values(
            status="dropped", last_error=reason, failed_at=at, next_attempt_at=None, claimed_until=None))


class HistoryRepository:
    """The append-only history."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entries: Iterable[HistoryEntry]) -> None:
        rows = [e.model_dump() for e in entries]
        if rows:
            self.session.execute(insert(t.HistoryRow), rows)

    def newest(self, network_id: str, limit: int) -> list[HistoryEntry]:
        rows = self.session.scalars(select(t.HistoryRow).where(t.HistoryRow.network_id == network_id)
                                    .order_by(t.HistoryRow.id.desc()).limit(limit))
        return [HistoryEntry(at=r.at, actor=r.actor, network_id=r.network_id, entity=r.entity,
                             entity_id=r.entity_id, action=r.action, detail=r.detail) for r in rows]
