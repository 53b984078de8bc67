"""Network formation: coordinators, commitment, roles, group agreement, committee, policy."""

from __future__ import annotations

from datetime import date

from models.network import Network, is_valid_email
from models.policy import Policy
from models.results import Check, check


def check_formation(network: Network, as_of: date, policy: Policy) -> list[Check]:
    checks: list[Check] = []
    companies = network.active_companies(as_of)
    for c in companies:
        coordinator = c.coordinator
        if coordinator is None:
            problems = ["no environmental coordinator named"]
        elif not is_valid_email(coordinator.email):
            problems = [f"coordinator {coordinator.name} has no valid email"]
        else:
            problems = []
        checks.append(check("coordinator", c.id, problems,
                            f"{coordinator.name} <{coordinator.email}>" if coordinator else ""))

        commitment = c.commitment
        checks.append(check(
            "commitment", c.id,
            [] if commitment and commitment.signed_on <= as_of else ["top management has not signed"],
            f"signed by {commitment.signed_by} on {commitment.signed_on}" if commitment else ""))

        manager = c.environmental_manager
        missing = []
        if manager is None or manager.appointed_on > as_of:
            missing.append("no environmental manager appointed")
        if c.roles_defined_on is None or c.roles_defined_on > as_of:
            missing.append("roles and responsibilities not defined")
        checks.append(check("environmental-manager", c.id, missing,
                            f"{manager.name}, appointed {manager.appointed_on}" if manager else ""))

        agreement = c.group_agreement
        if agreement is None or agreement.signed_on > as_of:
            problems = ["no signed group agreement with the central function"]
        elif not agreement.authority_for_corrective_action:
            problems = ["the group agreement gives the central function no authority "
                        "to require corrective action"]
        else:
            problems = []
        checks.append(check("group-agreement", c.id, problems,
                            f"signed {agreement.signed_on}" if agreement else ""))

    coordinators = network.coordinators()
    active = {c.id for c in companies}
    seats = {coordinators[m][0].id for m in network.steering_committee
             if m in coordinators and coordinators[m][0].id in active}
    required = min(policy.steering_committee_size, len(companies))
    checks.append(check(
        "steering-committee", None,
        [f"{len(seats)} coordinator(s) from distinct member companies on the committee, "
         f"{required} required"] if len(seats) < required else [],
        f"{len(seats)} coordinators from distinct companies"))

    central = network.central_coordinator
    ok = central is not None and central.coordinator in coordinators and central.selected_on <= as_of
    checks.append(check(
        "central-coordinator", None, [] if ok else ["no central coordinator selected"],
        f"{coordinators[central.coordinator][1].name}, selected {central.selected_on}"
        if ok and central else ""))

    p = network.policy
    missing = []
    if p is None or p.adopted_on > as_of:
        missing.append("joint environmental policy not adopted")
    else:
        if p.communicated_on is None or p.communicated_on > as_of:
            missing.append("policy not communicated to employees")
        if not p.public:
            missing.append("policy not available to the public")
    checks.append(check("policy", None, missing, f"adopted {p.adopted_on}, public" if p else ""))
    return checks
