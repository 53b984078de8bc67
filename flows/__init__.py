"""The certification lifecycle as Prefect flows: one per stage, each ending in a gate."""

from __future__ import annotations

import logging

from prefect.exceptions import FailedRun


class EndedFailedOnPurpose(logging.Filter):
    """A flow that ends Failed by returning a Failed state (a blocked gate, a refused sign-off) is an
    outcome, not a crash. In a deployment run Prefect's engine still logs it as "Engine execution
    exited with unexpected exception" with a FailedRun traceback; the run's state message already
    gives the reasons, so that record becomes one line at WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], FailedRun):
            record.msg, record.args = "The run ended Failed: its state message gives the reasons.", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("prefect.flow_runs").addFilter(EndedFailedOnPurpose())
