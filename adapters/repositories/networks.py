"""Networks and everything recorded about them: the rows a network file makes, merged with
what the portal recorded, and loaded back whole or in parts.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Table, delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from adapters.repositories.certificates import CertificateRepository
from adapters.repositories.common import as_utc, chunked, in_network, jsonable, primary_key, table_of, without
from models import tables as t
from models.errors import ImportConflicts, NetworkNotFound
from models.events import HistoryEntry
from models.network import (
    TRUSTED,
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
    "evidence": (),  # the companies' evidence files (a list, not synced: `save` leaves them alone)
}
ALL_PARTS = frozenset(PART_TABLES)


class SyncSummary(BaseModel):
    inserted: dict[str, int] = {}
    updated: dict[str, int] = {}
    deleted: dict[str, int] = {}
    kept: dict[str, int] = {}  # rows recorded in the portal that the network file does not hold
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
                 verified_effective_on=a.verified_effective_on, note=a.note, evidence=list(a.evidence))
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
        policy_overrides=dict(n.policy_overrides), certification_body=_json(n.certification_body)))
    for ci, c in enumerate(n.companies):
        rows[t.CompanyRow].append(dict(
            network_id=nid, id=c.id, position=ci, name=c.name, sector=c.sector.value,
            personnel=c.personnel, complexity=c.complexity.value, joined_on=c.joined_on,
            left_on=c.left_on, coordinator=_json(c.coordinator),
            group_agreement=_json(c.group_agreement), commitment=_json(c.commitment),
            environmental_manager=_json(c.environmental_manager),
            roles_defined_on=c.roles_defined_on, binder=_json(c.binder), review=_json(c.review),
            integrated_with=list(c.integrated_with), organisation_number=c.organisation_number,
            site_address=c.site_address))
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


ROW = "*"  # in recorded_fields: the row itself was recorded outside a network file

# Each table's parents: (parent table, the child's columns that hold the parent's key but for the
# network). A kept row whose parent a file deletes is a conflict, not a silent cascade.
PARENTS: dict[type[t.Base], tuple[tuple[type[t.Base], tuple[str, ...]], ...]] = {
    t.EmployeeRow: ((t.CompanyRow, ("company_id",)),),
    t.AttendanceRow: ((t.TrainingSessionRow, ("session_id",)), (t.EmployeeRow, ("employee_id",))),
    t.AspectRow: ((t.CompanyRow, ("company_id",)),),
    t.LegalRequirementRow: ((t.CompanyRow, ("company_id",)),),
    t.ObjectiveRow: ((t.CompanyRow, ("company_id",)),),
    t.IndicatorRow: ((t.CompanyRow, ("company_id",)),),
    t.InternalAuditRow: ((t.CompanyRow, ("company_id",)),),
    t.CorrectiveActionRow: ((t.FindingRow, ("finding_id",)),),
    t.ManagementReviewRow: ((t.CompanyRow, ("company_id",)),),
}


def entity_key(key: tuple) -> str:
    """A row's key as the history and recorded_fields write it: the primary key but for the network."""
    return "/".join(str(k) for k in key[1:] or key)


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def merge_row(row: dict[str, Any], old: dict[str, Any], fields: set[str],
              pk: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A file's row merged with the stored one of which `fields` were recorded in the portal (ROW:
    all of them): a field the file leaves empty keeps the portal's value, one the file gives the
    same is fine, and one the file gives another value is a conflict. Positions follow the file."""
    merged, clashes = dict(row), []
    names = [k for k in row if k not in pk and k != "position"] if ROW in fields else sorted(fields)
    for name in names:
        if name not in row or row[name] == old[name]:
            continue
        if _empty(row[name]):
            merged[name] = old[name]
        elif not _empty(old[name]):
            clashes.append(f"{name}: the file has {jsonable(row[name])!r}, the portal recorded "
                           f"{jsonable(old[name])!r}")
    return merged, clashes


def orphans(kept: dict[type[t.Base], list[dict[str, Any]]],
            deleted: dict[type[t.Base], set[tuple]]) -> list[str]:
    """Rows kept for the portal whose parent the file deletes: conflicts (the cascade would delete them)."""
    found = []
    for orm, rows in kept.items():
        for parent, columns in PARENTS.get(orm, ()):
            gone = deleted.get(parent, set())
            for row in rows:
                key = (row["network_id"], *(row[c] for c in columns))
                if key in gone:
                    table: Table = orm.__table__  # type: ignore[assignment]
                    pk = tuple(row[c] for c in primary_key(table))
                    found.append(f"{table.name} {entity_key(pk)}: recorded in the portal, but the file "
                                 f"leaves out its {parent.__tablename__} {entity_key(key)}")
    return found


M = TypeVar("M", bound=BaseModel)


def stored(model: type[M], data: dict[str, Any]) -> M:
    """A model from rows of our own store: validated on the way in, so the per-character checks of
    its strings are not run again (they were a third of loading a network)."""
    return model.model_validate(data, context=TRUSTED)


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

    def save(self, network: Network, actor: str, at: datetime, source: str = "file", replace: bool = False,
             tables: Iterable[str] | None = None) -> SyncSummary:
        """Write `network`: insert what is new, update what changed, delete what is gone (only in
        `tables`, when given: a write of one part of a network leaves the others alone).

        Unchanged rows are not touched, so saving the same network twice changes nothing. The
        summary lists every change as a history entry under `actor` and `source`, for the caller to
        record. A write from anything but a network file remembers the fields it set
        (`recorded_fields`); a network file then merges with them (`merge_rules`), and raises
        ImportConflicts, writing nothing, where it contradicts them, unless `replace`.
        """
        wanted = network_rows(network)
        summary = SyncSummary()
        from_file = source == "file"
        recorded = self.recorded(network.id) if from_file and not replace else {}
        plans: list[tuple[type[t.Base], list[dict[str, Any]], list[dict[str, Any]], list[tuple]]] = []
        conflicts: list[str] = []
        kept: dict[type[t.Base], list[dict[str, Any]]] = defaultdict(list)
        provenance: list[dict[str, Any]] = []

        def entry(table: Table, key: tuple, action: str, detail: dict[str, Any] | None) -> HistoryEntry:
            return HistoryEntry(at=at, actor=actor, network_id=network.id, entity=table.name,
                                entity_id=entity_key(key), action=action, detail=detail, source=source)

        def remember(table: Table, key: tuple, fields: Iterable[str]) -> None:
            provenance.extend(dict(network_id=network.id, entity=table.name, entity_key=entity_key(key),
                                   field=f, source=source, actor=actor, recorded_at=at) for f in fields)

        names = None if tables is None else set(tables)
        chosen = tuple(orm for orm in SYNCED if names is None or orm.__tablename__ in names)
        for orm in chosen:
            table: Table = orm.__table__  # type: ignore[assignment]
            pk = primary_key(table)
            existing = {tuple(r[c] for c in pk): dict(r) for r in self.session.execute(
                select(table).where(in_network(table, network.id))).mappings()}
            new, changed = [], []
            for row in wanted[orm]:
                key = tuple(row[c] for c in pk)
                old = existing.pop(key, None)
                if old is None:
                    new.append(row)
                    summary.changes.append(entry(table, key, "insert", None))
                    if not from_file:
                        remember(table, key, [ROW])
                    continue
                fields = recorded.get((table.name, entity_key(key)), set())
                if fields:
                    row, clashes = merge_row(row, old, fields, pk)
                    conflicts += [f"{table.name} {entity_key(key)}: {clash}" for clash in clashes]
                diff = {k: [jsonable(old[k]), jsonable(v)] for k, v in row.items() if old[k] != v}
                if diff:
                    changed.append(row)
                    summary.changes.append(entry(table, key, "update", diff))
                    if not from_file:
                        remember(table, key, [k for k in diff if k != "position"])
            gone = []
            for key, old in existing.items():
                fields = recorded.get((table.name, entity_key(key)), set())
                if ROW in fields:  # recorded in the portal and not in the file (yet): kept
                    kept[orm].append(old)
                    summary.kept[table.name] = summary.kept.get(table.name, 0) + 1
                    continue
                if fields:
                    conflicts.append(f"{table.name} {entity_key(key)}: the file leaves it out, but "
                                     f"{', '.join(sorted(fields))} was recorded in the portal")
                gone.append(key)
                summary.changes.append(entry(table, key, "delete", {k: jsonable(v) for k, v in old.items()}))
            plans.append((orm, new, changed, gone))
            for counter, items in ((summary.inserted, new), (summary.updated, changed),
                                   (summary.deleted, gone)):
                if items:
                    counter[table.name] = len(items)

        deleted = {orm: set(gone) for orm, _, _, gone in plans}
        conflicts += orphans(kept, deleted)
        if from_file and not replace:
            conflicts += self._evidence_orphans(network.id, deleted.get(t.CompanyRow, set()))
        if conflicts:
            raise ImportConflicts(network.id, conflicts)

        # Inserts and updates first, parents before children, then deletes, children first: a row
        # that moves to a new parent (a renamed finding's action) is repointed before the old
        # parent goes, so ON DELETE CASCADE only ever removes rows that are meant to go.
        for orm, new, changed, _ in plans:
            if new:
                self.session.execute(insert(table_of(orm)), new)  # Core: a third of the ORM's bulk cost
            if changed:
                self.session.execute(update(orm), changed)
        for orm, _, _, gone in reversed(plans):
            table = orm.__table__  # type: ignore[assignment]
            columns = tuple_(*(table.c[c] for c in primary_key(table)))
            for chunk in chunked(gone):
                self.session.execute(delete(table).where(columns.in_(chunk)))
        if from_file and replace:
            recorded_fields = t.RecordedFieldRow
            self.session.execute(delete(recorded_fields).where(recorded_fields.network_id == network.id))
        self._remember(provenance)
        return summary

    def recorded(self, network_id: str) -> dict[tuple[str, str], set[str]]:
        """(table, row key) -> the fields recorded outside network files (ROW: the row itself)."""
        r = t.RecordedFieldRow
        found: dict[tuple[str, str], set[str]] = defaultdict(set)
        for entity, key, field in self.session.execute(
                select(r.entity, r.entity_key, r.field).where(r.network_id == network_id)).tuples():
            found[(entity, key)].add(field)
        return found

    def _remember(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        r = t.RecordedFieldRow
        keys = tuple_(r.network_id, r.entity, r.entity_key, r.field)
        unique = list({(x["network_id"], x["entity"], x["entity_key"], x["field"]): x for x in rows}.values())
        for chunk in chunked(unique):
            self.session.execute(delete(r).where(keys.in_(
                [(x["network_id"], x["entity"], x["entity_key"], x["field"]) for x in chunk])))
            self.session.execute(insert(table_of(r)), chunk)

    def _evidence_orphans(self, network_id: str, companies: set[tuple]) -> list[str]:
        if not companies:
            return []
        e = t.EvidenceFileRow
        ids = sorted(k[-1] for k in companies)
        counts = self.session.execute(select(e.company_id, func.count()).where(
            e.network_id == network_id, e.company_id.in_(ids)).group_by(e.company_id)).tuples()
        return [f"companies {company}: the file leaves it out, but it holds {n} evidence file(s) stored "
                "through the portal" for company, n in counts]

    def _select(self, orm: type[t.Base], network_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The rows of `orm` of each of the networks, in their stored order."""
        table: Table = orm.__table__  # type: ignore[assignment]
        column = table.c.network_id if "network_id" in table.c else table.c.id
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for chunk in chunked(network_ids):
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
        files = self._select(t.EvidenceFileRow, ids) if "evidence" in parts else {}
        return [self._assemble(heads[i][0], {orm: tables[orm].get(i, []) if orm in tables else []
                                             for orm in SYNCED[1:]},
                               certificates.get(i, []), files.get(i, [])) for i in ids]

    @staticmethod
    def _assemble(head: dict[str, Any], data: dict[type[t.Base], list[dict[str, Any]]],
                  certificates: list[Certificate], files: list[dict[str, Any]]) -> Network:
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
            actions[a["finding_id"]].append(stored(
                CorrectiveAction, {**without(a, "finding_id"), "evidence": a["evidence"] or ()}))
        internal: dict[str, list[Finding]] = defaultdict(list)
        external: dict[str, list[ExternalFinding]] = defaultdict(list)
        for f in data[t.FindingRow]:
            fields = without(f, "audit_id", "external", "company_id")
            fields["actions"] = actions[f["id"]]
            if f["external"]:
                fields["company"] = f["company_id"]
                external[f["audit_id"]].append(stored(ExternalFinding, fields))
            else:
                internal[f["audit_id"]].append(stored(Finding, fields))

        evidence: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in sorted(files, key=lambda f: (f["stored_at"], f["sha256"])):
            evidence[f["company_id"]].append(dict(
                sha256=f["sha256"], filename=f["filename"], media_type=f["media_type"], size=f["size"],
                stored_at=as_utc(f["stored_at"]), stored_by=f["actor"]))
        companies = []
        for c in data[t.CompanyRow]:
            cid = c["id"]
            companies.append(stored(Company, {
                **without(c),
                "employees": [without(e, "company_id") for e in by_company[t.EmployeeRow][cid]],
                "aspects": [without(a, "company_id") for a in by_company[t.AspectRow][cid]],
                "legal_register": [without(r, "company_id")
                                   for r in by_company[t.LegalRequirementRow][cid]],
                "objectives": [without(o, "company_id") for o in by_company[t.ObjectiveRow][cid]],
                "indicators": [without(k, "company_id") for k in by_company[t.IndicatorRow][cid]],
                "internal_audits": [stored(InternalAudit, {**without(a, "company_id"),
                                                                "findings": internal[a["id"]]})
                                    for a in by_company[t.InternalAuditRow][cid]],
                "management_reviews": [without(r, "company_id")
                                       for r in by_company[t.ManagementReviewRow][cid]],
                "evidence_files": evidence[cid],
            }))
        attendees: dict[str, list[str]] = defaultdict(list)
        for a in data[t.AttendanceRow]:
            attendees[a["session_id"]].append(a["employee_id"])
        sessions = [stored(TrainingSession, {**without(s), "attendees": attendees[s["id"]]})
                    for s in data[t.TrainingSessionRow]]
        audits = [stored(ExternalAudit, {**without(x), "findings": external[x["id"]]})
                  for x in data[t.ExternalAuditRow]]
        return stored(Network, {**head, "companies": companies, "training_sessions": sessions,
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


