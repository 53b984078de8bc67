"""The forms a paused run shows: no blank names, no decision taken for the person."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tasks.inputs import AuditorInput, Decision, SignOff


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_a_blank_decision_maker_or_lead_auditor_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="decided_by"):
        SignOff(decision=Decision.REFUSE, decided_by=name)
    with pytest.raises(ValidationError, match="lead_auditor"):
        AuditorInput(recommendation="recommended", lead_auditor=name)


def test_approve_or_refuse_must_be_chosen() -> None:
    with pytest.raises(ValidationError, match="decision"):
        SignOff(decided_by="Karin Holm")  # type: ignore[call-arg]
    refused = SignOff(decision="refuse", decided_by="  Karin Holm ")
    assert not refused.approve and refused.decided_by == "Karin Holm"
    assert SignOff(decision="approve", decided_by="Karin Holm").approve


@pytest.mark.parametrize(("form", "required"), [
    (SignOff, {"decision", "decided_by"}),
    (AuditorInput, {"recommendation", "lead_auditor"}),
])
def test_the_form_the_ui_shows_keeps_every_field_required(form: type, required: set[str]) -> None:
    shown = form.with_initial_data(description="what the person reads above the form")
    schema = shown.model_json_schema()
    assert required <= set(schema["required"])
    name = "decided_by" if form is SignOff else "lead_auditor"
    assert schema["properties"][name]["minLength"] == 1
    assert "default" not in schema["properties"][name]


def test_a_run_that_ends_failed_on_purpose_is_logged_without_a_traceback() -> None:
    import logging
    import sys

    from prefect.exceptions import FailedRun

    from flows import EndedFailedOnPurpose

    try:
        raise FailedRun("not certified: training gate blocked")
    except FailedRun:
        record = logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1,
                                   "Engine execution exited with unexpected exception", (), sys.exc_info())
    assert EndedFailedOnPurpose().filter(record)
    assert record.exc_info is None and record.levelname == "WARNING"
    assert "Traceback" not in logging.Formatter().format(record)
    try:
        raise ValueError("a real crash")
    except ValueError:
        crash = logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    EndedFailedOnPurpose().filter(crash)
    assert "Traceback" in logging.Formatter().format(crash)  # real crashes keep theirs


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_the_server_refuses_a_blank_name_when_the_form_is_submitted(name: str) -> None:
    """Prefect's server checks a Resume form against its JSON schema (the same function its resume
    endpoint calls); a name of spaces must be refused there, not fail the run afterwards."""
    from prefect.utilities.schema_tools import ValidationError as SchemaError
    from prefect.utilities.schema_tools import validate

    for form, choice, field in ((SignOff, {"decision": "approve"}, "decided_by"),
                                (AuditorInput, {"recommendation": "recommended"}, "lead_auditor")):
        schema = form.with_initial_data(description="above the form").model_json_schema()
        with pytest.raises(SchemaError, match=field):
            validate({**choice, field: name}, schema, raise_on_error=True)
        validate({**choice, field: " Karin Holm "}, schema, raise_on_error=True)
