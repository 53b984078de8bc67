"""Integration fixtures: a fresh store and output folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.db import reset_engines
from adapters.settings import reset_settings
from tests.conftest import use_store


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty store (SQLite) and output folder under the test's own folder."""
    use_store(monkeypatch, tmp_path)
    yield tmp_path
    reset_settings()
    reset_engines()
