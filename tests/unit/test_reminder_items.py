"""Reminder items: each says what to do and by when, and invites to an event only while it is ahead,
under a UID that stays the same when its date moves."""

from __future__ import annotations

from datetime import date

from adapters.mail import calendar_invitation, strings
from models.gates import policy_for
from models.reminders import Kind, ReminderItem, reminder_items
from tests.conftest import build, example_data

REVIEW_SEASON = date(2025, 12, 20)  # the small network's VTR review falls due on 2026-01-11


def items_of(data: dict, company: str, as_of: date) -> list[ReminderItem]:
    network = build(data)
    return reminder_items(network, as_of, policy_for(network))[company]


def test_a_review_ahead_is_an_invitation_and_the_same_event_keeps_its_uid() -> None:
    data = example_data("small")
    [early] = [i for i in items_of(data, "VTR", REVIEW_SEASON) if i.kind is Kind.MANAGEMENT_REVIEW]
    [later] = [i for i in items_of(data, "VTR", date(2026, 1, 5)) if i.kind is Kind.MANAGEMENT_REVIEW]
    assert early.event is not None and later.event is not None
    assert early.event.start == date(2026, 1, 11) and early.event.uid == later.event.uid
    assert early.action.key == "management_review_action" and early.due == date(2026, 1, 11)


def test_no_invitation_for_a_day_already_past() -> None:
    [overdue] = [i for i in items_of(example_data("small"), "VTR", date(2026, 1, 20))
                 if i.kind is Kind.MANAGEMENT_REVIEW]
    assert overdue.overdue_days == 9 and overdue.event is None


def test_an_audit_visit_moved_to_another_day_replaces_the_earlier_invitation() -> None:
    data = example_data("blocked")
    visit = {"id": "ST2", "kind": "stage2", "start": "1999-03-10", "end": "1999-03-11",
             "certification_body": "Certo AB", "lead_auditor": "Eva Ek", "companies_visited": ["LBY"]}
    data["external_audits"] = [visit]
    [first] = [i for i in items_of(data, "LBY", date(1999, 2, 15)) if i.kind is Kind.EXTERNAL_AUDIT]
    data["external_audits"] = [dict(visit, start="1999-03-17", end="1999-03-18")]
    [moved] = [i for i in items_of(data, "LBY", date(1999, 2, 20)) if i.kind is Kind.EXTERNAL_AUDIT]
    assert first.event is not None and moved.event is not None
    t = strings("sv")
    before = calendar_invitation(t, "hackefors-blocked", first.event, "a@b.se", date(1999, 2, 15))
    after = calendar_invitation(t, "hackefors-blocked", moved.event, "a@b.se", date(1999, 2, 20))
    uid = "UID:hackefors-blocked-ST2-LBY@hackefors"
    assert uid in before and uid in after
    sequence = [int(next(line for line in ics.splitlines() if line.startswith("SEQUENCE:"))[9:])
                for ics in (before, after)]
    assert sequence[0] < sequence[1]  # the later invitation wins in a calendar
    assert "DTSTART;VALUE=DATE:19990317" in after
    # A company not visited is told so, without an invitation.
    [other] = [i for i in items_of(data, "KMV", date(1999, 2, 20)) if i.kind is Kind.EXTERNAL_AUDIT]
    assert other.event is None and other.action.key == "external_audit_action"


def test_an_internal_audit_due_ahead_is_an_invitation() -> None:
    items = [i for c in ("NSM", "SKT", "VTR") for i in items_of(example_data("small"), c, date(2025, 8, 20))
             if i.kind is Kind.INTERNAL_AUDIT]
    assert items and all(i.event is not None and i.event.start == i.due for i in items if i.due
                         and i.due >= date(2025, 8, 20))
    assert all(i.event is None for i in items if i.overdue)
    assert any(i.event is not None for i in items)
