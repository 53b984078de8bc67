"""Templates to text, HTML and PDF. Pure: no I/O besides reading templates."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from adapters.settings import TEMPLATES_DIR


def _escaped(name: str | None) -> bool:
    return name is None or name.endswith((".html.j2", ".html"))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # HTML is escaped; plain text and YAML are not HTML, and "&amp;" there is a mistake.
        autoescape=_escaped,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: f"{v:.0%}"
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


# What can start markup inside a line (links, images, HTML, code, emphasis, strikethrough,
# entities, table cells) or an autolink (https:, www., mail@): CommonMark makes any ASCII
# punctuation literal after a backslash. Markers that only count at the start of a line (#, -,
# +, 1.) cannot get there: line breaks become spaces.
_MARKUP = re.compile(r"[\\`*_{}\[\]()!|<>~&:@.]")


def markdown_text(value: object) -> str:
    """`value` as literal text on one line of markdown (Prefect renders artifacts, table cells
    included, as markdown): no link, image, HTML, emphasis or cell of its own."""
    return _MARKUP.sub(lambda m: "\\" + m.group(), " ".join(str(value).splitlines()))


def html_to_pdf(html: str) -> bytes:
    import logging

    from weasyprint import HTML  # imported late: WeasyPrint loads pango and fonts

    # Its notice that fonts are subset with fontTools (no HarfBuzz-Subset here) is not for users.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf()  # type: ignore[no-any-return]
