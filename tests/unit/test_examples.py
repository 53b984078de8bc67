"""The bundled examples are what their generator makes, and each is a valid network."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.networkfile import read_network
from examples.generate import main as generate
from hackefors import EXAMPLES_DIR
from tests.conftest import EXAMPLES


def test_committed_examples_match_their_generator(tmp_path: Path) -> None:
    generate(tmp_path)
    for name in EXAMPLES:
        assert (tmp_path / f"{name}.yaml").read_text() == (EXAMPLES_DIR / f"{name}.yaml").read_text(), (
            f"examples/{name}.yaml is stale: run `python examples/generate.py`")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_validates_as_of_its_certification_date(name: str) -> None:
    network = read_network(EXAMPLES_DIR / f"{name}.yaml", as_of=EXAMPLES[name])
    assert network.companies


def test_the_hackefors_example_has_the_factsheets_shape() -> None:
    network = read_network(EXAMPLES_DIR / "hackefors.yaml")
    sectors = {c.sector.value for c in network.companies}
    assert len(network.companies) == 26
    assert {"manufacturing", "transport", "construction", "graphic"} <= sectors
    assert len(network.steering_committee) == 7
    assert network.founded_on is not None and network.founded_on.year == 1995


def test_the_readmes_table_of_examples_is_true() -> None:
    """Each row of the README's table: the network, its size and language, the day it is meant for
    and what `validate --as-of` finds on that day."""
    import re

    from adapters.networkfile import GATE, examine_file
    from tests.unit.test_consistency import README

    rows = re.findall(r"^\| `(\w+)\.yaml` \| `([\w-]+)`[^|]* \| (\d+) \| (en|sv) \| ([\d-]+) \| ([^|]+) \|$",
                      README, flags=re.MULTILINE)
    assert sorted(r[0] for r in rows) == sorted(EXAMPLES)
    for name, network_id, companies, language, day, outcome in rows:
        assert EXAMPLES[name].isoformat() == day
        found = examine_file(EXAMPLES_DIR / f"{name}.yaml", EXAMPLES[name], preview_gates_on=EXAMPLES[name])
        assert found.network is not None and found.network.id == network_id
        assert (len(found.network.companies), found.network.language) == (int(companies), language)
        blockers = len(found.of_kind(GATE))
        assert (f"prints {blockers} gate blockers and exits 3" in outcome) if blockers else \
            ("`validate --as-of` exit 0" in outcome and "certifies it, exit 0" in outcome), name
