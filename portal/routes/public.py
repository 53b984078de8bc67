"""What anyone may open without signing in: a certificate's verification page, the key set that
verifies certificates' signatures and the signed status list of every certificate. Each is
rate-limited per client address."""

from __future__ import annotations

import re
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from adapters.signing import SigningKeyLost
from models.links import KEYS_PATH, STATUS_LIST_PATH, verify_path
from portal.pages import render
from portal.security import client_address
from services.keys import published_keys
from services.register import public_certificate, status_list

router = APIRouter()

# What a certificate number can look like; anything else is not looked up.
NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _limited(request: Request) -> Response | None:
    """429 when this address asked too often in the last minute; else None."""
    if request.app.state.public_limit.allow(client_address(request)):
        return None
    return render(request, "error.html", status_code=429, title="Too many requests",
                  message="Too many requests from this address: wait a minute and try again.")


def _json(content: object, max_age: int) -> JSONResponse:
    return JSONResponse(content, headers={"Cache-Control": f"public, max-age={max_age}",
                                          "Access-Control-Allow-Origin": "*"})


@router.get(verify_path("{number}"))
def verify(request: Request, number: str) -> Response:
    """A certificate's public page: what it shows, its status today and the dates that changed it."""
    refused = _limited(request)
    if refused:
        return refused
    # The calendar's day too: a certificate issued after the portal's day (HACKEFORS_PORTAL_AS_OF)
    # is shown as of today, never as one the register does not hold.
    found = public_certificate(request.app.state.uow(), number, request.app.state.today(), date.today()) \
        if NUMBER.match(number) else None
    if found is None:
        return render(request, "verify.html", status_code=404, title="Certificate not found",
                      certificate=None, number=number, keys_path=KEYS_PATH)
    return render(request, "verify.html", title=f"Certificate {found.number}", certificate=found,
                  number=found.number, keys_path=KEYS_PATH)


@router.get(KEYS_PATH)
def keys(request: Request) -> Response:
    """The published key set: key id -> Ed25519 public key, with the dates each key signed."""
    refused = _limited(request)
    if refused:
        return refused
    return _json(published_keys(request.app.state.uow()).model_dump(mode="json"), max_age=300)


@router.get(STATUS_LIST_PATH)
def statuses(request: Request) -> Response:
    """Every certificate's status today, signed with the key that signs certificates."""
    refused = _limited(request)
    if refused:
        return refused
    try:
        signed = status_list(request.app.state.uow(), request.app.state.today())
    except SigningKeyLost:  # nothing can be signed until the operator restores or rotates the key
        return JSONResponse({"error": "the status list cannot be signed at the moment"}, status_code=503)
    return _json(signed, max_age=60)
