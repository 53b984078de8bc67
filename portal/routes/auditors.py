"""The auditors' pages: a network's external audits, and the recommendation its certification
body's auditor records, which resumes a certification run waiting for it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from models.accounts import Account, Role
from models.links import external_audits_path
from models.network import Recommendation
from portal.pages import render
from portal.security import CurrentAccount, NotFound, audits_access, check_csrf
from services.auditors import Recommended, external_audits, recommend
from tasks.runs import resume_waiting_for_auditors

router = APIRouter()


def auditor_access(account: CurrentAccount, network: str) -> Account:
    """The account, when it is an auditor of the network in the URL; else 404."""
    if account.role is not Role.AUDITOR or account.network_id != network:
        raise NotFound()
    return account


def _page(request: Request, network: str, account: Account, status_code: int = 200,
          done: Recommended | None = None, problem: str | None = None) -> Response:
    page = external_audits(request.app.state.uow(), network, request.app.state.today())
    return render(request, "external_audits.html", status_code=status_code,
                  title=f"External audits · {page.network_name}", page=page, done=done, problem=problem,
                  may_recommend=account.role is Role.AUDITOR, recommendations=list(Recommendation),
                  action_of=lambda audit: f"{external_audits_path(network)}/{audit}/recommendation")


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
    from flows.inputs import AuditorInput

    try:  # the same typed input as the Resume form of the paused run
        answer = AuditorInput(recommendation=recommendation, lead_auditor=lead_auditor, note=note)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _page(request, network, account, status_code=400, problem=problems)
    resume = getattr(request.app.state, "resume", resume_waiting_for_auditors)
    done = recommend(request.app.state.uow(), network, audit, answer.recommendation, answer.lead_auditor,
                     answer.note, account.actor(), resume)
    return _page(request, network, account, done=done)
