"""The pages above a company: the operator's list of networks, a network's companies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from models.accounts import Account, Role
from models.links import external_audits_path
from portal.pages import as_of_of, render
from portal.security import CurrentAccount, NotFound, audits_access, network_access
from services import companies, networks

router = APIRouter()


@router.get("/networks")
def network_list(request: Request, account: CurrentAccount) -> Response:
    if account.role is not Role.OPERATOR:
        raise NotFound()
    return render(request, "networks.html", title="Networks",
                  networks=networks.list_networks(request.app.state.uow()))


@router.get("/networks/{network}")
def network_page(request: Request, network: str,
                 account: Annotated[Account, Depends(network_access)]) -> Response:
    view = companies.network_overview(request.app.state.uow(), network, as_of_of(request))
    return render(request, "network.html", title=view.network_name, view=view)


@router.get(external_audits_path("{network}"))
def external_audits_page(request: Request, network: str,
                         account: Annotated[Account, Depends(audits_access)]) -> Response:
    """The auditors' page: the network's external audits, their findings and corrective actions
    (each linked to the company's actions page, where they are verified)."""
    view = companies.external_audits(request.app.state.uow(), network)
    return render(request, "external_audits.html", title=f"External audits of {view.network_name}",
                  view=view)
