"""Sample selection, the audit programme and the certificate's 3-year cycle."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from models.certification import (
    CertificateEvent,
    CertificateStatus,
    check_external_audit,
    draft_certificate,
    status_as_of,
)
from models.gates import policy_for
from models.network import Certificate, ExternalAuditKind
from models.policy import DEFAULT_POLICY
from models.programme import audit_programme, site_risks, spread_checks, surveillance_consequence
from models.sampling import plan_sample
from tests.conftest import HACKEFORS_AS_OF, SMALL_AS_OF, build, example_data

S = CertificateStatus
K = ExternalAuditKind


def hackefors(mutate: Any = None):  # type: ignore[no-untyped-def]
    data = example_data("hackefors")
    if mutate:
        mutate(data)
    return build(data)


def sample(network, seed: int = 42, kind: K = K.SURVEILLANCE, visited: frozenset[str] = frozenset(),
           **overrides: Any):  # type: ignore[no-untyped-def]
    policy = DEFAULT_POLICY.with_overrides(overrides)
    members = list(network.active_companies(HACKEFORS_AS_OF))
    return plan_sample(kind, members, site_risks(network, HACKEFORS_AS_OF, policy, set(visited)),
                       policy, seed)


def test_the_draw_is_reproducible_from_its_seed_and_a_quarter_is_random() -> None:
    network = hackefors()
    first, again, other = sample(network, 7), sample(network, 7), sample(network, 8)
    assert first == again
    assert first.companies != other.companies
    assert first.seed == 7
    random_sites = [s for s in first.sites if s.how == "random"]
    assert len(random_sites) >= 0.25 * first.size
    assert len(set(first.companies)) == first.size


def test_without_coverage_the_sample_is_the_md1_minimum() -> None:
    plan = sample(hackefors(), cover_all_sites_in_cycle=False)
    assert plan.minimum == plan.size == 4  # ceil(0.6 * sqrt(26))


def test_risk_chooses_the_company_with_an_open_major_and_raises_the_sample() -> None:
    def open_major(data: dict[str, Any]) -> None:
        audit = data["companies"][5]["internal_audits"][0]  # TVL
        audit["findings"].append({"id": "TVL-X", "grade": "major", "clause": "8.1", "description": "x"})
    plan = sample(hackefors(open_major), cover_all_sites_in_cycle=False, random_sample_share=0.25)
    assert plan.size == 5 and "risk policy: 1 high-risk site(s): +1" in plan.raised_because[0]
    risky = [s for s in plan.sites if s.how == "risk"]
    assert risky[0].company == "TVL" and "1 open major(s)" in risky[0].reasons


def test_a_network_without_group_agreements_is_not_sampled() -> None:
    plan = sample(hackefors(lambda d: d["companies"][1].pop("group_agreement")))
    assert not plan.eligible and plan.ineligible == ("OAK",)
    assert plan.size == 26 and len(plan.companies) == 26


def test_every_one_of_26_companies_is_visited_within_the_cycle() -> None:
    network = hackefors()
    for certificate in (None, Certificate(number="C", issued_on=HACKEFORS_AS_OF, scope="s",
                                          valid_until=date(2002, 2, 14), companies=(), cycle="EXT-S2")):
        programme = audit_programme(network, HACKEFORS_AS_OF, policy_for(network), certificate)
        assert programme.unvisited == []
        kinds = [a.kind for a in programme.audits]
        assert kinds[-3:] == [K.SURVEILLANCE, K.SURVEILLANCE, K.RECERTIFICATION]
        dues = [a.due_by for a in programme.audits if a.kind != K.STAGE2]
        assert dues == sorted(dues)  # both surveillances precede recertification
        assert dues[0] <= date(2000, 2, 15)  # the first within 12 months of the decision
        assert dues[-1] < date(2002, 2, 14)  # recertification before expiry


def decided(network, on: date):  # type: ignore[no-untyped-def]
    """`network` with the certificate the decision on `on` would issue."""
    draft = draft_certificate(network, on, policy_for(network))
    certificate = Certificate(number="HKF-X-01", issued_on=draft.issued_on, valid_until=draft.valid_until,
                              scope=draft.scope, companies=tuple(c.id for c in draft.companies),
                              cycle=draft.cycle)
    return network.model_copy(update={"certificates": (certificate,)}), certificate


def plan_lines(programme):  # type: ignore[no-untyped-def]
    return [(a.kind, a.due_by, a.status, a.visited, a.sample.minimum, a.sample.size, a.sample.raised_because)
            for a in programme.audits]


def test_the_plan_before_and_after_the_decision_agree() -> None:
    network = hackefors()
    policy = policy_for(network)
    before = audit_programme(network, HACKEFORS_AS_OF, policy, None)
    certified, certificate = decided(network, HACKEFORS_AS_OF)
    after = audit_programme(certified, HACKEFORS_AS_OF, policy, certificate)
    assert plan_lines(after) == plan_lines(before)
    assert after.cycle_start == before.cycle_start == date(1999, 1, 20)  # the stage 2 audit
    assert len(after.audits[0].visited) == 6 and [a.sample.size for a in after.audits[1:]] == [10, 10, 5]


def test_stage2_visits_count_towards_the_cycle_after_the_decision_too() -> None:
    certified, certificate = decided(hackefors(), HACKEFORS_AS_OF)
    later = audit_programme(certified, date(1999, 11, 1), policy_for(certified), certificate)
    stage2, first, second, recertification = later.audits
    assert (stage2.kind, stage2.status, len(stage2.visited)) == (K.STAGE2, "done", 6)
    assert [first.sample.size, second.sample.size] == [10, 10]  # 20 left after stage 2, not 26
    assert not set(stage2.visited) & {s.company for s in first.sample.sites if s.how == "risk"
                                      and "not yet visited in this cycle" in s.reasons}
    assert later.unvisited == []


def test_the_md1_minimum_and_the_planned_sample_are_shown_apart_with_reasons() -> None:
    programme = audit_programme(hackefors(), HACKEFORS_AS_OF, policy_for(hackefors()), None)
    first = programme.audits[1].sample
    assert (first.minimum, first.size) == (4, 10)
    assert first.minimum_reason == "ceil(0.6 × √26) = 4 for a surveillance audit of 26 member companies"
    assert first.raised_because == ("coverage policy: 20 companies not yet visited in this cycle and 2 "
                                    "audit(s) left, so "
                                    "10 per audit",)
    recertification = programme.audits[-1].sample
    assert (recertification.minimum, recertification.size, recertification.raised_because) == (5, 5, ())


def test_a_stage2_major_not_verified_within_six_months_forces_a_new_stage2() -> None:
    def unverified_major(data: dict[str, Any]) -> None:
        stage2 = data["external_audits"][1]
        stage2["findings"].append({"id": "M1", "grade": "major", "clause": "9.1.2", "description": "x",
                                   "actions": [{"id": "M1-A", "description": "fix", "owner": "o",
                                                "due": "1999-02-01"}]})
    network = hackefors(unverified_major)
    soon = {c.requirement: c for c in check_external_audit(network, HACKEFORS_AS_OF, DEFAULT_POLICY)}
    assert soon["audit-stages"].passed and not soon["external-majors"].passed
    late = {c.requirement: c for c in check_external_audit(network, date(1999, 8, 1), DEFAULT_POLICY)}
    assert "stage 2 EXT-S2 must be repeated: major(s) M1 not verified within 6 months" in \
        late["audit-stages"].detail


def test_a_finding_at_one_company_is_checked_at_the_others() -> None:
    data = example_data("small")
    data["companies"][1]["internal_audits"].append(
        {"id": "SKT-IA9", "date": "2025-02-20", "auditor": "Altea", "findings": [
            {"id": "SKT-F9", "grade": "minor", "clause": "9.1.2", "description": "same issue"}]})
    checks = spread_checks(build(data), SMALL_AS_OF)
    assert len(checks) == 1
    raised_at = checks[0].raised_at
    others = {"NSM", "SKT", "VTR"} - {raised_at}
    assert set(checks[0].checked) | set(checks[0].pending) == others
    if "SKT" in others:
        assert checks[0].also_found == ("SKT",)


CERT = Certificate(number="C-1", issued_on=date(2025, 3, 3), valid_until=date(2028, 3, 2), scope="s",
                   companies=("A",), cycle="X")


def test_status_follows_events_and_expiry() -> None:
    events = [CertificateEvent(number="C-1", on=date(2026, 4, 1), status=S.SUSPENDED, reason="r"),
              CertificateEvent(number="C-1", on=date(2026, 6, 1), status=S.VALID, reason="r")]
    assert status_as_of(CERT, events, date(2026, 3, 1)) == S.VALID
    assert status_as_of(CERT, events, date(2026, 5, 1)) == S.SUSPENDED
    assert status_as_of(CERT, events, date(2027, 1, 1)) == S.VALID
    assert status_as_of(CERT, events, date(2028, 3, 3)) == S.EXPIRED


def test_a_failed_surveillance_suspends_a_pass_reinstates_six_months_withdraws() -> None:
    day = date(2026, 4, 1)
    suspend = surveillance_consequence(S.VALID, None, False, ["missed"], day, DEFAULT_POLICY)
    assert suspend is not None and suspend.status == S.SUSPENDED and "missed" in suspend.reason
    assert surveillance_consequence(S.VALID, None, True, [], day, DEFAULT_POLICY) is None
    reinstate = surveillance_consequence(S.SUSPENDED, day, True, [], day + timedelta(days=30),
                                         DEFAULT_POLICY)
    assert reinstate is not None and reinstate.status == S.VALID
    assert surveillance_consequence(S.SUSPENDED, day, False, ["x"], date(2026, 9, 30), DEFAULT_POLICY) is None
    withdraw = surveillance_consequence(S.SUSPENDED, day, False, ["x"], date(2026, 10, 1), DEFAULT_POLICY)
    assert withdraw is not None and withdraw.status == S.WITHDRAWN
