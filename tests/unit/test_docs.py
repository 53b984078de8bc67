"""The README stays true: every command it lists exists with the options it shows, and every command
that exists is listed (in the manner of sqlite-utils' documentation tests)."""

from __future__ import annotations

import re

import click
import pytest
import typer.main
from typer.testing import CliRunner

from hackefors import PROJECT_ROOT
from hackefors.cli import app

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
ROOT = typer.main.get_command(app)


def commands() -> dict[str, click.Command]:
    """Every command by its full name, `certificate verify` included."""
    found: dict[str, click.Command] = {}
    for name, command in ROOT.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        if subs:
            found.update({f"{name} {sub}": c for sub, c in subs.items()})
        else:
            found[name] = command
    return found


def readme_rows() -> dict[str, str]:
    """The README's command table: `hackefors NAME ...` usage -> the row's first cell."""
    rows = {}
    for usage in re.findall(r"^\| `(hackefors [^`]+)` \|", README, flags=re.MULTILINE):
        words = usage.split()[1:]
        two = " ".join(words[:2])
        name = two if two in commands() else words[0]
        rows[name] = usage
    return rows


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_has_a_readme_row_and_its_help_works(name: str) -> None:
    assert name in readme_rows(), f"`hackefors {name}` has no row in the README's command table"
    result = CliRunner().invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert commands()[name].help, f"`hackefors {name}` has no help text"


@pytest.mark.parametrize("name", sorted(readme_rows()))
def test_every_readme_row_names_a_command_and_only_options_it_has(name: str) -> None:
    assert name in commands(), f"the README lists `hackefors {name}`, which does not exist"
    options = {opt for p in commands()[name].params  # --no-report of --report/--no-report is secondary
               for opt in (*getattr(p, "opts", []), *getattr(p, "secondary_opts", []))}
    shown = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", readme_rows()[name]))
    assert shown <= options, f"`hackefors {name}`: the README shows {sorted(shown - options)}"


@pytest.mark.parametrize("target", sorted(set(re.findall(r"`make ([a-z-]+)`", README))))
def test_every_make_target_the_readme_names_exists(target: str) -> None:
    assert re.search(rf"^{re.escape(target)}:", MAKEFILE, flags=re.MULTILINE), f"no `make {target}`"
