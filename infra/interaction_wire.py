"""The `interactions` topic's value format: `{"type": "interaction", "schema_version": 1, …}`.

Key: the channel id of the issue, like `alerts`, so the interaction lands on the partition
that owns the issue. The remaining fields are `domain.interactions.Interaction`'s.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from domain.alert import problems_from
from domain.errors import summarise
from domain.interactions import Interaction
from infra.alert_wire import UndecodableAlert

INTERACTION_SCHEMA_VERSION = 1


def encode_interaction(interaction: Interaction) -> bytes:
    body: dict[str, Any] = {
        "type": "interaction",
        "schema_version": INTERACTION_SCHEMA_VERSION,
        **interaction.model_dump(mode="json", exclude_none=True),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode_interaction(raw: bytes | None) -> Interaction:
    """The interaction, or `UndecodableAlert` (dead-lettered like any bad input) saying why."""
    try:
        obj = json.loads(raw or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UndecodableAlert(f"interaction is not valid JSON: {error}") from None
    if not isinstance(obj, dict) or obj.get("type") != "interaction":
        raise UndecodableAlert('expected a JSON object with "type": "interaction"')
    if obj.get("schema_version") != INTERACTION_SCHEMA_VERSION:
        raise UndecodableAlert(
            f"unknown interaction schema_version {obj.get('schema_version')!r}: this worker "
            f"reads {INTERACTION_SCHEMA_VERSION}"
        )
    fields = {k: v for k, v in obj.items() if k not in ("type", "schema_version")}
    try:
        return Interaction.model_validate(fields)
    except ValidationError as error:
        problems = problems_from(error, str)
        raise UndecodableAlert(f"invalid interaction: {summarise(problems)}", problems) from None
