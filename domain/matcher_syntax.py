"""Matchers written as Alertmanager's tools write them: `alertname=DiskFull`,
`instance=~"db-.*"`, `{team="storage", severity!="info"}`.

amtool sends each of its arguments as one `filter` parameter in this syntax, and Alertmanager
reads them with its matcher parser; this reads the forms amtool and Alertmanager's own
clients produce: an optional pair of braces around comma-separated matchers, names bare or
double-quoted, values bare (up to the next comma or brace) or double-quoted with Go's
escapes.
"""

from __future__ import annotations

import json
import re

from pydantic import ValidationError

from domain.errors import DomainError
from domain.silences import Matcher, MatchOperator

_MATCHER = re.compile(
    r'\s*(?P<name>"(?:[^"\\]|\\.)*"|[^\s=!~,{}"]+)\s*'
    r"(?P<operator>=~|!~|!=|=)\s*"
    r'(?P<value>"(?:[^"\\]|\\.)*"|[^,{}"]*?)\s*(?:,|$)'
)


class MatcherSyntaxError(DomainError):
    """The text is not a matcher (or a list of them) in Alertmanager's syntax."""


def parse_matchers(text: str) -> list[Matcher]:
    """The matchers the text names; `MatcherSyntaxError` saying where it stops making sense."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    matchers: list[Matcher] = []
    position = 0
    while position < len(body):
        found = _MATCHER.match(body, position)
        if found is None or found.end() == position:
            raise MatcherSyntaxError(f'{text!r} is not a matcher like name="value"')
        name, value = _unquoted(found["name"]), _unquoted(found["value"].strip())
        try:
            matchers.append(
                Matcher(name=name, value=value, operator=MatchOperator(found["operator"]))
            )
        except ValidationError as error:
            message = error.errors(include_url=False)[0]["msg"]
            raise MatcherSyntaxError(f"{text!r}: {message}") from None
        position = found.end()
    if not matchers:
        raise MatcherSyntaxError(f"{text!r} names no matcher")
    return matchers


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        try:
            unquoted = json.loads(value)
        except json.JSONDecodeError:
            raise MatcherSyntaxError(f"{value} is not a well-formed quoted string") from None
        return str(unquoted)
    return value
