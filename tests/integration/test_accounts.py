"""Portal accounts in the store, on SQLite and PostgreSQL: a sign-in link works once (also when two
browsers follow it at the same moment), expires, and a revoked account's sessions end."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from models.accounts import Role
from models.errors import NetworkNotFound, RefusedChange, UnknownCompany
from services.accounts import invite, redeem_link, revoke, session_account
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import build, example_data, save

EMAIL = "operator@consult.example"
HOUR = timedelta(hours=1)


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_a_link_signs_in_once_even_when_followed_twice_at_once(engine: Engine) -> None:
    _, link = invite(SqlAlchemyUnitOfWork(engine), EMAIL, Role.OPERATOR, None, None, "test", "http://x")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: redeem_link(SqlAlchemyUnitOfWork(engine), token_of(link), HOUR),
                                range(4)))
    signed_in = [r for r in results if r is not None]
    assert len(signed_in) == 1
    account, session = signed_in[0]
    assert account.email == EMAIL and account.role is Role.OPERATOR
    assert session_account(SqlAlchemyUnitOfWork(engine), session) == account
    assert session_account(SqlAlchemyUnitOfWork(engine), session, datetime.now(UTC) + 2 * HOUR) is None


def test_an_expired_link_is_refused_and_revoking_ends_sessions(engine: Engine) -> None:
    old = datetime.now(UTC) - timedelta(minutes=15, seconds=1)
    _, stale = invite(SqlAlchemyUnitOfWork(engine), EMAIL, Role.OPERATOR, None, None, "test", "http://x", old)
    assert redeem_link(SqlAlchemyUnitOfWork(engine), token_of(stale), HOUR) is None
    _, fresh = invite(SqlAlchemyUnitOfWork(engine), EMAIL, Role.OPERATOR, None, None, "test", "http://x")
    signed_in = redeem_link(SqlAlchemyUnitOfWork(engine), token_of(fresh), HOUR)
    assert signed_in is not None
    revoke(SqlAlchemyUnitOfWork(engine), EMAIL, "test")
    assert session_account(SqlAlchemyUnitOfWork(engine), signed_in[1]) is None


def test_an_invitation_names_what_is_wrong(engine: Engine) -> None:
    save(build(example_data("small")), engine)
    uow = SqlAlchemyUnitOfWork(engine)
    with pytest.raises(NetworkNotFound, match="no network 'nope'.*known networks: ostgota-small"):
        invite(uow, "a@b.example", Role.COORDINATOR, "nope", "NSM", "test", "http://x")
    with pytest.raises(UnknownCompany, match="no company 'NOPE' in network 'ostgota-small'; known: NSM"):
        invite(uow, "a@b.example", Role.COORDINATOR, "ostgota-small", "NOPE", "test", "http://x")
    with pytest.raises(RefusedChange, match="a coordinator needs --company"):
        invite(uow, "a@b.example", Role.COORDINATOR, "ostgota-small", None, "test", "http://x")
    with pytest.raises(RefusedChange, match="an operator sees every network"):
        invite(uow, "a@b.example", Role.OPERATOR, "ostgota-small", None, "test", "http://x")
    with pytest.raises(RefusedChange, match="not a valid email address"):
        invite(uow, "not an address", Role.AUDITOR, "ostgota-small", None, "test", "http://x")
    account, _ = invite(uow, "A@B.example", Role.AUDITOR, "ostgota-small", None, "test", "http://x")
    assert account.email == "a@b.example"


def test_invite_and_revoke_on_the_command_line(store: object, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.integration.test_cli import run

    save(build(example_data("small")))
    assert run("invite", "malin@nsm.example.se", "--role", "coordinator", "--network", "ostgota-small",
               "--company", "NSM") == 0
    out = capsys.readouterr().out
    assert "Account malin@nsm.example.se (coordinator, network ostgota-small, company NSM)." in out
    assert "Sign-in link (once, within 15 minutes): http://127.0.0.1:8080/sign-in/" in out
    assert run("invite", "x@y.example", "--role", "boss", "--network", "ostgota-small") == 2
    assert "--role 'boss': choose one of operator, central-coordinator, coordinator, auditor" in \
        capsys.readouterr().err
    assert run("invite", "x@y.example", "--role", "coordinator", "--network", "ostgota-small",
               "--company", "ACME") == 2
    assert "no company 'ACME' in network 'ostgota-small'" in capsys.readouterr().err
    assert run("revoke", "malin@nsm.example.se") == 0
    assert "their sessions have ended" in capsys.readouterr().out
    assert run("revoke", "malin@nsm.example.se") == 2
    assert "no account for 'malin@nsm.example.se'" in capsys.readouterr().err
