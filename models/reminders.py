"""What each coordinator must act on, as of a date: the content of the reminders, nothing sent."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.certification import held_certificate
from models.dates import add_months
from models.findings import AUDIT_WINDOW_MONTHS, audits_in_window, internal_findings, is_open
from models.network import Company, Coordinator, Network, is_valid_email
from models.policy import Policy
from models.programme import Programme
from models.reviews import latest_review, review_due_on
from models.training import TrainingStatus, format_hours, training_status


class Kind(StrEnum):
    TRAINING = "training"
    INTERNAL_AUDIT = "internal_audit"
    CORRECTIVE_ACTION = "corrective_action"
    MANAGEMENT_REVIEW = "management_review"
    LEGAL_EVALUATION = "legal_evaluation"
    EXTERNAL_AUDIT = "external_audit"
    CERTIFICATE_EXPIRY = "certificate_expiry"
    SIGN_OFF = "sign_off"


class CalendarEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    uid: str
    start: date
    end: date
    summary: str
    description: str


class ReminderItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str  # stable across runs: what the item is about, not when
    kind: Kind
    company: str | None
    subject: str
    lines: tuple[str, ...] = ()
    due: date | None = None
    overdue_days: int = 0
    event: CalendarEvent | None = None

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


def _timing(due: date, as_of: date) -> int:
    return max(0, (as_of - due).days)


# --- deadlines: also what the gap analysis shows as due dates ---------------------------------


def training_due(company: Company, short: list[TrainingStatus], network: Network, policy: Policy) -> date:
    """When the earliest of `short`'s training had to be complete."""
    # The clock starts at hiring, or at the network's founding for those hired before it.
    start = network.founded_on or date.min
    hired = {e.id: max(e.hired_on, start) for e in company.employees}
    return min(hired[s.employee] + timedelta(days=policy.new_hire_grace_days) for s in short)


def internal_audit_due(company: Company, as_of: date, policy: Policy) -> date:
    """When the next internal audit is due to keep the required number in 12 months."""
    held = sorted((a.date for a in company.internal_audits if a.date <= as_of), reverse=True)
    need = policy.internal_audits_per_year
    # Due on the last day the oldest audit that still counts is within the 12-month window; with
    # fewer audits than required ever held, due now.
    return add_months(held[need - 1], AUDIT_WINDOW_MONTHS) if len(held) >= need else as_of


def oldest_evaluation(company: Company) -> date | None:
    """The legal register's oldest compliance evaluation; None when any obligation lacks one."""
    dates = [r.evaluated_on for r in company.legal_register if r.evaluated_on]
    return min(dates) if dates and len(dates) == len(company.legal_register) else None


def legal_due(company: Company, as_of: date, policy: Policy) -> date | None:
    """When the legal register's oldest evaluation expires (now if any is missing; None if empty)."""
    if not company.legal_register:
        return None
    oldest = oldest_evaluation(company)
    return add_months(oldest, policy.legal_evaluation_interval_months) if oldest else as_of


# --- reminder items --------------------------------------------------------------------------


def _training(company: Company, statuses: list[TrainingStatus], network: Network, as_of: date,
              policy: Policy) -> list[ReminderItem]:
    short = [s for s in statuses if not s.complete]
    if not short:
        return []
    due = training_due(company, short, network, policy)
    lines = tuple(
        f"{s.name}: {format_hours(s.hours)} h of {format_hours(policy.training_hours)} h"
        + (f", {format_hours(s.hours_short)} h short" if s.hours_short else "")
        + (f"; missing topics: {', '.join(s.missing_topics)}" if s.missing_topics else "")
        for s in short)
    return [ReminderItem(key=f"training/{company.id}", kind=Kind.TRAINING, company=company.id,
                         subject=f"{len(short)} employee(s) short of training", lines=lines, due=due,
                         overdue_days=_timing(due, as_of))]


def _internal_audit(company: Company, as_of: date, policy: Policy) -> list[ReminderItem]:
    due = internal_audit_due(company, as_of, policy)
    if due - as_of > timedelta(days=policy.due_soon_days):
        return []
    return [ReminderItem(key=f"internal-audit/{company.id}", kind=Kind.INTERNAL_AUDIT, company=company.id,
                         subject="Internal audit due", due=due, overdue_days=_timing(due, as_of),
                         lines=(f"{audits_in_window(company, as_of)} internal audit(s) in the last "
                                f"12 months; {policy.internal_audits_per_year} required",))]


def _actions(company: Company, as_of: date, policy: Policy) -> list[ReminderItem]:
    items = []
    for finding in internal_findings(company, as_of):
        for action in finding.actions:
            if is_open(action.closed_on, as_of) and action.due - as_of <= timedelta(
                    days=policy.action_reminder_days):
                items.append(ReminderItem(
                    key=f"action/{action.id}", kind=Kind.CORRECTIVE_ACTION, company=company.id,
                    subject=f"Corrective action {action.id}", due=action.due,
                    overdue_days=_timing(action.due, as_of),
                    lines=(f"{action.description} (owner {action.owner}); finding {finding.id}, "
                           f"{finding.grade.value}, clause {finding.clause}",)))
    return items


def _review(company: Company, as_of: date, policy: Policy) -> list[ReminderItem]:
    review = latest_review(company, as_of)
    due = review_due_on(company, as_of, policy) or as_of
    if due - as_of > timedelta(days=policy.review_reminder_days):
        return []
    event = CalendarEvent(uid=f"review-{company.id}-{due.isoformat()}", start=due, end=due,
                          summary=f"Management review, {company.name}",
                          description="Top management reviews the EMS (ISO 14001 9.3): bring every input.")
    last = f"last review {review.date}" if review else "no review held yet"
    return [ReminderItem(key=f"review/{company.id}", kind=Kind.MANAGEMENT_REVIEW, company=company.id,
                         subject="Management review due", due=due, overdue_days=_timing(due, as_of),
                         lines=(last,), event=event)]


def _legal(company: Company, as_of: date, policy: Policy) -> list[ReminderItem]:
    due = legal_due(company, as_of, policy)
    if due is None or due - as_of > timedelta(days=policy.due_soon_days):
        return []
    return [ReminderItem(key=f"legal/{company.id}", kind=Kind.LEGAL_EVALUATION, company=company.id,
                         subject="Legal register evaluation due", due=due, overdue_days=_timing(due, as_of),
                         lines=(f"{len(company.legal_register)} obligation(s); oldest evaluation "
                                f"{oldest_evaluation(company) or 'missing'}",))]


def _external(network: Network, company: Company, as_of: date, policy: Policy,
              programme: Programme | None) -> list[ReminderItem]:
    horizon = as_of + timedelta(days=policy.external_audit_reminder_days)
    items = []
    announced = [a for a in network.external_audits if as_of < a.start <= horizon]
    for audit in announced:
        visited = company.id in audit.companies_visited
        items.append(ReminderItem(
            key=f"external/{audit.id}/{company.id}", kind=Kind.EXTERNAL_AUDIT, company=company.id,
            subject=f"{audit.kind.value.capitalize()} audit {audit.start}"
                    + (": your company is visited" if visited else ""),
            due=audit.start,
            lines=(f"{audit.certification_body}, lead auditor {audit.lead_auditor}, "
                   f"{audit.start} to {audit.end}",
                   "Your company is in the sample: prepare both binders and the registers." if visited
                   else "Your company is not in the sample; the central function is audited."),
            event=CalendarEvent(uid=f"{audit.id}-{company.id}", start=audit.start, end=audit.end,
                                summary=f"{audit.kind.value.capitalize()} audit ({audit.certification_body})"
                                        + (f" visits {company.name}" if visited else ""),
                                description=f"Lead auditor {audit.lead_auditor}.") if visited else None))
    if programme and not announced:
        for planned in programme.audits:
            if planned.status == "planned" and as_of <= planned.due_by <= horizon:
                in_sample = company.id in planned.sample.companies
                items.append(ReminderItem(
                    key=f"external-plan/{planned.kind.value}/{planned.due_by}/{company.id}",
                    kind=Kind.EXTERNAL_AUDIT, company=company.id,
                    subject=f"{planned.kind.value.capitalize()} audit due by {planned.due_by}",
                    due=planned.due_by,
                    lines=("Your company is in the planned sample." if in_sample
                           else "Your company is not in the planned sample.",)))
    return items


def reminder_items(network: Network, as_of: date, policy: Policy,
                   programme: Programme | None = None) -> dict[str, list[ReminderItem]]:
    """Per member company, everything its coordinator must act on as of `as_of`."""
    out: dict[str, list[ReminderItem]] = {}
    cert = held_certificate(network.certificates, as_of)
    expiring = []
    if cert and cert.valid_until - as_of <= timedelta(days=policy.certificate_expiry_reminder_days):
        expiring = [ReminderItem(
            key=f"expiry/{cert.number}", kind=Kind.CERTIFICATE_EXPIRY, company=None,
            subject=f"Certificate {cert.number} expires on {cert.valid_until}", due=cert.valid_until,
            lines=("The recertification audit and decision must come before this date.",))]
    trained = training_status(network, as_of, policy)  # once for the network, not per company
    for company in network.active_companies(as_of):
        out[company.id] = [*_training(company, trained[company.id], network, as_of, policy),
                           *_internal_audit(company, as_of, policy), *_actions(company, as_of, policy),
                           *_review(company, as_of, policy), *_legal(company, as_of, policy),
                           *_external(network, company, as_of, policy, programme), *expiring]
    return out


def escalated(items: list[ReminderItem], policy: Policy) -> list[ReminderItem]:
    return [i for i in items if i.overdue_days > policy.escalation_days]


class Letter(BaseModel):
    """One coordinator's reminder email: whom it goes to and the items it carries."""

    model_config = ConfigDict(frozen=True)

    recipient_id: str  # the log's key for "already reminded"
    person: Coordinator
    company: str  # the company's name, or the network's for the central coordinator
    items: tuple[ReminderItem, ...]


class Digest(BaseModel):
    """The central coordinator's summary of every company's items, the escalated ones apart."""

    model_config = ConfigDict(frozen=True)

    recipient_id: str
    person: Coordinator
    companies: tuple[tuple[str, tuple[ReminderItem, ...]], ...]
    escalated: tuple[tuple[str, ReminderItem], ...]

    @property
    def items(self) -> tuple[ReminderItem, ...]:
        return tuple(i for _, items in self.companies for i in items)


class Addressed(BaseModel):
    """Who gets which reminder, and who could not be written to."""

    model_config = ConfigDict(frozen=True)

    letters: tuple[Letter, ...]
    digest: Digest | None
    skipped_recently_sent: int
    without_coordinator: tuple[str, ...]


def central_coordinator(network: Network) -> Coordinator | None:
    """The central coordinator, when the network has one with an email to write to."""
    central = network.central_coordinator
    owner = network.coordinators().get(central.coordinator) if central else None
    return owner[1] if owner and is_valid_email(owner[1].email) else None


def address_reminders(network: Network, items: dict[str, list[ReminderItem]], as_of: date,
                      already_sent: set[tuple[str, str]], policy: Policy) -> Addressed:
    """Each coordinator gets the items not sent to them within the cadence (`already_sent` holds
    (recipient, item key) pairs); a company without a coordinator to write to goes into the
    central coordinator's digest only, which also lists every item sent."""
    letters: list[Letter] = []
    digest: list[tuple[str, tuple[ReminderItem, ...]]] = []
    skipped, missing = 0, []
    for company in network.active_companies(as_of):
        due = items.get(company.id, [])
        coordinator = company.coordinator
        if not due:
            continue
        if coordinator is None or not is_valid_email(coordinator.email):
            missing.append(company.id)
            digest.append((company.name, tuple(due)))
            continue
        fresh = tuple(i for i in due if (coordinator.id, i.key) not in already_sent)
        skipped += len(due) - len(fresh)
        if fresh:
            letters.append(Letter(recipient_id=coordinator.id, person=coordinator, company=company.name,
                                  items=fresh))
            digest.append((company.name, fresh))
    central = central_coordinator(network)
    summary = None
    if digest and central is not None:
        late = tuple((name, i) for name, its in digest for i in escalated(list(its), policy))
        summary = Digest(recipient_id=f"central:{central.id}", person=central, companies=tuple(digest),
                         escalated=late)
    return Addressed(letters=tuple(letters), digest=summary, skipped_recently_sent=skipped,
                     without_coordinator=tuple(missing))


def sign_off_item(network: Network, run_id: str) -> ReminderItem:
    """The reminder that a certification run passed every gate and waits for its sign-off."""
    return ReminderItem(key=f"sign-off/{run_id}", kind=Kind.SIGN_OFF, company=None,
                        subject="Certification decision waiting for sign-off",
                        lines=(f"Run {run_id} of {network.name} passed every gate and waits for the "
                               "decision maker's sign-off in the Prefect UI.",))
