"""Readiness kept, not recomputed: the to-do list the portal reads from the store equals the one the
rules compute fresh, after any sequence of writes, and a kept list is read without the network."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from models.errors import RefusedChange, ServiceError
from models.evidence import (
    ActionClosure,
    Actor,
    Leaving,
    LegalEvaluation,
    NewEmployee,
    ReviewRecord,
    Role,
    Source,
    TrainingRecord,
)
from models.policy import MANAGEMENT_REVIEW_INPUTS, TRAINING_TOPICS
from services import evidence
from services.readiness import kept_todo
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import build, example_data, save

AS_OF = date(2025, 3, 3)
SMALL = build(example_data("small"))
COMPANIES = [c.id for c in SMALL.companies]
EMPLOYEES = {c.id: [e.id for e in c.employees] for c in SMALL.companies}
ACTIONS = {c.id: [a.id for audit in c.internal_audits for f in audit.findings for a in f.actions]
           for c in SMALL.companies}
OBLIGATIONS = {c.id: [r.id for r in c.legal_register] for c in SMALL.companies}
OPERATOR = Actor(email="operator@example.se", role=Role.OPERATOR, source=Source.PORTAL)
days_back = st.integers(min_value=0, max_value=400).map(lambda d: AS_OF - timedelta(days=d))


@st.composite
def writes(draw: st.DrawFn) -> tuple[str, str, object]:
    """One write of any kind the portal offers, at a random company, with random values."""
    company = draw(st.sampled_from(COMPANIES))
    kind = draw(st.sampled_from(["employee", "leaving", "training", "closure", "review", "legal"]))
    if kind == "employee":
        value: object = NewEmployee(id=f"{company}-N{draw(st.integers(0, 999))}", name="Ny Anställd",
                                    hired_on=draw(days_back))
    elif kind == "leaving":
        value = Leaving(employee=draw(st.sampled_from(EMPLOYEES[company])), left_on=draw(days_back))
    elif kind == "training":
        value = TrainingRecord(date=draw(days_back), hours=draw(st.sampled_from(["2", "7.5", "30"])),
                               topics=tuple(draw(st.sets(st.sampled_from(TRAINING_TOPICS), max_size=5))),
                               attendees=tuple(draw(st.sets(st.sampled_from(EMPLOYEES[company]), min_size=1,
                                                            max_size=4))))
    elif kind == "closure" and ACTIONS[company]:
        value = ActionClosure(action=draw(st.sampled_from(ACTIONS[company])), closed_on=draw(days_back),
                              note="closed")
    elif kind == "review":
        value = ReviewRecord(date=draw(days_back), signed_by="VD",
                             inputs=tuple(draw(st.sets(st.sampled_from(MANAGEMENT_REVIEW_INPUTS),
                                                       min_size=1))))
    elif kind == "legal" and OBLIGATIONS[company]:
        value = LegalEvaluation(requirement=draw(st.sampled_from(OBLIGATIONS[company])),
                                evaluated_on=draw(days_back), compliant=draw(st.booleans()))
    else:
        value = NewEmployee(id=f"{company}-M{draw(st.integers(0, 999))}", name="Annan", hired_on=AS_OF)
    return kind, company, value


RECORD = {NewEmployee: evidence.add_employee, Leaving: evidence.record_leaving,
          TrainingRecord: evidence.record_training, ActionClosure: evidence.close_action,
          ReviewRecord: evidence.record_management_review, LegalEvaluation: evidence.record_legal_evaluation}


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(writes(), min_size=1, max_size=5))
def test_the_kept_list_equals_a_fresh_evaluation_after_any_writes(
        engine: Engine, sequence: list[tuple[str, str, object]]) -> None:
    uow = SqlAlchemyUnitOfWork(engine)
    with uow:
        stored = uow.networks.ids()
    if SMALL.id not in stored:
        save(SMALL, engine)
    for company in COMPANIES:  # kept before the writes, so that each write must make them stale
        kept_todo(uow, SMALL.id, company, AS_OF)
    for _, company, value in sequence:
        # A write the rules refuse changes nothing; the lists must still agree.
        with contextlib.suppress(RefusedChange, ServiceError, ValueError):
            RECORD[type(value)](uow, SMALL.id, company, value, OPERATOR, AS_OF)
        for other in COMPANIES:
            fresh = evidence.company_todo(uow, SMALL.id, other, AS_OF)
            assert kept_todo(uow, SMALL.id, other, AS_OF) == fresh


def test_a_kept_list_is_read_without_loading_the_network(sqlite_engine: Engine, monkeypatch) -> None:
    from adapters.repositories.networks import NetworkRepository

    save(SMALL, sqlite_engine)
    uow = SqlAlchemyUnitOfWork(sqlite_engine)
    first = kept_todo(uow, SMALL.id, COMPANIES[0], AS_OF)
    loads: list[str] = []
    original = NetworkRepository.load
    monkeypatch.setattr(NetworkRepository, "load",
                        lambda self, *a, **k: loads.append(a[0]) or original(self, *a, **k))
    assert [kept_todo(uow, SMALL.id, c, AS_OF) for c in COMPANIES][0] == first
    assert loads == [], "every company's list was kept by the first computation"
    tomorrow = AS_OF + timedelta(days=1)
    assert kept_todo(uow, SMALL.id, COMPANIES[0], tomorrow).as_of == tomorrow
    assert loads == [SMALL.id], "another day is computed again"
    evidence.add_employee(uow, SMALL.id, COMPANIES[1], NewEmployee(id="X-1", name="Ny", hired_on=AS_OF),
                          OPERATOR, AS_OF)
    loads.clear()  # the write loaded what it changes
    after = kept_todo(uow, SMALL.id, COMPANIES[1], AS_OF)
    assert loads == [SMALL.id], "a write makes the kept lists stale"
    assert "X-1" in {s.employee for s in after.employees}


def test_the_network_overview_is_kept_beside_the_lists_and_follows_a_write(sqlite_engine: Engine) -> None:
    from models.gap import gap_analysis
    from models.gates import policy_for
    from services.readiness import kept_overview, overview

    save(SMALL, sqlite_engine)
    uow = SqlAlchemyUnitOfWork(sqlite_engine)
    assert kept_overview(uow, SMALL.id, AS_OF) == overview(SMALL, AS_OF, gap_analysis(SMALL, AS_OF,
                                                                                         policy_for(SMALL)))
    evidence.record_leaving(uow, SMALL.id, COMPANIES[0], Leaving(employee=EMPLOYEES[COMPANIES[0]][0],
                                                                 left_on=AS_OF), OPERATOR, AS_OF)
    with uow:
        changed = uow.networks.load(SMALL.id)
    assert kept_overview(uow, SMALL.id, AS_OF) == overview(changed, AS_OF,
                                                           gap_analysis(changed, AS_OF, policy_for(changed)))
