"""External audits, the certification decision, the certificate and annual surveillance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from models.catalogue import Stage
from models.dates import add_months, add_years
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
    derived: bool = False  # implied by the audit records rather than recorded by someone


FINAL = frozenset({CertificateStatus.WITHDRAWN, CertificateStatus.SUPERSEDED, CertificateStatus.EXPIRED})


def status_as_of(certificate: Certificate, events: list[CertificateEvent], as_of: date) -> CertificateStatus:
    """A certificate's status on `as_of`: its events up to then, in date order, and expiry. A
    withdrawn, superseded or expired certificate stays so, whatever follows."""
    status = CertificateStatus.VALID
    for event in sorted(events, key=lambda e: e.on):
        if event.number == certificate.number and event.on <= as_of and status not in FINAL:
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


class CertifyingBody(BaseModel):
    """Who certifies, as the certificate names it: the accredited certification body."""

    model_config = ConfigDict(frozen=True)

    name: str
    accreditation_body: str | None = None  # unset: not recorded (certificates issued before it was)
    accreditation_number: str | None = None
    address: str | None = None

    @property
    def accreditation(self) -> str | None:
        if self.accreditation_body and self.accreditation_number:
            return f"accredited by {self.accreditation_body}, no. {self.accreditation_number}"
        return None


class CertifiedCompany(BaseModel):
    """One line of the certificate's appendix."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    organisation_number: str | None = None
    site_address: str | None = None
    central_function: bool = False


class CertificateDraft(BaseModel):
    """What a certificate says, before the store gives it a number."""

    model_config = ConfigDict(frozen=True)

    network_id: str
    network_name: str
    operator: str  # the coordinating organisation (the consultant), not the certifier
    cycle: str  # the audit the cycle rests on: the register's key, not shown on the certificate
    cycle_start: date | None = None  # the first day of the 3-year cycle (unset on older certificates)
    issued_on: date
    valid_until: date
    scope: str
    companies: tuple[CertifiedCompany, ...]
    certification_body: CertifyingBody

    @field_validator("certification_body", mode="before")
    @classmethod
    def _named_only(cls, value: object) -> object:
        # Certificates issued before the certification body was recorded name it only.
        return {"name": value} if isinstance(value, str) else value

    @field_validator("companies", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        # Older certificates list (id, name) pairs.
        if isinstance(value, list | tuple):
            return [{"id": c[0], "name": c[1]} if isinstance(c, list | tuple) else c for c in value]
        return value

    @property
    def cycle_began(self) -> date:
        return self.cycle_start or self.issued_on


# The fields of a certificate's signed document; a verifier refuses any other.
DOCUMENT_FIELDS = ("certificate", "signature", "key_id")


def certificate_payload(draft: CertificateDraft, number: str, verification_url: str) -> dict[str, object]:
    """What a certificate's signature covers: its data, and where anyone can check its status."""
    return {"number": number, **draft.model_dump(mode="json"), "verification_url": verification_url}


def central_function(network: Network) -> str | None:
    """The id of the company whose coordinator is the central coordinator (the central function)."""
    chosen = network.central_coordinator
    if chosen is None:
        return None
    return next((c.id for c in network.companies if c.coordinator and c.coordinator.id == chosen.coordinator),
                None)


def certifying_body(network: Network, audit: ExternalAudit) -> CertifyingBody:
    """The body the certificate is issued in the name of: the network's recorded certification body,
    or, where none is recorded, the audit's body by name."""
    body = network.certification_body
    if body is None or body.name != audit.certification_body:
        return CertifyingBody(name=audit.certification_body)
    return CertifyingBody.model_validate(body.model_dump())


def draft_certificate(network: Network, as_of: date, policy: Policy) -> CertificateDraft:
    audit = certification_audit(network, as_of)
    if audit is None:
        raise ValueError("no certification audit: the decision gate cannot have passed")
    central = central_function(network)
    return CertificateDraft(
        network_id=network.id, network_name=network.name, operator=network.operator,
        cycle=audit.id, cycle_start=as_of, issued_on=as_of,
        valid_until=add_years(as_of, policy.certificate_validity_years) - timedelta(days=1),
        scope=network.scope, certification_body=certifying_body(network, audit),
        companies=tuple(CertifiedCompany(id=c.id, name=c.name, organisation_number=c.organisation_number,
                                         site_address=c.site_address, central_function=c.id == central)
                        for c in network.active_companies(as_of)))


def held_certificate(certificates: tuple[Certificate, ...] | list[Certificate],
                     as_of: date) -> Certificate | None:
    """The certificate the network holds on `as_of`: valid or suspended, within its validity."""
    held = [c for c in certificates if c.status in ("valid", "suspended")
            and c.issued_on <= as_of <= c.valid_until]
    return max(held, key=lambda c: c.issued_on, default=None)


def surveillance_windows(issued_on: date, as_of: date) -> list[tuple[date, date]]:
    """The surveillance audits owed by `as_of`, as (earliest, latest) end dates: the first within
    12 months of the decision, then one in each later calendar year, each owed once its last day
    has come."""
    first = add_months(issued_on, 12)
    windows = [(issued_on + timedelta(days=1), first)] if first <= as_of else []
    windows += [(date(y, 1, 1), date(y, 12, 31)) for y in range(first.year + 1, as_of.year + 1)
                if date(y, 12, 31) <= as_of]
    return windows


class SurveillanceDue(BaseModel):
    """One surveillance audit a certificate owes, and what the records say of it.

    `due` is the last day on which the audit is in time. A surveillance not held by then leaves the
    certificate suspended from `due` until a late audit passes (`passed_on`), and withdrawn when
    that does not happen within `suspension_max_months`."""

    model_config = ConfigDict(frozen=True)

    earliest: date
    due: date
    audit: str | None = None  # the audit that counts for it
    held_on: date | None = None  # when that audit ended
    passed_on: date | None = None  # the first day its outcome passed; None while it has not
    withdrawn_on: date | None = None  # the day the unresolved suspension ended in withdrawal

    @property
    def late(self) -> bool:
        return self.held_on is None or self.held_on > self.due

    @property
    def reinstated_on(self) -> date | None:
        """The day a late audit's pass ended the suspension (None: in time, or not yet)."""
        return self.passed_on if self.late and self.withdrawn_on is None else None


def audit_passed_on(audit: ExternalAudit, network: Network, as_of: date, policy: Policy) -> date | None:
    """The first day from the audit's end up to `as_of` on which its sample, findings and
    recommendation all pass: its end, or a later day a plan was accepted or an action verified."""
    days = {audit.end} | {d for f in audit.findings for d in (f.plan_accepted_on, f.closed_on) if d}
    days |= {d for f in audit.findings for a in f.actions
             for d in (a.closed_on, a.verified_effective_on) if d}
    for day in sorted(d for d in days if audit.end <= d <= as_of):
        if all(c.passed for c in check_audit_outcome(audit, network, day, policy)):
            return day
    return None


def surveillance_dues(network: Network, certificate: Certificate, as_of: date,
                      policy: Policy) -> list[SurveillanceDue]:
    """Every surveillance the certificate owes by `as_of`, each with the audit that counts for it,
    derived from the audit records alone: the outcome does not depend on when anyone looked.

    Each owed surveillance takes the first audit not yet counted that ended in its window or later:
    an audit held late cures the miss from the day it passes; an early one does not count for a
    later year."""
    audits = sorted((a for a in network.external_audits if a.kind == ExternalAuditKind.SURVEILLANCE
                     and certificate.issued_on < a.end <= as_of), key=lambda a: a.end)
    dues = []
    for earliest, due in surveillance_windows(certificate.issued_on, min(as_of, certificate.valid_until)):
        match = next((a for a in audits if a.end >= earliest), None)
        if match is not None:
            audits.remove(match)
        passed = audit_passed_on(match, network, as_of, policy) if match else None
        limit = add_months(due, policy.suspension_max_months)
        late_pass = passed is not None and match is not None and match.end > due
        cured = passed is not None and (not late_pass or passed < limit)
        withdrawn = limit if (match is None or match.end > due) and not cured and limit <= as_of else None
        dues.append(SurveillanceDue(earliest=earliest, due=due, audit=match.id if match else None,
                                    held_on=match.end if match else None, passed_on=passed,
                                    withdrawn_on=withdrawn))
    return dues


def lapse_events(certificate: Certificate, dues: list[SurveillanceDue]) -> list[CertificateEvent]:
    """The status changes the surveillance record implies: suspended from each due date an audit
    was not held by, reinstated when a late audit passed, withdrawn when none did in time."""
    events = []
    for d in dues:
        if not d.late:
            continue
        events.append(CertificateEvent(
            number=certificate.number, on=d.due, status=CertificateStatus.SUSPENDED, derived=True,
            reason=f"surveillance due by {d.due} not held by then"))
        if d.withdrawn_on is not None:
            events.append(CertificateEvent(
                number=certificate.number, on=d.withdrawn_on, status=CertificateStatus.WITHDRAWN,
                derived=True, reason=f"suspended since {d.due}: no surveillance audit passed in time"))
        elif d.reinstated_on is not None:
            events.append(CertificateEvent(
                number=certificate.number, on=d.reinstated_on, status=CertificateStatus.VALID, derived=True,
                reason=f"reinstated: surveillance audit {d.audit}, held late on {d.held_on}, passed"))
    return events


def suspended_since(events: list[CertificateEvent], as_of: date) -> date | None:
    """The day the suspension in force on `as_of` began (None: not suspended then)."""
    since = None
    for event in sorted(events, key=lambda e: e.on):
        if event.on > as_of:
            break
        if event.status != CertificateStatus.SUSPENDED:
            since = None
        elif since is None:
            since = event.on
    return since


def status_history(recorded: list[CertificateEvent],
                   derived: list[CertificateEvent]) -> list[CertificateEvent]:
    """The recorded status changes and those the surveillance record implies, by date; on one day
    the implied change comes first, so that what someone recorded that day stands."""
    return sorted([*derived, *recorded], key=lambda e: e.on)


def certificate_events(network: Network, certificate: Certificate, recorded: Sequence[CertificateEvent],
                       as_of: date, policy: Policy) -> list[CertificateEvent]:
    """The one rule for a certificate's status changes up to `as_of`: those recorded (`recorded` may
    hold other certificates' too) and those its network's surveillance record implies (a late audit
    suspends it from the due date until it passes), whether or not anyone has looked since. Every
    view of a certificate's status (the register, `certificate show` and `verify`, the public page,
    the portfolio) takes it from here, through `certificate_status`."""
    derived = lapse_events(certificate, surveillance_dues(network, certificate, as_of, policy))
    return status_history([e for e in recorded if e.number == certificate.number], derived)


def certificate_status(network: Network, certificate: Certificate, recorded: Sequence[CertificateEvent],
                       as_of: date, policy: Policy) -> CertificateStatus:
    """A certificate's status on `as_of` by the one rule (`certificate_events`)."""
    return status_as_of(certificate, certificate_events(network, certificate, recorded, as_of, policy), as_of)


def lapsed_on_issue(network: Network, draft: CertificateDraft, today: date,
                    policy: Policy) -> list[CertificateEvent]:
    """The status changes a certificate issued as of its draft's day has already gone through by
    `today`, by the one rule: a certificate dated far back is past its surveillance dates the moment
    it is issued (suspended from the first one missed, withdrawn 6 months later). Empty when it
    would be valid today."""
    certificate = Certificate(number="(to be issued)", issued_on=draft.issued_on,
                              valid_until=draft.valid_until, scope=draft.scope,
                              companies=tuple(c.id for c in draft.companies), cycle=draft.cycle)
    events = [e for e in certificate_events(network, certificate, [], today, policy) if e.on <= today]
    return events if status_as_of(certificate, events, today) != CertificateStatus.VALID else []


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
    dues = surveillance_dues(network, cert, as_of, policy)
    problems = [f"no surveillance audit between {d.earliest} and {d.due}" for d in dues if d.audit is None]
    if audits:
        latest = audits[-1]
        problems += [c.detail for c in check_audit_outcome(latest, network, as_of, policy)
                     if not c.passed]
    late = [f"{d.audit} held late on {d.held_on} (due by {d.due})" for d in dues if d.audit and d.late]
    evidence = (f"{len(audits)} surveillance audit(s) since {cert.issued_on}, latest "
                f"{audits[-1].id}" if audits else "none owed yet") + (f"; {', '.join(late)}" if late else "")
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
    old = CertificateDraft.model_validate(record.payload or {})
    kept = tuple(c for c in old.companies if c.id not in remove)
    if not kept:
        raise ValueError("a certificate must cover at least one company: withdraw it instead")
    return old.model_copy(update={"companies": kept, "issued_on": on, "cycle_start": old.cycle_began,
                                  "cycle": f"{record.cycle}.r{reissues + 1}"})
