"""Names, addresses and subjects reach email headers safely: control characters and Unicode line
separators are refused at validation (with file and line) and at composition, every other name
round-trips through the `To:` header, and a message that cannot be built fails alone."""

from __future__ import annotations

import json
import sys
from datetime import date
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.mail import Envelope, HeaderInjection, Letterhead, compose_digest, compose_reminder, wire_bytes
from adapters.networkfile import NetworkFileError, read_network
from models.network import Coordinator
from services import networks, reminders
from tests.conftest import SMALL_AS_OF, build, example_data
from tests.fakes import FakeUnitOfWork

AS_OF = date(2025, 12, 20)
# Every control character (Unicode category Cc: C0, DEL, C1) and the line and paragraph separators.
FORBIDDEN = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))] + ["\u2028", "\u2029"]
ALLOWED = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029")
# Text around the character: anything allowed, with the characters that quoting must protect.
AROUND = st.text(alphabet=st.one_of(ALLOWED, st.sampled_from(',<>:;"\\@()[]=?åÖ ')), max_size=20)
EXAMPLES = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def envelope(name: str, email: str, network: str = "Nätverket", lang: str = "sv") -> Envelope:
    return Envelope(network_id="n", network=network, operator="Altea", recipient_name=name,
                    recipient_email=email, lang=lang, letterhead=Letterhead(mail_from="altea@x.example.se"))


def reminder_to(name: str, email: str = "asa.lindqvist@kmv.example.se") -> EmailMessage:
    return compose_reminder(envelope(name, email), "kmv", "KMV AB", [], AS_OF)


def read_to(message: EmailMessage) -> tuple[str, str]:
    """The one (name, address) of the `To:` header as queued, read as RFC 2047 says: the address
    split off first, then the name decoded, ignoring the space between adjacent encoded words
    (the email package's own parser keeps it)."""
    raw = message_from_bytes(wire_bytes(message), policy=policy.compat32)["To"]
    [(name, address)] = getaddresses([raw])
    return str(make_header(decode_header(name))), address


def parsed(message: EmailMessage) -> EmailMessage:
    """The message as a mail client reads it: its bytes, parsed again."""
    return message_from_bytes(wire_bytes(message), policy=policy.default)  # type: ignore[return-value]


def test_every_forbidden_character_is_a_control_character_or_a_separator() -> None:
    assert len(FORBIDDEN) == 67 and {"\v", "\x1c", "\x85", "\u2028"} <= set(FORBIDDEN)
    assert all(("x" + ch + "y").splitlines() != ["x" + ch + "y"] or ch not in "\n\r\v\f\x1c\x1d\x1e\x85"
               for ch in FORBIDDEN)
    breaking = {ch for ch in map(chr, range(sys.maxunicode + 1)) if len(f"a{ch}b".splitlines()) > 1}
    assert breaking <= set(FORBIDDEN)  # whatever Python counts as a line break is refused


@pytest.mark.parametrize("bad", FORBIDDEN, ids=lambda ch: f"U+{ord(ch):04X}")
@EXAMPLES
@given(before=AROUND, after=AROUND)
def test_a_name_with_a_control_character_is_refused_by_validation_and_composition(
        bad: str, before: str, after: str) -> None:
    name = f"Åsa{before}{bad}{after}Lindqvist"
    with pytest.raises(ValidationError, match="single line of text without control characters"):
        Coordinator(id="c1", name=name, email="asa@kmv.example.se")
    with pytest.raises(HeaderInjection, match="recipient name"):
        reminder_to(name)
    with pytest.raises(HeaderInjection, match="subject"):  # a network's name goes into the digest's
        compose_digest(envelope("Åsa", "asa@kmv.example.se", f"Nät{bad}", "en"), [], [], 14, AS_OF)


@pytest.mark.parametrize("bad", FORBIDDEN, ids=lambda ch: f"U+{ord(ch):04X}")
def test_a_network_file_with_a_control_character_in_a_name_names_the_file_and_line(
        bad: str, tmp_path: Path) -> None:
    data = example_data("small")
    data["companies"][1]["coordinator"]["name"] = "Hugo Zander"
    path = tmp_path / "network.yaml"
    # Written as an escape in a double-quoted scalar: YAML itself folds a raw \x85 into a space.
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).replace(
        "Hugo Zander", json.dumps(f"Hugo{bad}Zander"))
    path.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "Hugo" in row)
    with pytest.raises(NetworkFileError) as refused:
        read_network(path, SMALL_AS_OF)
    [problem] = refused.value.problems
    assert str(problem).startswith(f"{path}:{line}: structure: companies[1].coordinator.name: ")
    assert f"U+{ord(bad):04X}" in str(problem)


@pytest.mark.parametrize("name", ["Lindqvist, Åsa", "Örjan <ceo@evil.example>", "Drift: Åsa",
                                  'Anna "Ankan" Berg', "Zoë (kvalitet), Ö: <x>", "Why =? not", "a?=b=?c"])
def test_names_with_commas_angle_brackets_colons_and_non_ascii_letters_round_trip(name: str) -> None:
    [address] = parsed(reminder_to(name))["To"].addresses
    assert (address.display_name, address.addr_spec) == (name, "asa.lindqvist@kmv.example.se")
    assert read_to(reminder_to(name)) == (name, "asa.lindqvist@kmv.example.se")


@settings(max_examples=200, deadline=None)
@given(name=st.text(alphabet=st.one_of(ALLOWED, st.sampled_from(',<>:;"\\@()[]=? ')), min_size=1,
                    max_size=60))
def test_every_name_validation_accepts_round_trips_through_the_to_header(name: str) -> None:
    try:
        valid = Coordinator(id="c1", name=name, email="asa@kmv.example.se").name
    except ValidationError:
        return  # blank once stripped
    # Runs of whitespace, no-break spaces included, come out as one space (as mail programs show them).
    expected = (" ".join(valid.split()), "asa@kmv.example.se")
    assert read_to(reminder_to(valid, "asa@kmv.example.se")) == expected


def test_a_name_that_reads_as_an_encoded_word_is_refused() -> None:
    # The email package writes it as it is, and mail programs would show "Anna from IT".
    with pytest.raises(ValidationError, match="encoded word"):
        Coordinator(id="c1", name="=?utf-8?q?Anna_from_IT?=", email="asa@kmv.example.se")
    with pytest.raises(HeaderInjection, match="encoded word"):
        reminder_to("=?utf-8?q?Anna_from_IT?=")


def test_a_message_that_cannot_be_built_fails_alone_naming_the_company_and_the_field() -> None:
    # A name stored before validation refused it (the fake store hands it back unvalidated).
    network = build(example_data("small"))
    company = network.companies[1]
    assert company.coordinator is not None
    bad = company.coordinator.model_copy(update={"name": "Håkan\vSandberg"})
    companies = list(network.companies)
    companies[1] = company.model_copy(update={"coordinator": bad})
    uow = FakeUnitOfWork()
    networks.import_network(uow, network, actor="test")
    uow.networks.stored[network.id] = network.model_copy(update={"companies": tuple(companies)})
    result = reminders.plan_reminders(uow, network.id, AS_OF, queue=True,
                                      letterhead=Letterhead(mail_from="x@y.se"))
    assert len(result.unbuildable) == 1
    assert result.unbuildable[0].startswith(f"ostgota-small: {company.name}, the reminder to coordinator "
                                            f"{bad.id}: the recipient name 'Håkan\\x0bSandberg' contains")
    assert "U+000B" in result.unbuildable[0]
    assert result.messages and all("Håkan" not in m.recipient for m in result.messages)
    assert all(e["recipient_id"] != bad.id for e in uow.outbox.log)  # reminded again once it is fixed
