"""The portal's words in each language: `_("English text", **values)` gives the reader's words.

The English text is the message id (as in gettext), so a page reads as English in its template and
an untranslated message stays readable. Each language's translations are flat YAML mappings of
English text to the translation, one file per area of the product, under templates/i18n/<lang>/.
Placeholders are named (`{count}`) and filled after the translation is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import yaml

from adapters.settings import TEMPLATES_DIR

I18N_DIR = TEMPLATES_DIR / "i18n"
SOURCE_LANGUAGE = "en"

Translate = Callable[..., str]


class CatalogueError(ValueError):
    """A translation file that is not a flat mapping of text to text."""


@lru_cache(maxsize=8)
def catalogue(lang: str) -> dict[str, str]:
    """Every translation of `lang`, from all its files (empty for the source language)."""
    merged: dict[str, str] = {}
    for path in sorted((I18N_DIR / lang).glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(entries, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in entries.items()):
            raise CatalogueError(f"{path}: expected a mapping of English text to translated text")
        merged.update(entries)
    return merged


def translator(lang: str) -> Translate:
    """`_` for `lang`: the translation of a message (the message itself when there is none), with
    its named placeholders filled."""
    words = catalogue(lang) if lang != SOURCE_LANGUAGE else {}

    def _(message: str, **values: Any) -> str:
        text = words.get(message, message)
        return text.format(**values) if values else text

    return _
