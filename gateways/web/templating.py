"""Rendering pages: the Jinja2 environment shipped in the package, and how values read.

Autoescaping is on for every template, so alert text (written by whoever sends alerts) is
shown as text. Times are shown in UTC with their age; severities as a word and a shape, so
colour is never the only signal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateways.api.act_rules import actor_name
from gateways.web.session import Sessions, Visitor

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
# A shape per severity beside its word and colour.
SHAPES = {"panic": "▲", "error": "●", "warning": "◆", "info": "○", "resolved": "✓"}

environment = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(value: str | datetime | None) -> str:
    """`2024-05-01 12:03:04 UTC`, or "—"."""
    moment = _moment(value)
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: str | datetime | None) -> str:
    moment = _moment(value)
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def age(value: str | datetime | None, now: datetime) -> str:
    """How long ago, in the largest whole unit: `45 s`, `12 min`, `3 h`, `2 d`."""
    moment = _moment(value)
    if moment is None:
        return ""
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def with_query(base: str, params: dict[str, Any], **changes: Any) -> str:
    """`base?…` with the page's query parameters, some changed (None removes one)."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "")}
    return f"{base}?{urlencode(kept)}" if kept else base


def _moment(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


environment.filters.update(when=when, iso=iso, actor=actor_name)
environment.globals.update(shapes=SHAPES, with_query=with_query, age=age)


def render(
    request: Request,
    sessions: Sessions,
    visitor: Visitor,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page, with the visitor's new session cookie when one was just made."""
    page = environment.get_template(template).render(request=request, visitor=visitor, **context)
    response = HTMLResponse(page, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    if visitor.new_cookie:
        sessions.set_cookie(response, visitor.new_cookie, request)
    return response
