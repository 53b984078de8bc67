"""The layers stay apart and every import points down: entry points (`hackefors/`, `portal/`,
`deployments/`) -> `flows/` -> `tasks/` -> `services/` -> `adapters/` -> `models/`. SQL lives in the
repositories, the engine, the unit of work and the tables; `tasks/` holds Prefect tasks only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hackefors import PROJECT_ROOT

SQL_OWNERS = {"adapters/db.py", "services/unit_of_work.py", "models/tables.py"}
SQL_FOLDERS = ("adapters/repositories/",)
ENTRY_POINTS = {"hackefors", "portal", "deployments"}
# What each layer may not import: everything above it.
ABOVE = {
    "models": {"adapters", "services", "tasks", "flows", *ENTRY_POINTS},
    "adapters": {"services", "tasks", "flows", *ENTRY_POINTS},
    "services": {"tasks", "flows", *ENTRY_POINTS},
    "tasks": {"flows", *ENTRY_POINTS},
    "flows": ENTRY_POINTS,
}


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (PROJECT_ROOT / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """The top-level packages and the full module names a file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        else:
            continue
        for module in modules:
            names |= {module, module.split(".")[0]}
    return names


def relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


@pytest.mark.parametrize("path", python_files("hackefors", "models", "adapters", "services", "tasks",
                                              "flows", "deployments", "portal"), ids=relative)
def test_only_the_repositories_and_the_unit_of_work_import_sqlalchemy(path: Path) -> None:
    if relative(path) not in SQL_OWNERS and not relative(path).startswith(SQL_FOLDERS):
        assert "sqlalchemy" not in imported(path)


@pytest.mark.parametrize("path", python_files("hackefors", "flows", "deployments", "portal"), ids=relative)
def test_the_entry_points_open_no_transaction_and_touch_no_repository(path: Path) -> None:
    names = imported(path)
    assert not {n for n in names if n.startswith("adapters.repositories")}, sorted(names)
    assert not names & {"adapters.db", "models.tables"}, sorted(names)
    assert "transaction(" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("layer", sorted(ABOVE))
def test_every_import_points_down(layer: str) -> None:
    upward = {relative(path): sorted(imported(path) & ABOVE[layer]) for path in python_files(layer)}
    assert not {path: names for path, names in upward.items() if names}


@pytest.mark.parametrize("path", python_files("models", "adapters", "services"), ids=relative)
def test_the_domain_the_adapters_and_the_services_know_nothing_of_prefect(path: Path) -> None:
    assert "prefect" not in imported(path)


@pytest.mark.parametrize("path", [p for p in python_files("tasks") if p.name != "__init__.py"], ids=relative)
def test_every_module_in_tasks_is_prefect_side(path: Path) -> None:
    """`tasks/` holds Prefect tasks and what they need of Prefect (events, runs, retries), no adapter."""
    source = path.read_text(encoding="utf-8")
    assert "prefect" in imported(path) or "retry_condition_fn" in source, relative(path)


@pytest.mark.parametrize("path", python_files("models", "services", "tasks"), ids=relative)
def test_nothing_below_the_command_line_imports_it(path: Path) -> None:
    assert not imported(path) & {"hackefors", "portal"}


