"""Who is asking, and may they: the session cookie, the current account, the role checks every route
declares, CSRF tokens and the sign-in rate limit.

- The session cookie (`hackefors_session`) carries a random secret signed with the portal's key
  (itsdangerous); the store keeps its sha256 and whose it is (`services/accounts.py`), so removing an
  account ends its sessions. HttpOnly, SameSite=Lax, Secure when `HACKEFORS_PORTAL_SECURE_COOKIES`.
- `current_account` is the dependency of every signed-in page: no valid session, and a GET is sent
  to the sign-in page (anything else gets 401).
- `company_access(page)`, `verifier_access`, `operator_access`, `network_access`, `audits_access`
  and `auditor_access` are the dependencies that check the role (the rules of models/accounts.py)
  for the object in the URL; no route checks a role itself. Anything the account may not see
  answers 404, the same as an id that does not exist, so a URL reveals nothing.
- CSRF: every visitor has a random `hackefors_csrf` cookie; each form carries `csrf_token(request)`,
  an HMAC of that cookie and of the session (once signed in) under the portal's key, in a hidden
  field named `csrf`, and `check_csrf` (a dependency of every POST) answers 403 when they do not
  match, or when the browser says the form came from another site (`Origin`, `Sec-Fetch-Site`).
- `client_address`: who the rate limits count, X-Forwarded-For believed only from the trusted
  proxies of HACKEFORS_PORTAL_TRUSTED_PROXIES (none by default).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeSerializer

from adapters.private_files import private_folder
from adapters.settings import Settings
from models.accounts import (
    Account,
    lists_networks,
    opens_network,
    records_external_audits,
    sees_company,
    sees_external_audits,
    verifies_actions,
    writes_company,
)
from models.links import Page
from services import accounts, limits
from services.unit_of_work import AbstractUnitOfWork

SESSION_COOKIE = "hackefors_session"
NEXT_COOKIE = "hackefors_next"  # the page a signed-out person asked for: where signing in leads
CSRF_COOKIE = "hackefors_csrf"
CSRF_FIELD = "csrf"


def secret_key(settings: Settings) -> bytes:
    """The portal's signing key: the setting, or one made once and kept in the data folder."""
    if settings.portal_secret_key and settings.portal_secret_key.get_secret_value():
        return settings.portal_secret_key.get_secret_value().encode("utf-8")
    path = Path(settings.data_dir) / "portal-secret-key"
    if not path.exists():
        private_folder(path.parent, tighten=True)  # the data folder: 0700, as the store makes it
        # Written whole under another name, then linked into place: workers starting at once all
        # read the one key that won, never an empty or half-written file.
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        handle = os.open(draft, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(draft, path)
        draft.unlink()
    return path.read_text(encoding="ascii").strip().encode("ascii")


NOT_FOUND = "There is no such page, or your role does not let you see it."


class SignInRequired(Exception):
    """No valid session: a page sends the browser to the sign-in page."""


class NotFound(HTTPException):
    """What an object the account may not see answers, the same as one that does not exist."""

    def __init__(self) -> None:
        super().__init__(status_code=404, detail=NOT_FOUND)


def _serializer(request: Request, salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret, salt=salt)


def sign_session(request: Request, session: str) -> str:
    return _serializer(request, "session").dumps(session)


def sign_notice(request: Request, text: str) -> str:
    """A notice to show after a redirect (what was recorded), signed: a link someone else made
    cannot put words on the page."""
    return _serializer(request, "notice").dumps(text)


def notice(request: Request) -> str | None:
    """The signed notice in the query string, if its signature holds."""
    value = request.query_params.get("done")
    if not value:
        return None
    try:
        text = _serializer(request, "notice").loads(value)
    except BadSignature:
        return None
    return text if isinstance(text, str) else None


def session_secret(request: Request) -> str | None:
    """The session secret the cookie carries, when its signature holds."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    try:
        secret = _serializer(request, "session").loads(value)
    except BadSignature:
        return None
    return secret if isinstance(secret, str) else None


def local_path(value: str | None) -> str | None:
    """`value` when it is a path of this site (never another site's address), else None."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or len(value) > 500:
        return None
    return value if value.isprintable() else None


def session_cookie_options(settings: Settings) -> dict[str, Any]:
    return dict(httponly=True, samesite="lax", secure=settings.portal_secure_cookies, path="/")


def optional_account(request: Request) -> Account | None:
    secret = session_secret(request)
    if secret is None:
        return None
    return accounts.session_account(request.app.state.uow(), secret)


def current_account(request: Request) -> Account:
    """The signed-in account; without one a page goes to the sign-in page."""
    account = optional_account(request)
    if account is None:
        raise SignInRequired()
    request.state.account = account
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]


def company_access(page: Page, write: bool = False) -> Callable[..., Account]:
    """A dependency: the account, when it may open `page` of the company in the URL (and, with
    `write`, record on it); else 404. It runs before the form is read."""

    def check(network: str, company: str, account: CurrentAccount) -> Account:
        allowed = writes_company if write else sees_company
        if not allowed(account, network, company, page):
            raise NotFound()
        return account

    return check


def verifier_access(network: str, company: str, account: CurrentAccount) -> Account:
    """The account, when it may verify the corrective actions of the company in the URL; else 404."""
    if not (verifies_actions(account, network) and sees_company(account, network, company, Page.ACTIONS)):
        raise NotFound()
    return account


def operator_access(account: CurrentAccount) -> Account:
    """The account, when it may open the list of every network (the operator); else 404."""
    if not lists_networks(account):
        raise NotFound()
    return account


def network_access(account: CurrentAccount, network: str) -> Account:
    """The account, when it may open the network's own page (operator, its central coordinator)."""
    if not opens_network(account, network):
        raise NotFound()
    return account


def audits_access(account: CurrentAccount, network: str) -> Account:
    """The account, when it may open the network's external audits; else 404."""
    if not sees_external_audits(account, network):
        raise NotFound()
    return account


def auditor_access(account: CurrentAccount, network: str) -> Account:
    """The account, when it is an auditor of the network in the URL (who records its external audits
    and their recommendation); else 404."""
    if not records_external_audits(account, network):
        raise NotFound()
    return account


# --- CSRF ----------------------------------------------------------------------------------------


def csrf_cookie(request: Request) -> str:
    """The visitor's CSRF cookie value, made for this response when the browser has none yet."""
    value = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not value:
        value = request.state.new_csrf = secrets.token_urlsafe(24)
    return value


def _token(request: Request, cookie: str) -> str:
    """An HMAC of the CSRF cookie and of the session the request carries (none before signing in):
    a token is good for one visitor's cookie and one session, so a cookie planted by someone else
    or a token seen before signing in forges nothing for the signed-in person."""
    session = session_secret(request) or ""
    return hmac.new(request.app.state.secret, f"csrf:{cookie}:{session}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token a form of this page carries."""
    return _token(request, csrf_cookie(request))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request) -> bool:
    """Whether the browser says the form came from this site: `Sec-Fetch-Site` same-origin (or none:
    typed or bookmarked) and an `Origin` that is this site's address (the one asked, or
    HACKEFORS_PUBLIC_URL behind a proxy). A client that sends neither header (not a browser) is
    judged by the token alone."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    ours = {_origin(str(request.base_url)), _origin(request.app.state.settings.public_url)}
    return origin.lower() != "null" and origin.lower().rstrip("/") in ours


async def check_csrf(request: Request) -> None:
    """Refuse (403) a form sent from another site (Origin, Sec-Fetch-Site) or whose CSRF token does
    not match the visitor's cookie and session."""
    if not same_origin(request):
        raise HTTPException(status_code=403, detail="This form was sent from another site: open the page "
                                                    "in the portal and send it from there.")
    cookie = request.cookies.get(CSRF_COOKIE)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent, _token(request, cookie)):
        raise HTTPException(status_code=403, detail="The form's security token is missing or wrong: "
                                                    "reload the page and try again.")


# --- who is asking --------------------------------------------------------------------------------


def client_address(request: Request) -> str:
    """The client's address: the connection's, or, when that is one of the trusted proxies
    (HACKEFORS_PORTAL_TRUSTED_PROXIES; none by default), the nearest address in X-Forwarded-For that
    is not itself a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.settings.trusted_proxy_networks()
    if not trusted or not _within(peer, trusted):
        return peer
    forwarded = [a.strip() for h in request.headers.getlist("x-forwarded-for") for a in h.split(",")]
    for address in reversed([a for a in forwarded if a]):
        if not _within(address, trusted):
            return address
    return peer


def _within(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


# --- rate limit ----------------------------------------------------------------------------------


class RateLimit:
    """At most `per_minute` requests per key in any 60 seconds, counted in the store, so that every
    portal process (and machine) behind a proxy counts the same requests."""

    def __init__(self, name: str, per_minute: int, uow: Callable[[], AbstractUnitOfWork]) -> None:
        self.name = name
        self.per_minute = per_minute
        self.uow = uow

    def allow(self, key: str) -> bool:
        return limits.allow(self.uow(), self.name, key, self.per_minute)
