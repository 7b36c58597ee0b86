"""Reading the typed, versioned JSON values alertfold's topics carry.

Ticks and interactions share one envelope, `{"type": …, "schema_version": …, …}`; whatever
does not match is refused with a reason the dead-letter record keeps.
"""

from __future__ import annotations

import json
from typing import Any


class UndecodableInput(Exception):
    """An input value alertfold cannot read; it goes to the dead-letter topic with `reason`."""

    def __init__(self, reason: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems = problems or []


def open_envelope(raw: bytes | None, kind: str, version: int) -> dict[str, Any]:
    """The value's fields besides `type` and `schema_version`, or `UndecodableInput`."""
    try:
        obj = json.loads(raw or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UndecodableInput(f"{kind} is not valid JSON: {error}") from None
    if not isinstance(obj, dict) or obj.get("type") != kind:
        raise UndecodableInput(f'expected a JSON object with "type": "{kind}"')
    if obj.get("schema_version") != version:
        raise UndecodableInput(
            f"unknown {kind} schema_version {obj.get('schema_version')!r}: this worker reads "
            f"{version}"
        )
    return {k: v for k, v in obj.items() if k not in ("type", "schema_version")}
