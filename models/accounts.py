"""Who may do what in the portal: the people's accounts and roles, and the rules of access, as pure
functions of an account and the network and company asked about."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from models.evidence import Actor, Role, Source
from models.links import Page

# A sign-in link works once, within this time.
LINK_LIFETIME = timedelta(minutes=15)
# At most this many links are sent to one address within LINK_LIFETIME; more requests get the same
# answer and no email.
LINKS_PER_ADDRESS = 3


class Account(BaseModel):
    """A person who may sign in: their address, role and where the role applies."""

    model_config = ConfigDict(frozen=True)

    email: str
    role: Role
    network_id: str | None = None  # every role but the operator's has one
    company_id: str | None = None  # the coordinator's company

    def actor(self, source: Source = Source.PORTAL) -> Actor:
        """The account as the author of a write (the history names it)."""
        return Actor(email=self.email, role=self.role, source=source, network=self.network_id,
                     company=self.company_id)

    def describe(self) -> str:
        where = "all networks" if self.role is Role.OPERATOR else f"network {self.network_id}"
        if self.company_id:
            where += f", company {self.company_id}"
        return f"{self.email} ({self.role.value}, {where})"


class AccountError(ValueError):
    """An account that cannot be made as asked; the message says why."""


def check_scope(role: Role, network_id: str | None, company_id: str | None) -> None:
    """Refuse a role given the wrong scope: the operator none, a coordinator a company, the others a
    network and no company."""
    if role is Role.OPERATOR:
        if network_id or company_id:
            raise AccountError("an operator sees every network: give no --network or --company")
        return
    if not network_id:
        raise AccountError(f"a {role.value} needs --network")
    if role is Role.COORDINATOR and not company_id:
        raise AccountError("a coordinator needs --company (the company they coordinate)")
    if role is not Role.COORDINATOR and company_id:
        raise AccountError(f"a {role.value} covers the whole network: give no --company")


def hash_token(token: str) -> str:
    """What the store keeps of a sign-in link's or a session's secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_expired(created_at: datetime, now: datetime) -> bool:
    return now - created_at > LINK_LIFETIME


def sees_network(account: Account, network_id: str) -> bool:
    """Whether the account may open the network's pages at all."""
    return account.role is Role.OPERATOR or account.network_id == network_id


# The company pages an auditor may open: the corrective actions, to verify their effectiveness.
AUDITOR_PAGES = frozenset({Page.ACTIONS})


def sees_company(account: Account, network_id: str, company_id: str, page: Page = Page.TODO) -> bool:
    """Whether the account may open `page` of a company: the operator every company, a central
    coordinator every company of their network, a coordinator their own company, an auditor the
    corrective actions of their network's companies."""
    if not sees_network(account, network_id):
        return False
    if account.role is Role.COORDINATOR:
        return account.company_id == company_id
    if account.role is Role.AUDITOR:
        return page in AUDITOR_PAGES
    return True


def writes_company(account: Account, network_id: str, company_id: str, page: Page) -> bool:
    """Whether the account may record evidence on `page` of a company (auditors write nothing there
    but verifications, see `verifies_actions`)."""
    return account.role is not Role.AUDITOR and sees_company(account, network_id, company_id, page)


def verifies_actions(account: Account, network_id: str) -> bool:
    """Whether the account may record that a corrective action was effective: the operator and the
    network's auditors, independent of the company; never a coordinator."""
    return account.role in {Role.OPERATOR, Role.AUDITOR} and sees_network(account, network_id)


def lists_networks(account: Account) -> bool:
    """Whether the account may open the list of every network: the operator only."""
    return account.role is Role.OPERATOR


def opens_network(account: Account, network_id: str) -> bool:
    """Whether the account may open the network's own page: the operator, its central coordinator."""
    return account.role in {Role.OPERATOR, Role.CENTRAL_COORDINATOR} and sees_network(account, network_id)


def records_external_audits(account: Account, network_id: str) -> bool:
    """Whether the account may record the network's external audits and their recommendation: its
    certification body's auditors only."""
    return account.role is Role.AUDITOR and account.network_id == network_id


def sees_external_audits(account: Account, network_id: str) -> bool:
    """Whether the account may open the network's external audits (the auditors' page)."""
    return account.role in {Role.OPERATOR, Role.AUDITOR, Role.CENTRAL_COORDINATOR} \
        and sees_network(account, network_id)


def home_path(account: Account) -> str:
    """Where a person lands after signing in."""
    from models.links import company_path, external_audits_path, network_path

    if account.role is Role.COORDINATOR and account.network_id and account.company_id:
        return company_path(account.network_id, account.company_id)
    if account.role is Role.AUDITOR and account.network_id:
        return external_audits_path(account.network_id)
    if account.role is Role.CENTRAL_COORDINATOR and account.network_id:
        return network_path(account.network_id)
    return "/networks"
