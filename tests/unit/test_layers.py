"""The layers stay apart: the entry points reach the store only through the service layer, SQL lives
in the repositories and the unit of work, and nothing below the command line imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hackefors import PROJECT_ROOT

SQL_OWNERS = {"tasks/store.py", "tasks/db.py", "services/unit_of_work.py", "models/tables.py"}


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


@pytest.mark.parametrize("path", python_files("hackefors", "models", "services", "tasks", "flows",
                                              "deployments", "portal"), ids=relative)
def test_only_the_repositories_and_the_unit_of_work_import_sqlalchemy(path: Path) -> None:
    if relative(path) not in SQL_OWNERS:
        assert "sqlalchemy" not in imported(path)


@pytest.mark.parametrize("path", python_files("hackefors", "flows", "deployments", "portal"), ids=relative)
def test_the_entry_points_open_no_transaction_and_touch_no_repository(path: Path) -> None:
    names = imported(path)
    assert not names & {"tasks.store", "tasks.db", "models.tables"}, sorted(names)
    assert "transaction(" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", python_files("models", "services", "tasks"), ids=relative)
def test_nothing_below_the_command_line_imports_it(path: Path) -> None:
    assert not imported(path) & {"hackefors", "portal"}


@pytest.mark.parametrize("path", python_files("models", "services"), ids=relative)
def test_the_domain_and_the_services_know_nothing_of_prefect(path: Path) -> None:
    assert "prefect" not in imported(path)
