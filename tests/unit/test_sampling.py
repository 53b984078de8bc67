"""IAF MD 1 sample sizes, exact for 1 to 500 companies."""

from __future__ import annotations

import math

import pytest

from models.network import ExternalAuditKind as Kind
from models.policy import DEFAULT_POLICY
from models.sampling import ceil_factor_sqrt, sample_size


@pytest.mark.parametrize("x,initial,surveillance,recertification", [
    (1, 1, 1, 1), (2, 2, 1, 2), (3, 2, 2, 2), (4, 2, 2, 2), (9, 3, 2, 3), (10, 4, 2, 3),
    (25, 5, 3, 4), (26, 6, 4, 5), (100, 10, 6, 8), (101, 11, 7, 9), (450, 22, 13, 17),
])
def test_sample_sizes(x: int, initial: int, surveillance: int, recertification: int) -> None:
    assert sample_size(Kind.STAGE2, x, DEFAULT_POLICY) == initial
    assert sample_size(Kind.SURVEILLANCE, x, DEFAULT_POLICY) == surveillance
    assert sample_size(Kind.RECERTIFICATION, x, DEFAULT_POLICY) == recertification


def exact_ceil(numerator: int, denominator: int, x: int) -> int:
    """Smallest n with n >= (numerator/denominator)*sqrt(x), by brute force over integers."""
    n = 0
    while (n * denominator) ** 2 < numerator ** 2 * x:
        n += 1
    return n


@pytest.mark.parametrize("factor,num,den", [(1.0, 1, 1), (0.6, 3, 5), (0.8, 4, 5)])
def test_sample_sizes_from_1_to_500_match_exact_integer_arithmetic(factor: float, num: int,
                                                                   den: int) -> None:
    for x in range(1, 501):
        assert ceil_factor_sqrt(factor, x) == exact_ceil(num, den, x), x


def test_the_known_wrong_surveillance_formula_is_rejected() -> None:
    wrong = {x for x in range(1, 501)
             if math.ceil(math.sqrt(x) - 0.5) != sample_size(Kind.SURVEILLANCE, x, DEFAULT_POLICY)}
    assert 26 in wrong  # ceil(sqrt(26) - 0.5) = 5, but ceil(0.6 * sqrt(26)) = 4
    assert len(wrong) > 400
