"""Tasks that do I/O retry transient failures only."""

from __future__ import annotations

import smtplib
import sqlite3

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError

from models.errors import NetworkNotFound
from models.policy import Policy
from tasks.retrying import RETRY_DELAYS, is_transient


def test_a_locked_database_or_a_dropped_connection_is_transient() -> None:
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert is_transient(locked)
    assert is_transient(ConnectionRefusedError())
    assert is_transient(smtplib.SMTPServerDisconnected())


def test_bad_data_and_broken_invariants_are_not_retried() -> None:
    assert not is_transient(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")))
    assert not is_transient(NetworkNotFound("x", []))
    try:
        Policy(training_hours=-1)
    except ValidationError as exc:
        assert not is_transient(exc)
    assert not is_transient(None)


def test_the_backoff_grows() -> None:
    assert sorted(RETRY_DELAYS) == RETRY_DELAYS and RETRY_DELAYS[-1] >= 2 * RETRY_DELAYS[0]
