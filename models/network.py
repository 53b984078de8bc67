"""The network and everything it records, as pydantic models; also the network file's schema."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from models.policy import MANAGEMENT_REVIEW_INPUTS, TRAINING_TOPICS

EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def is_valid_email(value: str | None) -> bool:
    return bool(value) and EMAIL_PATTERN.match(value or "") is not None


# Unicode's line and paragraph separators: Python (and the email package) break lines there too.
LINE_SEPARATORS = "\u2028\u2029"


def control_character(value: str) -> str | None:
    """The first control character (line breaks, tabs, NUL, escape...) or Unicode line or
    paragraph separator in `value`, described; None when there is none."""
    for ch in value:
        if ch in LINE_SEPARATORS or unicodedata.category(ch) == "Cc":
            return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'a control character').lower()})"
    return None


# An RFC 2047 encoded word: mail programs show it decoded, and the email package writes it as it
# is, so a name holding one would read as something else.
ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")


def header_hazard(value: str) -> str | None:
    """Why `value` cannot go into an email header as it is, or None: a control character or line
    separator (it would end the header, and could smuggle in another), or an encoded word."""
    found = control_character(value)
    if found:
        return f"a line break or control character: {found}"
    word = ENCODED_WORD.search(value)
    if word:
        return f"{word.group()!r}, which mail programs decode as an encoded word"
    return None


# Context of a model read back from our own store: it was validated on its way in, so the validators
# that look at every character of every string (a third of loading a network) are not run again.
TRUSTED: dict[str, bool] = {"trusted": True}


def trusted(info: ValidationInfo) -> bool:
    context = info.context or {}
    return bool(context.get("trusted"))


def _single_line(value: str, info: ValidationInfo) -> str:
    # Names, addresses and subjects end up in email headers and one-line displays.
    if trusted(info):
        return value
    found = header_hazard(value)
    if found:
        raise ValueError(f"must be a single line of text without control characters; it contains {found}")
    return value


def _no_control_characters(value: str, info: ValidationInfo) -> str:
    # Line breaks and tabs are text; the other control characters rewrite a terminal or a document.
    if not trusted(info) and control_character(value.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise ValueError("must not contain control characters")
    return value


def _email(value: str, info: ValidationInfo) -> str:
    if not trusted(info) and not is_valid_email(value):
        raise ValueError(f"{value!r} is not a valid email address")
    return value


Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
                 AfterValidator(_single_line)]
Email = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_email)]
Text = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_control_characters)]
Line = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_single_line)]
# Hours are exact decimals: tenths that add up to 30 are 30, never 29.999999999999996. Files give
# them as numbers (at most 4 decimal places, 0.36 s), and export writes them back as numbers.
Hours = Annotated[Decimal, Field(gt=0, le=200, decimal_places=4),
                  PlainSerializer(float, return_type=float, when_used="json"),
                  WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 200,
                                  "description": "Hours, at most 4 decimal places."})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sector(StrEnum):
    MANUFACTURING = "manufacturing"
    TRANSPORT = "transport"
    CONSTRUCTION = "construction"
    GRAPHIC = "graphic"
    SERVICES = "services"
    TRADE = "trade"
    OTHER = "other"


class Complexity(StrEnum):
    """Environmental complexity category of IAF MD 5."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    LIMITED = "limited"


class Grade(StrEnum):
    MAJOR = "major"
    MINOR = "minor"
    OBSERVATION = "observation"
    IMPROVEMENT = "opportunity_for_improvement"

    @property
    def is_nonconformity(self) -> bool:
        return self in (Grade.MAJOR, Grade.MINOR)


class Significance(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ExternalAuditKind(StrEnum):
    STAGE1 = "stage1"
    STAGE2 = "stage2"
    SURVEILLANCE = "surveillance"
    RECERTIFICATION = "recertification"


class Direction(StrEnum):
    """Which way an objective's indicator improves."""

    DECREASE = "decrease"
    INCREASE = "increase"


class IndicatorKind(StrEnum):
    """The EMAS core indicators (Annex IV), each reported as an annual total in a fixed unit."""

    ENERGY = "energy"
    MATERIALS = "materials"
    WATER = "water"
    WASTE = "waste"
    EMISSIONS = "emissions"
    LAND_USE = "land_use"

    @property
    def unit(self) -> str:
        return INDICATOR_UNITS[self]


INDICATOR_UNITS: dict[IndicatorKind, str] = {
    IndicatorKind.ENERGY: "MWh", IndicatorKind.MATERIALS: "t", IndicatorKind.WATER: "m³",
    IndicatorKind.WASTE: "t", IndicatorKind.EMISSIONS: "t CO2e", IndicatorKind.LAND_USE: "m²",
}


class Recommendation(StrEnum):
    RECOMMENDED = "recommended"
    NOT_RECOMMENDED = "not_recommended"
    PENDING = "pending"


# --- people and leadership -------------------------------------------------------------------


class Person(Strict):
    name: Name
    email: Email | None = None
    phone: Annotated[str, StringConstraints(max_length=200), AfterValidator(_single_line)] | None = None


class Coordinator(Person):
    id: Id = Field(description="Unique within the network; the steering committee refers to it.")


class Commitment(Strict):
    signed_by: Name
    signed_on: dt.date


class EnvironmentalManager(Strict):
    name: Name
    appointed_on: dt.date


class GroupAgreement(Strict):
    """The contract binding a company to the central function (IAF MD 1 eligibility)."""

    signed_on: dt.date
    authority_for_corrective_action: bool = Field(
        True, description="The central function may require corrective action of the company."
    )


class EnvironmentalPolicy(Strict):
    adopted_on: dt.date
    communicated_on: dt.date | None = None
    public: bool = False
    url: Line | None = None


class CentralCoordinator(Strict):
    coordinator: Id = Field(description="Id of the coordinator the steering committee selected.")
    selected_on: dt.date


class Manual(Strict):
    version: Name
    issued_on: dt.date


class Binder(Strict):
    version: Name
    updated_on: dt.date


# --- training --------------------------------------------------------------------------------


class TrainingSession(Strict):
    """One course; each attendee earns its hours and topics."""

    id: Id
    date: dt.date
    hours: Hours
    topics: tuple[Annotated[str, StringConstraints(min_length=1)], ...] = ()
    trainer: Name | None = None
    attendees: tuple[Id, ...] = Field((), description="Employee ids (a set: kept sorted).")

    @field_validator("attendees")
    @classmethod
    def _as_set(cls, attendees: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if trusted(info):  # the store's key holds each attendee once
            return tuple(sorted(attendees))
        # One pass: a session can have thousands of attendees.
        repeated = sorted(a for a, n in Counter(attendees).items() if n > 1)
        if repeated:
            raise ValueError(f"attendee(s) listed twice: {', '.join(repeated)}")
        return tuple(sorted(attendees))

    @model_validator(mode="after")
    def _known_topics(self) -> TrainingSession:
        unknown = [t for t in self.topics if t not in TRAINING_TOPICS]
        if unknown:
            raise ValueError(f"unknown training topic(s) {unknown}; known: {list(TRAINING_TOPICS)}")
        return self


class Employee(Strict):
    id: Id
    name: Name
    hired_on: dt.date
    left_on: dt.date | None = None

    @model_validator(mode="after")
    def _left_after_hired(self) -> Employee:
        if self.left_on is not None and self.left_on < self.hired_on:
            raise ValueError(f"left_on {self.left_on} is before hired_on {self.hired_on}")
        return self


# --- review and planning ---------------------------------------------------------------------


class EnvironmentalReview(Strict):
    completed_on: dt.date
    guideline_version: Name | None = None


class Aspect(Strict):
    id: Id
    description: Name
    direct: bool = True
    significance: Significance | None = Field(None, description="Unset until it is assessed.")


class LegalRequirement(Strict):
    id: Id
    obligation: Name
    evaluated_on: dt.date | None = None
    compliant: bool | None = Field(None, description="Unset until evaluated.")
    resolved_on: dt.date | None = Field(None, description="When a non-compliance was resolved.")


class Objective(Strict):
    id: Id
    description: Name
    indicator: Name | None = None
    unit: Name | None = None
    baseline_year: int | None = Field(None, ge=1900, le=2200)
    baseline: float | None = None
    target: float | None = None
    target_year: int | None = Field(None, ge=1900, le=2200)
    measurements: dict[int, float] = Field(default_factory=dict, description="Measured value per year.")
    direction: Direction = Field(Direction.DECREASE, description="Whether lower or higher is better.")
    aspect: Id | None = Field(None, description="Id of the company's aspect the objective addresses.")
    previous_targets: dict[int, float] = Field(
        default_factory=dict,
        description="Targets adopted in earlier planning cycles, by the year adopted; `target` is the "
                    "current one. Shows whether the standard was raised.")


class Indicator(Strict):
    """One EMAS core indicator of a company: the annual total per year, in the kind's unit."""

    kind: IndicatorKind
    values: dict[int, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="Annual total per year (energy MWh, materials t, water m³, "
                                          "waste t, emissions t CO2e, land use m²).")


class CollectiveObjective(Strict):
    id: Id
    description: Name


# --- audits ----------------------------------------------------------------------------------


Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class CorrectiveAction(Strict):
    id: Id
    description: Name
    owner: Name
    due: dt.date
    closed_on: dt.date | None = None
    verified_effective_on: dt.date | None = None
    note: Text | None = Field(None, description="What was done, written when the action was closed.")
    evidence: tuple[Sha256, ...] = Field(
        (), description="The sha256 of each evidence file of the company that shows it was done.")

    @model_validator(mode="after")
    def _ordered(self) -> CorrectiveAction:
        if self.verified_effective_on and not self.closed_on:
            raise ValueError("verified_effective_on is set but the action is not closed")
        if self.verified_effective_on and self.closed_on and self.verified_effective_on < self.closed_on:
            raise ValueError("verified_effective_on is before closed_on")
        return self


class Finding(Strict):
    id: Id
    grade: Grade
    clause: str = Field(max_length=16, description="ISO 14001:2015 clause number, e.g. 9.2.")
    description: Name
    closed_on: dt.date | None = None
    plan_accepted_on: dt.date | None = Field(None, description="When the action plan was accepted.")
    actions: tuple[CorrectiveAction, ...] = ()

    @field_validator("clause", mode="before")
    @classmethod
    def _clause_written_as_a_number(cls, value: object) -> object:
        # YAML reads an unquoted 7.5 (or 10) as a number: it is the clause all the same.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format(value, "g")
        return value


class InternalAudit(Strict):
    id: Id
    date: dt.date
    auditor: Name
    findings: tuple[Finding, ...] = ()


class ManagementReview(Strict):
    id: Id
    date: dt.date
    inputs: tuple[str, ...] = ()
    decisions: tuple[Name, ...] = ()
    signed_by: Name | None = None
    signed_on: dt.date | None = None

    @model_validator(mode="after")
    def _known_inputs(self) -> ManagementReview:
        unknown = [i for i in self.inputs if i not in MANAGEMENT_REVIEW_INPUTS]
        if unknown:
            raise ValueError(f"unknown 9.3 input(s) {unknown}; known: {list(MANAGEMENT_REVIEW_INPUTS)}")
        return self


class ExternalFinding(Finding):
    company: Id | None = Field(None, description="The company it was raised at; unset for the network.")


class ExternalAudit(Strict):
    id: Id
    kind: ExternalAuditKind
    start: dt.date
    end: dt.date
    certification_body: Name
    lead_auditor: Name
    auditors: tuple[Name, ...] = ()
    companies_visited: tuple[Id, ...] = ()
    central_function_visited: bool = True
    findings: tuple[ExternalFinding, ...] = ()
    recommendation: Recommendation = Recommendation.PENDING

    @model_validator(mode="after")
    def _end_after_start(self) -> ExternalAudit:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


# --- company and network ---------------------------------------------------------------------


def _organisation_number(value: str) -> str:
    # A Swedish organisation number (NNNNNN-NNNN) carries a Luhn check digit: a typo shows.
    digits = value.replace("-", "")
    if re.fullmatch(r"\d{6}-\d{4}", value) and not _luhn_valid(digits):
        raise ValueError(f"{value!r}: the check digit does not match (a Swedish organisation number "
                         "NNNNNN-NNNN ends in a Luhn check digit)")
    return value


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


OrganisationNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./-]{1,31}$"),
    AfterValidator(_organisation_number)]
Address = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
                    AfterValidator(_single_line)]


class CertificationBody(Strict):
    """The accredited body that audits the network and certifies it (ISO/IEC 17021-1)."""

    name: Name = Field(description="As its external audits name it, e.g. Nordisk Certifiering AB.")
    accreditation_body: Name = Field(description="The accreditation body, e.g. Swedac.")
    accreditation_number: Annotated[str, StringConstraints(
        strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./-]{0,31}$")] = Field(
        description="The body's accreditation number with that accreditation body, e.g. 1234.")
    address: Address = Field(description="Postal address, one line.")


class EvidenceFileEntry(Strict):
    """An evidence file the company stored through the portal, as `hackefors export` lists it."""

    sha256: Sha256
    filename: Name
    media_type: str = Field(max_length=64)
    size: int = Field(ge=0)
    stored_at: dt.datetime
    stored_by: Name


class Company(Strict):
    id: Id
    name: Name
    organisation_number: OrganisationNumber | None = Field(
        None, description="The company's registration number (Swedish: NNNNNN-NNNN, Luhn-checked); "
                          "printed in the certificate's appendix.")
    site_address: Address | None = Field(
        None, description="The address of the site the certificate covers, one line; printed in the "
                          "appendix.")
    sector: Sector
    personnel: int = Field(ge=1, le=1_000_000, description="Effective number of personnel (IAF MD 5).")
    complexity: Complexity
    joined_on: dt.date
    left_on: dt.date | None = None
    coordinator: Coordinator | None = None
    group_agreement: GroupAgreement | None = None
    commitment: Commitment | None = None
    environmental_manager: EnvironmentalManager | None = None
    roles_defined_on: dt.date | None = None
    binder: Binder | None = None
    review: EnvironmentalReview | None = None
    employees: tuple[Employee, ...] = ()
    aspects: tuple[Aspect, ...] = ()
    legal_register: tuple[LegalRequirement, ...] = ()
    objectives: tuple[Objective, ...] = ()
    internal_audits: tuple[InternalAudit, ...] = ()
    management_reviews: tuple[ManagementReview, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    integrated_with: tuple[Name, ...] = Field(
        (), description="Other management systems the EMS is part of, e.g. quality (ISO 9001).")
    evidence_files: tuple[EvidenceFileEntry, ...] = Field(
        (), description="Written by `hackefors export`; ignored on import (the store keeps the files, "
                        "under its data folder, by sha256).")


class Certificate(Strict):
    number: str
    issued_on: dt.date
    valid_until: dt.date
    scope: Text
    companies: tuple[Id, ...]
    cycle: Id
    status: str = "valid"


class Network(Strict):
    """A network of SMEs certified together: the root of a network file."""

    id: Id
    name: Name
    operator: Name = Field(description="The consultant that runs the model and coordinates the network; "
                                       "the certificate names it as the coordinating organisation.")
    certification_body: CertificationBody | None = Field(
        None, description="The accredited certification body, in whose name the certificate is issued.")
    scope: Text = Field(description="Scope statement printed on the certificate.")
    language: str = Field("en", pattern="^(en|sv)$")
    founded_on: dt.date | None = None
    policy: EnvironmentalPolicy | None = None
    ems_manual: Manual | None = None
    steering_committee: tuple[Id, ...] = Field((), description="Coordinator ids.")
    central_coordinator: CentralCoordinator | None = None
    support_group: tuple[Person, ...] = ()
    collective_objectives: tuple[CollectiveObjective, ...] = ()
    policy_overrides: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the requirement parameters (see Policy)."
    )
    companies: tuple[Company, ...] = ()
    training_sessions: tuple[TrainingSession, ...] = ()
    external_audits: tuple[ExternalAudit, ...] = ()
    certificates: tuple[Certificate, ...] = Field(
        (), description="Written by `hackefors export`; ignored on import (the store issues them)."
    )

    def company(self, company_id: str) -> Company:
        for c in self.companies:
            if c.id == company_id:
                return c
        raise KeyError(company_id)

    def coordinators(self) -> dict[str, tuple[Company, Coordinator]]:
        return {c.coordinator.id: (c, c.coordinator) for c in self.companies if c.coordinator}

    def active_companies(self, as_of: dt.date) -> tuple[Company, ...]:
        return tuple(
            c for c in self.companies if c.joined_on <= as_of and (c.left_on is None or c.left_on > as_of)
        )
