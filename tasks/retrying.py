"""Which failures a task that does I/O retries: transient ones only, never a failed requirement."""

from __future__ import annotations

import smtplib
from typing import Any

from adapters.db import TRANSIENT_ERRORS

# Backoff of tasks that do I/O, in seconds: a locked database or a dropped connection recovers.
RETRY_DELAYS = [1.0, 2.0, 4.0]
TRANSIENT: tuple[type[BaseException], ...] = (
    *TRANSIENT_ERRORS, ConnectionError, TimeoutError, smtplib.SMTPException,
)


def is_transient(error: BaseException | None) -> bool:
    return isinstance(error, TRANSIENT)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry_condition_fn: retry only when the failure was a transient error."""
    return is_transient(state.data if isinstance(state.data, BaseException) else None)


IO_TASK = dict(retries=len(RETRY_DELAYS), retry_delay_seconds=RETRY_DELAYS,
               retry_condition_fn=retry_if_transient)
