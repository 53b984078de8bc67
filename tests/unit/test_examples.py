"""The bundled examples are what their generator makes, and each is a valid network."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.generate import main as generate
from hackefors import EXAMPLES_DIR
from tasks.networkfile import read_network
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
