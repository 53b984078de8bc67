"""The portal's words: `_` translates by the English text and fills named placeholders after."""

from __future__ import annotations

import pytest

from adapters import translations
from adapters.translations import CatalogueError, catalogue, translator


@pytest.fixture
def swedish(tmp_path, monkeypatch):
    (tmp_path / "sv").mkdir()
    (tmp_path / "sv" / "a.yaml").write_text('"Employees": "Anställda"\n"{count} items": "{count} punkter"\n',
                                            encoding="utf-8")
    monkeypatch.setattr(translations, "I18N_DIR", tmp_path)
    catalogue.cache_clear()
    yield
    catalogue.cache_clear()


def test_a_message_is_translated_and_its_placeholders_filled(swedish) -> None:
    _ = translator("sv")
    assert _("Employees") == "Anställda"
    assert _("{count} items", count=3) == "3 punkter"


def test_english_is_the_message_itself_and_an_untranslated_one_stays_readable(swedish) -> None:
    assert translator("en")("{count} items", count=1) == "1 items"
    assert translator("sv")("Sign out") == "Sign out"


def test_a_file_that_is_not_a_flat_mapping_is_refused_with_its_name(tmp_path, monkeypatch) -> None:
    (tmp_path / "sv").mkdir()
    (tmp_path / "sv" / "bad.yaml").write_text("Employees:\n  - Anställda\n", encoding="utf-8")
    monkeypatch.setattr(translations, "I18N_DIR", tmp_path)
    catalogue.cache_clear()
    try:
        with pytest.raises(CatalogueError, match="bad.yaml"):
            catalogue("sv")
    finally:
        catalogue.cache_clear()
