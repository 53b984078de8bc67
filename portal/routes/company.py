"""A company's pages: what it must do, its employees and training, the spreadsheet import, its
corrective actions, management review, legal register and evidence files.

Every route takes the account through `company_access(page)` (404 for a company the account may not
see) and every POST through `check_csrf`. A form is parsed into the evidence services' pydantic
input, handed to one service with the account as the actor, and on success the browser is sent back
to the page (303, a notice of what was recorded); on bad input the page is shown again with every
problem (400) and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from models.accounts import Account, verifies_actions, writes_company
from models.errors import RefusedChange
from models.evidence import (
    ActionClosure,
    ActionVerification,
    Leaving,
    LegalEvaluation,
    NewEmployee,
    ReviewRecord,
    TrainingRecord,
)
from models.links import Page, company_path
from models.policy import TRAINING_TOPICS
from models.spreadsheets import Kind as SheetKind
from portal import uploads
from portal.pages import as_of_of, render
from portal.security import NotFound, check_csrf, company_access, notice, sign_notice, verifier_access
from services import companies, evidence, readiness, spreadsheets
from services.spreadsheets import SpreadsheetRefused

router = APIRouter()
Csrf = [Depends(check_csrf)]


def page_path(page: Page) -> str:
    return company_path("{network}", "{company}", page)


TodoAccess = Annotated[Account, Depends(company_access(Page.TODO))]
EmployeesAccess = Annotated[Account, Depends(company_access(Page.EMPLOYEES))]
TrainingAccess = Annotated[Account, Depends(company_access(Page.TRAINING))]
ActionsAccess = Annotated[Account, Depends(company_access(Page.ACTIONS))]
ReviewAccess = Annotated[Account, Depends(company_access(Page.REVIEW))]
LegalAccess = Annotated[Account, Depends(company_access(Page.LEGAL))]
EvidenceAccess = Annotated[Account, Depends(company_access(Page.EVIDENCE))]
ImportAccess = Annotated[Account, Depends(company_access(Page.IMPORT))]
# Who may record on a page (not an auditor), and who may verify actions: checked before the form.
EmployeesWriter = Annotated[Account, Depends(company_access(Page.EMPLOYEES, write=True))]
TrainingWriter = Annotated[Account, Depends(company_access(Page.TRAINING, write=True))]
ActionsWriter = Annotated[Account, Depends(company_access(Page.ACTIONS, write=True))]
ReviewWriter = Annotated[Account, Depends(company_access(Page.REVIEW, write=True))]
LegalWriter = Annotated[Account, Depends(company_access(Page.LEGAL, write=True))]
EvidenceWriter = Annotated[Account, Depends(company_access(Page.EVIDENCE, write=True))]
ImportWriter = Annotated[Account, Depends(company_access(Page.IMPORT, write=True))]
Verifier = Annotated[Account, Depends(verifier_access)]
DateField = Annotated[str, Form(max_length=40)]


def problems_of(exc: Exception) -> list[str]:
    """Every problem of a refused form, in words: the field and what is wrong with it."""
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()]
    return [str(exc)]


# --- the pages, as shown (also again, with problems, after a refused form) --------------------------


def _context(request: Request, network: str, company: str, page: Page, account: Account) -> dict[str, Any]:
    uow, as_of = request.app.state.uow, as_of_of(request)
    context: dict[str, Any] = dict(network_id=network, company_id=company, current=page,
                                   done=notice(request), problems=[],
                                   may_write=writes_company(account, network, company, page),
                                   may_verify=verifies_actions(account, network))
    if page in (Page.EMPLOYEES, Page.TRAINING):
        view = companies.people(uow(), network, company, as_of)
        context.update(view=view, company_name=view.company_name, topics=TRAINING_TOPICS,
                       title="Employees" if page is Page.EMPLOYEES else "Training")
    elif page is Page.IMPORT:
        view = companies.people(uow(), network, company, as_of)
        context.update(company_name=view.company_name, title="Import a spreadsheet",
                       columns={kind.value: spreadsheets.template_columns(kind) for kind in SheetKind},
                       preview=None, token="", max_mb=request.app.state.settings.max_evidence_mb)
    elif page is Page.TODO:
        todo = readiness.kept_todo(uow(), network, company, as_of)
        context.update(todo=todo, company_name=todo.company_name, title="What we must do")
    else:
        records = companies.records(uow(), network, company)
        titles = {Page.ACTIONS: "Corrective actions", Page.REVIEW: "Management review",
                  Page.LEGAL: "Legal register", Page.EVIDENCE: "Evidence files"}
        context.update(records=records, company_name=records.company_name, title=titles[page],
                       max_mb=request.app.state.settings.max_evidence_mb)
    return context


TEMPLATES = {Page.TODO: "todo.html", Page.EMPLOYEES: "employees.html", Page.TRAINING: "training.html",
             Page.IMPORT: "import.html",
             Page.ACTIONS: "actions.html", Page.REVIEW: "review.html", Page.LEGAL: "legal.html",
             Page.EVIDENCE: "evidence.html"}


def show(request: Request, network: str, company: str, page: Page, account: Account,
         problems: list[str] | None = None, status_code: int = 200, **extra: Any) -> Response:
    context = _context(request, network, company, page, account)
    context["problems"] = problems or []
    context.update(extra)
    return render(request, TEMPLATES[page], status_code=status_code, **context)


def record(request: Request, network: str, company: str, page: Page, account: Account,
           write: Callable[[], object], done: str) -> Response:
    """Run one write; back to the page with a notice, or the page again with the problems (400)."""
    try:
        write()
    except (ValidationError, RefusedChange) as exc:
        return show(request, network, company, page, account, problems_of(exc), status_code=400)
    return RedirectResponse(company_path(network, company, page) + "?done=" + sign_notice(request, done),
                            status_code=303)


# --- what we must do ---------------------------------------------------------------------------------


@router.get(company_path("{network}", "{company}"))
def todo_page(request: Request, network: str, company: str, account: TodoAccess) -> Response:
    return show(request, network, company, Page.TODO, account)


# --- employees ---------------------------------------------------------------------------------------


@router.get(page_path(Page.EMPLOYEES))
def employees_page(request: Request, network: str, company: str, account: EmployeesAccess) -> Response:
    return show(request, network, company, Page.EMPLOYEES, account)


@router.post(page_path(Page.EMPLOYEES) + "/add", dependencies=Csrf)
def add_employee(request: Request, network: str, company: str, account: EmployeesWriter,
                 id: Annotated[str, Form(max_length=200)], name: Annotated[str, Form(max_length=1000)],
                 hired_on: DateField) -> Response:
    state = request.app.state

    def write() -> object:
        employee = NewEmployee.model_validate(dict(id=id.strip(), name=name.strip(), hired_on=hired_on))
        return evidence.add_employee(state.uow(), network, company, employee, account.actor(),
                                     as_of_of(request))

    return record(request, network, company, Page.EMPLOYEES, account, write, f"Added {name.strip()}.")


@router.post(page_path(Page.EMPLOYEES) + "/leaving", dependencies=Csrf)
def record_leaving(request: Request, network: str, company: str, account: EmployeesWriter,
                   employee: Annotated[str, Form(max_length=200)], left_on: DateField) -> Response:

    def write() -> object:
        leaving = Leaving.model_validate(dict(employee=employee, left_on=left_on))
        return evidence.record_leaving(request.app.state.uow(), network, company, leaving, account.actor(),
                                       as_of_of(request))

    return record(request, network, company, Page.EMPLOYEES, account, write,
                  f"Recorded that {employee} left on {left_on}.")


# --- training ----------------------------------------------------------------------------------------


@router.get(page_path(Page.TRAINING))
def training_page(request: Request, network: str, company: str, account: TrainingAccess) -> Response:
    return show(request, network, company, Page.TRAINING, account)


@router.post(page_path(Page.TRAINING), dependencies=Csrf)
def record_training(request: Request, network: str, company: str, account: TrainingWriter,
                    date: DateField, hours: Annotated[str, Form(max_length=40)],
                    trainer: Annotated[str, Form(max_length=1000)] = "",
                    topics: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
                    attendees: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006

    def write() -> object:
        training = TrainingRecord.model_validate(dict(date=date, hours=hours, topics=tuple(topics),
                                                      trainer=trainer.strip() or None,
                                                      attendees=tuple(attendees)))
        return evidence.record_training(request.app.state.uow(), network, company, training, account.actor(),
                                        as_of_of(request))

    return record(request, network, company, Page.TRAINING, account, write,
                  f"Recorded the session of {date} for {len(attendees)} attendee(s).")


# --- corrective actions ------------------------------------------------------------------------------


@router.get(page_path(Page.ACTIONS))
def actions_page(request: Request, network: str, company: str, account: ActionsAccess) -> Response:
    return show(request, network, company, Page.ACTIONS, account)


@router.post(page_path(Page.ACTIONS) + "/{action}/close", dependencies=Csrf)
def close_action(request: Request, network: str, company: str, action: str, account: ActionsWriter,
                 closed_on: DateField, note: Annotated[str, Form(max_length=5000)],
                 files: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006

    def write() -> object:
        closure = ActionClosure.model_validate(dict(action=action, closed_on=closed_on, note=note.strip(),
                                                    evidence=tuple(f for f in files if f)))
        return evidence.close_action(request.app.state.uow(), network, company, closure, account.actor(),
                                     as_of_of(request))

    return record(request, network, company, Page.ACTIONS, account, write, f"Closed action {action}.")


@router.post(page_path(Page.ACTIONS) + "/{action}/verify", dependencies=Csrf)
def verify_action(request: Request, network: str, company: str, action: str, account: Verifier,
                  verified_on: DateField) -> Response:

    def write() -> object:
        verification = ActionVerification.model_validate(dict(action=action, verified_on=verified_on))
        return evidence.verify_action(request.app.state.uow(), network, company, verification,
                                      account.actor(), as_of_of(request))

    return record(request, network, company, Page.ACTIONS, account, write,
                  f"Recorded that action {action} was effective.")


# --- management review -------------------------------------------------------------------------------


@router.get(page_path(Page.REVIEW))
def review_page(request: Request, network: str, company: str, account: ReviewAccess) -> Response:
    return show(request, network, company, Page.REVIEW, account)


@router.post(page_path(Page.REVIEW), dependencies=Csrf)
def record_review(request: Request, network: str, company: str, account: ReviewWriter, date: DateField,
                  signed_by: Annotated[str, Form(max_length=1000)],
                  decisions: Annotated[str, Form(max_length=20000)] = "",
                  signed_on: Annotated[str, Form(max_length=40)] = "",
                  inputs: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006

    def write() -> object:
        review = ReviewRecord.model_validate(dict(
            date=date, inputs=tuple(inputs), signed_by=signed_by.strip(), signed_on=signed_on or None,
            decisions=tuple(line.strip() for line in decisions.splitlines() if line.strip())))
        return evidence.record_management_review(request.app.state.uow(), network, company, review,
                                                 account.actor(), as_of_of(request))

    return record(request, network, company, Page.REVIEW, account, write,
                  f"Recorded the management review of {date}.")


# --- legal register ----------------------------------------------------------------------------------


@router.get(page_path(Page.LEGAL))
def legal_page(request: Request, network: str, company: str, account: LegalAccess) -> Response:
    return show(request, network, company, Page.LEGAL, account)


@router.post(page_path(Page.LEGAL) + "/{requirement}", dependencies=Csrf)
def record_evaluation(request: Request, network: str, company: str, requirement: str, account: LegalWriter,
                      evaluated_on: DateField, compliant: Annotated[str, Form(max_length=10)],
                      note: Annotated[str, Form(max_length=1000)] = "") -> Response:

    def write() -> object:
        evaluation = LegalEvaluation.model_validate(dict(
            requirement=requirement, evaluated_on=evaluated_on, compliant=compliant,
            note=note.strip() or None))
        return evidence.record_legal_evaluation(request.app.state.uow(), network, company, evaluation,
                                                account.actor(), as_of_of(request))

    return record(request, network, company, Page.LEGAL, account, write,
                  f"Recorded the evaluation of {requirement} on {evaluated_on}.")


# --- evidence files ----------------------------------------------------------------------------------


@router.get(page_path(Page.EVIDENCE))
def evidence_page(request: Request, network: str, company: str, account: EvidenceAccess) -> Response:
    return show(request, network, company, Page.EVIDENCE, account)


@router.post(page_path(Page.EVIDENCE), dependencies=Csrf)
def upload_evidence(request: Request, network: str, company: str, account: EvidenceWriter,
                    file: Annotated[UploadFile, File()]) -> Response:
    content = file.file.read()  # within HACKEFORS_PORTAL_MAX_UPLOAD_MB: the request was read to here
    limit = int(request.app.state.settings.max_evidence_mb * 1_000_000)
    return record(request, network, company, Page.EVIDENCE, account,
                  lambda: evidence.store_evidence_file(request.app.state.uow(), network, company,
                                                       file.filename or "", content, account.actor(), limit,
                                                       as_of_of(request)),
                  f"Stored {file.filename}.")


@router.get(page_path(Page.EVIDENCE) + "/{sha256}")
def evidence_file(request: Request, network: str, company: str, sha256: str,
                  account: EvidenceAccess) -> Response:
    stored, content = evidence.open_evidence_file(request.app.state.uow(), network, company, sha256)
    return Response(content, media_type=stored.media_type, headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(stored.filename)}",
        "Cache-Control": "private, no-store"})


# --- spreadsheet import ------------------------------------------------------------------------------


@router.get(page_path(Page.IMPORT))
def import_page(request: Request, network: str, company: str, account: ImportAccess) -> Response:
    return show(request, network, company, Page.IMPORT, account)


@router.get(page_path(Page.IMPORT) + "/template.{fmt}")
def import_template(request: Request, network: str, company: str, fmt: str, account: ImportAccess,
                    kind: str = "attendance") -> Response:
    if kind not in {k.value for k in SheetKind} or fmt not in spreadsheets.FORMATS:
        raise NotFound()
    media = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
    return Response(spreadsheets.spreadsheet_template(kind, fmt), media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{kind}-template.{fmt}"'})


@router.post(page_path(Page.IMPORT), dependencies=Csrf)
def preview_import(request: Request, network: str, company: str, account: ImportWriter,
                   kind: Annotated[str, Form(max_length=20)],
                   file: Annotated[UploadFile, File()]) -> Response:
    """Check the spreadsheet and show every problem, or what it would record; nothing is written.
    A spreadsheet without problems is kept for the commit button."""
    state = request.app.state
    if kind not in {k.value for k in SheetKind}:
        return show(request, network, company, Page.IMPORT, account, [f"kind {kind!r}: roster or attendance"],
                    status_code=400)
    content, filename = file.file.read(), file.filename or "upload"
    limit = int(state.settings.max_evidence_mb * 1_000_000)
    preview = spreadsheets.preview_import(state.uow(), network, company, kind, filename, content,
                                          as_of_of(request), limit)
    token = ""
    if preview.ready:
        token = uploads.new_token()
        uploads.keep(state.settings.data_dir, uploads.Pending(
            token=token, email=account.email, network_id=network, company_id=company, kind=kind,
            filename=filename), content)
    return show(request, network, company, Page.IMPORT, account, status_code=200 if preview.ready else 400,
                preview=preview, token=token)


@router.post(page_path(Page.IMPORT) + "/commit", dependencies=Csrf)
def commit_import(request: Request, network: str, company: str, account: ImportWriter,
                  token: Annotated[str, Form(max_length=100)]) -> Response:
    """Record the previewed spreadsheet, all or nothing."""
    state = request.app.state
    kept = uploads.take(state.settings.data_dir, token)
    if kept is None or (kept[0].email, kept[0].network_id, kept[0].company_id) != (account.email, network,
                                                                                 company):
        return show(request, network, company, Page.IMPORT, account,
                    ["This preview is no longer kept (an hour passes, or it was imported): upload the file "
                     "again."], status_code=400)
    pending, content = kept

    try:
        spreadsheets.commit_import(state.uow(), network, company, pending.kind, pending.filename, content,
                                   account.actor(), as_of_of(request),
                                   int(state.settings.max_evidence_mb * 1_000_000))
    except SpreadsheetRefused as exc:  # the company changed since the preview
        return show(request, network, company, Page.IMPORT, account, [str(p) for p in exc.problems],
                    status_code=400)
    uploads.forget(state.settings.data_dir, token)
    return RedirectResponse(company_path(network, company, Page.TODO) + "?done="
                            + sign_notice(request, f"Imported {pending.filename}."), status_code=303)
