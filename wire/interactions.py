"""The `interactions` topic's interaction values: `{"type": "interaction", "schema_version": 1, …}`.

Key: the channel id of the issue, like `alerts`, so the interaction lands on the partition
that owns the issue. The remaining fields are `domain.interactions.Interaction`'s. The topic
also carries silences (`wire.silences`) and hand-overs of moved issues (`wire.handovers`);
`wire.partition_inputs` tells them apart.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from domain.alert import problems_from
from domain.errors import summarise
from domain.interactions import Interaction
from wire.envelope import UndecodableInput, open_envelope

INTERACTION_SCHEMA_VERSION = 1


def encode_interaction(interaction: Interaction) -> bytes:
    body: dict[str, Any] = {
        "type": "interaction",
        "schema_version": INTERACTION_SCHEMA_VERSION,
        **interaction.model_dump(mode="json", exclude_none=True),
    }
    return dumps(body)


def decode_interaction(raw: bytes | None) -> Interaction:
    """The interaction, or `UndecodableInput` (dead-lettered like any bad input) saying why."""
    fields = open_envelope(raw, "interaction", INTERACTION_SCHEMA_VERSION)
    try:
        return Interaction.model_validate(fields)
    except ValidationError as error:
        problems = problems_from(error, str)
        raise UndecodableInput(f"invalid interaction: {summarise(problems)}", problems) from None


def dumps(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as every value alertfold writes on `interactions`."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
