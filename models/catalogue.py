"""The requirement catalogue: every Hackefors requirement, its level and its ISO 14001:2015 clauses."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

# Clause numbers and short titles only: the standard's text is copyrighted.
ISO14001_CLAUSES: dict[str, str] = {
    "4.1": "Context of the organization",
    "4.2": "Needs and expectations of interested parties",
    "4.3": "Scope of the EMS",
    "4.4": "Environmental management system",
    "5.1": "Leadership and commitment",
    "5.2": "Environmental policy",
    "5.3": "Roles, responsibilities and authorities",
    "6.1.1": "Risks and opportunities, general",
    "6.1.2": "Environmental aspects",
    "6.1.3": "Compliance obligations",
    "6.1.4": "Planning action",
    "6.2.1": "Environmental objectives",
    "6.2.2": "Planning actions to achieve objectives",
    "7.1": "Resources",
    "7.2": "Competence",
    "7.3": "Awareness",
    "7.4": "Communication",
    "7.4.1": "Communication, general",
    "7.4.2": "Internal communication",
    "7.4.3": "External communication",
    "7.5": "Documented information",
    "7.5.1": "Documented information, general",
    "7.5.2": "Creating and updating",
    "7.5.3": "Control of documented information",
    "8.1": "Operational planning and control",
    "8.2": "Emergency preparedness and response",
    "9.1.1": "Monitoring, measurement, analysis and evaluation",
    "9.1.2": "Evaluation of compliance",
    "9.2": "Internal audit",
    "9.2.1": "Internal audit, general",
    "9.2.2": "Internal audit programme",
    "9.3": "Management review",
    "10.1": "Improvement, general",
    "10.2": "Nonconformity and corrective action",
    "10.3": "Continual improvement",
}


class Level(StrEnum):
    REQUIRED = "required"
    PARTIALLY = "partially"
    NOT_REQUIRED = "not required"


class Stage(StrEnum):
    """The lifecycle stages that end in a gate, in the order they run."""

    FORMATION = "formation"
    TRAINING = "training"
    PLANNING = "planning"
    INTERNAL_AUDITS = "internal_audits"
    MANAGEMENT_REVIEW = "management_review"
    EXTERNAL_AUDIT = "external_audit"
    DECISION = "decision"
    SURVEILLANCE = "surveillance"


class Requirement(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    title: str
    element: str
    level: Level
    clauses: tuple[str, ...]
    stage: Stage
    reference: str = "ISO 14001:2015"

    @property
    def clause_label(self) -> str:
        return ", ".join(self.clauses) if self.clauses else self.reference


def _req(code: str, title: str, element: str, level: Level, clauses: tuple[str, ...], stage: Stage,
         reference: str = "ISO 14001:2015") -> Requirement:
    return Requirement(code=code, title=title, element=element, level=level, clauses=clauses,
                       stage=stage, reference=reference)


R, P, N = Level.REQUIRED, Level.PARTIALLY, Level.NOT_REQUIRED
S = Stage
REQUIREMENTS: tuple[Requirement, ...] = (
    _req("coordinator", "Company names an environmental coordinator with a valid email",
         "Organisational structure", R, ("5.3",), S.FORMATION),
    _req("commitment", "Top management has signed its commitment",
         "Commitment of top management", R, ("5.1",), S.FORMATION),
    _req("environmental-manager", "Roles defined and an environmental manager appointed",
         "Organisational structure", R, ("5.3",), S.FORMATION),
    _req("group-agreement", "Signed agreement gives the central function authority for corrective action",
         "Group eligibility", R, (), S.FORMATION, reference="IAF MD 1"),
    _req("steering-committee", "Steering committee of coordinators from distinct companies",
         "Organisational structure", R, ("5.3",), S.FORMATION),
    _req("central-coordinator", "The steering committee has selected a central coordinator",
         "Organisational structure", R, ("5.3",), S.FORMATION),
    _req("policy", "Joint environmental policy adopted, communicated to employees and public",
         "Environmental policy", R, ("5.2", "7.4"), S.FORMATION),
    _req("training-hours", "Every employee has the minimum environmental training hours",
         "Training", R, ("7.2",), S.TRAINING),
    _req("training-topics", "Every employee's training covers all the required topics",
         "Training", R, ("7.2", "7.3"), S.TRAINING),
    _req("environmental-review", "Environmental review done, significance of every aspect assessed",
         "Environmental review", P, ("4.1", "6.1.2"), S.PLANNING),
    _req("legal-evaluation", "Legal register evaluated within the interval",
         "Proof of legal compliance", P, ("6.1.3", "9.1.2"), S.PLANNING),
    _req("legal-compliance", "No unresolved non-compliance in the legal register",
         "Proof of legal compliance", P, ("9.1.2",), S.PLANNING),
    _req("objectives", "At least one objective with a target",
         "Objectives and programme", P, ("6.2.1", "6.2.2"), S.PLANNING),
    _req("documentation", "Shared EMS manual issued and the company binder present",
         "Documentation", P, ("7.5",), S.PLANNING),
    _req("internal-audit-frequency", "Enough internal audits in the trailing 12 months",
         "Internal audit", R, ("9.2",), S.INTERNAL_AUDITS),
    _req("open-majors", "No open major nonconformity",
         "Corrective action", R, ("10.2",), S.INTERNAL_AUDITS),
    _req("overdue-actions", "No overdue corrective action",
         "Corrective action", R, ("10.2",), S.INTERNAL_AUDITS),
    _req("premature-closure", "No nonconformity closed while one of its actions is open",
         "Corrective action", R, ("10.2",), S.INTERNAL_AUDITS),
    _req("review-held", "Management review held within the interval",
         "Management review", R, ("9.3",), S.MANAGEMENT_REVIEW),
    _req("review-inputs", "Management review covers every 9.3 input",
         "Management review", R, ("9.3",), S.MANAGEMENT_REVIEW),
    _req("review-signed", "Management review signed by top management",
         "Management review", R, ("9.3",), S.MANAGEMENT_REVIEW),
    _req("audit-stages", "Certification audit done (stage 1 and stage 2, or recertification)",
         "External audit", R, (), S.EXTERNAL_AUDIT, reference="ISO/IEC 17021-1"),
    _req("audit-sample", "External audit visited the required sample and the central function",
         "External audit", R, (), S.EXTERNAL_AUDIT, reference="IAF MD 1"),
    _req("external-majors", "Every external major closed with its corrective action verified",
         "External audit", R, ("10.2",), S.EXTERNAL_AUDIT, reference="ISO/IEC 17021-1"),
    _req("external-minors", "Every external minor has an accepted corrective-action plan",
         "External audit", R, ("10.2",), S.EXTERNAL_AUDIT, reference="ISO/IEC 17021-1"),
    _req("recommendation", "The auditors recommend certification",
         "External audit", R, (), S.EXTERNAL_AUDIT, reference="ISO/IEC 17021-1"),
    _req("all-gates", "Every gate of the lifecycle passed",
         "Certification decision", R, (), S.DECISION, reference="Hackefors model"),
    _req("sign-off", "The decision maker signed off the certification",
         "Certification decision", R, (), S.DECISION, reference="ISO/IEC 17021-1"),
    _req("certificate-in-force", "The network holds a certificate in force",
         "Annual surveillance", R, (), S.SURVEILLANCE, reference="ISO/IEC 17021-1"),
    _req("surveillance-held", "Surveillance audit held in time with a positive recommendation",
         "Annual surveillance", R, (), S.SURVEILLANCE, reference="ISO/IEC 17021-1"),
    _req("environmental-statement", "Environmental report or statement",
         "Environmental report", N, (), S.PLANNING, reference="EMAS Annex IV"),
)
del R, P, N, S

CATALOGUE: dict[str, Requirement] = {r.code: r for r in REQUIREMENTS}


def requirement(code: str) -> Requirement:
    return CATALOGUE[code]
