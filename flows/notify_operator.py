"""Tell the operator that a certification run waits for its sign-off."""

from __future__ import annotations

from datetime import date

from prefect import flow

from tasks.reminders import notify_operator_of_sign_off


@flow(name="notify-operator", flow_run_name="notify-operator-{network}")
def notify_operator(network: str, run_id: str, as_of: date | None = None) -> str:
    """Email the operator that a certification run waits for its sign-off (an automation starts this
    on every `hackefors.sign_off.awaited` event)."""
    sent_to = notify_operator_of_sign_off(network, as_of or date.today(), run_id)
    return f"emailed {sent_to}" if sent_to else "no operator address configured (HACKEFORS_OPERATOR_EMAIL)"
