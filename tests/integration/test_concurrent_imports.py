"""Two imports of different edits of one network at once, in separate processes: the second waits
for the first and applies in full on top of it; the history records the values that really stood."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from adapters.db import reset_engines
from adapters.networkfile import read_network
from adapters.settings import reset_settings
from models.network import Network
from models.tables import HistoryRow
from services.networks import load_network
from services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import SMALL_AS_OF, build, example_data, inspect_store, save, use_store

pytestmark = pytest.mark.slow  # separate processes, and a wait of seconds
HACKEFORS = Path(sys.executable).parent / "hackefors"


@pytest.fixture(params=["postgres", "sqlite"])
def shared(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
           tmp_path: Path) -> Iterator[dict[str, str]]:
    """A store holding the small network; the environment of a process that uses it too."""
    use_store(monkeypatch, tmp_path)
    env = {**os.environ, "HACKEFORS_DATA_DIR": str(tmp_path / "data"),
           "HACKEFORS_OUTPUT_DIR": str(tmp_path / "out")}
    env.pop("HACKEFORS_DATABASE_URL", None)
    if request.param == "postgres":
        engine: Engine = request.getfixturevalue("postgres_engine")
        env["HACKEFORS_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
        monkeypatch.setenv("HACKEFORS_DATABASE_URL", env["HACKEFORS_DATABASE_URL"])
        reset_settings()
        reset_engines()
    save(build(example_data("small")))
    yield env
    reset_engines()
    reset_settings()


def edit(name: str, employee: str) -> dict[str, Any]:
    """The small network with its first company renamed and one employee added."""
    data = example_data("small")
    company = data["companies"][0]
    company["name"] = name
    company["employees"].append({"id": employee, "name": f"Anställd {employee}", "hired_on": "2024-01-08"})
    return data


def written(data: dict[str, Any], folder: Path, stem: str) -> Path:
    path = folder / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def stored() -> Network:
    return load_network(SqlAlchemyUnitOfWork(), "ostgota-small")


def as_file(path: Path) -> Network:
    return read_network(path, SMALL_AS_OF)


def name_changes(company: str) -> list[list[str]]:
    """[old, new] of each change of a company's name, oldest first."""
    with inspect_store() as session:
        rows = session.scalars(select(HistoryRow).where(
            HistoryRow.entity == "companies", HistoryRow.entity_id == company,
            HistoryRow.action == "update").order_by(HistoryRow.id))
        return [r.detail["name"] for r in rows if r.detail and "name" in r.detail]


def test_an_import_waits_for_one_in_progress_and_applies_in_full_on_top_of_it(
        shared: dict[str, str], tmp_path: Path) -> None:
    base = example_data("small")["companies"][0]["name"]
    first = as_file(written(edit("Ett AB", "E-ONE"), tmp_path, "first"))
    second = written(edit("Två AB", "E-TWO"), tmp_path, "second")
    uow = SqlAlchemyUnitOfWork()
    with uow:  # the first import, held open before its commit
        uow.networks.lock(first.id)
        uow.history.add(uow.networks.save(first, "test:first", datetime.now(UTC)).changes)
        process = subprocess.Popen([str(HACKEFORS), "import", str(second)], env=shared,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert process.poll() is None, process.communicate()  # waiting for the first
        uow.commit()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert stored() == as_file(second)  # all of the second file, nothing left of the first
    company = first.companies[0].id
    assert name_changes(company) == [[base, "Ett AB"], ["Ett AB", "Två AB"]]  # true old values


def test_two_import_processes_at_once_leave_one_file_whole(shared: dict[str, str], tmp_path: Path) -> None:
    files = [written(edit(f"Företag {n} AB", f"E-{n}"), tmp_path, f"edit-{n}") for n in (1, 2)]
    processes = [subprocess.Popen([str(HACKEFORS), "import", str(f)], env=shared, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for f in files]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in results]
    final = stored()
    assert final in (as_file(files[0]), as_file(files[1]))
    changes = name_changes(final.companies[0].id)
    assert changes[-1][1] == final.companies[0].name
    assert all(a[1] == b[0] for a, b in zip(changes, changes[1:], strict=False))  # each old value stood
