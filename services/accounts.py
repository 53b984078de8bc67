"""Use cases of the portal's accounts: invite a person, send a one-time sign-in link, turn a link
into a session, know who a session is, revoke a person's role.

Links and sessions are random secrets handed to the person; the store keeps only their sha256. A
link works once, within `LINK_LIFETIME`; a session ends when it expires, when its person signs out
or when their account is revoked (the revocation deletes every session of theirs)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from adapters.mail import Mailer, compose_sign_in, wire_bytes
from models.accounts import (
    LINK_LIFETIME,
    LINKS_PER_ADDRESS,
    Account,
    AccountError,
    Role,
    check_scope,
    hash_token,
)
from models.errors import RefusedChange, ServiceError, UnknownCompany
from models.events import HistoryEntry
from models.links import SIGN_IN_PATH, absolute
from models.network import is_valid_email
from services.reminders import deliver_queued
from services.unit_of_work import AbstractUnitOfWork

# The outbox and the history file the portal's own emails and account changes under this name
# instead of a network's id.
PORTAL = "(portal)"


class UnknownAccount(ServiceError, LookupError):
    def __init__(self, email: str) -> None:
        super().__init__(f"no account for {email!r}")


class SignInRequest(BaseModel):
    """What a request for a sign-in link did; the portal shows the same page whatever it holds."""

    sent: bool
    reason: str = ""  # for the log: unknown address, too many links, delivery failed


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _history(uow: AbstractUnitOfWork, account: Account, actor: str, action: str, at: datetime,
             detail: dict[str, object] | None = None) -> None:
    # Accounts are made and removed from the command line only.
    uow.history.add([HistoryEntry(at=at, actor=actor, network_id=account.network_id or PORTAL,
                                  entity="account", entity_id=account.email, action=action, detail=detail,
                                  source="cli")])


def link_url(base_url: str, token: str) -> str:
    return absolute(base_url, f"{SIGN_IN_PATH}/{token}")


def invite(uow: AbstractUnitOfWork, email: str, role: Role, network_id: str | None, company_id: str | None,
           actor: str, base_url: str, now: datetime | None = None) -> tuple[Account, str]:
    """Create (or change) the account of `email` and make a sign-in link for it; the account and the
    link's URL. The network and company must exist; the role decides which of them it needs."""
    now = now or datetime.now(UTC)
    email = normalise_email(email)
    if not is_valid_email(email):
        raise RefusedChange(f"{email!r} is not a valid email address")
    try:
        check_scope(role, network_id, company_id)
    except AccountError as exc:
        raise RefusedChange(str(exc)) from None
    account = Account(email=email, role=role, network_id=network_id, company_id=company_id)
    token = secrets.token_urlsafe(32)
    with uow:
        if network_id is not None:
            network = uow.networks.load(network_id, parts=())  # NetworkNotFound names the known ones
            known = [c.id for c in network.companies]
            if company_id is not None and company_id not in known:
                raise UnknownCompany(company_id, network_id, known)
        before = uow.accounts.get(email)
        uow.accounts.put(account, now)
        if before is not None and before != account:
            uow.accounts.end_sessions(email)  # a changed role starts afresh
        uow.accounts.add_link(hash_token(token), email, now)
        _history(uow, account, actor, "insert" if before is None else "update", now,
                 {"role": role.value, "company": company_id})
        uow.commit()
    return account, link_url(base_url, token)


def revoke(uow: AbstractUnitOfWork, email: str, actor: str, now: datetime | None = None) -> Account:
    """Remove a person's account: their sessions end at once and their links stop working."""
    now = now or datetime.now(UTC)
    email = normalise_email(email)
    with uow:
        account = uow.accounts.get(email)
        if account is None:
            raise UnknownAccount(email)
        uow.accounts.remove(email)
        _history(uow, account, actor, "delete", now, {"role": account.role.value})
        uow.commit()
    return account


def list_accounts(uow: AbstractUnitOfWork) -> list[Account]:
    with uow:
        return uow.accounts.all()


def request_sign_in(uow: AbstractUnitOfWork, mailer: Mailer, email: str, base_url: str, mail_from: str,
                    now: datetime | None = None) -> SignInRequest:
    """Email a one-time sign-in link to `email` when it has an account and has not had
    `LINKS_PER_ADDRESS` links in the last `LINK_LIFETIME`: queued in the outbox and delivered at once
    (through SMTP, or as an .eml file); the stored copy of the message is emptied once delivered."""
    now = now or datetime.now(UTC)
    email = normalise_email(email)
    token = secrets.token_urlsafe(32)
    with uow:
        account = uow.accounts.get(email)
        if account is None:
            return SignInRequest(sent=False, reason="no account")
        if uow.accounts.links_since(email, now - LINK_LIFETIME) >= LINKS_PER_ADDRESS:
            return SignInRequest(sent=False, reason="too many links requested")
        message = compose_sign_in(email, link_url(base_url, token), int(LINK_LIFETIME.total_seconds() // 60),
                                  mail_from, now.date())
        uow.accounts.add_link(hash_token(token), email, now)
        uow.outbox.add(f"sign-in/{hash_token(token)[:32]}", PORTAL, email, str(message["Subject"]),
                       wire_bytes(message), now.date(), now, [])
        uow.commit()
    delivery = deliver_queued(uow, mailer, PORTAL)
    with uow:
        uow.outbox.forget_delivered(PORTAL)
        uow.commit()
    if delivery.undeliverable or delivery.deferred:
        return SignInRequest(sent=False, reason="; ".join(delivery.undeliverable) or "deferred")
    return SignInRequest(sent=True)


def redeem_link(uow: AbstractUnitOfWork, token: str, session_lifetime: timedelta,
                now: datetime | None = None) -> tuple[Account, str] | None:
    """Use a sign-in link: its account and a new session's secret, or None when the link is
    unknown, used or expired."""
    now = now or datetime.now(UTC)
    session = secrets.token_urlsafe(32)
    with uow:
        email = uow.accounts.use_link(hash_token(token), now - LINK_LIFETIME, now)
        if email is None:
            return None
        account = uow.accounts.get(email)
        if account is None:
            return None
        uow.accounts.add_session(hash_token(session), email, now, now + session_lifetime)
        uow.accounts.forget_expired(now, now - LINK_LIFETIME)
        uow.commit()
    return account, session


def session_account(uow: AbstractUnitOfWork, session: str, now: datetime | None = None) -> Account | None:
    """Who holds a session, or None when it ended, expired or never was."""
    with uow:
        return uow.accounts.session_account(hash_token(session), now or datetime.now(UTC))


def sign_out(uow: AbstractUnitOfWork, session: str) -> None:
    with uow:
        uow.accounts.end_session(hash_token(session))
        uow.commit()
