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


# The words of a reminder are not written here: each is a key of the message catalogue
# (templates/strings.yaml, under `items`) with its values, so every language says all of it.
class Term(BaseModel):
    """Ids the catalogue names in words: a training topic, an audit kind, a finding's grade."""

    model_config = ConfigDict(frozen=True)

    group: str  # "topics", "audit_kinds" or "grades": a section of the catalogue
    ids: tuple[str, ...]


Value = str | int | date | Term


class Text(BaseModel):
    """One sentence of the message catalogue: its key under `items`, its values, and the count
    that chooses between its singular and plural form (when it has both)."""

    model_config = ConfigDict(frozen=True)

    key: str
    values: dict[str, Value] = {}
    count: int | None = None


def text(key: str, **values: Value) -> Text:
    return Text(key=key, values=values)


def counted(key: str, count: int, **values: Value) -> Text:
    """A sentence in its singular or plural form, as `count` asks."""
    return Text(key=key, values=values, count=count)


class CalendarEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    uid: str  # stable for the event, whatever its date: a later invitation replaces the earlier one
    start: date
    end: date
    summary: Text
    description: Text


class ReminderItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str  # stable across runs: what the item is about, not when
    kind: Kind
    company: str | None
    title: Text
    action: Text  # what to do about it
    lines: tuple[Text, ...] = ()
    due: date | None = None
    overdue_days: int = 0
    event: CalendarEvent | None = None

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


def _timing(due: date, as_of: date) -> int:
    return max(0, (as_of - due).days)


def _invitation(uid: str, start: date, end: date, summary: Text, description: Text,
                as_of: date) -> CalendarEvent | None:
    """A calendar invitation, unless its day has passed (nobody can attend it any more)."""
    if start < as_of:
        return None
    return CalendarEvent(uid=uid, start=start, end=end, summary=summary, description=description)


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


def _training_line(s: TrainingStatus, policy: Policy) -> Text:
    hours: dict[str, Value] = dict(name=s.name, hours=format_hours(s.hours),
                                   required=format_hours(policy.training_hours))
    topics = Term(group="topics", ids=tuple(s.missing_topics))
    if s.hours_short and s.missing_topics:
        return text("training_hours_and_topics", short=format_hours(s.hours_short), topics=topics, **hours)
    if s.hours_short:
        return text("training_hours", short=format_hours(s.hours_short), **hours)
    return text("training_topics", topics=topics, **hours)


def _training(company: Company, statuses: list[TrainingStatus], network: Network, as_of: date,
              policy: Policy) -> list[ReminderItem]:
    short = [s for s in statuses if not s.complete]
    if not short:
        return []
    due = training_due(company, short, network, policy)
    return [ReminderItem(key=f"training/{company.id}", kind=Kind.TRAINING, company=company.id,
                         title=counted("training", len(short)), action=text("training_action"),
                         lines=tuple(_training_line(s, policy) for s in short), due=due,
                         overdue_days=_timing(due, as_of))]


def _internal_audit(network: Network, company: Company, as_of: date, policy: Policy) -> list[ReminderItem]:
    due = internal_audit_due(company, as_of, policy)
    if due - as_of > timedelta(days=policy.due_soon_days):
        return []
    held = [a.date for a in company.internal_audits if a.date <= as_of]
    # One audit is due after the latest held: that is the event, whatever day it is planned for.
    after = max(held).isoformat() if held else "none"
    event = _invitation(f"internal-audit-{company.id}-after-{after}", due, due,
                        text("internal_audit_event", company=company.name),
                        text("internal_audit_event_description", operator=network.operator), as_of)
    return [ReminderItem(key=f"internal-audit/{company.id}", kind=Kind.INTERNAL_AUDIT, company=company.id,
                         title=text("internal_audit"), due=due, overdue_days=_timing(due, as_of),
                         action=text("internal_audit_action", operator=network.operator), event=event,
                         lines=(counted("internal_audit_held", audits_in_window(company, as_of),
                                     required=policy.internal_audits_per_year),))]


def _actions(company: Company, as_of: date, policy: Policy) -> list[ReminderItem]:
    items = []
    for finding in internal_findings(company, as_of):
        for action in finding.actions:
            if is_open(action.closed_on, as_of) and action.due - as_of <= timedelta(
                    days=policy.action_reminder_days):
                items.append(ReminderItem(
                    key=f"action/{action.id}", kind=Kind.CORRECTIVE_ACTION, company=company.id,
                    title=text("corrective_action", action=action.id), due=action.due,
                    overdue_days=_timing(action.due, as_of), action=text("corrective_action_action"),
                    lines=(text("corrective_action_line", description=action.description,
                                owner=action.owner, finding=finding.id,
                                grade=Term(group="grades", ids=(finding.grade.value,)),
                                clause=finding.clause),)))
    return items


def _review(company: Company, as_of: date, policy: Policy) -> list[ReminderItem]:
    review = latest_review(company, as_of)
    due = review_due_on(company, as_of, policy) or as_of
    if due - as_of > timedelta(days=policy.review_reminder_days):
        return []
    # The review due after the last one held is one event: a changed due date updates it.
    after = review.date.isoformat() if review else "none"
    event = _invitation(f"review-{company.id}-after-{after}", due, due,
                        text("management_review_event", company=company.name),
                        text("management_review_event_description"), as_of)
    last = text("management_review_last", date=review.date) if review else text("management_review_none")
    return [ReminderItem(key=f"review/{company.id}", kind=Kind.MANAGEMENT_REVIEW, company=company.id,
                         title=text("management_review"), action=text("management_review_action"),
                         due=due, overdue_days=_timing(due, as_of), lines=(last,), event=event)]


def _legal(company: Company, as_of: date, policy: Policy) -> list[ReminderItem]:
    due = legal_due(company, as_of, policy)
    if due is None or due - as_of > timedelta(days=policy.due_soon_days):
        return []
    oldest = oldest_evaluation(company)
    count = len(company.legal_register)
    line = (counted("legal_register", count, date=oldest) if oldest
            else counted("legal_register_unevaluated", count))
    return [ReminderItem(key=f"legal/{company.id}", kind=Kind.LEGAL_EVALUATION, company=company.id,
                         title=text("legal_evaluation"), action=text("legal_evaluation_action"),
                         due=due, overdue_days=_timing(due, as_of), lines=(line,))]


def _external(network: Network, company: Company, as_of: date, policy: Policy,
              programme: Programme | None) -> list[ReminderItem]:
    horizon = as_of + timedelta(days=policy.external_audit_reminder_days)
    items = []
    announced = [a for a in network.external_audits if as_of < a.start <= horizon]
    for audit in announced:
        visited = company.id in audit.companies_visited
        kind = Term(group="audit_kinds", ids=(audit.kind.value,))
        about: dict[str, Value] = dict(kind=kind, start=audit.start, end=audit.end,
                                       body=audit.certification_body,
                                       auditor=audit.lead_auditor, company=company.name)
        items.append(ReminderItem(
            key=f"external/{audit.id}/{company.id}", kind=Kind.EXTERNAL_AUDIT, company=company.id,
            title=text("external_audit_visit" if visited else "external_audit", **about),
            action=text("external_audit_visit_action" if visited else "external_audit_action"),
            due=audit.start, lines=(text("external_audit_line", **about),),
            event=_invitation(f"{audit.id}-{company.id}", audit.start, audit.end,
                              text("external_audit_event", **about),
                              text("external_audit_event_description", **about), as_of)
            if visited else None))
    if programme and not announced:
        for planned in programme.audits:
            if planned.status == "planned" and as_of <= planned.due_by <= horizon:
                in_sample = company.id in planned.sample.companies
                plan: dict[str, Value] = dict(kind=Term(group="audit_kinds", ids=(planned.kind.value,)),
                                              due=planned.due_by, company=company.name)
                # The planned audit of this cycle is one event, however its due date moves.
                uid = f"planned-{planned.kind.value}-{programme.cycle_start.isoformat()}-{company.id}"
                items.append(ReminderItem(
                    key=f"external-plan/{planned.kind.value}/{planned.due_by}/{company.id}",
                    kind=Kind.EXTERNAL_AUDIT, company=company.id, title=text("planned_audit", **plan),
                    action=text("planned_audit_sampled_action" if in_sample else "planned_audit_action"),
                    due=planned.due_by,
                    lines=(text("planned_audit_sampled" if in_sample else "planned_audit_not_sampled"),),
                    event=_invitation(uid, planned.due_by, planned.due_by,
                                      text("planned_audit_event", **plan),
                                      text("planned_audit_event_description", **plan), as_of)
                    if in_sample else None))
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
            title=text("certificate_expiry", number=cert.number, date=cert.valid_until),
            action=text("certificate_expiry_action"), due=cert.valid_until)]
    trained = training_status(network, as_of, policy)  # once for the network, not per company
    for company in network.active_companies(as_of):
        out[company.id] = [*_training(company, trained[company.id], network, as_of, policy),
                           *_internal_audit(network, company, as_of, policy),
                           *_actions(company, as_of, policy),
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
    company_id: str
    company: str  # the company's name
    items: tuple[ReminderItem, ...]


class CompanyItems(BaseModel):
    """One company's part of the central coordinator's digest."""

    model_config = ConfigDict(frozen=True)

    company_id: str
    name: str
    items: tuple[ReminderItem, ...]


class Digest(BaseModel):
    """The central coordinator's summary of every company's items, the escalated ones apart."""

    model_config = ConfigDict(frozen=True)

    recipient_id: str
    person: Coordinator
    companies: tuple[CompanyItems, ...]
    escalated: tuple[tuple[str, ReminderItem], ...]

    @property
    def items(self) -> tuple[ReminderItem, ...]:
        return tuple(i for part in self.companies for i in part.items)


class Addressed(BaseModel):
    """Who gets which reminder, and who could not be written to (and why)."""

    model_config = ConfigDict(frozen=True)

    letters: tuple[Letter, ...]
    digest: Digest | None
    skipped_recently_sent: int
    without_coordinator: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # each recipient not written to, with the reason, for the operator


def central_coordinator(network: Network) -> Coordinator | None:
    """The central coordinator, when the network has one with an email to write to."""
    central = network.central_coordinator
    owner = network.coordinators().get(central.coordinator) if central else None
    return owner[1] if owner and is_valid_email(owner[1].email) else None


def _no_digest_because(network: Network) -> str:
    central = network.central_coordinator
    if central is None:
        return "the network has no central coordinator"
    owner = network.coordinators().get(central.coordinator)
    if owner is None:
        return f"its central coordinator {central.coordinator} is no company's coordinator"
    return f"its central coordinator {owner[1].name} ({owner[1].id}) has no valid email address"


def address_reminders(network: Network, items: dict[str, list[ReminderItem]], as_of: date,
                      already_sent: set[tuple[str, str]], policy: Policy) -> Addressed:
    """Each coordinator gets the items not sent to them within the cadence (`already_sent` holds
    (recipient, item key) pairs); a company without a coordinator to write to goes into the
    central coordinator's digest only, which also lists every item sent."""
    letters: list[Letter] = []
    digest: list[CompanyItems] = []
    skipped, missing, reasons = 0, [], []
    for company in network.active_companies(as_of):
        due = items.get(company.id, [])
        coordinator = company.coordinator
        if not due:
            continue
        if coordinator is None or not is_valid_email(coordinator.email):
            missing.append(company.id)
            digest.append(CompanyItems(company_id=company.id, name=company.name, items=tuple(due)))
            who = "no coordinator" if coordinator is None else \
                f"coordinator {coordinator.name} ({coordinator.id}) has no valid email address"
            reasons.append(f"{company.name} ({company.id}): {who}; {len(due)} item(s)")
            continue
        fresh = tuple(i for i in due if (coordinator.id, i.key) not in already_sent)
        skipped += len(due) - len(fresh)
        if fresh:
            letters.append(Letter(recipient_id=coordinator.id, person=coordinator, company_id=company.id,
                                  company=company.name, items=fresh))
            digest.append(CompanyItems(company_id=company.id, name=company.name, items=fresh))
    central = central_coordinator(network)
    summary = None
    if digest and central is not None:
        late = tuple((part.name, i) for part in digest for i in escalated(list(part.items), policy))
        summary = Digest(recipient_id=f"central:{central.id}", person=central, companies=tuple(digest),
                         escalated=late)
        reasons = [f"{why} only in the central coordinator's digest" for why in reasons]
    elif digest:
        reasons = [f"{why} reach nobody" for why in reasons]
        reasons.append(f"the central coordinator's digest ({sum(len(p.items) for p in digest)} item(s)): "
                       f"{_no_digest_because(network)}")
    return Addressed(letters=tuple(letters), digest=summary, skipped_recently_sent=skipped,
                     without_coordinator=tuple(missing), skipped=tuple(reasons))


def sign_off_item(network: Network, run_id: str) -> ReminderItem:
    """The reminder that a certification run passed every gate and waits for its sign-off."""
    return ReminderItem(key=f"sign-off/{run_id}", kind=Kind.SIGN_OFF, company=None,
                        title=text("sign_off"), action=text("sign_off_action"),
                        lines=(text("sign_off_line", run=run_id, network=network.name),))
