"""Where each thing is done in the coordinators' portal: one map of paths, shared by the portal's
routes and by the emails and pages that link to them. Paths only; the base URL is a setting
(`HACKEFORS_PUBLIC_URL`)."""

from __future__ import annotations

from enum import StrEnum

from models.reminders import Kind


class Page(StrEnum):
    """A company's pages in the portal; TODO is the company's home, its list of open items."""

    TODO = ""
    EMPLOYEES = "employees"
    TRAINING = "training"
    IMPORT = "import"
    ACTIONS = "actions"
    REVIEW = "review"
    LEGAL = "legal"
    EVIDENCE = "evidence"


# The page that resolves each kind of reminder item.
PAGE_FOR_KIND: dict[Kind, Page] = {
    Kind.TRAINING: Page.TRAINING,
    Kind.INTERNAL_AUDIT: Page.TODO,
    Kind.CORRECTIVE_ACTION: Page.ACTIONS,
    Kind.MANAGEMENT_REVIEW: Page.REVIEW,
    Kind.LEGAL_EVALUATION: Page.LEGAL,
    Kind.EXTERNAL_AUDIT: Page.TODO,
    Kind.CERTIFICATE_EXPIRY: Page.TODO,
    Kind.SIGN_OFF: Page.TODO,
}

# The page that resolves an unmet requirement of a gate (the gap analysis); the rest: the to-do page.
PAGE_FOR_REQUIREMENT: dict[str, Page] = {
    "training-hours": Page.TRAINING,
    "training-topics": Page.TRAINING,
    "legal-evaluation": Page.LEGAL,
    "legal-compliance": Page.LEGAL,
    "open-majors": Page.ACTIONS,
    "overdue-actions": Page.ACTIONS,
    "premature-closure": Page.ACTIONS,
    "review-held": Page.REVIEW,
    "review-inputs": Page.REVIEW,
    "review-signed": Page.REVIEW,
}


def page_for_requirement(code: str) -> Page:
    return PAGE_FOR_REQUIREMENT.get(code, Page.TODO)


SIGN_IN_PATH = "/sign-in"
KEYS_PATH = "/.well-known/hackefors-keys.json"
STATUS_LIST_PATH = "/certificates/status.json"


def network_path(network: str) -> str:
    return f"/networks/{network}"


def company_path(network: str, company: str, page: Page = Page.TODO) -> str:
    path = f"{network_path(network)}/companies/{company}"
    return f"{path}/{page.value}" if page.value else path


def external_audits_path(network: str) -> str:
    """The auditors' page of a network: its external audits."""
    return f"{network_path(network)}/external-audits"


def verify_path(number: str) -> str:
    """The public page that shows a certificate's status; no sign-in."""
    return f"/verify/{number}"


def absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path
