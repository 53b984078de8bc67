"""The README and docs/ stay true: every command the README lists exists with the options it shows,
and every command that exists is listed (in the manner of sqlite-utils' documentation tests); the
README stays a front door; every link between the pages leads somewhere; docs/configuration.md is
the settings class."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

from adapters.settings import Settings
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


DOCS = PROJECT_ROOT / "docs"
PAGES = [PROJECT_ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def test_the_readme_is_a_front_door() -> None:
    """At most 400 lines: what it is, the two commands, the layout, the commands, how to test; the
    reference is in docs/, whose pages the README's Reference table names."""
    assert len(README.splitlines()) <= 400
    for page in ("operating", "portal", "certificates-and-keys", "reminders", "configuration", "performance",
                 "testing"):
        assert f"](docs/{page}.md)" in README, f"the README does not link docs/{page}.md"


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(PROJECT_ROOT).as_posix())
def test_every_link_between_the_pages_leads_somewhere(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not ours to check here
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or anchor and linked.suffix == ".md" \
                and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(target)
    assert not broken, f"{page.name}: links that lead nowhere: {broken}"


CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
# Variables the table documents that are no fields of Settings: the command line's own, Prefect's.
NOT_SETTINGS = {"HACKEFORS_DEBUG", "PREFECT_API_URL", "PREFECT_HOME"}


def configuration_rows() -> dict[str, tuple[str, str]]:
    """docs/configuration.md's table: variable -> (default, meaning); a row may name several."""
    rows = {}
    for names, default, meaning in re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \| (.*?) \| (.*) \|$",
                                              CONFIGURATION, flags=re.MULTILINE):
        for name in re.findall(r"`([A-Z_]+)`", names):
            rows[name] = (default, meaning)
    return rows


def shown_default(default: object) -> str:
    """How the table writes a field's default (None: a cell that starts with "unset")."""
    from enum import Enum

    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, int | float):
        return f"{default:g}"
    if isinstance(default, Path):
        return f"`{default.name}/`"
    if isinstance(default, Enum):
        return f"`{default.value}`"
    return f"`{default}`"


def test_every_setting_has_its_row_in_the_configuration_and_no_row_is_stale() -> None:
    settings = {f"HACKEFORS_{name.upper()}" for name in Settings.model_fields}
    documented = set(configuration_rows())
    assert sorted(settings - documented) == [], "settings without a row in docs/configuration.md"
    assert sorted(documented - settings - NOT_SETTINGS) == [], "rows of docs/configuration.md of no setting"
    code = "".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "hackefors").rglob("*.py"))
    assert all(f'"{name}"' in code for name in NOT_SETTINGS if name.startswith("HACKEFORS_"))


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_each_settings_row_gives_its_fields_default_and_description(name: str) -> None:
    """The meaning is the field's description, word for word: change one, change the other."""
    field = Settings.model_fields[name]
    default, meaning = configuration_rows()[f"HACKEFORS_{name.upper()}"]
    expected = shown_default(field.default)
    assert default == expected or field.default is None and default.startswith(expected), (default, expected)
    assert field.description == meaning, f"the description of `{name}` and its row differ"
