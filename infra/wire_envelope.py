"""Reading the typed, versioned JSON values alertfold's input topics carry.

Ticks and interactions share one envelope, `{"type": …, "schema_version": …, …}`; whatever
does not match is refused with a reason the dead-letter record keeps.
"""

from __future__ import annotations

import json
from typing import Any

from infra.alert_wire import UndecodableAlert


def open_envelope(raw: bytes | None, kind: str, version: int) -> dict[str, Any]:
    """The value's fields besides `type` and `schema_version`, or `UndecodableAlert`."""
    try:
        obj = json.loads(raw or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UndecodableAlert(f"{kind} is not valid JSON: {error}") from None
    if not isinstance(obj, dict) or obj.get("type") != kind:
        raise UndecodableAlert(f'expected a JSON object with "type": "{kind}"')
    if obj.get("schema_version") != version:
        raise UndecodableAlert(
            f"unknown {kind} schema_version {obj.get('schema_version')!r}: this worker reads "
            f"{version}"
        )
    return {k: v for k, v in obj.items() if k not in ("type", "schema_version")}
