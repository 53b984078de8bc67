"""Multi-site sampling (IAF MD 1): how many member companies an external audit must visit."""

from __future__ import annotations

from fractions import Fraction
from math import isqrt

from models.network import ExternalAuditKind
from models.policy import Policy


def ceil_factor_sqrt(factor: float, x: int) -> int:
    """ceil(factor * sqrt(x)) in exact integer arithmetic (no floating-point edge errors)."""
    if x < 0:
        raise ValueError("the number of sites cannot be negative")
    f = Fraction(factor).limit_denominator(10_000)
    # n >= f*sqrt(x)  <=>  n^2 >= f^2 * x  for n >= 0
    target = f * f * x
    n = isqrt(int(target))
    while Fraction(n * n) < target:
        n += 1
    return n


def sample_size(kind: ExternalAuditKind, companies: int, policy: Policy) -> int:
    """Member companies to visit, the central function not counted (it is always visited)."""
    factor = {
        ExternalAuditKind.STAGE1: policy.initial_sample_factor,
        ExternalAuditKind.STAGE2: policy.initial_sample_factor,
        ExternalAuditKind.SURVEILLANCE: policy.surveillance_sample_factor,
        ExternalAuditKind.RECERTIFICATION: policy.recertification_sample_factor,
    }[kind]
    return min(companies, ceil_factor_sqrt(factor, companies))
