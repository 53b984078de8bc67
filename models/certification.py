"""External audits, the certification decision, the certificate and annual surveillance."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from models.catalogue import Stage
from models.findings import is_open
from models.network import (
    Certificate,
    ExternalAudit,
    ExternalAuditKind,
    Finding,
    Grade,
    Network,
    Recommendation,
)
from models.policy import Policy
from models.results import Check, GateResult, check
from models.sampling import sample_size

CERTIFYING = (ExternalAuditKind.STAGE2, ExternalAuditKind.RECERTIFICATION)


class CertificateStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"  # reissued, e.g. with a reduced scope
    EXPIRED = "expired"


class CertificateEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: str
    on: date
    status: CertificateStatus
    reason: str


def status_as_of(certificate: Certificate, events: list[CertificateEvent], as_of: date) -> CertificateStatus:
    """A certificate's status on `as_of`: its events up to then, and expiry."""
    status = CertificateStatus.VALID
    for event in sorted(events, key=lambda e: e.on):
        if event.number == certificate.number and event.on <= as_of:
            status = event.status
    if status in (CertificateStatus.VALID, CertificateStatus.SUSPENDED) and as_of > certificate.valid_until:
        return CertificateStatus.EXPIRED
    return status


# Which status each status change may start from (ISO/IEC 17021-1: suspend, reinstate, withdraw).
TRANSITIONS: dict[CertificateStatus, frozenset[CertificateStatus]] = {
    CertificateStatus.SUSPENDED: frozenset({CertificateStatus.VALID}),
    CertificateStatus.VALID: frozenset({CertificateStatus.SUSPENDED}),
    CertificateStatus.WITHDRAWN: frozenset({CertificateStatus.VALID, CertificateStatus.SUSPENDED}),
}

# The name of the event each status change is announced as.
STATUS_EVENTS: dict[CertificateStatus, str] = {
    CertificateStatus.SUSPENDED: "certificate.suspended",
    CertificateStatus.WITHDRAWN: "certificate.withdrawn",
    CertificateStatus.VALID: "certificate.reinstated",
    CertificateStatus.SUPERSEDED: "certificate.superseded",
    CertificateStatus.EXPIRED: "certificate.expired",
}


def check_transition(number: str, current: CertificateStatus, wanted: CertificateStatus) -> None:
    """Refuse a status change the rules do not allow, saying why."""
    if current not in TRANSITIONS.get(wanted, frozenset()):
        raise ValueError(f"certificate {number} is {current.value}; it cannot become {wanted.value}")


def in_force(certificate: Certificate, events: list[CertificateEvent], as_of: date) -> bool:
    """Whether the certificate certifies anything on `as_of`: issued by then, and valid then."""
    return (certificate.issued_on <= as_of
            and status_as_of(certificate, events, as_of) == CertificateStatus.VALID)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def verified_by(finding: Finding, day: date) -> bool:
    """Every corrective action of `finding` verified effective by `day` (and it has some)."""
    return bool(finding.actions) and all(
        a.verified_effective_on is not None and a.verified_effective_on <= day for a in finding.actions)


def certification_audit(network: Network, as_of: date) -> ExternalAudit | None:
    """The audit a certification decision rests on: the latest stage 2 or recertification."""
    done = [a for a in network.external_audits if a.kind in CERTIFYING and a.end <= as_of]
    return max(done, key=lambda a: a.end, default=None)


def _findings_problems(audit: ExternalAudit, as_of: date, policy: Policy) -> tuple[list[str], list[str]]:
    majors, minors = [], []
    for f in audit.findings:
        where = f" at {f.company}" if f.company else ""
        if f.grade == Grade.MAJOR:
            if is_open(f.closed_on, as_of) or not verified_by(f, as_of):
                late = add_months(audit.end, policy.stage2_major_verification_months) < as_of
                redo = "; stage 2 must be repeated" if late and audit.kind == "stage2" else ""
                majors.append(f"major {f.id}{where} ({f.clause}) not closed with a verified "
                              f"corrective action{redo}")
        elif f.grade == Grade.MINOR and (f.plan_accepted_on is None or f.plan_accepted_on > as_of):
            minors.append(f"minor {f.id}{where} ({f.clause}) has no accepted plan")
    return majors, minors


def check_audit_outcome(audit: ExternalAudit, network: Network, as_of: date,
                        policy: Policy) -> list[Check]:
    """Sample, findings and recommendation of one external audit."""
    members = {c.id for c in network.active_companies(as_of)}
    required = sample_size(audit.kind, len(members), policy)
    visited = sorted(set(audit.companies_visited) & members)
    problems = []
    if len(visited) < required:
        problems.append(f"{audit.id} visited {len(visited)} member companies, "
                        f"{required} required for {len(members)} ({audit.kind.value})")
    if not audit.central_function_visited:
        problems.append(f"{audit.id} did not audit the central function")
    checks = [check("audit-sample", None, problems,
                    f"{audit.id} visited {len(visited)} of {len(members)} "
                    f"(at least {required}) and the central function")]
    majors, minors = _findings_problems(audit, as_of, policy)
    count = lambda g: sum(f.grade == g for f in audit.findings)  # noqa: E731
    checks.append(check("external-majors", None, majors,
                        f"{count(Grade.MAJOR)} major(s) in {audit.id}, all closed and verified"))
    checks.append(check("external-minors", None, minors,
                        f"{count(Grade.MINOR)} minor(s) in {audit.id}, all with accepted plans"))
    checks.append(check(
        "recommendation", None,
        [] if audit.recommendation == Recommendation.RECOMMENDED
        else [f"{audit.id}: recommendation is {audit.recommendation.value.replace('_', ' ')}"],
        f"{audit.lead_auditor} ({audit.certification_body}) recommends certification"))
    return checks


def check_external_audit(network: Network, as_of: date, policy: Policy) -> list[Check]:
    audit = certification_audit(network, as_of)
    if audit is None:
        none = ["no stage 2 or recertification audit done"]
        return [check(code, None, none, "") for code in
                ("audit-stages", "audit-sample", "external-majors", "external-minors",
                 "recommendation")]
    problems = []
    if audit.kind == ExternalAuditKind.STAGE2:
        stage1 = [a for a in network.external_audits
                  if a.kind == ExternalAuditKind.STAGE1 and a.end <= audit.start]
        if not stage1:
            problems.append(f"no stage 1 audit before stage 2 {audit.id}")
        overdue = add_months(audit.end, policy.stage2_major_verification_months)
        late = [f.id for f in audit.findings
                if f.grade == Grade.MAJOR and overdue < as_of and not verified_by(f, overdue)]
        if late:
            problems.append(f"stage 2 {audit.id} must be repeated: major(s) {', '.join(late)} not "
                            f"verified within {policy.stage2_major_verification_months} months")
    checks = [check("audit-stages", None, problems,
                    f"{audit.kind.value} {audit.id} on {audit.start}–{audit.end}")]
    return checks + check_audit_outcome(audit, network, as_of, policy)


def check_sign_off(approved: bool | None, decided_by: str, comment: str) -> Check:
    """The human decision: approved, refused, or not given."""
    note = f": {comment}" if comment else ""
    if approved is None:
        return check("sign-off", None, ["no sign-off given"], "")
    return check("sign-off", None, [] if approved else [f"refused by {decided_by}{note}"],
                 f"approved by {decided_by}{note}")


def check_decision(gates: list[GateResult], required: tuple[Stage, ...]) -> list[Check]:
    """The decision passes only when every required gate ran in this cycle and passed."""
    ran = {g.stage for g in gates}
    problems = [f"{stage.value} gate did not run" for stage in required if stage not in ran]
    blocked = [f"{g.stage.value} ({len(g.blockers)} unmet)" for g in gates if not g.passed]
    if blocked:
        problems.append(f"blocked gates: {', '.join(blocked)}")
    return [check("all-gates", None, problems, f"all {len(required)} gates passed")]


class CertificateDraft(BaseModel):
    """What a certificate says, before the store gives it a number."""

    model_config = ConfigDict(frozen=True)

    network_id: str
    network_name: str
    operator: str
    cycle: str
    issued_on: date
    valid_until: date
    scope: str
    companies: tuple[tuple[str, str], ...]
    certification_body: str


# The fields of a certificate's signed document; a verifier refuses any other.
DOCUMENT_FIELDS = ("certificate", "signature", "key_id")


def certificate_payload(draft: CertificateDraft, number: str) -> dict[str, object]:
    """What a certificate's signature covers."""
    return {"number": number, **draft.model_dump(mode="json")}


def draft_certificate(network: Network, as_of: date, policy: Policy) -> CertificateDraft:
    audit = certification_audit(network, as_of)
    if audit is None:
        raise ValueError("no certification audit: the decision gate cannot have passed")
    return CertificateDraft(
        network_id=network.id, network_name=network.name, operator=network.operator,
        cycle=audit.id, issued_on=as_of,
        valid_until=add_years(as_of, policy.certificate_validity_years) - timedelta(days=1),
        scope=network.scope, certification_body=audit.certification_body,
        companies=tuple((c.id, c.name) for c in network.active_companies(as_of)))


def held_certificate(certificates: tuple[Certificate, ...] | list[Certificate],
                     as_of: date) -> Certificate | None:
    """The certificate the network holds on `as_of`: valid or suspended, within its validity."""
    held = [c for c in certificates if c.status in ("valid", "suspended")
            and c.issued_on <= as_of <= c.valid_until]
    return max(held, key=lambda c: c.issued_on, default=None)


def surveillance_windows(issued_on: date, as_of: date) -> list[tuple[date, date]]:
    """The surveillance audits owed by `as_of`, as (earliest, latest) end dates: the first within
    12 months of the decision, then one in each later calendar year that has ended."""
    first = add_months(issued_on, 12)
    windows = [(issued_on + timedelta(days=1), first)] if first <= as_of else []
    windows += [(date(y, 1, 1), date(y, 12, 31)) for y in range(first.year + 1, as_of.year)]
    return windows


def check_surveillance(network: Network, as_of: date, policy: Policy) -> list[Check]:
    cert = held_certificate(network.certificates, as_of)
    if cert is None:
        none = ["no certificate in force"]
        return [check("certificate-in-force", None, none, ""),
                check("surveillance-held", None, none, "")]
    checks = [check("certificate-in-force", None,
                    [f"{cert.number} is suspended"] if cert.status == "suspended" else [],
                    f"{cert.number}, valid until {cert.valid_until}")]
    audits = sorted((a for a in network.external_audits
                     if a.kind == ExternalAuditKind.SURVEILLANCE and cert.issued_on < a.end <= as_of),
                    key=lambda a: a.end)
    # Each owed surveillance takes the first audit not yet counted that ended in its window or
    # later: an audit held late cures the miss (and allows reinstatement); an early one does not
    # count for a later year.
    unused, missed = list(audits), []
    for start, end in surveillance_windows(cert.issued_on, as_of):
        match = next((a for a in unused if a.end >= start), None)
        if match is None:
            missed.append(f"no surveillance audit between {start} and {end}")
        else:
            unused.remove(match)
    problems = list(missed)
    if audits:
        latest = audits[-1]
        problems += [c.detail for c in check_audit_outcome(latest, network, as_of, policy)
                     if not c.passed]
    evidence = (f"{len(audits)} surveillance audit(s) since {cert.issued_on}, latest "
                f"{audits[-1].id}" if audits else "none owed yet")
    checks.append(check("surveillance-held", None, problems, evidence))
    return checks



class CertificateRecord(BaseModel):
    """A certificate as the register holds it: its data, status, documents and signature."""

    model_config = ConfigDict(frozen=True)

    number: str
    network_id: str
    cycle: str
    issued_on: date
    valid_until: date
    scope: str
    companies: tuple[str, ...]
    status: CertificateStatus
    html: str
    pdf: bytes
    run_id: str | None = None
    payload: dict[str, Any] | None = None
    signature: str | None = None
    key_id: str | None = None
    replaces: str | None = None

    def certificate(self) -> Certificate:
        return Certificate(number=self.number, issued_on=self.issued_on, valid_until=self.valid_until,
                           scope=self.scope, companies=self.companies, cycle=self.cycle,
                           status=self.status.value)

    def document(self) -> dict[str, object]:
        """The verifiable form: the signed data, the signature and the key's id (DOCUMENT_FIELDS)."""
        return {"certificate": self.payload, "signature": self.signature, "key_id": self.key_id}


def reduced_draft(record: CertificateRecord, remove: list[str], on: date, reissues: int) -> CertificateDraft:
    """The certificate that replaces `record` without the companies in `remove`.

    Only a valid or suspended certificate can be reissued; it must keep at least one company. The
    new one keeps the cycle's expiry date, and its cycle is the old one's with a reissue suffix.
    """
    if record.status not in (CertificateStatus.VALID, CertificateStatus.SUSPENDED):
        raise ValueError(f"certificate {record.number} is {record.status.value}; only a valid or "
                         "suspended one can be reissued with a reduced scope")
    unknown = sorted(set(remove) - set(record.companies))
    if unknown:
        raise ValueError(f"not on certificate {record.number}: {', '.join(unknown)}")
    payload = dict(record.payload or {})
    kept = tuple((cid, name) for cid, name in payload["companies"] if cid not in remove)
    if not kept:
        raise ValueError("a certificate must cover at least one company: withdraw it instead")
    return CertificateDraft.model_validate({
        **{k: v for k, v in payload.items() if k != "number"}, "companies": kept,
        "issued_on": on, "cycle": f"{record.cycle}.r{reissues + 1}"})
