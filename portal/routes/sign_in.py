"""Signing in with a one-time link, and out."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import State

from models.accounts import LINK_LIFETIME, home_path
from models.links import SIGN_IN_PATH
from portal.pages import render
from portal.security import (
    NEXT_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    client_address,
    local_path,
    optional_account,
    session_cookie_options,
    session_secret,
    sign_session,
)
from services import accounts

router = APIRouter()
log = logging.getLogger("hackefors.portal")


@router.get("/")
def home(request: Request) -> Response:
    account = optional_account(request)
    return RedirectResponse(home_path(account) if account else SIGN_IN_PATH, status_code=303)


@router.get(SIGN_IN_PATH)
def sign_in_form(request: Request) -> Response:
    return render(request, "sign_in.html", title="Sign in")


def send_link(state: State, email: str) -> None:
    """What the sign-in emails' worker does with a request: the link, queued in the outbox, delivered."""
    outcome = accounts.request_sign_in(state.uow(), state.mailer(), email, state.settings.public_url,
                                       state.settings.mail_from)
    if not outcome.sent:
        log.info("no sign-in link sent: %s", outcome.reason)


@router.post(SIGN_IN_PATH, dependencies=[Depends(check_csrf)])
def request_link(request: Request, email: Annotated[str, Form(max_length=320)]) -> Response:
    """The same answer whether or not the address has an account: the request is handed to the
    sign-in emails' own worker, which does the rest after the answer and apart from it."""
    if not request.app.state.sign_in_limit.allow(client_address(request)):
        return render(request, "error.html", status_code=429, title="Too many requests",
                      message="Too many sign-in requests from this address: wait a minute and try again.")
    request.app.state.sign_in_mail.submit(email)
    return render(request, "sign_in_sent.html", title="Check your email", email=email,
                  minutes=int(LINK_LIFETIME.total_seconds() // 60))


@router.get(SIGN_IN_PATH + "/{token}")
def confirm(request: Request, token: str) -> Response:
    """A page with one button: mail scanners that open links do not use them up."""
    return render(request, "sign_in_confirm.html", title="Sign in", token=token)


@router.post(SIGN_IN_PATH + "/{token}", dependencies=[Depends(check_csrf)])
def use_link(request: Request, token: str) -> Response:
    settings = request.app.state.settings
    lifetime = timedelta(hours=settings.portal_session_hours)
    signed_in = accounts.redeem_link(request.app.state.uow(), token, lifetime)
    if signed_in is None:
        return render(request, "error.html", status_code=400, title="Link not valid",
                      message="This sign-in link has expired or was already used. Ask for a new one.",
                      again=True)
    account, session = signed_in
    response = RedirectResponse(local_path(request.cookies.get(NEXT_COOKIE)) or home_path(account),
                                status_code=303)
    response.delete_cookie(NEXT_COOKIE, path="/")
    response.set_cookie(SESSION_COOKIE, sign_session(request, session), max_age=int(lifetime.total_seconds()),
                        **session_cookie_options(settings))
    return response


@router.post("/sign-out", dependencies=[Depends(check_csrf)])
def sign_out(request: Request) -> Response:
    secret = session_secret(request)
    if secret:
        accounts.sign_out(request.app.state.uow(), secret)
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
