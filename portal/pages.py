"""Rendering pages: one Jinja2 environment (autoescape on, StrictUndefined) over portal/templates,
and `render`, which gives every page the signed-in account, the CSRF token and the paths."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from adapters.translations import translator
from models import links
from models.training import format_hours
from portal.security import csrf_token

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(company_path=links.company_path, network_path=links.network_path,
                       external_audits_path=links.external_audits_path, Page=links.Page,
                       sign_in_path=links.SIGN_IN_PATH)
    env.filters["hours"] = format_hours
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = reader_language(request)
    values: dict[str, Any] = dict(account=getattr(request.state, "account", None), csrf=csrf_token(request),
                                  today=request.app.state.today(), title="", lang=lang, _=translator(lang))
    values.update(context)
    return HTMLResponse(environment().get_template(template).render(values), status_code=status_code)


def reader_language(request: Request) -> str:
    """The language the page is written in: the one a route chose (`request.state.lang`), else English."""
    return getattr(request.state, "lang", None) or "en"


def as_of_of(request: Request) -> date:
    """The day the portal takes for today (HACKEFORS_PORTAL_AS_OF, or today)."""
    return request.app.state.today()
