"""The repository: a network to rows and back, set-based sync with history. Never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from models import tables as t
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

# Parents before children: inserts run in this order, deletes in reverse.
SYNCED: tuple[type[t.Base], ...] = (
    t.NetworkRow, t.CompanyRow, t.EmployeeRow, t.TrainingSessionRow, t.AttendanceRow,
    t.AspectRow, t.LegalRequirementRow, t.ObjectiveRow, t.IndicatorRow, t.InternalAuditRow,
    t.ExternalAuditRow, t.FindingRow, t.CorrectiveActionRow, t.ManagementReviewRow,
)

# What each part of a partial load needs besides networks and companies.
PARTS: dict[str, tuple[type[t.Base], ...]] = {
    "employees": (t.EmployeeRow,),
    "training": (t.EmployeeRow, t.TrainingSessionRow, t.AttendanceRow),
    "registers": (t.AspectRow, t.LegalRequirementRow, t.ObjectiveRow, t.IndicatorRow),
    "internal_audits": (t.InternalAuditRow, t.FindingRow, t.CorrectiveActionRow),
    "reviews": (t.ManagementReviewRow,),
    "external_audits": (t.ExternalAuditRow, t.FindingRow, t.CorrectiveActionRow),
    "certificates": (),
}
ALL_PARTS = frozenset(PARTS)
CHUNK = 500


class NetworkNotFound(LookupError):
    def __init__(self, network_id: str, known: Sequence[str]) -> None:
        hint = f"; known networks: {', '.join(known)}" if known else "; the store holds no network yet"
        super().__init__(f"no network {network_id!r} in the store{hint}")


class CertificateNotFound(LookupError):
    """No certificate with that number in the store."""


class SyncSummary(BaseModel):
    inserted: dict[str, int] = {}
    updated: dict[str, int] = {}
    deleted: dict[str, int] = {}

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


def save_network(session: Session, network: Network, actor: str) -> SyncSummary:
    """Write `network`: insert what is new, update what changed, delete what is gone.

    Unchanged rows are not touched, so importing the same file twice changes nothing.
    Every change is appended to history under `actor`.
    """
    wanted = network_rows(network)
    summary = SyncSummary()
    history: list[dict[str, Any]] = []
    plans: list[tuple[type[t.Base], list[dict[str, Any]], list[dict[str, Any]], list[tuple]]] = []
    now = datetime.now(UTC)

    for orm in SYNCED:
        table: Table = orm.__table__  # type: ignore[assignment]
        pk = _pk(table)
        existing = {tuple(r[c] for c in pk): dict(r)
                    for r in session.execute(select(table).where(_scope(table, network.id))).mappings()}
        new, changed = [], []
        for row in wanted[orm]:
            key = tuple(row[c] for c in pk)
            old = existing.pop(key, None)
            label = "/".join(str(k) for k in key[1:] or key)
            if old is None:
                new.append(row)
                history.append(_event(now, actor, network.id, table.name, label, "insert", None))
                continue
            diff = {k: [_jsonable(old[k]), _jsonable(v)] for k, v in row.items() if old[k] != v}
            if diff:
                changed.append(row)
                history.append(_event(now, actor, network.id, table.name, label, "update", diff))
        gone = list(existing)
        for key, old in existing.items():
            label = "/".join(str(k) for k in key[1:] or key)
            detail = {k: _jsonable(v) for k, v in old.items()}
            history.append(_event(now, actor, network.id, table.name, label, "delete", detail))
        plans.append((orm, new, changed, gone))
        for counter, items in ((summary.inserted, new), (summary.updated, changed),
                               (summary.deleted, gone)):
            if items:
                counter[table.name] = len(items)

    # Inserts and updates first, parents before children, then deletes, children first: a row
    # that moves to a new parent (a renamed finding's action) is repointed before the old parent
    # goes, so ON DELETE CASCADE only ever removes rows that are meant to go.
    for orm, new, changed, _ in plans:
        if new:
            session.execute(insert(orm), new)
        if changed:
            session.execute(update(orm), changed)
    for orm, _, _, gone in reversed(plans):
        table = orm.__table__  # type: ignore[assignment]
        columns = tuple_(*(table.c[c] for c in _pk(table)))
        for chunk in _chunks(gone):
            session.execute(delete(table).where(columns.in_(chunk)))
    record_history(session, history)
    return summary


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _event(at: datetime, actor: str, network_id: str, entity: str, entity_id: str, action: str,
           detail: dict[str, Any] | None) -> dict[str, Any]:
    return dict(at=at, actor=actor, network_id=network_id, entity=entity, entity_id=entity_id,
                action=action, detail=detail)


def record_history(session: Session, events: list[dict[str, Any]]) -> None:
    if events:
        session.execute(insert(t.HistoryRow), events)


def network_ids(session: Session) -> list[str]:
    return list(session.scalars(select(t.NetworkRow.id).order_by(t.NetworkRow.id)))


def _select(session: Session, orm: type[t.Base], network_id: str) -> list[dict[str, Any]]:
    table: Table = orm.__table__  # type: ignore[assignment]
    query = select(table).where(_scope(table, network_id))
    if "position" in table.c:
        query = query.order_by(table.c.position)
    return [dict(r) for r in session.execute(query).mappings()]


def load_network(session: Session, network_id: str, parts: Iterable[str] = ALL_PARTS) -> Network:
    """The network as stored, with only the `parts` asked for (companies are always loaded).

    One SELECT per table, whatever the size of the network.
    """
    parts = frozenset(parts)
    unknown = parts - ALL_PARTS
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}; known: {sorted(ALL_PARTS)}")
    head = _select(session, t.NetworkRow, network_id)
    if not head:
        raise NetworkNotFound(network_id, network_ids(session))
    needed = {orm for part in parts for orm in PARTS[part]}
    data = {orm: _select(session, orm, network_id) if orm in needed else [] for orm in SYNCED[2:]}
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
    for c in _select(session, t.CompanyRow, network_id):
        cid = c["id"]
        companies.append(Company.model_validate({
            **_strip(c),
            "employees": [_strip(e, "company_id") for e in by_company[t.EmployeeRow][cid]],
            "aspects": [_strip(a, "company_id") for a in by_company[t.AspectRow][cid]],
            "legal_register": [_strip(r, "company_id") for r in by_company[t.LegalRequirementRow][cid]],
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
    certificates = load_certificates(session, network_id) if "certificates" in parts else []
    return Network.model_validate({**head[0], "companies": companies, "training_sessions": sessions,
                                   "external_audits": audits, "certificates": certificates})


def _strip(row: dict[str, Any], *extra: str) -> dict[str, Any]:
    drop = {"network_id", "position", *extra}
    return {k: v for k, v in row.items() if k not in drop}


def load_certificates(session: Session, network_id: str) -> list[Certificate]:
    rows = session.execute(
        select(t.CertificateRow).where(t.CertificateRow.network_id == network_id)
        .order_by(t.CertificateRow.issued_on)
    ).scalars()
    return [Certificate(number=r.number, issued_on=r.issued_on, valid_until=r.valid_until,
                        scope=r.scope, companies=tuple(r.companies), cycle=r.cycle, status=r.status)
            for r in rows]

