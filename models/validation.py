"""Cross-reference and date checks on a structurally valid network: every problem, not the first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from models.catalogue import ISO14001_CLAUSES
from models.dates import EARLIEST_DATE, LATEST_DATE
from models.network import Company, ExternalAuditKind, Network
from models.policy import DEFAULT_POLICY

Loc = tuple[str | int, ...]

# Dates that name a plan or a deadline may lie after --as-of; all others record what happened.
# An external audit's dates may be announced ahead: until it ends it counts as planned.
FUTURE_DATE_FIELDS = frozenset({"due", "valid_until", "start", "end"})


class Problem(BaseModel):
    loc: Loc
    message: str

    @property
    def path(self) -> str:
        return format_loc(self.loc)


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def check_network(network: Network, as_of: date | None = None) -> list[Problem]:
    """Every cross-reference, uniqueness and date problem in `network`."""
    problems: list[Problem] = []
    add = lambda loc, msg: problems.append(Problem(loc=loc, message=msg))  # noqa: E731

    _check_unique(network, add)
    coordinators = {c.coordinator.id for c in network.companies if c.coordinator}
    company_ids = {c.id for c in network.companies}
    employee_ids = {e.id for c in network.companies for e in c.employees}

    for i, member in enumerate(network.steering_committee):
        if member not in coordinators:
            add(("steering_committee", i), f"{member!r} is not the coordinator of any member company")
    if network.central_coordinator and network.central_coordinator.coordinator not in coordinators:
        add(("central_coordinator", "coordinator"),
            f"{network.central_coordinator.coordinator!r} is not the coordinator of any member company")

    for s, session in enumerate(network.training_sessions):
        for a, attendee in enumerate(session.attendees):
            if attendee not in employee_ids:
                add(("training_sessions", s, "attendees", a), f"unknown employee {attendee!r}")

    for c, company in enumerate(network.companies):
        if company.left_on and company.left_on < company.joined_on:
            add(("companies", c, "left_on"),
                f"left_on {company.left_on} is before joined_on {company.joined_on}")
        for a, audit in enumerate(company.internal_audits):
            for f, finding in enumerate(audit.findings):
                loc: Loc = ("companies", c, "internal_audits", a, "findings", f, "clause")
                _check_clause(finding.clause, loc, add)
        aspects = {a.id for a in company.aspects}
        for o, objective in enumerate(company.objectives):
            if objective.aspect is not None and objective.aspect not in aspects:
                add(("companies", c, "objectives", o, "aspect"),
                    f"unknown aspect {objective.aspect!r} of company {company.id!r}")
        seen: set[str] = set()
        for k, indicator in enumerate(company.indicators):
            if indicator.kind in seen:
                add(("companies", c, "indicators", k, "kind"),
                    f"indicator {indicator.kind.value!r} listed twice")
            seen.add(indicator.kind)
        if as_of is not None:
            for loc, year in _years(company, ("companies", c)):
                if year > as_of.year:
                    add(loc, f"a value for {year}, after the as-of year {as_of.year}")

    for a, external in enumerate(network.external_audits):
        for v, visited in enumerate(external.companies_visited):
            if visited not in company_ids:
                add(("external_audits", a, "companies_visited", v), f"unknown company {visited!r}")
        for f, x in enumerate(external.findings):
            loc = ("external_audits", a, "findings", f)
            _check_clause(x.clause, (*loc, "clause"), add)
            if x.company is not None and x.company not in company_ids:
                add((*loc, "company"), f"unknown company {x.company!r}")

    body = network.certification_body
    certifying = [(a, x) for a, x in enumerate(network.external_audits)
                  if x.kind in (ExternalAuditKind.STAGE2, ExternalAuditKind.RECERTIFICATION)]
    if body is not None and certifying:
        a, latest = max(certifying, key=lambda item: item[1].end)
        if latest.certification_body != body.name:
            add(("external_audits", a, "certification_body"),
                f"{latest.certification_body!r} is not the network's certification body {body.name!r}: "
                "the certificate is issued in that body's name, so the audit it rests on must be its own")
    numbers: dict[str, str] = {}
    for c, company in enumerate(network.companies):
        number = company.organisation_number
        if number is not None:
            if number in numbers:
                add(("companies", c, "organisation_number"),
                    f"organisation number {number} is also company {numbers[number]!r}'s")
            numbers.setdefault(number, company.id)

    try:
        DEFAULT_POLICY.with_overrides(network.policy_overrides)
    except ValidationError as exc:
        for err in exc.errors():
            add(("policy_overrides", *err["loc"]), err["msg"])

    for loc, value in _dates(network, ()):
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            add(loc, f"{value} is outside the dates a network file may hold "
                     f"({EARLIEST_DATE} to {LATEST_DATE})")
        elif as_of is not None and loc[-1] not in FUTURE_DATE_FIELDS and value > as_of:
            add(loc, f"{value} is after the as-of date {as_of}")
    return problems


def _years(company: Company, loc: Loc) -> Iterator[tuple[Loc, int]]:
    """Years with a recorded value: measurements and indicator totals (targets may lie ahead)."""
    for o, objective in enumerate(company.objectives):
        for year in objective.measurements:
            yield (*loc, "objectives", o, "measurements", year), year
    for k, indicator in enumerate(company.indicators):
        for year in indicator.values:
            yield (*loc, "indicators", k, "values", year), year


def _check_clause(clause: str, loc: Loc, add: Any) -> None:
    if clause not in ISO14001_CLAUSES:
        add(loc, f"clause {clause!r} does not exist in ISO 14001:2015")


def _check_unique(network: Network, add: Any) -> None:
    def dupes(kind: str, items: list[tuple[Loc, str]]) -> None:
        # Ids are unique without regard to case: 'abc' and 'ABC' would share a certificate number,
        # and a reader cannot tell them apart.
        counts = Counter(key.casefold() for _, key in items)
        seen: dict[str, str] = {}
        for loc, key in items:
            folded = key.casefold()
            if counts[folded] > 1 and folded in seen:
                first = seen[folded]
                add(loc, f"duplicate {kind} id {key!r}" if first == key else
                    f"duplicate {kind} id {key!r}: ids are unique without regard to case ({first!r})")
            seen.setdefault(folded, key)

    cs = network.companies
    dupes("company", [(("companies", i, "id"), c.id) for i, c in enumerate(cs)])
    dupes("coordinator", [(("companies", i, "coordinator", "id"), c.coordinator.id)
                          for i, c in enumerate(cs) if c.coordinator])
    dupes("employee", [(("companies", i, "employees", j, "id"), e.id)
                       for i, c in enumerate(cs) for j, e in enumerate(c.employees)])
    dupes("training session", [(("training_sessions", i, "id"), s.id)
                               for i, s in enumerate(network.training_sessions)])
    dupes("steering committee member", [(("steering_committee", i), m)
                                        for i, m in enumerate(network.steering_committee)])
    for i, c in enumerate(cs):
        for attr in ("aspects", "legal_register", "objectives", "management_reviews"):
            dupes(attr.rstrip("s").replace("_", " "),
                  [(("companies", i, attr, j, "id"), x.id) for j, x in enumerate(getattr(c, attr))])
    # Audits, findings and corrective actions are keyed by the network, across companies.
    audits: list[tuple[Loc, Any]] = [
        (("companies", i, "internal_audits", a), audit)
        for i, c in enumerate(cs) for a, audit in enumerate(c.internal_audits)]
    audits += [(("external_audits", a), audit) for a, audit in enumerate(network.external_audits)]
    dupes("audit", [((*loc, "id"), audit.id) for loc, audit in audits])
    findings = [((*loc, "findings", f), x) for loc, audit in audits for f, x in enumerate(audit.findings)]
    dupes("finding", [((*loc, "id"), x.id) for loc, x in findings])
    dupes("corrective action", [((*loc, "actions", k, "id"), act.id)
                                for loc, x in findings for k, act in enumerate(x.actions)])


def _dates(value: Any, loc: Loc) -> Iterator[tuple[Loc, date]]:
    if isinstance(value, date):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            if name != "certificates":
                yield from _dates(getattr(value, name), (*loc, name))
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _dates(item, (*loc, i))
