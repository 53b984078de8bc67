"""The portal's application: `create_app()` builds it (the command `hackefors portal` serves it with
uvicorn). Routes live in portal/routes/, one module per area, each route parsing its input, checking
the role (the dependencies of portal/security.py), calling one service and rendering a page of
portal/templates/ (portal/pages.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.mail import Mailer
from adapters.settings import Settings, get_settings
from models.errors import (
    ConcurrentChange,
    NetworkNotFound,
    NotAllowed,
    RefusedChange,
    ServiceError,
    UnknownCompany,
)
from models.links import SIGN_IN_PATH
from portal.pages import STATIC, render
from portal.security import (
    CSRF_COOKIE,
    NEXT_COOKIE,
    NOT_FOUND,
    RateLimit,
    SignInRequired,
    local_path,
    secret_key,
)
from portal.sign_in_mail import SignInMail
from services.unit_of_work import AbstractUnitOfWork, StoreBusy
from tasks.events import recording_unit_of_work


class BodyLimit:
    """Refuse a request body larger than `limit` bytes with 413, before the route reads it: by its
    Content-Length, or, without one (a chunked upload), as soon as the bytes streamed pass the
    limit: the 413 goes out at once, the route sees the client gone and whatever it answers is
    dropped."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen, refused, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit and not started:
                refused = True
                await self._refuse(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            started = True
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        mb = self.limit / 1_000_000
        response = HTMLResponse(f"<!DOCTYPE html><title>Too large</title><p>The upload is larger than the "
                                f"limit of {mb:g} MB (HACKEFORS_PORTAL_MAX_UPLOAD_MB): nothing was saved."
                                "</p>",
                                status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)


# Every answer carries these; an answer that names its own Cache-Control (the public key set, an
# evidence file) keeps it, and the stylesheet may be cached.
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:"))


class SecurityHeaders:
    """The security headers on every answer, the portal's own refusals (413) included, and
    `Cache-Control: no-store` on every page: signed-in pages and sign-in links are nobody's to keep."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope.get("path", "").startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                if b"cache-control" not in present and not cacheable:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(settings: Settings | None = None,
               uow: Callable[[], AbstractUnitOfWork] | None = None,
               mailer: Callable[[], Mailer] | None = None,
               today: Callable[[], date] | None = None) -> FastAPI:
    """The portal on the configured store (or the `uow` factory), sending email with `mailer`."""
    from portal.routes import auditors, company, network, public, sign_in

    settings = settings or get_settings()
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.sign_in_mail.stop()  # the links asked for before the portal stops still go out

    app = FastAPI(title="hackefors portal", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.secret = secret_key(settings)
    # Writes announce hackefors.evidence.recorded to the Prefect API of PREFECT_API_URL, if any.
    app.state.uow = uow or recording_unit_of_work
    app.state.mailer = mailer or (lambda: Mailer(settings, settings.output_dir / "outbox"))
    app.state.today = today or (lambda: settings.portal_as_of or date.today())
    app.state.sign_in_limit = RateLimit("sign-in", settings.portal_sign_in_per_minute, app.state.uow)
    app.state.sign_in_mail = SignInMail(partial(sign_in.send_link, app.state))
    app.state.public_limit = RateLimit("verify", settings.portal_verify_per_minute, app.state.uow)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (sign_in.router, network.router, company.router, public.router, auditors.router):
        app.include_router(router)

    @app.middleware("http")
    async def csrf_cookie(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        new = getattr(request.state, "new_csrf", None)
        if new:
            response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict",
                                secure=settings.portal_secure_cookies, path="/")
        return response

    @app.exception_handler(SignInRequired)
    async def to_sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.method == "GET":
            # A link in a reminder leads to its page once the person has signed in.
            response = RedirectResponse(SIGN_IN_PATH, status_code=303)
            wanted = local_path(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
            if wanted:
                response.set_cookie(NEXT_COOKIE, wanted, max_age=3600, httponly=True, samesite="lax",
                                    secure=settings.portal_secure_cookies, path="/")
            return response
        return render(request, "error.html", status_code=401, message="Sign in first.")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        titles = {403: "Refused", 404: "Not found", 405: "Not allowed"}
        message = NOT_FOUND if exc.status_code == 404 else str(exc.detail)  # any 404 looks the same
        return render(request, "error.html", status_code=exc.status_code, message=message,
                      title=titles.get(exc.status_code, "Something is wrong"))

    @app.exception_handler(NetworkNotFound)
    @app.exception_handler(UnknownCompany)
    async def not_found(request: Request, exc: ServiceError) -> Response:
        return render(request, "error.html", status_code=404, message=NOT_FOUND, title="Not found")

    @app.exception_handler(LookupError)
    async def unknown_object(request: Request, exc: LookupError) -> Response:
        return render(request, "error.html", status_code=404, message=str(exc))

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        return render(request, "error.html", status_code=403, message=str(exc))

    @app.exception_handler(ConcurrentChange)
    async def concurrent(request: Request, exc: ConcurrentChange) -> Response:
        return render(request, "error.html", status_code=409, title="Changed meanwhile",
                      message="Someone else recorded the same thing a moment ago: reload the page to see "
                              "what stands.")

    @app.exception_handler(StoreBusy)
    async def busy(request: Request, exc: StoreBusy) -> Response:
        response = render(request, "error.html", status_code=503, title="Busy",
                          message="Many people are recording at this moment and yours could not be "
                                  "saved: nothing was written. Send the form again in a few seconds.")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RefusedChange)
    async def refused(request: Request, exc: RefusedChange) -> Response:
        return render(request, "error.html", status_code=409, message=str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
                    for e in exc.errors()]
        return render(request, "error.html", status_code=400, message="; ".join(problems))

    app.add_middleware(BodyLimit, limit=int(settings.portal_max_upload_mb * 1_000_000))
    app.add_middleware(SecurityHeaders)  # the outermost: its headers reach every answer
    return app
