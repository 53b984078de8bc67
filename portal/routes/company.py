"""A company's pages: what it must do, its employees and training, the spreadsheet import, its
corrective actions, management review, legal register and evidence files. Every route takes the
account through `company_access(page)`, which answers 404 for a company the account may not see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from models.accounts import Account
from models.links import Page, company_path
from portal.pages import as_of_of, render
from portal.security import company_access
from services import companies

router = APIRouter()
COMPANY = company_path("{network}", "{company}")


def page_path(page: Page) -> str:
    return company_path("{network}", "{company}", page)


TodoAccess = Annotated[Account, Depends(company_access(Page.TODO))]
EmployeesAccess = Annotated[Account, Depends(company_access(Page.EMPLOYEES))]


def _company_page(request: Request, template: str, network: str, company: str, page: Page, name: str,
                  **context: object) -> Response:
    return render(request, template, network_id=network, company_id=company, company_name=name,
                  current=page, **context)


@router.get(COMPANY)
def todo_page(request: Request, network: str, company: str, account: TodoAccess) -> Response:
    todo = companies.todo(request.app.state.uow(), network, company, as_of_of(request))
    return _company_page(request, "todo.html", network, company, Page.TODO, todo.company_name,
                         title="What we must do", todo=todo)


@router.get(page_path(Page.EMPLOYEES))
def employees_page(request: Request, network: str, company: str,
                   account: EmployeesAccess) -> Response:
    view = companies.people(request.app.state.uow(), network, company, as_of_of(request))
    return _company_page(request, "employees.html", network, company, Page.EMPLOYEES, view.company_name,
                         title="Employees", view=view)
