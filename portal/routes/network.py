"""The pages above a company: the operator's list of networks, a network's companies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from models.accounts import Account
from portal.pages import as_of_of, render
from portal.security import network_access, operator_access
from services import companies, networks

router = APIRouter()


@router.get("/networks")
def network_list(request: Request, account: Annotated[Account, Depends(operator_access)]) -> Response:
    return render(request, "networks.html", title="Networks",
                  networks=networks.list_networks(request.app.state.uow()))


@router.get("/networks/{network}")
def network_page(request: Request, network: str,
                 account: Annotated[Account, Depends(network_access)]) -> Response:
    view = companies.network_overview(request.app.state.uow(), network, as_of_of(request))
    return render(request, "network.html", title=view.network_name, view=view)

