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
from infra.wire_envelope import open_envelope

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
    fields = open_envelope(raw, "interaction", INTERACTION_SCHEMA_VERSION)
    try:
        return Interaction.model_validate(fields)
    except ValidationError as error:
        problems = problems_from(error, str)
        raise UndecodableAlert(f"invalid interaction: {summarise(problems)}", problems) from None
