"""Work done once: a network's derived facts are computed once per network object, and rows read
back from our own store skip the per-character checks they passed on the way in."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from models import training
from models.gates import policy_for
from models.memo import per_network
from models.network import TRUSTED, Employee, Network
from tests.conftest import build, example_data

AS_OF = date(2025, 3, 3)


@pytest.fixture(scope="module")
def small() -> Network:
    return build(example_data("small"))


def test_a_derived_fact_is_computed_once_per_network_object_and_day(small: Network) -> None:
    calls: list[tuple[str, date]] = []

    @per_network
    def count(network: Network, as_of: date) -> int:
        calls.append((network.id, as_of))
        return len(network.companies)

    assert count(small, AS_OF) == count(small, AS_OF) == len(small.companies)
    assert calls == [(small.id, AS_OF)]
    count(small, date(2025, 3, 4))
    assert len(calls) == 2, "another day is another fact"


def test_an_equal_but_changed_copy_is_computed_anew(small: Network) -> None:
    calls: list[int] = []

    @per_network
    def companies(network: Network) -> int:
        calls.append(1)
        return len(network.companies)

    fewer = small.model_copy(update={"companies": small.companies[:1]})
    assert companies(small) == len(small.companies)
    assert companies(fewer) == 1
    assert len(calls) == 2


def test_training_status_is_shared_by_the_gates_and_equal_to_a_fresh_computation(small: Network) -> None:
    policy = policy_for(small)
    first = training.training_status(small, AS_OF, policy)
    assert training.training_status(small, AS_OF, policy) is first
    assert training.training_status.__wrapped__(small, AS_OF, policy) == first  # type: ignore[attr-defined]


def test_the_trusted_load_skips_only_the_per_character_checks() -> None:
    hazard = {"id": "E1", "name": "Anna\x07 Berg", "hired_on": "2020-01-01"}
    with pytest.raises(ValidationError, match="control characters"):
        Employee.model_validate(hazard)
    assert Employee.model_validate(hazard, context=TRUSTED).name == "Anna\x07 Berg"
    with pytest.raises(ValidationError):  # types and patterns are still checked
        Employee.model_validate({**hazard, "hired_on": "not a date"}, context=TRUSTED)

