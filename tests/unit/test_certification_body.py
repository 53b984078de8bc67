"""The certificate in the certification body's name: the network file's new fields, their checks,
and what the certificate's draft says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from models.certification import CertificateDraft, draft_certificate
from models.network import Network
from models.policy import DEFAULT_POLICY
from models.validation import check_network

SMALL_AS_OF = date(2025, 3, 3)


def test_the_certificate_names_the_body_with_its_accreditation_and_the_operator_as_coordinator(
        small: Callable[..., Network]) -> None:
    draft = draft_certificate(small(), SMALL_AS_OF, DEFAULT_POLICY)
    body = draft.certification_body
    assert (body.name, body.accreditation_body, body.accreditation_number) == (
        "Nordisk Certifiering AB", "Swedac", "1567")
    assert body.accreditation == "accredited by Swedac, no. 1567" and body.address
    assert draft.operator == "Altea AB"
    assert (draft.cycle_began, draft.valid_until) == (SMALL_AS_OF, date(2028, 3, 2))


def test_the_appendix_has_organisation_numbers_addresses_and_the_central_function(
        small: Callable[..., Network]) -> None:
    draft = draft_certificate(small(), SMALL_AS_OF, DEFAULT_POLICY)
    assert [(c.id, c.central_function) for c in draft.companies] == [
        ("NSM", True), ("SKT", False), ("VTR", False)]  # NSM's coordinator is the central coordinator
    assert all(c.organisation_number and c.site_address for c in draft.companies)
    assert draft.companies[0].organisation_number == "556490-8548"


def test_without_a_recorded_body_the_certificate_names_the_audits_body_without_accreditation(
        small: Callable[..., Network]) -> None:
    network = small(lambda d: d.pop("certification_body"))
    body = draft_certificate(network, SMALL_AS_OF, DEFAULT_POLICY).certification_body
    assert body.name == "Nordisk Certifiering AB" and body.accreditation is None


def test_a_certificate_signed_before_these_fields_still_reads() -> None:
    old = {"number": "HKF-X-1999-01", "network_id": "x", "network_name": "X", "operator": "Altea AB",
           "cycle": "EXT-S2", "issued_on": "1999-02-15", "valid_until": "2002-02-14", "scope": "s",
           "companies": [["A", "A AB"]], "certification_body": "Nordisk Certifiering AB"}
    draft = CertificateDraft.model_validate(old)
    assert draft.companies[0].id == "A" and draft.certification_body.name == "Nordisk Certifiering AB"
    assert draft.cycle_began == date(1999, 2, 15)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["companies"][0].update(organisation_number="556490-8549"), "check digit does not match"),
    (lambda d: d["companies"][0].update(organisation_number="55 <x>"), "String should match pattern"),
    (lambda d: d["companies"][0].update(site_address="Gata 1\nEvil"), "single line"),
    (lambda d: d["certification_body"].pop("accreditation_number"), "Field required"),
    (lambda d: d["certification_body"].update(name=""), "at least 1 character"),
])
def test_bad_certification_fields_are_refused(small: Callable[..., Network], mutate: Callable[[Any], Any],
                                              message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        small(mutate)


def test_references_are_checked(small: Callable[..., Network]) -> None:
    def twice_and_elsewhere(d: dict[str, Any]) -> None:
        d["companies"][1]["organisation_number"] = d["companies"][0]["organisation_number"]
        d["external_audits"][1]["certification_body"] = "Another Body AB"

    problems = {p.path: p.message for p in check_network(small(twice_and_elsewhere))}
    assert "is also company 'NSM'" in problems["companies[1].organisation_number"]
    assert "is not the network's certification body" in problems["external_audits[1].certification_body"]
