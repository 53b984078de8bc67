"""The auditors' pages: a network's external audits, and the recommendation its certification
body's auditor records, which resumes a certification run waiting for it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from models.accounts import Account, Role
from models.links import external_audits_path
from models.network import ExternalAudit, Recommendation
from portal.pages import render
from portal.security import CurrentAccount, NotFound, audits_access, check_csrf
from services.auditors import Recommended, RecordedAudit, external_audits, recommend, record_external_audit
from tasks.runs import resume_waiting_for_auditors

router = APIRouter()


def auditor_access(account: CurrentAccount, network: str) -> Account:
    """The account, when it is an auditor of the network in the URL; else 404."""
    if account.role is not Role.AUDITOR or account.network_id != network:
        raise NotFound()
    return account


FINDING_ROWS = 3  # finding lines on the form to record an audit


def _page(request: Request, network: str, account: Account, status_code: int = 200,
          done: Recommended | None = None, problem: str | None = None,
          recorded: RecordedAudit | None = None) -> Response:
    page = external_audits(request.app.state.uow(), network, request.app.state.today())
    return render(request, "external_audits.html", status_code=status_code,
                  title=f"External audits · {page.network_name}", page=page, done=done, problem=problem,
                  recorded=recorded, may_recommend=account.role is Role.AUDITOR,
                  recommendations=list(Recommendation), finding_rows=range(1, FINDING_ROWS + 1),
                  record_path=external_audits_path(network),
                  action_of=lambda audit: f"{external_audits_path(network)}/{audit}/recommendation")


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors())


@router.get(external_audits_path("{network}"))
def audits(request: Request, network: str, account: Annotated[Account, Depends(audits_access)]) -> Response:
    return _page(request, network, account)


RECOMMENDATION_PATH = external_audits_path("{network}") + "/{audit}/recommendation"


@router.post(RECOMMENDATION_PATH, dependencies=[Depends(check_csrf)])
def give_recommendation(request: Request, network: str, audit: str,
                        account: Annotated[Account, Depends(auditor_access)],
                        recommendation: Annotated[str, Form(max_length=40)],
                        lead_auditor: Annotated[str, Form(max_length=200)],
                        note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Record the recommendation in the auditor's name; a run waiting for it resumes with it."""
    from tasks.inputs import AuditorInput

    try:  # the same typed input as the Resume form of the paused run
        answer = AuditorInput(recommendation=recommendation, lead_auditor=lead_auditor, note=note)
    except ValidationError as exc:
        return _page(request, network, account, status_code=400, problem=_errors(exc))
    resume = getattr(request.app.state, "resume", resume_waiting_for_auditors)
    done = recommend(request.app.state.uow(), network, audit, answer.recommendation, answer.lead_auditor,
                     answer.note, account.actor(), resume)
    return _page(request, network, account, done=done)


@router.post(external_audits_path("{network}"), dependencies=[Depends(check_csrf)])
async def record_audit(request: Request, network: str,
                       account: Annotated[Account, Depends(auditor_access)]) -> Response:
    """Record an external audit: kind, dates, team, sites visited, graded findings."""
    from models.errors import RefusedChange

    form = await request.form()
    text = lambda name: str(form.get(name) or "").strip()  # noqa: E731
    findings = [{"id": text(f"finding_id_{i}"), "grade": text(f"grade_{i}"), "clause": text(f"clause_{i}"),
                 "company": text(f"company_{i}") or None, "description": text(f"description_{i}")}
                for i in range(1, FINDING_ROWS + 1) if text(f"finding_id_{i}") or text(f"description_{i}")]
    body = external_audits(request.app.state.uow(), network, request.app.state.today()).certification_body
    try:
        audit = ExternalAudit.model_validate({
            "id": text("id"), "kind": text("kind"), "start": text("start"), "end": text("end"),
            "certification_body": body or "", "lead_auditor": text("lead_auditor"),
            "auditors": [a.strip() for a in text("auditors").split(",") if a.strip()],
            "companies_visited": [str(c) for c in form.getlist("companies_visited")],
            "central_function_visited": form.get("central_function_visited") == "yes",
            "findings": findings})
    except ValidationError as exc:
        return _page(request, network, account, status_code=400, problem=_errors(exc))
    try:
        recorded = record_external_audit(request.app.state.uow(), network, audit, account.actor(),
                                         request.app.state.today())
    except RefusedChange as exc:
        return _page(request, network, account, status_code=400, problem=str(exc))
    return _page(request, network, account, recorded=recorded)
