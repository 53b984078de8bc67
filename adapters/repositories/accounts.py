"""The portal's accounts, their one-time sign-in links and their sessions.

Set-based SQL inside the caller's transaction; never commits; domain models in and out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from models import tables as t
from models.accounts import Account, Role


class AccountRepository:
    """The portal's accounts, their one-time sign-in links and their sessions (secrets as sha256)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @staticmethod
    def _account(row: t.AccountRow) -> Account:
        return Account(email=row.email, role=Role(row.role), network_id=row.network_id,
                       company_id=row.company_id)

    def get(self, email: str) -> Account | None:
        row = self.session.get(t.AccountRow, email)
        return None if row is None else self._account(row)

    def all(self) -> list[Account]:
        rows = self.session.scalars(select(t.AccountRow).order_by(t.AccountRow.email))
        return [self._account(r) for r in rows]

    def put(self, account: Account, at: datetime) -> None:
        """Create the account, or change its role and scope."""
        values = dict(role=account.role.value, network_id=account.network_id, company_id=account.company_id)
        updated = self.session.scalar(update(t.AccountRow).where(t.AccountRow.email == account.email)
                                      .values(**values).returning(t.AccountRow.email))
        if updated is None:
            self.session.execute(insert(t.AccountRow), [dict(email=account.email, created_at=at, **values)])

    def remove(self, email: str) -> bool:
        """Delete the account, with its links and sessions; whether there was one."""
        self.session.execute(delete(t.PortalSessionRow).where(t.PortalSessionRow.email == email))
        self.session.execute(delete(t.SignInLinkRow).where(t.SignInLinkRow.email == email))
        return self.session.scalar(delete(t.AccountRow).where(t.AccountRow.email == email)
                                   .returning(t.AccountRow.email)) is not None

    def end_sessions(self, email: str) -> int:
        ended = self.session.scalars(delete(t.PortalSessionRow).where(t.PortalSessionRow.email == email)
                                     .returning(t.PortalSessionRow.token_hash))
        return len(ended.all())

    def add_link(self, token_hash: str, email: str, at: datetime) -> None:
        self.session.execute(insert(t.SignInLinkRow),
                             [dict(token_hash=token_hash, email=email, created_at=at)])

    def links_since(self, email: str, since: datetime) -> int:
        return self.session.scalar(select(func.count()).select_from(t.SignInLinkRow).where(
            t.SignInLinkRow.email == email, t.SignInLinkRow.created_at >= since)) or 0

    def use_link(self, token_hash: str, not_before: datetime, at: datetime) -> str | None:
        """Mark an unused link created after `not_before` as used, in one statement (two browsers
        following it at once cannot both succeed); the email it signs in, or None."""
        link = t.SignInLinkRow
        email = self.session.scalar(
            update(link).where(link.token_hash == token_hash, link.used_at.is_(None),
                               link.created_at >= not_before)
            .values(used_at=at).returning(link.email))
        return email

    def add_session(self, token_hash: str, email: str, at: datetime, expires_at: datetime) -> None:
        self.session.execute(insert(t.PortalSessionRow), [dict(token_hash=token_hash, email=email,
                                                               created_at=at, expires_at=expires_at)])

    def session_account(self, token_hash: str, now: datetime) -> Account | None:
        """The account of a session that has not expired, or None."""
        row = self.session.execute(
            select(t.AccountRow).join(t.PortalSessionRow, t.PortalSessionRow.email == t.AccountRow.email)
            .where(t.PortalSessionRow.token_hash == token_hash, t.PortalSessionRow.expires_at > now)
        ).scalar_one_or_none()
        return None if row is None else self._account(row)

    def end_session(self, token_hash: str) -> None:
        self.session.execute(delete(t.PortalSessionRow).where(t.PortalSessionRow.token_hash == token_hash))

    def forget_expired(self, now: datetime, links_before: datetime) -> None:
        """Drop sessions that expired and links too old to be used."""
        self.session.execute(delete(t.PortalSessionRow).where(t.PortalSessionRow.expires_at <= now))
        self.session.execute(delete(t.SignInLinkRow).where(t.SignInLinkRow.created_at < links_before))
