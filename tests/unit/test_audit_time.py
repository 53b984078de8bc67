"""IAF MD 5 audit time: the table, the shares per audit, the reduction limits."""

from __future__ import annotations

import pytest

from models.audit_time import MD5_INITIAL_DAYS, audit_time, initial_audit_days
from models.network import Company, Complexity, ExternalAuditKind
from models.policy import DEFAULT_POLICY

H, M, L = Complexity.HIGH, Complexity.MEDIUM, Complexity.LOW

# (personnel, high, medium, low): both ends of every band of the domain brief's table.
TABLE = [
    (1, 3, 2.5, 2.5), (5, 3, 2.5, 2.5), (6, 3.5, 3, 3), (10, 3.5, 3, 3), (11, 4.5, 3.5, 3),
    (15, 4.5, 3.5, 3), (16, 5.5, 4.5, 3.5), (25, 5.5, 4.5, 3.5), (26, 7, 5.5, 4), (45, 7, 5.5, 4),
    (46, 8, 6, 4.5), (65, 8, 6, 4.5), (66, 9, 7, 5), (85, 9, 7, 5), (86, 11, 8, 5.5),
    (125, 11, 8, 5.5), (126, 12, 9, 6), (175, 12, 9, 6), (176, 13, 10, 7), (275, 13, 10, 7),
]


@pytest.mark.parametrize("personnel,high,medium,low", TABLE)
def test_the_md5_table(personnel: int, high: float, medium: float, low: float) -> None:
    assert initial_audit_days(personnel, H) == high
    assert initial_audit_days(personnel, M) == medium
    assert initial_audit_days(personnel, L) == low
    assert initial_audit_days(personnel, Complexity.LIMITED) == low


def test_the_table_has_ten_bands() -> None:
    assert [row[0] for row in MD5_INITIAL_DAYS] == [5, 10, 15, 25, 45, 65, 85, 125, 175, 275]


def test_personnel_beyond_the_table_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="beyond the table"):
        initial_audit_days(276, M)
    with pytest.raises(ValueError, match="at least 1"):
        initial_audit_days(0, M)


def company(cid: str, personnel: int, complexity: Complexity) -> Company:
    return Company(id=cid, name=cid, sector="manufacturing", personnel=personnel, complexity=complexity,
                   joined_on="1997-01-01")


def test_surveillance_is_a_third_and_recertification_two_thirds_of_the_initial_time() -> None:
    sites = [company("A", 30, M), company("B", 8, H)]  # 5.5 + 3.5 = 9 initial days
    initial = audit_time(sites, ExternalAuditKind.STAGE2, DEFAULT_POLICY)
    assert [c.days for c in initial.companies] == [5.5, 3.5] and initial.total_days == 9
    surveillance = audit_time(sites, ExternalAuditKind.SURVEILLANCE, DEFAULT_POLICY)
    assert [c.days for c in surveillance.companies] == [2.0, 1.5]  # 1.83 and 1.17, up to half days
    recertification = audit_time(sites, ExternalAuditKind.RECERTIFICATION, DEFAULT_POLICY)
    assert [c.days for c in recertification.companies] == [4.0, 2.5]
    assert initial.on_site_days >= 0.8 * initial.total_days


def test_reductions_are_capped_at_30_percent_overall_and_50_percent_per_site() -> None:
    sites = [company("A", 30, M), company("B", 8, H)]
    reduced = audit_time(sites, ExternalAuditKind.STAGE2,
                         DEFAULT_POLICY.with_overrides({"audit_time_reduction": 0.3,
                                                        "sampled_site_reduction": 0.5}))
    assert [c.days for c in reduced.companies] == [3.0, 2.0]  # 2.75 and 1.75, up to half days
    assert reduced.total_days == 3.5  # 5 * 0.7
    with pytest.raises(ValueError):
        DEFAULT_POLICY.with_overrides({"audit_time_reduction": 0.31})
    with pytest.raises(ValueError):
        DEFAULT_POLICY.with_overrides({"sampled_site_reduction": 0.51})
